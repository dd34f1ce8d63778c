//! The library's integration tests, built into one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod convolutions;
mod data;
mod figures;
mod gradients;
mod hierarchical;
mod networks;
mod objective;
mod objectives;
mod relatives;
mod shares;
mod stacked;
mod training;
