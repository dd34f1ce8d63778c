//! Models built from the `nn` layers: the Gaussian encoder, the decoder and the VAE itself.

pub mod decoder;
pub mod encoder;
pub mod vae;

pub use decoder::Decoder;
pub use encoder::Encoder;
pub use vae::{ImageScore, Vae, VaeWorkspace};
