//! Batch normalization, `torch.nn.BatchNorm1d` over the features of flat rows and
//! `torch.nn.BatchNorm2d` over the channels of images (channel-last here, so both normalise the
//! last axis). Its tensors are PyTorch's: `weight` and `bias` (learned), `running_mean`,
//! `running_var` and `num_batches_tracked` (estimates, never given a gradient).
//!
//! The mode is explicit: [`Mode::Train`] normalises with the batch's statistics and leaves them
//! pending until the model folds them into the running estimates
//! (`Network::commit_statistics`); [`Mode::Eval`] normalises with the running estimates.

use super::params::{Init, ParamBuilder};
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use crate::kernels::normalize::{self, BatchStatistics};
use crate::scalar::Scalar;
use std::ops::Range;

/// How a network with batch normalization runs: on the batch's statistics (training) or on the
/// running estimates (evaluation, sampling, scoring).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The batch's own statistics; the running estimates are updated when the model commits them.
    Train,
    /// The running estimates; nothing changes.
    Eval,
}

/// Names a tensor of a batch normalization layer that holds an estimate, not a learned weight:
/// no optimizer touches it.
pub fn is_estimate(name: &str) -> bool {
    ["running_mean", "running_var", "num_batches_tracked"]
        .iter()
        .any(|suffix| name.rsplit('.').next() == Some(suffix))
}

/// One batch normalization layer over `channels` (the last axis).
#[derive(Clone, Debug)]
pub struct BatchNorm {
    /// Values normalised together: the features, or an image's channels.
    pub channels: usize,
    weight: Range<usize>,
    bias: Range<usize>,
    running_mean: Range<usize>,
    running_var: Range<usize>,
    batches_tracked: Range<usize>,
}

impl BatchNorm {
    /// PyTorch's initial values: weight 1, bias 0, running mean 0, running variance 1, no batches.
    pub fn new<T: Scalar>(b: &mut ParamBuilder<'_, T>, channels: usize) -> Self {
        BatchNorm {
            channels,
            weight: b.add("weight", &[channels], Init::Constant(1.0)),
            bias: b.add("bias", &[channels], Init::Constant(0.0)),
            running_mean: b.add("running_mean", &[channels], Init::Constant(0.0)),
            running_var: b.add("running_var", &[channels], Init::Constant(1.0)),
            batches_tracked: b.add("num_batches_tracked", &[], Init::Constant(0.0)),
        }
    }

    /// Values kept from a training-mode forward pass: the mean, 1/std and unbiased variance per
    /// channel (the backward pass recomputes x̂ from its input).
    pub fn kept_len(&self) -> usize {
        3 * self.channels
    }

    /// `y = activation(BN(x))` over `x [n, channels]`; in training mode `kept` receives the
    /// batch's statistics. The backward pass takes the gradient with respect to BN(x), the
    /// activation's derivative already applied (as for a product's fused activation).
    pub fn forward<T: Scalar>(
        &self,
        params: &[T],
        x: &[T],
        mode: Mode,
        activation: Activation,
        kept: &mut Vec<T>,
        y: &mut [T],
    ) -> Result<()> {
        self.check(x.len(), y.len())?;
        let c = self.channels;
        let gamma = &params[self.weight.clone()];
        let beta = &params[self.bias.clone()];
        match mode {
            Mode::Train => {
                if x.len() < 2 * c {
                    return Err(Error::InvalidArgument(
                        "batch normalization in training mode needs more than one value per channel: a batch of at least 2".into(),
                    ));
                }
                kept.clear();
                kept.resize(self.kept_len(), T::zero());
                let (mean, rest) = kept.split_at_mut(c);
                let (inv_std, unbiased_var) = rest.split_at_mut(c);
                let stats = BatchStatistics {
                    mean,
                    inv_std,
                    unbiased_var,
                };
                normalize::forward_train(x, c, gamma, beta, stats, y, activation);
            }
            Mode::Eval => normalize::forward_eval(
                x,
                c,
                gamma,
                beta,
                &params[self.running_mean.clone()],
                &params[self.running_var.clone()],
                y,
                activation,
            ),
        }
        Ok(())
    }

    /// Accumulates the gradients of `weight` and `bias` for output gradient `dy` and writes the
    /// input gradient to `dx` when asked: through the batch statistics after a training-mode
    /// forward pass (`kept` holds what it left), with the running estimates as constants after
    /// an evaluation-mode one.
    #[allow(clippy::too_many_arguments)]
    pub fn backward<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        x: &[T],
        dy: &[T],
        mode: Mode,
        kept: &[T],
        dx: Option<&mut [T]>,
    ) -> Result<()> {
        self.check(x.len(), dy.len())?;
        let c = self.channels;
        let gamma = &params[self.weight.clone()];
        // Empty `grads`: the weights are held fixed; their sums go to scratch and are dropped.
        let mut scratch = Vec::new();
        let learned = match grads.is_empty() {
            true => {
                scratch.resize(2 * c, T::zero());
                scratch.as_mut_slice()
            }
            false => &mut grads[self.weight.start..self.bias.end],
        };
        let (d_gamma, d_beta) = learned.split_at_mut(c);
        match mode {
            Mode::Train => {
                if kept.len() != self.kept_len() {
                    return Err(Error::shape(
                        "batch normalization's kept statistics",
                        self.kept_len(),
                        kept.len(),
                    ));
                }
                let (mean, inv_std) = (&kept[..c], &kept[c..2 * c]);
                normalize::backward_train(dy, x, c, gamma, mean, inv_std, d_gamma, d_beta, dx);
            }
            Mode::Eval => normalize::backward_eval(
                dy,
                x,
                c,
                gamma,
                &params[self.running_mean.clone()],
                &params[self.running_var.clone()],
                d_gamma,
                d_beta,
                dx,
            ),
        }
        Ok(())
    }

    /// Folds the statistics a training-mode forward pass kept into the running estimates.
    pub fn commit<T: Scalar>(&self, params: &mut [T], kept: &[T]) -> Result<()> {
        let c = self.channels;
        if kept.len() != self.kept_len() {
            return Err(Error::shape(
                "batch normalization's statistics",
                self.kept_len(),
                kept.len(),
            ));
        }
        let (mean, unbiased_var) = (&kept[..c], &kept[2 * c..]);
        let (estimates, count) =
            params[self.running_mean.start..self.batches_tracked.end].split_at_mut(2 * c);
        let (running_mean, running_var) = estimates.split_at_mut(c);
        normalize::update_running(running_mean, running_var, &mut count[0], mean, unbiased_var);
        Ok(())
    }

    fn check(&self, x: usize, y: usize) -> Result<()> {
        if !x.is_multiple_of(self.channels.max(1)) || x != y {
            return Err(Error::shape("batch normalization's values", x, y));
        }
        Ok(())
    }
}
