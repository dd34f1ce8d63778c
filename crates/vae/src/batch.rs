//! The record every model and objective reads: a minibatch of images with their labels. It sits
//! below `data` and `model` so that neither depends on the other for it.

use crate::collective::shard;
use crate::error::{Error, Result};
use crate::kernels::rng::RowShare;

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
    /// The images, `[rows, pixels]`.
    pub x: &'a [T],
    /// A label per row (empty for unlabelled data).
    pub labels: &'a [u8],
    /// Binary attributes per row, `[rows, attributes]` (empty when the data set has none).
    pub attributes: &'a [u8],
    /// How many rows.
    pub rows: usize,
    /// Semi-supervised training: the first `unlabelled` rows are used without their labels.
    pub unlabelled: usize,
    /// Set when these rows are one process's share of a minibatch split among processes.
    pub share: Option<BatchShare>,
}

/// Where one process's rows sit in a minibatch split among processes: its unlabelled rows are
/// `unlabelled_from..` of the minibatch's `unlabelled`, its labelled ones `labelled_from..` of
/// the `labelled` that follow them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchShare {
    /// Unlabelled rows of the whole minibatch.
    pub unlabelled: usize,
    /// Labelled rows of the whole minibatch.
    pub labelled: usize,
    /// Where this process's unlabelled rows start.
    pub unlabelled_from: usize,
    /// Where this process's labelled rows start.
    pub labelled_from: usize,
}

impl<'a, T> Batch<'a, T> {
    /// A fully labelled batch.
    pub fn new(x: &'a [T], labels: &'a [u8], rows: usize) -> Self {
        Batch {
            x,
            labels,
            attributes: &[],
            rows,
            unlabelled: 0,
            share: None,
        }
    }

    /// The rows of the whole minibatch's noise that this batch's rows draw, when an objective
    /// gives each unlabelled image `unlabelled_repeats` consecutive noise rows (M2's one per
    /// class) and each labelled image one; `None` when the batch is the whole minibatch.
    pub fn noise_rows(&self, unlabelled_repeats: usize) -> Option<RowShare> {
        let share = self.share?;
        let u = self.unlabelled;
        Some(RowShare {
            total: share.unlabelled * unlabelled_repeats + share.labelled,
            parts: [
                (
                    share.unlabelled_from * unlabelled_repeats,
                    u * unlabelled_repeats,
                ),
                (
                    share.unlabelled * unlabelled_repeats + share.labelled_from,
                    self.rows.saturating_sub(u),
                ),
            ],
        })
    }
}

/// A rank's rows of a minibatch: its share of the unlabelled rows, then of the labelled ones.
#[derive(Debug, Default)]
pub struct RankShare<T> {
    x: Vec<T>,
    labels: Vec<u8>,
    attributes: Vec<u8>,
}

impl<T: Copy> RankShare<T> {
    /// Rank `rank` of `size`'s rows of `batch`, marked with where they sit in it.
    pub fn of<'a>(&'a mut self, batch: &Batch<'_, T>, rank: usize, size: usize) -> Batch<'a, T> {
        let width = batch.x.len() / batch.rows.max(1);
        let attributes = batch.attributes.len() / batch.rows.max(1);
        // A batch claiming more unlabelled rows than it has is the objective's to refuse; here
        // it only must not reach past the rows.
        let unlabelled = batch.unlabelled.min(batch.rows);
        let labelled = batch.rows - unlabelled;
        let unlabelled_rows = shard(unlabelled, rank, size);
        let labelled_rows = shard(labelled, rank, size);
        let rows = unlabelled_rows
            .clone()
            .chain((labelled_rows.start + unlabelled)..(labelled_rows.end + unlabelled));
        self.x.clear();
        self.labels.clear();
        self.attributes.clear();
        for r in rows {
            self.attributes
                .extend_from_slice(&batch.attributes[r * attributes..(r + 1) * attributes]);
            self.x
                .extend_from_slice(&batch.x[r * width..(r + 1) * width]);
            if let Some(&label) = batch.labels.get(r) {
                self.labels.push(label);
            }
        }
        let rows = unlabelled_rows.len() + labelled_rows.len();
        Batch {
            attributes: &self.attributes,
            unlabelled: unlabelled_rows.len(),
            share: Some(BatchShare {
                unlabelled,
                labelled,
                unlabelled_from: unlabelled_rows.start,
                labelled_from: labelled_rows.start,
            }),
            ..Batch::new(&self.x, &self.labels, rows)
        }
    }
}
