//! The real `vae` binary end to end, on a tiny synthetic IDX data set made in a temp directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod commands;
mod common;
mod conv;
mod crash;
mod figures;
mod limits;
#[cfg(feature = "mpi")]
mod mpi;
mod relatives;
mod reproduce;
mod serve;
mod stacked;
mod webdriver;
