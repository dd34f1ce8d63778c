//! Decoder log-likelihoods with their gradients, computed in one pass over the decoder output.
//!
//! `outputs` is `[rows, cols]`, `targets` is `[target_rows, cols]`, and output row `r` is scored
//! against target row `r % target_rows`: the S latent samples of one image share its target.
//! Losses are negative log-likelihoods in nats, one per output row.

use super::elementwise::sigmoid;
use super::reduce::argmax;
use super::{rows_per_task, vectorized};
use crate::scalar::Scalar;
use rayon::prelude::*;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Runs `row_fn(row, nll_row, grad_row)` for every output row, in parallel for large passes,
/// each task compiled for the CPU's widest vector instructions.
fn for_each_output_row<T, F>(
    rows: usize,
    cols: usize,
    nll: &mut [T],
    grad: Option<&mut [T]>,
    row_fn: F,
) where
    T: Scalar,
    F: Fn(usize, &mut T, Option<&mut [T]>) + Sync + Send,
{
    let nll = &mut nll[..rows];
    // One call site for `row_fn`, so it is inlined into each instruction-set variant.
    let run = |first: usize, nll: &mut [T], mut grad: Option<&mut [T]>| {
        vectorized(
            #[inline(always)]
            || {
                for (i, n) in nll.iter_mut().enumerate() {
                    let g = grad
                        .as_deref_mut()
                        .map(|g| &mut g[i * cols..(i + 1) * cols]);
                    row_fn(first + i, n, g);
                }
            },
        )
    };
    match (grad, rows_per_task(rows, cols)) {
        (Some(grad), Some(task_rows)) => nll
            .par_chunks_mut(task_rows)
            .zip(grad.par_chunks_mut(task_rows * cols))
            .enumerate()
            .for_each(|(task, (nll, grad))| run(task * task_rows, nll, Some(grad))),
        (None, Some(task_rows)) => nll
            .par_chunks_mut(task_rows)
            .enumerate()
            .for_each(|(task, nll)| run(task * task_rows, nll, None)),
        (grad, None) => run(0, nll, grad),
    }
}

/// Independent partial sums, one per vector lane, added in a fixed order at the end: the loop
/// vectorises, and the result is the same whatever the vector width.
const LANES: usize = 16;

fn sum_lanes<T: Scalar>(acc: [T; LANES]) -> T {
    let mut width = LANES / 2;
    let mut acc = acc;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0]
}

/// One pixel of the Bernoulli loss: `(nll, sigmoid(l))`.
#[inline(always)]
fn bernoulli_pixel<T: Scalar>(l: T, x: T) -> (T, T) {
    let (e, log1p_e) = T::exp_log1p_neg_abs(l);
    let nll = l.max(T::zero()) - x * l + log1p_e;
    let inv = T::one() / (T::one() + e);
    let p = if l >= T::zero() { inv } else { e * inv };
    (nll, p)
}

/// Bernoulli decoder on logits: `−log p(x | l) = Σ_d softplus(l_d) − x_d l_d`, in the stable form
/// `max(l, 0) − x l + log(1 + e^{−|l|})`. With `grad = Some((g, scale))`, writes
/// `g = scale · (sigmoid(l) − x)`, the gradient of `scale · nll` with respect to the logits.
pub fn bernoulli_nll<T: Scalar>(
    logits: &[T],
    targets: &[T],
    cols: usize,
    nll: &mut [T],
    grad: Option<(&mut [T], T)>,
) {
    let rows = logits.len() / cols;
    let target_rows = targets.len() / cols;
    let scale = grad.as_ref().map_or(T::one(), |g| g.1);
    for_each_output_row(
        rows,
        cols,
        nll,
        grad.map(|g| g.0),
        #[inline(always)]
        |r, nll, grad| {
            let l_row = &logits[r * cols..(r + 1) * cols];
            let t = (r % target_rows) * cols;
            let x_row = &targets[t..t + cols];
            let mut acc = [T::zero(); LANES];
            let whole = cols - cols % LANES;
            match grad {
                Some(g_row) => {
                    for ((l, x), g) in l_row
                        .chunks_exact(LANES)
                        .zip(x_row.chunks_exact(LANES))
                        .zip(g_row.chunks_exact_mut(LANES))
                    {
                        for i in 0..LANES {
                            let (n, p) = bernoulli_pixel(l[i], x[i]);
                            acc[i] += n;
                            g[i] = scale * (p - x[i]);
                        }
                    }
                    for d in whole..cols {
                        let (n, p) = bernoulli_pixel(l_row[d], x_row[d]);
                        acc[d - whole] += n;
                        g_row[d] = scale * (p - x_row[d]);
                    }
                }
                None => {
                    for (l, x) in l_row.chunks_exact(LANES).zip(x_row.chunks_exact(LANES)) {
                        for i in 0..LANES {
                            acc[i] += bernoulli_pixel(l[i], x[i]).0;
                        }
                    }
                    for d in whole..cols {
                        acc[d - whole] += bernoulli_pixel(l_row[d], x_row[d]).0;
                    }
                }
            }
            *nll = sum_lanes(acc);
        },
    );
}

