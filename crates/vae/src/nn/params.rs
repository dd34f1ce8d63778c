//! All of a model's parameters in one contiguous buffer, with their gradients in a second one.
//!
//! Layers keep index ranges into the buffer; the optimizer sees one flat slice; checkpoints see
//! named tensors (`encoder.hidden.0.weight`, ...) because every range is registered under its
//! module path, as candle's `VarBuilder::pp` does.

use super::batch_norm::is_estimate;
use crate::kernels::convert::cast;
use crate::kernels::elementwise::scale;
use crate::kernels::rng::{append_uniform, fill_standard_normal, Rng};
use crate::scalar::Scalar;
use std::ops::Range;

/// One named tensor inside the flat buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamEntry {
    /// The module path, as PyTorch names the tensor (`encoder.hidden.0.weight`).
    pub name: String,
    /// Its shape, in PyTorch's layout.
    pub shape: Vec<usize>,
    /// Where its values lie in the flat buffer.
    pub range: Range<usize>,
}

/// A model's parameters and their gradients.
#[derive(Clone, Debug, Default)]
pub struct Parameters<T> {
    values: Vec<T>,
    grads: Vec<T>,
    entries: Vec<ParamEntry>,
}

impl<T: Scalar> Parameters<T> {
    /// Every parameter's value, in registration order.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// The values, to change in place.
    pub fn values_mut(&mut self) -> &mut [T] {
        &mut self.values
    }

    /// The gradients, beside the values.
    pub fn grads(&self) -> &[T] {
        &self.grads
    }

    /// Values to read and gradients to accumulate into, borrowed together for a backward pass.
    pub fn split_mut(&mut self) -> (&[T], &mut [T]) {
        (&self.values, &mut self.grads)
    }

    /// Values to update and gradients to consume, for the optimizer (its step zeroes them).
    pub fn update_view(&mut self) -> (&mut [T], &mut [T]) {
        (&mut self.values, &mut self.grads)
    }

    /// Sets every gradient to zero.
    pub fn zero_grads(&mut self) {
        self.grads.fill(T::zero());
    }

    /// The named tensors, in registration order.
    pub fn entries(&self) -> &[ParamEntry] {
        &self.entries
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The tensor called `name`.
    pub fn entry(&self, name: &str) -> Option<&ParamEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The same parameters in another precision (f32 weights checked in f64, for example).
    pub fn cast<U: Scalar>(&self) -> Parameters<U> {
        Parameters {
            values: cast(&self.values),
            grads: cast(&self.grads),
            entries: self.entries.clone(),
        }
    }
}

impl<T: Scalar> Parameters<T> {
    /// Redraws every weight matrix (a tensor named `*.weight`) from N(0, std²) and zeroes every
    /// bias (`*.bias`); other tensors (a likelihood's log-variance) keep their values. Kingma et
    /// al. 2014's released code initialises this way with std 1e-3.
    pub fn init_normal(&mut self, std: f64, rng: &mut Rng) {
        for entry in &self.entries {
            let values = &mut self.values[entry.range.clone()];
            if entry.name.ends_with(".weight") {
                fill_standard_normal(rng, values);
                scale(values, T::of(std));
            } else if entry.name.ends_with(".bias") {
                values.fill(T::zero());
            }
        }
    }
}

/// The parameters one optimizer group updates: ranges of the flat buffer, and the name its state
/// takes in a checkpoint (none for a model's single group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamGroup {
    /// Prefix of the group's state tensors (`discriminator.adam.exp_avg`); empty for one group.
    pub name: String,
    /// Where its values lie in the flat buffer, in order.
    pub ranges: Vec<Range<usize>>,
}

impl ParamGroup {
    /// Every learned tensor of `params` whose name starts with one of `prefixes` (all of them when
    /// `prefixes` is empty), skipping batch normalization's running estimates; adjacent tensors
    /// share one range.
    pub fn of<T: Scalar>(name: &str, params: &Parameters<T>, prefixes: &[&str]) -> Self {
        let mut ranges: Vec<Range<usize>> = Vec::new();
        let wanted = |entry: &str| {
            prefixes.is_empty()
                || prefixes.iter().any(|p| {
                    entry
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with('.'))
                })
        };
        for entry in params.entries() {
            if !wanted(&entry.name) || is_estimate(&entry.name) {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if last.end == entry.range.start => last.end = entry.range.end,
                _ => ranges.push(entry.range.clone()),
            }
        }
        ParamGroup {
            name: name.to_string(),
            ranges,
        }
    }

    /// Values in the group.
    pub fn len(&self) -> usize {
        self.ranges.iter().map(ExactSizeIterator::len).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a new tensor is initialised.
#[derive(Clone, Copy, Debug)]
pub enum Init {
    /// Uniform on `[-bound, bound]`: PyTorch's `nn.Linear` uses `bound = 1/sqrt(fan_in)` for both
    /// weight and bias (kaiming_uniform with a = sqrt(5)).
    Uniform(f64),
    /// Every value `value`.
    Constant(f64),
}

/// Registers tensors under a module path and initialises them.
pub struct ParamBuilder<'a, T> {
    params: &'a mut Parameters<T>,
    rng: &'a mut Rng,
    prefix: String,
}

impl<'a, T: Scalar> ParamBuilder<'a, T> {
    /// A builder registering tensors into `params` with no prefix, initialising them from `rng`.
    pub fn new(params: &'a mut Parameters<T>, rng: &'a mut Rng) -> Self {
        ParamBuilder {
            params,
            rng,
            prefix: String::new(),
        }
    }

    /// A builder for the sub-module `name` (`encoder` -> `encoder.hidden` -> ...).
    pub fn pp(&mut self, name: impl std::fmt::Display) -> ParamBuilder<'_, T> {
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        ParamBuilder {
            params: self.params,
            rng: self.rng,
            prefix,
        }
    }

    /// Sets the value at `index` of the flat buffer: a model's own initial value for one weight.
    pub fn set(&mut self, index: usize, value: f64) {
        if let Some(v) = self.params.values.get_mut(index) {
            *v = T::of(value);
        }
    }

    /// Appends the tensor `prefix.name` of `shape` and returns its range in the flat buffer.
    /// Consecutive calls return adjacent ranges.
    pub fn add(&mut self, name: &str, shape: &[usize], init: Init) -> Range<usize> {
        let len: usize = shape.iter().product();
        let start = self.params.values.len();
        match init {
            Init::Uniform(bound) => append_uniform(self.rng, len, bound, &mut self.params.values),
            Init::Constant(value) => {
                let values = &mut self.params.values;
                values.resize(values.len() + len, T::of(value));
            }
        }
        self.params.grads.resize(start + len, T::zero());
        let full_name = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        self.params.entries.push(ParamEntry {
            name: full_name,
            shape: shape.to_vec(),
            range: start..start + len,
        });
        start..start + len
    }
}
