//! The decoder's observation model p(x | z), applied to the decoder's raw outputs (logits).

use crate::config::{GaussianVariance, LikelihoodKind};
use crate::kernels::loss::GaussianMean;
use crate::kernels::{elementwise, loss};
use crate::nn::{Init, ParamBuilder};
use crate::scalar::Scalar;
use std::ops::Range;

/// p(x | z) given the decoder's output.
#[derive(Clone, Debug)]
pub enum Likelihood {
    /// Bernoulli pixels with probabilities sigmoid(logits).
    Bernoulli,
    /// Gaussian pixels, mean sigmoid(logits) (the logits themselves for unbounded values),
    /// per-pixel learned log-variance `decoder.log_var` floored at `min_log_var`.
    Gaussian {
        /// How the mean is read from the logits.
        mean: GaussianMean,
        /// Where the log-variance parameters lie in the model's parameters.
        log_var: Range<usize>,
        /// The floor of the log-variance.
        min_log_var: f64,
    },
}

impl Likelihood {
    /// Registers the likelihood's own parameters: the Gaussian log-variance, initialised at
    /// log(1/12), the variance of a pixel uniform on [0, 1]. Starting at variance 1 instead, the
    /// reconstruction term is so flat that the first hundreds of steps learn almost nothing.
    pub fn new<T: Scalar>(
        b: &mut ParamBuilder<'_, T>,
        kind: LikelihoodKind,
        variance: GaussianVariance,
        pixels: usize,
        min_log_var: f64,
    ) -> Self {
        let len = match variance {
            GaussianVariance::Pixel => pixels,
            GaussianVariance::Image => 1,
        };
        match kind {
            LikelihoodKind::Bernoulli => Likelihood::Bernoulli,
            LikelihoodKind::Gaussian => Likelihood::Gaussian {
                mean: GaussianMean::Sigmoid,
                log_var: b.add("log_var", &[len], Init::Constant(-(12f64.ln()))),
                min_log_var,
            },
            // Codes have no natural scale: start at unit variance, the prior's.
            LikelihoodKind::GaussianIdentity => Likelihood::Gaussian {
                mean: GaussianMean::Identity,
                log_var: b.add("log_var", &[len], Init::Constant(0.0)),
                min_log_var,
            },
        }
    }

    /// −log p(x | logits) per output row into `nll`; with `grad = Some((g, scale))` also the
    /// gradient of `scale · Σ nll` with respect to the logits. See `kernels::loss` for the layout.
    pub fn nll<T: Scalar>(
        &self,
        params: &[T],
        logits: &[T],
        targets: &[T],
        pixels: usize,
        nll: &mut [T],
        grad: Option<(&mut [T], T)>,
    ) {
        match self {
            Likelihood::Bernoulli => loss::bernoulli_nll(logits, targets, pixels, nll, grad),
            Likelihood::Gaussian {
                mean,
                log_var,
                min_log_var,
            } => loss::gaussian_nll(
                *mean,
                logits,
                &params[log_var.clone()],
                T::of(*min_log_var),
                targets,
                pixels,
                nll,
                grad,
            ),
        }
    }

    /// Accumulates the gradient of `scale · Σ nll` with respect to the likelihood's own parameters;
    /// with `weights`, row `i` of `logits` counts `weights[i % weights.len()]` times (M2's q(y | x),
    /// the IWAE's normalised weights) and reads target row `i % target rows`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_params<T: Scalar>(
        &self,
        params: &[T],
        grads: &mut [T],
        logits: &[T],
        targets: &[T],
        pixels: usize,
        scale: T,
        weights: Option<&[T]>,
    ) {
        let Likelihood::Gaussian {
            mean,
            log_var,
            min_log_var,
        } = self
        else {
            return;
        };
        let (values, floor) = (&params[log_var.clone()], T::of(*min_log_var));
        let dst = &mut grads[log_var.clone()];
        match weights {
            None => loss::gaussian_log_var_grad(
                *mean, logits, values, floor, targets, pixels, scale, dst,
            ),
            Some(w) => loss::gaussian_log_var_grad_weighted(
                *mean, logits, values, floor, targets, pixels, scale, w, dst,
            ),
        }
    }

    /// The decoded image: the mean of p(x | z), sigmoid(logits) (the logits for unbounded values).
    pub fn mean<T: Scalar>(&self, logits: &[T], out: &mut [T]) {
        match self {
            Likelihood::Gaussian {
                mean: GaussianMean::Identity,
                ..
            } => out.copy_from_slice(&logits[..out.len()]),
            _ => elementwise::sigmoid_into(logits, out),
        }
    }
}
