//! The library's integration tests, built into one binary.
//!
//! Where a feature is tested:
//!
//! | feature | module |
//! |---|---|
//! | analytic gradients of every layer and objective (f64 central differences) | `gradients` |
//! | layer lists: mixed networks, activation chains, shape errors, format-1 configs | `networks` |
//! | convolutions against a direct convolution, conv VAEs | `convolutions` |
//! | training objectives: IWAE, β, free bits, warm-up, samples in chunks | `objectives` |
//! | the importance-weighted log p(x) estimate against the ELBO | `log_likelihood` |
//! | two stochastic layers | `hierarchical` |
//! | DRAW: the LSTM cell, attention, the whole model | `draw` |
//! | batch normalization, Leaky ReLU, GAN and DCGAN, the optimizer's groups | `adversarial` |
//! | M2 and the autoencoder learning; the labelled subset | `relatives` |
//! | M1 + M2 | `stacked` |
//! | data parallelism: the shares of a minibatch | `shares` |
//! | the training loop: determinism, resume, checkpoints, divergence | `training` |
//! | Frey's MAT file, folder data sets | `data` |
//! | what the pictures show | `figures` |
//! | modules use only those above them | `layout` |
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adversarial;
mod common;
mod convolutions;
mod data;
mod draw;
mod figures;
mod gradients;
mod hierarchical;
mod jmvae;
mod layout;
mod log_likelihood;
mod networks;
mod objectives;
mod relatives;
mod shares;
mod stacked;
mod training;
