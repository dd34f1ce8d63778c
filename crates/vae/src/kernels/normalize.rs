//! Batch normalization (Ioffe & Szegedy 2015) as `torch.nn.BatchNorm1d/2d` computes it, over
//! channel-last values `[n, channels]`: `n` is the rows (times the positions of an image, for
//! the 2-d form), and each channel is normalised over all `n`.
//!
//! Training mode normalises with the batch's mean and biased variance and reports the unbiased
//! variance for the running estimate; evaluation mode uses the running estimates. Sums are taken
//! in f64 in a fixed order, so results do not depend on the thread count: large passes split the
//! channels between threads for the sums (each channel still summed by one thread, row after
//! row) and the rows for the element-wise passes.

use super::elementwise::Activation;
use super::{for_each_row_chunk, PARALLEL_MIN_ELEMENTS};
use crate::scalar::Scalar;
use rayon::prelude::*;
use std::ops::Range;

/// PyTorch's default ε, added to the variance under the square root.
pub const EPS: f64 = 1e-5;

/// PyTorch's default momentum of the running estimates.
pub const MOMENTUM: f64 = 0.1;

/// What a training-mode forward pass leaves per channel: the batch mean, 1/sqrt(var + ε) with
/// the biased variance, and the unbiased variance (for the running estimate).
#[derive(Debug)]
pub struct BatchStatistics<'a, T> {
    /// Per channel.
    pub mean: &'a mut [T],
    /// Per channel.
    pub inv_std: &'a mut [T],
    /// Per channel.
    pub unbiased_var: &'a mut [T],
}

