//! Variational autoencoders (Kingma & Welling 2013) on our own CPU kernels.
//!
//! Read top to bottom, the modules go from numbers to a trained model:
//!
//! - [`kernels`]: matrix products (`gemm`), element-wise passes, reductions, random streams, and
//!   the decoder losses. The only code with raw loops over buffers.
//! - [`nn`]: layers with a forward and an analytic backward, over one flat parameter store.
//! - [`gaussian`]: q(z | x) and the prior: reparameterized sampling, analytic KL, log densities.
//! - [`likelihood`]: p(x | z), Bernoulli or Gaussian.
//! - [`model`]: encoder, decoder, and the VAE with its ELBO gradient.
//! - [`objective`]: loss terms, the trait the training loop optimises, the IWAE estimate.
//! - [`optim`]: Adam and Adagrad as PyTorch implements them.
//! - [`data`]: IDX files, named data sets with checksums and downloads, minibatches.
//! - [`train`], [`eval`]: the training loop and held-out evaluation.
//! - [`checkpoint`], [`render`]: run directories and PNG grids.

pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod figures;
pub mod fs;
pub mod gaussian;
pub mod kernels;
pub mod latent;
pub mod likelihood;
pub mod loss_terms;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod objective;
pub mod optim;
pub mod plot;
pub mod render;
pub mod report;
pub mod run_dir;

pub mod train;

pub use config::{
    Binarize, GaussianVariance, ImageShape, LayerLists, LikelihoodKind, ModelConfig, ModelKind,
    OptimizerConfig, OptimizerKind, RunConfig, TrainConfig,
};
pub use error::{Error, Result};
pub use kernels::elementwise::Activation;
pub use kernels::scalar;
pub use model::{Model, Vae};
pub use objective::{LossTerms, Objective, Step, Trainable};
pub use optim::Optimizer;
