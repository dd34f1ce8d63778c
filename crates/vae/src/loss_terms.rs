//! The numbers a step or an evaluation reports, summed over images.

/// How many sums `LossTerms::to_sums` gives.
pub const SUMS: usize = 10;

/// Sums over the images of a batch or a data set, in nats.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossTerms {
    /// Images summed over.
    pub images: usize,
    /// Σ −E_q[log p(x | z)], each expectation estimated with the step's latent samples.
    pub reconstruction: f64,
    /// Σ KL(q(z | x) || p(z)), analytic. For M2 also the label's part, KL(q(y | x) || p(y)).
    pub kl: f64,
    /// M2: Σ over labelled images of the weighted classification loss α' · (−log q(y | x)).
    pub classification: f64,
    /// Images whose label was predicted, and how many of those predictions were wrong.
    pub classified: usize,
    /// Wrong predictions among `classified`.
    pub errors: usize,
    /// What the training step minimised, summed: the negative ELBO with the KL weighted (β,
    /// warm-up) and clamped (free bits), the negative IWAE bound, M2's eq. 9. Left 0 by held-out
    /// evaluation, which reports the true terms only.
    pub objective: f64,
    /// GANs: Σ of the discriminator's loss, −log D(x) − log(1 − D(G(z))) per image.
    pub discriminator: f64,
    /// GANs: the part of `discriminator` on real images, Σ −log D(x).
    pub discriminator_real: f64,
    /// GANs: Σ of the generator's non-saturating loss, −log D(G(z)) per image.
    pub generator: f64,
    /// Batches on which the optimizer held back phase p's network (a VAE-GAN's equilibrium
    /// rule: 0 the discriminator, 1 the decoder). The training loop counts them after the
    /// processes' sums are reduced, every process alike, so they are not among `to_sums`.
    pub held_back: [usize; 2],
}

impl LossTerms {
    /// What training minimises, summed over the images: the negative ELBO (Kingma & Welling
    /// 2013, eq. 10), plus M2's classification term.
    pub fn loss(&self) -> f64 {
        self.reconstruction + self.kl + self.classification
    }

    /// Adds `other`'s sums to these.
    pub fn add(&mut self, other: &LossTerms) {
        self.images += other.images;
        self.reconstruction += other.reconstruction;
        self.kl += other.kl;
        self.classification += other.classification;
        self.classified += other.classified;
        self.errors += other.errors;
        self.objective += other.objective;
        self.discriminator += other.discriminator;
        self.discriminator_real += other.discriminator_real;
        self.generator += other.generator;
        for (count, other) in self.held_back.iter_mut().zip(other.held_back) {
            *count += other;
        }
    }

    /// The sums as one vector, for a reduction across processes; `from_sums` reads it back.
    pub fn to_sums(&self) -> [f64; SUMS] {
        [
            self.images as f64,
            self.reconstruction,
            self.kl,
            self.classification,
            self.classified as f64,
            self.errors as f64,
            self.objective,
            self.discriminator,
            self.generator,
            self.discriminator_real,
        ]
    }

    /// The terms from the sums `to_sums` gives (how processes add them up).
    pub fn from_sums(sums: &[f64; SUMS]) -> LossTerms {
        // Counts travel as f64, exact up to 2^53.
        LossTerms {
            images: sums[0] as usize,
            reconstruction: sums[1],
            kl: sums[2],
            classification: sums[3],
            classified: sums[4] as usize,
            errors: sums[5] as usize,
            objective: sums[6],
            discriminator: sums[7],
            generator: sums[8],
            discriminator_real: sums[9],
            held_back: [0; 2],
        }
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

    /// Σ −E_q[log p(x | z)] per image.
    pub fn reconstruction_per_image(&self) -> f64 {
        self.per_image(self.reconstruction)
    }

    /// What training minimised, per image.
    pub fn objective_per_image(&self) -> f64 {
        self.per_image(self.objective)
    }

    /// The discriminator's and the generator's losses per image (a GAN's).
    pub fn adversarial_per_image(&self) -> (f64, f64) {
        (
            self.per_image(self.discriminator),
            self.per_image(self.generator),
        )
    }

    /// Whether every sum is a finite number.
    pub fn is_finite(&self) -> bool {
        self.to_sums().iter().all(|v| v.is_finite())
    }

    /// The KL term per image.
    pub fn kl_per_image(&self) -> f64 {
        self.per_image(self.kl)
    }
}