/// Training mode: `y = activation(gamma · (x − mean) · inv_std + beta)`, with the batch's
/// statistics written to `stats` (the backward pass recomputes x̂ from `x` and them).
pub fn forward_train<T: Scalar>(
    x: &[T],
    channels: usize,
    gamma: &[T],
    beta: &[T],
    stats: BatchStatistics<'_, T>,
    y: &mut [T],
    activation: Activation,
) {
    let n = x.len() / channels.max(1);
    let (mean, squares) = by_channels(n, channels, |range| {
        let mut sum = vec![0.0f64; range.len()];
        for row in x.chunks_exact(channels) {
            for (s, &v) in sum.iter_mut().zip(&row[range.clone()]) {
                *s += v.as_f64();
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
        let mut squares = vec![0.0f64; range.len()];
        for row in x.chunks_exact(channels) {
            for ((s, &v), m) in squares.iter_mut().zip(&row[range.clone()]).zip(&mean) {
                let d = v.as_f64() - m;
                *s += d * d;
            }
        }
        (mean, squares)
    });
    for c in 0..channels {
        let var = squares[c] / n.max(1) as f64;
        stats.mean[c] = T::of(mean[c]);
        stats.inv_std[c] = T::of(1.0 / (var + EPS).sqrt());
        stats.unbiased_var[c] = T::of(squares[c] / n.saturating_sub(1).max(1) as f64);
    }
    let (mean, inv_std) = (&*stats.mean, &*stats.inv_std);
    // y = gamma · ((x − mean) · inv_std) + beta, in that order, so evaluation with the same
    // statistics gives the same values.
    affine_rows(x, y, channels, activation, |xr, yr| {
        for c in 0..channels {
            yr[c] = gamma[c] * ((xr[c] - mean[c]) * inv_std[c]) + beta[c];
        }
    });
}

/// Per-channel sums over all rows, `part(channels) -> (a, b)` for a range of channels: the whole
/// range on this thread for a small pass, else one range per thread, whose parts are joined in
/// channel order. Each channel is summed by one call either way, so the sums are the same.
fn by_channels(
    rows: usize,
    channels: usize,
    part: impl Fn(Range<usize>) -> (Vec<f64>, Vec<f64>) + Sync,
) -> (Vec<f64>, Vec<f64>) {
    let threads = rayon::current_num_threads();
    // Ranges of whole 8-channel groups, so each thread's reads stay vectorisable.
    if rows * channels < PARALLEL_MIN_ELEMENTS || threads == 1 || channels < 16 {
        return part(0..channels);
    }
    let per_task = channels.div_ceil(threads).next_multiple_of(8);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..channels.div_ceil(per_task))
        .into_par_iter()
        .map(|task| part(task * per_task..channels.min((task + 1) * per_task)))
        .collect();
    parts
        .into_iter()
        .fold((Vec::new(), Vec::new()), |(mut a, mut b), (pa, pb)| {
            a.extend(pa);
            b.extend(pb);
            (a, b)
        })
}

/// Runs `row(x_row, y_row)` over the rows, then the activation over each `y` row, the activation
/// chosen outside the loop so that both vectorise. Large passes split the rows between threads.
#[inline(always)]
fn affine_rows<T: Scalar>(
    x: &[T],
    y: &mut [T],
    channels: usize,
    activation: Activation,
    row: impl Fn(&[T], &mut [T]) + Sync + Send,
) {
    #[inline(always)]
    fn each<T: Scalar>(
        x: &[T],
        y: &mut [T],
        channels: usize,
        row: impl Fn(&[T], &mut [T]),
        f: impl Fn(T) -> T,
    ) {
        for (xr, yr) in x.chunks_exact(channels).zip(y.chunks_exact_mut(channels)) {
            row(xr, yr);
            for v in yr.iter_mut() {
                *v = f(*v);
            }
        }
    }
    for_each_row_chunk(y, channels, |first, y| {
        let x = &x[first * channels..][..y.len()];
        let row = &row;
        match activation {
            Activation::Identity => each(x, y, channels, row, |v| v),
            Activation::Relu => each(x, y, channels, row, |v| v.max(T::zero())),
            Activation::LeakyRelu(slope) => {
                let slope = T::of(f64::from(slope));
                each(x, y, channels, row, move |v| {
                    if v > T::zero() {
                        v
                    } else {
                        v * slope
                    }
                })
            }
            other => each(x, y, channels, row, move |v| other.apply(v)),
        }
    });
}

/// Evaluation mode: `y = activation(gamma · (x − running_mean) / sqrt(running_var + ε) +
/// beta)`.
#[allow(clippy::too_many_arguments)]
pub fn forward_eval<T: Scalar>(
    x: &[T],
    channels: usize,
    gamma: &[T],
    beta: &[T],
    running_mean: &[T],
    running_var: &[T],
    y: &mut [T],
    activation: Activation,
) {
    let inv_std = inverse_std(running_var);
    affine_rows(x, y, channels, activation, |xr, yr| {
        for c in 0..channels {
            yr[c] = gamma[c] * ((xr[c] - running_mean[c]) * inv_std[c]) + beta[c];
        }
    });
}

/// 1 / sqrt(var + ε) per channel.
fn inverse_std<T: Scalar>(var: &[T]) -> Vec<T> {
    var.iter()
        .map(|&v| T::of(1.0 / (v.as_f64() + EPS).sqrt()))
        .collect()
}

/// Training mode's backward pass through the batch statistics, x̂ = (x − mean) · inv_std
/// recomputed from `x`: accumulates `d_gamma += Σ dy · x̂` and `d_beta += Σ dy`, and writes
/// `dx = gamma · inv_std / n · (n dy − Σ dy − x̂ Σ dy x̂)` when asked.
#[allow(clippy::too_many_arguments)]
pub fn backward_train<T: Scalar>(
    dy: &[T],
    x: &[T],
    channels: usize,
    gamma: &[T],
    mean: &[T],
    inv_std: &[T],
    d_gamma: &mut [T],
    d_beta: &mut [T],
    dx: Option<&mut [T]>,
) {
    let n = dy.len() / channels.max(1);
    let (sum_dy, sum_dy_xhat) = channel_sums(dy, x, channels, mean, inv_std);
    for c in 0..channels {
        d_gamma[c] += T::of(sum_dy_xhat[c]);
        d_beta[c] += T::of(sum_dy[c]);
    }
    let Some(dx) = dx else { return };
    let inv_n = 1.0 / n.max(1) as f64;
    let mean_dy: Vec<T> = sum_dy.iter().map(|&s| T::of(s * inv_n)).collect();
    let mean_dy_xhat: Vec<T> = sum_dy_xhat.iter().map(|&s| T::of(s * inv_n)).collect();
    let factor: Vec<T> = gamma.iter().zip(inv_std).map(|(&g, &s)| g * s).collect();
    for_each_row_chunk(dx, channels, |first, dx| {
        let rows = first * channels..first * channels + dx.len();
        for ((dyr, xr), dxr) in dy[rows.clone()]
            .chunks_exact(channels)
            .zip(x[rows].chunks_exact(channels))
            .zip(dx.chunks_exact_mut(channels))
        {
            for c in 0..channels {
                let h = (xr[c] - mean[c]) * inv_std[c];
                dxr[c] = factor[c] * (dyr[c] - mean_dy[c] - h * mean_dy_xhat[c]);
            }
        }
    });
}

/// Evaluation mode's backward pass (the running estimates are constants): accumulates `d_gamma
/// += Σ dy · (x − running_mean) / sqrt(running_var + ε)` and `d_beta += Σ dy`, and writes `dx =
/// dy · gamma / sqrt(running_var + ε)` when asked.
#[allow(clippy::too_many_arguments)]
pub fn backward_eval<T: Scalar>(
    dy: &[T],
    x: &[T],
    channels: usize,
    gamma: &[T],
    running_mean: &[T],
    running_var: &[T],
    d_gamma: &mut [T],
    d_beta: &mut [T],
    dx: Option<&mut [T]>,
) {
    let inv_std = inverse_std(running_var);
    let (sum_dy, sum_dy_xhat) = channel_sums(dy, x, channels, running_mean, &inv_std);
    for c in 0..channels {
        d_gamma[c] += T::of(sum_dy_xhat[c]);
        d_beta[c] += T::of(sum_dy[c]);
    }
    if let Some(dx) = dx {
        for (dyr, dxr) in dy.chunks_exact(channels).zip(dx.chunks_exact_mut(channels)) {
            for c in 0..channels {
                dxr[c] = dyr[c] * gamma[c] * inv_std[c];
            }
        }
    }
}

/// Per channel, Σ dy and Σ dy · x̂ with x̂ = (x − mean) · inv_std, in f64.
fn channel_sums<T: Scalar>(
    dy: &[T],
    x: &[T],
    channels: usize,
    mean: &[T],
    inv_std: &[T],
) -> (Vec<f64>, Vec<f64>) {
    by_channels(dy.len() / channels.max(1), channels, |range| {
        let (mean, inv_std) = (&mean[range.clone()], &inv_std[range.clone()]);
        let mut sum_dy = vec![0.0f64; range.len()];
        let mut sum_dy_xhat = vec![0.0f64; range.len()];
        for (dyr, xr) in dy.chunks_exact(channels).zip(x.chunks_exact(channels)) {
            let (dyr, xr) = (&dyr[range.clone()], &xr[range.clone()]);
            for c in 0..range.len() {
                let h = (xr[c] - mean[c]) * inv_std[c];
                sum_dy[c] += dyr[c].as_f64();
                sum_dy_xhat[c] += (dyr[c] * h).as_f64();
            }
        }
        (sum_dy, sum_dy_xhat)
    })
}

/// Folds one batch's statistics into the running estimates, as PyTorch does after each
/// training-mode forward pass: `running = (1 − momentum) · running + momentum · batch`, the
/// variance unbiased, and the count of batches tracked up by one.
pub fn update_running<T: Scalar>(
    running_mean: &mut [T],
    running_var: &mut [T],
    batches_tracked: &mut T,
    mean: &[T],
    unbiased_var: &[T],
) {
    let m = T::of(MOMENTUM);
    let keep = T::of(1.0 - MOMENTUM);
    for (r, &b) in running_mean.iter_mut().zip(mean) {
        *r = *r * keep + m * b;
    }
    for (r, &b) in running_var.iter_mut().zip(unbiased_var) {
        *r = *r * keep + m * b;
    }
    *batches_tracked += T::one();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's formulas written out per channel, in f64: `(x − mean) / sqrt(var + ε) · γ + β`
    /// with the biased variance, and the running estimates with the unbiased one.
    #[test]
    fn training_mode_matches_the_formulas() {
        let (n, channels) = (5, 3);
        let x: Vec<f64> = (0..n * channels)
            .map(|i| ((i * 37 % 11) as f64 - 4.0) * 0.3)
            .collect();
        let gamma = [1.5, -0.5, 2.0];
        let beta = [0.1, 0.2, -0.3];
        let (mut mean, mut inv_std, mut var) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        let mut y = vec![0.0; x.len()];
        let stats = BatchStatistics {
            mean: &mut mean,
            inv_std: &mut inv_std,
            unbiased_var: &mut var,
        };
        forward_train(
            &x,
            channels,
            &gamma,
            &beta,
            stats,
            &mut y,
            Activation::Identity,
        );
        for c in 0..channels {
            let column: Vec<f64> = (0..n).map(|i| x[i * channels + c]).collect();
            let m = column.iter().sum::<f64>() / n as f64;
            let biased = column.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64;
            let unbiased = biased * n as f64 / (n - 1) as f64;
            assert!((mean[c] - m).abs() < 1e-12);
            assert!((var[c] - unbiased).abs() < 1e-12);
            for i in 0..n {
                let expected = (column[i] - m) / (biased + 1e-5).sqrt() * gamma[c] + beta[c];
                assert!((y[i * channels + c] - expected).abs() < 1e-12);
            }
            let (mut rm, mut rv, mut count) = ([0.0], [1.0], 0.0);
            update_running(&mut rm, &mut rv, &mut count, &[m], &[unbiased]);
            assert!((rm[0] - 0.1 * m).abs() < 1e-15);
            assert!((rv[0] - (0.9 + 0.1 * unbiased)).abs() < 1e-15);
            assert_eq!(count, 1.0);
        }
        // Evaluation mode with running estimates equal to the batch's biased statistics gives
        // the training-mode output.
        let biased: Vec<f64> = inv_std.iter().map(|s| 1.0 / (s * s) - 1e-5).collect();
        let mut y_eval = vec![0.0; x.len()];
        forward_eval(
            &x,
            channels,
            &gamma,
            &beta,
            &mean,
            &biased,
            &mut y_eval,
            Activation::Identity,
        );
        for (a, b) in y.iter().zip(&y_eval) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    /// Large passes split channels (sums) and rows (element-wise) between threads: one, two and
    /// three threads give the same bits, with channel ranges of unequal lengths.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (n, channels) = (700, 40);
        assert!(n * channels >= PARALLEL_MIN_ELEMENTS);
        let x: Vec<f32> = (0..n * channels)
            .map(|i| ((i * 7919 % 1009) as f32 - 500.0) * 0.01)
            .collect();
        let dy: Vec<f32> = (0..n * channels)
            .map(|i| ((i * 104729 % 997) as f32 - 498.0) * 0.003)
            .collect();
        let gamma: Vec<f32> = (0..channels).map(|c| 0.5 + c as f32 * 0.05).collect();
        let beta: Vec<f32> = (0..channels).map(|c| c as f32 * 0.01 - 0.2).collect();
        let run = || {
            let (mut mean, mut inv_std, mut var) = (
                vec![0f32; channels],
                vec![0f32; channels],
                vec![0f32; channels],
            );
            let mut y = vec![0f32; x.len()];
            let stats = BatchStatistics {
                mean: &mut mean,
                inv_std: &mut inv_std,
                unbiased_var: &mut var,
            };
            let act = Activation::LeakyRelu(0.2);
            forward_train(&x, channels, &gamma, &beta, stats, &mut y, act);
            let (mut d_gamma, mut d_beta) = (vec![0f32; channels], vec![0f32; channels]);
            let mut dx = vec![0f32; x.len()];
            backward_train(
                &dy,
                &x,
                channels,
                &gamma,
                &mean,
                &inv_std,
                &mut d_gamma,
                &mut d_beta,
                Some(&mut dx),
            );
            [mean, inv_std, var, y, d_gamma, d_beta, dx]
                .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        };
        let with = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool")
                .install(run)
        };
        let one = with(1);
        assert_eq!(one, with(2));
        assert_eq!(one, with(3));
    }
}
