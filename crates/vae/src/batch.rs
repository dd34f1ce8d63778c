//! The record every model and objective reads: a minibatch of images with their labels. It sits
//! below `data` and `model` so that neither depends on the other for it.

use crate::error::{Error, Result};

/// Errors unless every label is one of `classes` (0..classes): the one check every reader of
/// labels shares.
pub fn check_label_range(labels: &[u8], classes: usize) -> Result<()> {
    match labels.iter().find(|&&l| l as usize >= classes) {
        Some(bad) => Err(Error::InvalidArgument(format!(
            "label {bad} is out of range: the model knows {classes} classes (0..={})",
            classes.saturating_sub(1)
        ))),
        None => Ok(()),
    }
}

/// How many of `predicted` differ from `labels`, position by position.
pub fn mismatches(predicted: &[u8], labels: &[u8]) -> usize {
    predicted.iter().zip(labels).filter(|(p, l)| p != l).count()
}

/// A batch of images `[rows, pixels]` with their labels.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a, T> {
    pub x: &'a [T],
    pub labels: &'a [u8],
    pub rows: usize,
    /// Semi-supervised training: the first `unlabelled` rows are used without their labels.
    pub unlabelled: usize,
}

impl<'a, T> Batch<'a, T> {
    /// A fully labelled batch.
    pub fn new(x: &'a [T], labels: &'a [u8], rows: usize) -> Self {
        Batch {
            x,
            labels,
            rows,
            unlabelled: 0,
        }
    }
}
