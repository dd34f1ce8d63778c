//! The buffers every model of the family reuses from step to step, the per-image score, and the
//! importance-weighted estimate it reports.

use crate::kernels::reduce::log_sum_exp;
use crate::loss_terms::LossTerms;
use crate::nn::NetworkBuffers;
use crate::scalar::Scalar;

/// Buffers for one batch size, reused from step to step.
#[derive(Clone, Debug, Default)]
pub struct VaeWorkspace<T> {
    pub(crate) encoder: NetworkBuffers<T>,
    pub(crate) decoder: NetworkBuffers<T>,
    /// `[x | one-hot y]` and `[z | one-hot y]` for conditional models.
    pub(crate) encoder_input: Vec<T>,
    pub(crate) decoder_input: Vec<T>,
    /// `[samples * rows, latent]`, sample-major.
    pub(crate) eps: Vec<T>,
    pub(crate) z: Vec<T>,
    /// Per sample row: −log p(x | z), log p(z), log q(z | x).
    pub(crate) nll: Vec<T>,
    pub(crate) log_prior: Vec<T>,
    pub(crate) log_posterior: Vec<T>,
    /// Per image: the analytic KL.
    pub(crate) kl: Vec<T>,
    pub(crate) d_logits: Vec<T>,
    pub(crate) d_decoder_input: Vec<T>,
    pub(crate) d_z: Vec<T>,
    pub(crate) d_posterior: Vec<T>,
    pub(crate) log_weights: Vec<T>,
    pub(crate) means: Vec<T>,
    /// Per row of the latest ELBO: −E_q[log p(x | z)] + KL, unweighted.
    pub(crate) row_loss: Vec<T>,
    /// The autoencoder's code as a point mass: `[code | −∞]` per row.
    pub(crate) point_mass: Vec<T>,
    /// M2: the classifier's buffers, log q(y | x), its logits' gradient, and the batch with every
    /// unlabelled image repeated once per class, with its labels and weights q(y | x).
    pub(crate) classifier: NetworkBuffers<T>,
    pub(crate) log_probs: Vec<T>,
    pub(crate) d_class_logits: Vec<T>,
    pub(crate) expanded_x: Vec<T>,
    pub(crate) expanded_labels: Vec<u8>,
    pub(crate) row_weights: Vec<T>,
    /// Which of the batch's images each expanded row repeats.
    pub(crate) image_of_row: Vec<usize>,
    /// The second stochastic layer of a two-layer VAE.
    pub(crate) top: TopWorkspace<T>,
    /// A JMVAE's unimodal encoders and its label decoder.
    pub(crate) joint: JointWorkspace<T>,
    /// DRAW's steps.
    pub(crate) draw: super::draw::DrawWorkspace<T>,
    /// A GAN's two networks and the batch's fakes.
    pub(crate) gan: super::gan::GanWorkspace<T>,
    /// A VAE-GAN's three networks, its passes and the gradients its later phases take.
    pub(crate) vae_gan: super::vae_gan::VaeGanWorkspace<T>,
}

/// Buffers of a JMVAE's networks beside the joint encoder and the image decoder.
#[derive(Clone, Debug, Default)]
pub struct JointWorkspace<T> {
    /// q(z | x), q(z | w), p(w | z).
    pub(crate) image_encoder: NetworkBuffers<T>,
    pub(crate) label_encoder: NetworkBuffers<T>,
    pub(crate) label_decoder: NetworkBuffers<T>,
    /// w as the networks read it, `[rows, width]`: one-hot labels or attributes.
    pub(crate) one_hot: Vec<T>,
    /// For labels, log p(w | z) `[sample rows, classes]`; per sample row, −log p(w | z).
    pub(crate) log_probs: Vec<T>,
    pub(crate) nll: Vec<T>,
    pub(crate) d_logits: Vec<T>,
    /// The gradient reaching z through p(w | z).
    pub(crate) d_z: Vec<T>,
    /// Per image: KL(q(z | x, w) || q(z | x)) and KL(q(z | x, w) || q(z | w)).
    pub(crate) kl_image: Vec<T>,
    pub(crate) kl_label: Vec<T>,
    /// The gradients with respect to q(z | x)'s and q(z | w)'s parameters.
    pub(crate) d_image_posterior: Vec<T>,
    pub(crate) d_label_posterior: Vec<T>,
}

/// Buffers of a two-stochastic-layer VAE's upper layer, per sample row.
#[derive(Clone, Debug, Default)]
pub struct TopWorkspace<T> {
    /// q(z2 | z1) and p(z1 | z2).
    pub(crate) encoder: NetworkBuffers<T>,
    pub(crate) prior: NetworkBuffers<T>,
    pub(crate) eps: Vec<T>,
    pub(crate) z: Vec<T>,
    pub(crate) d_z: Vec<T>,
    pub(crate) d_posterior: Vec<T>,
    pub(crate) d_prior: Vec<T>,
    /// The gradient reaching z1 through q(z2 | z1).
    pub(crate) d_z1: Vec<T>,
    pub(crate) means: Vec<T>,
    /// Per sample row: log q(z2 | z1) and log p(z2).
    pub(crate) log_q: Vec<T>,
    pub(crate) log_p: Vec<T>,
    /// Per sample row: the weight of the prior and posterior terms in the gradient (β c_i).
    pub(crate) kl_weights: Vec<T>,
}

/// Per-image evaluation numbers, in nats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageScore {
    /// −E_q[log p(x | z)], averaged over the K samples.
    pub reconstruction: f64,
    /// KL(q(z | x) || p(z)), analytic.
    pub kl: f64,
    /// The importance-weighted estimate of log p(x) (log p(x | y) for a conditional model).
    pub log_likelihood: f64,
}

/// The held-out terms of `scores`: their reconstruction and KL summed in order.
pub(crate) fn score_terms(scores: &[ImageScore]) -> LossTerms {
    let mut terms = LossTerms {
        images: scores.len(),
        ..LossTerms::default()
    };
    for s in scores {
        terms.reconstruction += s.reconstruction;
        terms.kl += s.kl;
    }
    terms
}

/// log p̂_K(x) = log (1/K) Σ_k w_k with log w_k = log p(x | z_k) + log p(z_k) − log q(z_k | x),
/// z_k ~ q(z | x): the importance-weighted bound of Burda, Grosse & Salakhutdinov 2015 (eq. 8),
/// which tightens towards log p(x) as K grows and equals the one-sample ELBO estimate at K = 1.
pub fn importance_weighted_log_likelihood<T: Scalar>(log_weights: &[T]) -> T {
    log_sum_exp(log_weights) - T::of((log_weights.len() as f64).ln())
}
