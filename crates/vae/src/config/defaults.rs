//! The defaults a new run takes where its caller gives none: model policy, in one place, for the
//! command line, the library's callers and the bindings alike.

/// M2's labelled images: the headline setting of Kingma et al. 2014, Table 1.
pub const DEFAULT_LABELS: usize = 100;

/// M1 + M2: code dimensions whose posterior mean varies with a standard deviation below this
/// across the training set are dropped (the threshold of Kingma et al.'s released code).
pub const DEFAULT_ACTIVE_THRESHOLD: f64 = 0.1;

/// The hidden widths of the dense networks (encoder, decoder, M2's classifier).
pub const DEFAULT_HIDDEN: [usize; 1] = [400];

/// The hidden widths of a second stochastic layer's networks (Burda et al. 2015, Sec. 5: two
/// deterministic layers of 50 units).
pub const DEFAULT_TOP_HIDDEN: [usize; 2] = [50, 50];

/// The exponential learning-rate schedule's factor per epoch.
pub const DEFAULT_LR_GAMMA: f64 = 0.99;

/// Adam's ε with Burda et al.'s schedule (2015, Sec. 5: ε = 1e-4).
pub const BURDA_ADAM_EPS: f64 = 1e-4;

/// JMVAE-kl's α when a run gives none: the middle of the values Suzuki et al. 2016 compare on
/// MNIST.
pub const DEFAULT_JMVAE_ALPHA: f64 = 0.1;

/// The most binary attributes a data set may name and a JMVAE may model.
pub const MAX_ATTRIBUTES: usize = 256;

/// DRAW's sizes when a run gives none: Gregor et al. 2015's MNIST settings (their Table 3).
pub const DEFAULT_DRAW: DrawDefaults = DrawDefaults {
    steps: 64,
    lstm: 256,
    latent: 100,
    read: 2,
    write: 5,
};

/// DRAW's sizes: painting steps, LSTM units, z_t's size and the N of the read and write grids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct DrawDefaults {
    pub steps: usize,
    pub lstm: usize,
    pub latent: usize,
    pub read: usize,
    pub write: usize,
}

/// A GAN's z when none is given (Goodfellow et al. 2014's and Radford et al. 2016's 100).
pub const DEFAULT_GAN_LATENT: usize = 100;
/// VAE-GAN's γ when none is given: the weight of the feature reconstruction error against the
/// GAN loss in the decoder's objective.
pub const DEFAULT_FEATURE_WEIGHT: f64 = 0.01;
/// A GAN's learning rate and Adam's betas (Radford et al. 2016, Sec. 4).
pub const GAN_LR: f64 = 2e-4;
/// Adam's (β1, β2) for GANs: β1 lowered to 0.5 "helped stabilize training".
pub const GAN_BETAS: [f64; 2] = [0.5, 0.999];
