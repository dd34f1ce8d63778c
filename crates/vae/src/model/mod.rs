//! Models built from the `nn` layers: the Gaussian encoder, the decoder, the classifier, and the
//! VAE family that combines them (VAE, conditional VAE, autoencoder, M2).

pub mod classifier;
pub mod decoder;
pub mod encoder;
pub mod m2;
pub mod reference;
pub mod vae;

pub use classifier::Classifier;
pub use decoder::Decoder;
pub use encoder::Encoder;
pub use reference::{ClassifierWorkspace, ReferenceClassifier};
pub use vae::{ImageScore, Vae, VaeWorkspace};
