//! Reductions: bias gradients (column sums), log-sum-exp, finiteness checks.
//!
//! Every reduction splits work by output element, never by summation order, so its result is the
//! same for any thread count.

use crate::scalar::Scalar;
use rayon::prelude::*;

/// `dst[j] += Σ_i src[i, j]` over a row-major `[rows, dst.len()]` buffer.
pub fn add_column_sums<T: Scalar>(dst: &mut [T], src: &[T]) {
    let cols = dst.len();
    if cols == 0 {
        return;
    }
    const BAND: usize = 64;
    if src.len() < super::PARALLEL_MIN_ELEMENTS || rayon::current_num_threads() == 1 {
        super::vectorized(
            #[inline(always)]
            || {
                for (band, out) in dst.chunks_mut(BAND).enumerate() {
                    add_band_sums(out, src, cols, band * BAND);
                }
            },
        );
    } else {
        dst.par_chunks_mut(BAND)
            .enumerate()
            .for_each(|(band, out)| {
                super::vectorized(
                    #[inline(always)]
                    || add_band_sums(out, src, cols, band * BAND),
                )
            });
    }
}

/// Column sums of the columns `start..start + out.len()`.
#[inline(always)]
fn add_band_sums<T: Scalar>(out: &mut [T], src: &[T], cols: usize, start: usize) {
    let len = out.len();
    for row in src.chunks_exact(cols) {
        for (o, &v) in out.iter_mut().zip(&row[start..start + len]) {
            *o += v;
        }
    }
}

/// The index of the largest value (the first on ties; 0 for an empty or all-NaN slice).
pub fn argmax<T: Scalar>(row: &[T]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, T::neg_infinity()), |best, (c, &v)| {
            if v > best.1 {
                (c, v)
            } else {
                best
            }
        })
        .0
}

/// Σ_i w_{i mod len} · v_i in f64, in index order; unweighted when `weights` is `None`.
pub fn weighted_sum<T: Scalar>(values: &[T], weights: Option<&[T]>) -> f64 {
    let weight = |i: usize| weights.map_or(T::one(), |w| w[i % w.len()]);
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (weight(i) * *v).as_f64())
        .sum()
}

/// The sum of `values` in f64, in order.
pub fn sum_f64<T: Scalar>(values: &[T]) -> f64 {
    values.iter().map(|v| v.as_f64()).sum()
}

/// Per image of sample-major rows (row `i` is sample `i / rows` of image `i % rows`): the
/// normalised importance weights w̃_i = w_i / Σ_{j of the same image} w_j into `weights`, and
/// log (1/K) Σ_k w_k into `bounds` `[rows]` (Burda et al. 2015, eq. 8), computed in f64 with
/// the maximum shifted out.
pub fn normalized_weights<T: Scalar>(
    log_weights: &[T],
    rows: usize,
    weights: &mut [T],
    bounds: &mut [f64],
) {
    let k = log_weights.len() / rows.max(1);
    for (r, bound) in bounds.iter_mut().enumerate().take(rows) {
        let sample = |s: usize| log_weights[s * rows + r].as_f64();
        let max = (0..k).map(sample).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..k).map(|s| (sample(s) - max).exp()).sum();
        for s in 0..k {
            weights[s * rows + r] = T::of((sample(s) - max).exp() / sum);
        }
        *bound = max + sum.ln() - (k as f64).ln();
    }
}

/// `log Σ exp(values)`, shifted by the maximum so no term overflows. −∞ for an empty slice.
pub fn log_sum_exp<T: Scalar>(values: &[T]) -> T {
    let max = values.iter().copied().fold(T::neg_infinity(), T::max);
    if !max.is_finite() {
        return max;
    }
    let sum: T = values.iter().map(|&v| (v - max).exp()).sum();
    max + sum.ln()
}

/// True when no element is NaN or ±∞, checked in parallel over large slices.
pub fn all_finite<T: Scalar>(values: &[T]) -> bool {
    if values.len() < super::PARALLEL_MIN_ELEMENTS || rayon::current_num_threads() == 1 {
        slice_is_finite(values)
    } else {
        values.par_chunks(1 << 16).all(slice_is_finite)
    }
}

/// `all_finite` on the calling thread. `v · 0` is 0 for finite `v` and NaN otherwise, so one
/// vectorised sum answers for the whole slice.
pub fn slice_is_finite<T: Scalar>(values: &[T]) -> bool {
    super::vectorized(
        #[inline(always)]
        || {
            let mut acc = [T::zero(); 16];
            let mut lanes = values.chunks_exact(16);
            for c in &mut lanes {
                for i in 0..16 {
                    acc[i] += c[i] * T::zero();
                }
            }
            acc.iter().copied().sum::<T>().is_finite()
                && lanes.remainder().iter().all(|v| v.is_finite())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_sums_accumulate() {
        let src: Vec<f64> = (0..600 * 130).map(|i| (i % 7) as f64).collect();
        let mut dst = vec![1.0; 130];
        add_column_sums(&mut dst, &src);
        for (j, v) in dst.iter().enumerate() {
            let expected: f64 = 1.0 + (0..600).map(|i| ((i * 130 + j) % 7) as f64).sum::<f64>();
            assert_eq!(*v, expected);
        }
    }

    #[test]
    fn log_sum_exp_survives_large_values() {
        let v = [1000.0f64, 1000.0];
        assert!((log_sum_exp(&v) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp::<f64>(&[]), f64::NEG_INFINITY);
    }

    #[test]
    fn finiteness() {
        let mut v = vec![0.5f32; 100_000];
        assert!(all_finite(&v));
        v[77_777] = f32::NAN;
        assert!(!all_finite(&v));
    }
}