/// How the Gaussian decoder's mean follows from its output `l`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaussianMean {
    /// `m = sigmoid(l)`: values in [0, 1] (pixels).
    Sigmoid,
    /// `m = l`: unbounded values (another model's codes).
    Identity,
}

impl GaussianMean {
    #[inline(always)]
    fn of<T: Scalar>(self, l: T) -> T {
        match self {
            GaussianMean::Sigmoid => sigmoid(l),
            GaussianMean::Identity => l,
        }
    }

    /// `g · ∂m/∂l` at the mean `m`.
    #[inline(always)]
    fn chain<T: Scalar>(self, g: T, m: T) -> T {
        match self {
            GaussianMean::Sigmoid => g * m * (T::one() - m),
            GaussianMean::Identity => g,
        }
    }
}

/// Gaussian decoder: mean `m = sigmoid(l)` (or `l`, see `GaussianMean`), log-variance
/// `max(log_var, floor)` per pixel, or one
/// shared by all pixels when `log_var` has a single entry:
/// `−log p(x | l) = ½ Σ_d [log 2π + log σ²_d + (x_d − m_d)² / σ²_d]`. With `grad`, writes the
/// gradient of `scale · nll` with respect to the logits: `−scale (x − m) / σ² · ∂m/∂l`.
#[allow(clippy::too_many_arguments)]
pub fn gaussian_nll<T: Scalar>(
    mean: GaussianMean,
    logits: &[T],
    log_var: &[T],
    floor: T,
    targets: &[T],
    cols: usize,
    nll: &mut [T],
    grad: Option<(&mut [T], T)>,
) {
    let rows = logits.len() / cols;
    let target_rows = targets.len() / cols;
    let scale = grad.as_ref().map_or(T::one(), |g| g.1);
    let half = T::of(0.5);
    let shared = log_var.len() == 1;
    let floored = |d: usize| log_var[if shared { 0 } else { d }].max(floor);
    let floored_sum: T = (0..cols).map(floored).sum();
    let constant = half * (T::of(LN_2PI) * T::of(cols as f64) + floored_sum);
    for_each_output_row(
        rows,
        cols,
        nll,
        grad.map(|g| g.0),
        #[inline(always)]
        |r, nll, mut grad| {
            let l_row = &logits[r * cols..(r + 1) * cols];
            let t = (r % target_rows) * cols;
            let x_row = &targets[t..t + cols];
            let mut sum = T::zero();
            for d in 0..cols {
                let m = mean.of(l_row[d]);
                let precision = (-floored(d)).exp();
                let residual = x_row[d] - m;
                sum += residual * residual * precision;
                if let Some(g) = grad.as_deref_mut() {
                    g[d] = mean.chain(-scale * residual * precision, m);
                }
            }
            *nll = constant + half * sum;
        },
    );
}

