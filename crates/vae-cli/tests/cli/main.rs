//! The real `vae` binary end to end, on a tiny synthetic IDX data set made in a temp directory.
//!
//! Where a feature is tested:
//!
//! | feature | module |
//! |---|---|
//! | train, eval, sample, reconstruct, resume, and their errors | `commands` |
//! | convolutional models from the command line | `conv` |
//! | a run killed or out of disk at every file operation, then resumed | `crash` |
//! | sizes checked before memory is taken; bad files; the memory plan | `limits` |
//! | the latent-space commands and the report | `figures` |
//! | report.html and the explorer in a real browser | `browser` |
//! | the autoencoder, M2, analogies, the reference classifier | `relatives` |
//! | M1 + M2 | `stacked` |
//! | `vae reproduce` at the quick budget | `reproduce` |
//! | `vae serve`: its API, errors, shutdown, load | `serve` |
//! | `vae export-web`: the page in WebAssembly, from disk, for every model kind | `web` |
//! | MPI data parallelism (with `--features mpi`) | `mpi` |
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod commands;
mod common;
mod conv;
mod crash;
mod draw;
mod figures;
mod gan;
mod jmvae;
mod limits;
#[cfg(feature = "mpi")]
mod mpi;
mod relatives;
mod reproduce;
mod serve;
mod stacked;
mod web;
mod webdriver;
