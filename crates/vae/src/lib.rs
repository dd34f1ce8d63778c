//! Variational autoencoders (Kingma & Welling 2013) on our own CPU kernels.
//!
//! A run in a few lines: a model on images held in memory, trained, then asked to decode.
//!
//! ```
//! use vae::config::{Binarize, ImageShape};
//! use vae::data::{Dataset, Split};
//! use vae::model::VaeWorkspace;
//! use vae::run::Run;
//! use vae::{Activation, Generative, ModelConfig, RunConfig, TrainConfig};
//!
//! // 64 images of 4 x 4 grey levels in [0, 1]; any source of floats will do.
//! let shape = ImageShape { height: 4, width: 4, channels: 1 };
//! let pixels: Vec<f32> = (0..64 * 16).map(|i| ((i * 7) % 16) as f32 / 15.0).collect();
//! let train = Split::from_floats(shape, &pixels, &[])?;
//! let test = Split::from_floats(shape, &pixels[..8 * 16], &[])?;
//! let dataset = Dataset::from_splits("toy", train, test, Vec::new())?;
//!
//! let model = ModelConfig { image: shape, latent: 2, ..ModelConfig::default() }
//!     .with_mlp(&[8], Activation::Tanh);
//! let train = TrainConfig { epochs: 2, batch_size: 16, binarize: Binarize::None, ..TrainConfig::default() };
//! let dir = std::env::temp_dir().join(format!("vae-doc-{}", std::process::id()));
//! let mut run = Run::create(RunConfig::new("toy", model, train), dir.clone(), None, None)?;
//! run.train_on(dataset, Some(1))?;
//!
//! // The run directory now holds config.json, model.safetensors and the metrics.
//! let mut images = Vec::new();
//! run.model().decode(&mut VaeWorkspace::default(), &[0.0, 0.0], &[], 1, &mut images)?;
//! assert_eq!(images.len(), 16);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), vae::Error>(())
//! ```
//!
//! Read top to bottom, the modules go from numbers to a trained model; each uses only those above
//! it (a test, `layout::modules_use_only_those_above_them`, holds the code to this order).
//!
//! - [`error`]: the typed errors every function returns; [`machine`]: memory and cores, which
//!   bound what an untrusted size may ask for; [`fs`]: files opened as what they are, bounded
//!   reads, atomic writes, checksums; [`collective`]: how processes share work (one process, or
//!   MPI's ranks).
//! - [`kernels`]: the compute boundary, the only code with raw loops over buffers: matrix products
//!   (`gemm`), convolution fields (`im2col`, `col2im`), element-wise passes, reductions, the
//!   losses and their gradients, the Gaussian's passes, row bookkeeping, bytes to floats, random
//!   streams, the FMA ceiling, the worker pool. A GPU or another backend implements this one
//!   module.
//! - [`batch`]: the minibatch record and its share of a process.
//! - [`nn`]: layers (dense, convolution, transposed convolution, activations) with a forward and an
//!   analytic backward over one flat parameter store, and the sequential network built from a
//!   layer list ([`nn::LayerSpec`]) stored in `config.json`.
//! - [`config`]: everything that rebuilds a model and repeats its training, the defaults a new
//!   run takes, and the upgrade of older `config.json` formats; [`memory`]: the bytes a model's
//!   training step, scoring and pictures will hold, planned from its configuration and checked
//!   before anything is allocated.
//! - [`loss_terms`]: the numbers a step or an evaluation reports.
//! - [`gaussian`], [`likelihood`]: q(z | x) and the prior; p(x | z), Bernoulli or Gaussian.
//! - [`data`]: IDX, MAT and folder readers, named data sets with checksums and downloads, data
//!   held in memory, minibatches.
//! - [`model`]: how to encode, decode, sample and score: [`model::Vae`] (and the conditional
//!   VAE), [`model::Autoencoder`], [`model::M2`], [`model::Hvae`] (two stochastic layers),
//!   [`model::Stacked`] (M1 + M2: M2 on a VAE's codes), and [`Model`], any of them.
//! - [`objective`]: what is minimised: the ELBO (with a KL weight), the IWAE bound, the
//!   reconstruction loss, M2's eq. 9, the cross-entropy; each is handed the [`Step`].
//! - [`optim`]: Adam and Adagrad as PyTorch implements them.
//! - [`train`], [`eval`]: the one training loop and held-out evaluation; [`frechet`]: the
//!   Fréchet distance of generated images to real ones in the reference classifier's features.
//! - [`checkpoint`], [`metrics`], [`run_dir`]: weights and training state, `metrics.jsonl`, a run
//!   directory as training keeps it.
//! - [`latent`], [`render`], [`plot`], [`figures`], [`report`]: grids and paths in the latent
//!   space, PNG grids, charts, the pictures of a model, `report.html`; [`explore`]: the latent-space
//!   explorer's questions with their inputs checked, for `vae serve` and the page in WebAssembly.
//! - [`run`]: a run's whole lifecycle (create or resume, lock, prepare the data, train, save,
//!   draw its pictures) as one object.

#![warn(missing_docs)]

pub mod batch;
pub mod checkpoint;
pub mod collective;
pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod explore;
pub mod figures;
pub mod frechet;
pub mod fs;
pub mod gaussian;
pub mod kernels;
pub mod latent;
pub mod likelihood;
pub mod loss_terms;
pub mod machine;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod objective;
pub mod optim;
pub mod plot;
pub mod render;
pub mod report;
pub mod run;
pub mod run_dir;
pub mod train;

pub use config::{
    Binarize, GaussianVariance, ImageShape, LayerLists, LikelihoodKind, ModelConfig, ModelKind,
    OptimizerConfig, OptimizerKind, RunConfig, TrainConfig,
};
pub use error::{Error, Result};
pub use kernels::elementwise::Activation;
pub use kernels::scalar;
pub use model::{Generative, Model, Vae};
pub use objective::{LossTerms, Objective, Step, Trainable};
pub use optim::Optimizer;
