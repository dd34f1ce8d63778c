//! Random streams. Every random draw in training is taken from a stream named by
//! `(seed, purpose, indices)`, e.g. `(seed, Noise, [epoch, batch])`. Runs are reproducible, and a
//! resumed run draws exactly what an uninterrupted one would, without saving generator state.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use rand::{Rng as _, SeedableRng};
use rand_distr::StandardNormal;

/// The generator every stream uses: xoshiro256++.
pub type Rng = rand_xoshiro::Xoshiro256PlusPlus;

/// What a stream is used for; part of its name so that streams never overlap by accident.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Purpose {
    /// Initial weights.
    Init = 1,
    /// The order of the training images in an epoch.
    Shuffle = 2,
    /// Dynamic binarization of training batches.
    Binarize = 3,
    /// The reparameterization's ε.
    Noise = 4,
    /// Scoring's importance samples.
    Evaluate = 5,
    /// The test split's one binarization.
    TestBinarize = 6,
    /// Draws from the prior for pictures.
    Sample = 7,
    /// The labelled subset of semi-supervised training.
    Select = 8,
    /// Draws of M1's codes for M1 + M2.
    Features = 9,
}

/// SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijective avalanche mix of 64 bits.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The generator for `(seed, purpose, indices)`.
pub fn stream(seed: u64, purpose: Purpose, indices: &[u64]) -> Rng {
    let mut state = mix(seed ^ mix(purpose as u64));
    for &index in indices {
        state = mix(state ^ mix(index.wrapping_add(0x632B_E59B_D9B4_E019)));
    }
    Rng::seed_from_u64(state)
}

/// Appends `len` draws uniform on `[-bound, bound]` (f64 draws, then converted).
pub fn append_uniform<T: Scalar>(rng: &mut Rng, len: usize, bound: f64, out: &mut Vec<T>) {
    out.extend((0..len).map(|_| T::of(rng.gen_range(-bound..=bound))));
}

/// Fills `out` with independent N(0, 1) draws.
pub fn fill_standard_normal<T: Scalar>(rng: &mut Rng, out: &mut [T]) {
    for v in out.iter_mut() {
        let draw: f64 = rng.sample(StandardNormal);
        *v = T::of(draw);
    }
}

/// The rows of a minibatch's noise one process keeps when processes share the minibatch (data
/// parallelism): `parts` are (first row, rows) ranges of the `total` rows the whole minibatch
/// draws, in the order the process holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowShare {
    /// Rows of the whole minibatch.
    pub total: usize,
    /// The (first row, rows) ranges this process holds, in order.
    pub parts: [(usize, usize); 2],
}

impl RowShare {
    /// The rows this process holds.
    pub fn rows(&self) -> usize {
        self.parts.iter().map(|&(_, rows)| rows).sum()
    }
}

/// `fill_standard_normal` for noise laid out sample-major, `[samples, rows, width]`. With a
/// `share`, the whole minibatch's noise `[samples, total, width]` is drawn in the order one
/// process draws it, and the shared rows are kept: processes that split a minibatch then train
/// on the very noise of a single process.
pub fn fill_standard_normal_rows<T: Scalar>(
    rng: &mut Rng,
    share: Option<&RowShare>,
    width: usize,
    out: &mut [T],
) -> Result<()> {
    let Some(share) = share else {
        fill_standard_normal(rng, out);
        return Ok(());
    };
    let rows = share.rows();
    if rows == 0 || width == 0 {
        return Ok(());
    }
    let samples = out.len() / (rows * width);
    let beyond = share
        .parts
        .iter()
        .any(|&(first, n)| first + n > share.total);
    if beyond || samples * rows * width != out.len() {
        return Err(Error::InvalidArgument(format!(
            "a noise share of {rows} rows {:?} of {} does not fit {} values of width {width}",
            share.parts,
            share.total,
            out.len()
        )));
    }
    let mut whole = vec![T::zero(); samples * share.total * width];
    fill_standard_normal(rng, &mut whole);
    let mut kept = out.chunks_exact_mut(width);
    for sample in whole.chunks_exact(share.total * width) {
        for &(first, n) in &share.parts {
            for row in sample.chunks_exact(width).skip(first).take(n) {
                if let Some(out_row) = kept.next() {
                    out_row.copy_from_slice(row);
                }
            }
        }
    }
    Ok(())
}

/// A uniform draw from `0..n`.
pub fn below(rng: &mut Rng, n: usize) -> usize {
    rng.gen_range(0..n)
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub fn permutation(rng: &mut Rng, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.gen_range(0..=i));
    }
    order
}

/// 24-bit uniform integers, two per generator call, for Bernoulli draws against a threshold.
pub fn next_u24_pair(rng: &mut Rng) -> (u32, u32) {
    let word: u64 = rng.gen();
    ((word >> 40) as u32, ((word >> 8) & 0xFF_FFFF) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(7, Purpose::Noise, &[1, 2]).gen();
        let b: u64 = stream(7, Purpose::Noise, &[1, 2]).gen();
        let c: u64 = stream(7, Purpose::Noise, &[2, 1]).gen();
        let d: u64 = stream(7, Purpose::Shuffle, &[1, 2]).gen();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn normal_draws_have_unit_moments() {
        let mut rng = stream(1, Purpose::Noise, &[]);
        let mut v = vec![0f64; 200_000];
        fill_standard_normal(&mut rng, &mut v);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.015, "variance {var}");
    }

    #[test]
    fn shared_rows_are_the_whole_draws_rows() {
        // Two samples of 5 rows of width 3; the share holds rows 1..3 and 4..5.
        let mut whole = vec![0f32; 2 * 5 * 3];
        fill_standard_normal(&mut stream(5, Purpose::Noise, &[]), &mut whole);
        let share = RowShare {
            total: 5,
            parts: [(1, 2), (4, 1)],
        };
        let mut kept = vec![0f32; 2 * 3 * 3];
        fill_standard_normal_rows(
            &mut stream(5, Purpose::Noise, &[]),
            Some(&share),
            3,
            &mut kept,
        )
        .unwrap();
        let expected: Vec<f32> = [1, 2, 4, 6, 7, 9]
            .iter()
            .flat_map(|&r| whole[r * 3..r * 3 + 3].to_vec())
            .collect();
        assert_eq!(kept, expected);
        // Without a share: the plain draw.
        let mut plain = vec![0f32; 2 * 5 * 3];
        fill_standard_normal_rows(&mut stream(5, Purpose::Noise, &[]), None, 3, &mut plain)
            .unwrap();
        assert_eq!(plain, whole);
        // A share that claims rows beyond the minibatch is an error, not a panic.
        let bad = RowShare {
            total: 4,
            parts: [(3, 2), (0, 0)],
        };
        let mut out = vec![0f32; 2 * 3];
        assert!(fill_standard_normal_rows(
            &mut stream(5, Purpose::Noise, &[]),
            Some(&bad),
            3,
            &mut out
        )
        .is_err());
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = permutation(&mut stream(3, Purpose::Shuffle, &[0]), 1000);
        p.sort_unstable();
        assert!(p.iter().enumerate().all(|(i, &v)| i == v));
    }
}
