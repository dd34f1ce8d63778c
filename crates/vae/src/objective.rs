//! What training minimises and evaluation reports: the negative ELBO, split into its reconstruction
//! and KL terms, and the importance-weighted estimate of log p(x).

use crate::batch::Batch;
use crate::error::Result;
use crate::kernels::reduce::log_sum_exp;
use crate::kernels::rng::Rng;
use crate::nn::Parameters;
use crate::scalar::Scalar;

/// Sums over the images of a batch or a data set, in nats.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossTerms {
    pub images: usize,
    /// Σ −E_q[log p(x | z)], each expectation estimated with the step's latent samples.
    pub reconstruction: f64,
    /// Σ KL(q(z | x) || p(z)), analytic. For M2 also the label's part, KL(q(y | x) || p(y)).
    pub kl: f64,
    /// M2: Σ over labelled images of the weighted classification loss α' · (−log q(y | x)).
    pub classification: f64,
    /// Images whose label was predicted, and how many of those predictions were wrong.
    pub classified: usize,
    pub errors: usize,
}

impl LossTerms {
    /// What training minimises, summed over the images: the negative ELBO (Kingma & Welling
    /// 2013, eq. 10), plus M2's classification term.
    pub fn loss(&self) -> f64 {
        self.reconstruction + self.kl + self.classification
    }

    pub fn add(&mut self, other: &LossTerms) {
        self.images += other.images;
        self.reconstruction += other.reconstruction;
        self.kl += other.kl;
        self.classification += other.classification;
        self.classified += other.classified;
        self.errors += other.errors;
    }

    /// Negative ELBO per image, without any classification term.
    pub fn negative_elbo_per_image(&self) -> f64 {
        self.per_image(self.reconstruction + self.kl)
    }

    /// The fraction of classified images whose predicted label was wrong.
    pub fn error_rate(&self) -> Option<f64> {
        (self.classified > 0).then(|| self.errors as f64 / self.classified as f64)
    }

    fn per_image(&self, total: f64) -> f64 {
        if self.images == 0 {
            f64::NAN
        } else {
            total / self.images as f64
        }
    }

    /// Negative ELBO per image: the "loss" pytorch/examples prints.
    pub fn loss_per_image(&self) -> f64 {
        self.per_image(self.loss())
    }

    pub fn reconstruction_per_image(&self) -> f64 {
        self.per_image(self.reconstruction)
    }

    pub fn kl_per_image(&self) -> f64 {
        self.per_image(self.kl)
    }
}

/// A model the training loop can optimise: it turns a batch into a loss and its gradient.
pub trait Objective<T: Scalar> {
    /// Scratch buffers reused across steps, owned by the caller so the model can be shared.
    type Workspace: Default + Send;

    fn parameters(&self) -> &Parameters<T>;

    fn parameters_mut(&mut self) -> &mut Parameters<T>;

    /// The summed loss over the batch, its gradient accumulated into the parameters' gradients.
    fn loss_and_grad(
        &mut self,
        workspace: &mut Self::Workspace,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms>;

    /// The same loss without gradients, for held-out data.
    fn loss(
        &self,
        workspace: &mut Self::Workspace,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms>;
}

/// log p̂_K(x) = log (1/K) Σ_k w_k with log w_k = log p(x | z_k) + log p(z_k) − log q(z_k | x),
/// z_k ~ q(z | x): the importance-weighted bound of Burda, Grosse & Salakhutdinov 2015 (eq. 8),
/// which tightens towards log p(x) as K grows and equals the one-sample ELBO estimate at K = 1.
pub fn importance_weighted_log_likelihood<T: Scalar>(log_weights: &[T]) -> T {
    log_sum_exp(log_weights) - T::of((log_weights.len() as f64).ln())
}