/// `dst[d] += scale · ∂(Σ_r nll_r)/∂log σ²_d = scale · ½ Σ_r (1 − (x_d − m_d)² / σ²_d)` for the
/// Gaussian decoder, summed over all pixels into `dst[0]` when the variance is shared; zero where
/// the floor holds the variance. Split by pixel, so the sum order does not depend on the thread
/// count.
#[allow(clippy::too_many_arguments)]
pub fn gaussian_log_var_grad<T: Scalar>(
    mean: GaussianMean,
    logits: &[T],
    log_var: &[T],
    floor: T,
    targets: &[T],
    cols: usize,
    scale: T,
    dst: &mut [T],
) {
    let rows = logits.len() / cols;
    let target_rows = targets.len() / cols;
    let half = T::of(0.5);
    let shared = log_var.len() == 1;
    let pixel = |d: usize| -> T {
        let lv = log_var[if shared { 0 } else { d }];
        if lv < floor {
            return T::zero();
        }
        let precision = (-lv).exp();
        let mut sum = T::zero();
        for r in 0..rows {
            let m = mean.of(logits[r * cols + d]);
            let residual = targets[(r % target_rows) * cols + d] - m;
            sum += T::one() - residual * residual * precision;
        }
        scale * half * sum
    };
    if shared {
        let per_pixel: Vec<T> = (0..cols)
            .into_par_iter()
            .with_min_len(64)
            .map(pixel)
            .collect();
        dst[0] += per_pixel.into_iter().sum::<T>();
    } else {
        dst.par_iter_mut()
            .enumerate()
            .with_min_len(64)
            .for_each(|(d, out)| *out += pixel(d));
    }
}

/// `gaussian_log_var_grad` row by row, row `i` scaled by `scale · weights[i % weights.len()]` and
/// reading target row `i % target rows`: M2's rows, each weighted by q(y | x), or the IWAE
/// samples, each weighted by w̃.
#[allow(clippy::too_many_arguments)]
pub fn gaussian_log_var_grad_weighted<T: Scalar>(
    mean: GaussianMean,
    logits: &[T],
    log_var: &[T],
    floor: T,
    targets: &[T],
    cols: usize,
    scale: T,
    weights: &[T],
    dst: &mut [T],
) {
    let target_rows = targets.len() / cols;
    for (i, l) in logits.chunks_exact(cols).enumerate() {
        let t = i % target_rows;
        let target = &targets[t * cols..(t + 1) * cols];
        let weight = weights[i % weights.len()];
        gaussian_log_var_grad(mean, l, log_var, floor, target, cols, scale * weight, dst);
    }
}

/// `log softmax` of every row of `logits [rows, classes]` into `log_probs`, shifted by the row's
/// maximum so no exponential overflows: log π_c = l_c − log Σ_k e^{l_k}.
pub fn log_softmax<T: Scalar>(logits: &[T], classes: usize, log_probs: &mut [T]) {
    for (row, out) in logits
        .chunks_exact(classes)
        .zip(log_probs.chunks_exact_mut(classes))
    {
        let max = row.iter().copied().fold(T::neg_infinity(), T::max);
        let sum: T = row.iter().map(|&l| (l - max).exp()).sum();
        let log_norm = max + sum.ln();
        for (o, &l) in out.iter_mut().zip(row) {
            *o = l - log_norm;
        }
    }
}

/// Categorical decoder on log-probabilities: `−log p(y | row)` for each row of `log_probs
/// [rows, classes]` into `nll`, row `i` reading the label `labels[i % labels.len()]` (the S samples
/// of an image share its label). With `grad = Some((g, scale))`, writes `g [rows, classes] = scale
/// · (softmax − one-hot)`, the gradient of `scale · Σ nll` with respect to the logits.
pub fn categorical_nll<T: Scalar>(
    log_probs: &[T],
    labels: &[u8],
    classes: usize,
    nll: &mut [T],
    grad: Option<(&mut Vec<T>, T)>,
) {
    let targets = labels.len();
    for (i, nll) in nll.iter_mut().enumerate() {
        *nll = -log_probs[i * classes + labels[i % targets] as usize];
    }
    if let Some((g, scale)) = grad {
        g.clear();
        for (i, lp) in log_probs.chunks_exact(classes).enumerate() {
            let y = labels[i % targets] as usize;
            g.extend(
                lp.iter()
                    .enumerate()
                    .map(|(c, &l)| scale * (l.exp() - if c == y { T::one() } else { T::zero() })),
            );
        }
    }
}

