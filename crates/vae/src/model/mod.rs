//! Models built from the `nn` networks: how to encode, decode, sample and score. What each is
//! trained to minimise is in `objective`.
//!
//! - [`encoder`], [`decoder`], [`classifier`]: a network plus the head its distribution needs.
//! - [`vae`]: the VAE and the conditional VAE.
//! - [`autoencoder`]: the same networks with a deterministic code.
//! - [`hierarchical`]: the VAE with two stochastic layers (Burda et al. 2015).
//! - [`m2`]: the conditional VAE with a classifier q(y | x), for few labels.
//! - [`stacked`]: M2 on the codes of a VAE (M1 + M2), drawing through both decoders.
//! - [`jmvae`]: the joint multimodal VAE, the image and its label in one latent space.
//! - [`draw`]: DRAW, the recurrent VAE that paints its image on a canvas over steps.
//! - [`gan`]: GAN and DCGAN, a generator against a discriminator, trained in two phases.
//! - [`vae_gan`]: VAE-GAN, a VAE whose reconstruction error is in a discriminator's features.
//! - [`generative`]: what every one of them does (encode, decode, sample, reconstruct, score);
//!   [`family`]: any of them, as loaded from a run directory.
//! - [`parts`]: what they share: building encoder and decoder, input checks, decoding.
//! - [`reference`](mod@reference): the classifier that reads what conditional models draw.
//! - [`trainable`]: what the training loop needs of a model.
//! - [`workspace`]: the buffers they reuse, the per-image score and the IWAE estimate.

pub mod autoencoder;
pub mod classifier;
pub mod decoder;
pub mod draw;
pub mod encoder;
pub mod family;
pub mod gan;
pub mod generative;
pub mod hierarchical;
pub mod jmvae;
pub mod m2;
pub mod parts;
pub mod reference;
pub mod stacked;
pub mod trainable;
pub mod vae;
pub mod vae_gan;
pub mod workspace;

pub use autoencoder::Autoencoder;
pub use classifier::Classifier;
pub use decoder::Decoder;
pub use draw::Draw;
pub use encoder::Encoder;
pub use family::Model;
pub use gan::{Gan, GanWorkspace};
pub use generative::Generative;
pub use hierarchical::Hvae;
pub use jmvae::{Jmvae, JointScore};
pub use m2::M2;
pub use reference::{ClassifierWorkspace, ReferenceClassifier};
pub use stacked::Stacked;
pub use trainable::Trainable;
pub use vae::Vae;
pub use vae_gan::{LossWeights, VaeGan, VaeGanWorkspace};
pub use workspace::{importance_weighted_log_likelihood, ImageScore, VaeWorkspace};