/// What the class-logit passes add to a batch's sums.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClassTotals {
    /// Rows whose prediction was checked against a label, and how many were wrong.
    pub classified: usize,
    /// Wrong predictions among them.
    pub errors: usize,
}

/// M2's gradient with respect to q(y | x)'s logits (`objective::semi_supervised` derives it), for
/// `log_probs [rows, classes]`: rows before `unlabelled` through the sum over labels, with
/// `row_loss [unlabelled, classes]` each label's −L(x, y); the others through `weight` · (−log
/// q(y | x)). Adds Σ π log π to `kl` and the weighted cross-entropy to `classification`, in row
/// order.
#[allow(clippy::too_many_arguments)]
pub fn m2_class_logit_grad<T: Scalar>(
    log_probs: &[T],
    row_loss: &[T],
    labels: &[u8],
    unlabelled: usize,
    classes: usize,
    weight: T,
    d_logits: &mut [T],
    kl: &mut f64,
    classification: &mut f64,
) -> ClassTotals {
    let mut totals = ClassTotals::default();
    let rows = log_probs.len() / classes;
    for r in 0..rows {
        let lp = &log_probs[r * classes..(r + 1) * classes];
        let d = &mut d_logits[r * classes..(r + 1) * classes];
        if r < unlabelled {
            let f = &row_loss[r * classes..(r + 1) * classes];
            let g = |c: usize| f[c] + lp[c];
            let mean: T = (0..classes).map(|c| lp[c].exp() * g(c)).sum();
            for c in 0..classes {
                d[c] = lp[c].exp() * (g(c) - mean);
                *kl += (lp[c].exp() * lp[c]).as_f64();
            }
        } else {
            let y = labels[r] as usize;
            for c in 0..classes {
                let target = if c == y { T::one() } else { T::zero() };
                d[c] = weight * (lp[c].exp() - target);
            }
            *classification += (weight * -lp[y]).as_f64();
            totals.classified += 1;
            totals.errors += usize::from(argmax(lp) != y);
        }
    }
    totals
}

/// Σ −log q(y | x) over rows of `log_probs [rows, classes]` with their `labels` (subtracted from
/// `loss` in row order), and ∂/∂logit_c = π_c − [c = y] appended to `d_logits`.
pub fn cross_entropy_grad<T: Scalar>(
    log_probs: &[T],
    labels: &[u8],
    classes: usize,
    loss: &mut f64,
    d_logits: &mut Vec<T>,
) {
    d_logits.clear();
    for (r, &y) in labels.iter().enumerate() {
        let lp = &log_probs[r * classes..(r + 1) * classes];
        *loss -= lp[y as usize].as_f64();
        d_logits.extend(
            lp.iter()
                .enumerate()
                .map(|(c, &l)| l.exp() - if c == y as usize { T::one() } else { T::zero() }),
        );
    }
}

/// −log σ(l) for a real image, −log(1 − σ(l)) for a fake one, in f64: softplus(∓l), a
/// discriminator's binary cross-entropy on its logit `l`.
pub fn bce_with_logit(logit: f64, real: bool) -> f64 {
    let v = if real { -logit } else { logit };
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

/// Σ `bce_with_logit` over a batch's logits, all labelled `real` or all fake, with the gradient
/// with respect to each logit, σ(l) − target, in `d_logits`.
pub fn bce_with_logits<T: Scalar>(logits: &[T], real: bool, d_logits: &mut Vec<T>) -> f64 {
    let target = if real { 1.0 } else { 0.0 };
    d_logits.clear();
    let mut loss = 0.0;
    for &l in logits {
        let l = l.as_f64();
        loss += bce_with_logit(l, real);
        d_logits.push(T::of(sigmoid(l) - target));
    }
    loss
}
