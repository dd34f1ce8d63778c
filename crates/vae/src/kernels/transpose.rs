//! Out-of-place matrix transposition, for keeping a weight in the layout a product runs fastest in.
//!
//! Square tiles of `TILE` rows are read as contiguous row pieces and written back as contiguous
//! column pieces, so both sides touch whole cache lines; f32 tiles are transposed in AVX registers
//! (eight loads, 24 shuffles, eight stores) where the CPU has AVX, which took a 784 x 400 copy from
//! about 140 to 80 µs, where memory bounds it. The destination's row blocks are independent, so
//! they run in parallel for large matrices.

use super::{vectorized, PARALLEL_MIN_ELEMENTS};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use rayon::prelude::*;

const TILE: usize = 8;
/// Destination rows (source columns) per rayon task.
const ROWS_PER_TASK: usize = 64;

/// `dst [cols, rows] = srcᵀ` for a row-major `src [rows, cols]`.
pub fn transpose<T: Scalar>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) -> Result<()> {
    let len = rows
        .checked_mul(cols)
        .ok_or_else(|| Error::InvalidArgument("transpose: the matrix is too large".into()))?;
    if src.len() != len {
        return Err(Error::shape("transpose source length", len, src.len()));
    }
    if dst.len() != len {
        return Err(Error::shape("transpose destination length", len, dst.len()));
    }
    if len == 0 {
        return Ok(());
    }
    let task = |first_col: usize, block: &mut [T]| match T::as_f32_pair(src, block) {
        Some((src, block)) => transpose_rows(src, rows, cols, first_col, block, avx_tile),
        _ => transpose_rows(src, rows, cols, first_col, block, scalar_tile),
    };
    if len < PARALLEL_MIN_ELEMENTS || rayon::current_num_threads() == 1 {
        vectorized(
            #[inline(always)]
            || task(0, dst),
        );
    } else {
        dst.par_chunks_mut(ROWS_PER_TASK * rows)
            .enumerate()
            .for_each(|(i, block)| {
                vectorized(
                    #[inline(always)]
                    || task(i * ROWS_PER_TASK, block),
                )
            });
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn avx_available() -> bool {
    std::arch::is_x86_feature_detected!("avx")
}

/// A whole tile, `block[to + j · rows + i] = src[from + i · cols + j]` for i, j in 0..TILE, through
/// a local block: rows read whole, columns written whole.
#[inline(always)]
fn scalar_tile<T: Copy + Default>(
    src: &[T],
    from: usize,
    cols: usize,
    block: &mut [T],
    to: usize,
    rows: usize,
) {
    let mut tile = [[T::default(); TILE]; TILE];
    for (i, tile_row) in tile.iter_mut().enumerate() {
        let start = from + i * cols;
        tile_row.copy_from_slice(&src[start..start + TILE]);
    }
    for j in 0..TILE {
        let out = &mut block[to + j * rows..][..TILE];
        for (i, v) in out.iter_mut().enumerate() {
            *v = tile[i][j];
        }
    }
}

/// `scalar_tile` in AVX registers, where the CPU has AVX (the detection is cached, so checking it
/// per tile costs one load).
fn avx_tile(src: &[f32], from: usize, cols: usize, block: &mut [f32], to: usize, rows: usize) {
    // Every access of the unchecked loads and stores lies inside both slices (a panic otherwise).
    assert!(from + (TILE - 1) * cols + TILE <= src.len());
    assert!(to + (TILE - 1) * rows + TILE <= block.len());
    #[cfg(target_arch = "x86_64")]
    if avx_available() {
        // SAFETY: AVX is available, and the asserts bound every access.
        unsafe {
            x86::transpose_8x8(
                src.as_ptr().add(from),
                cols,
                block.as_mut_ptr().add(to),
                rows,
            )
        };
        return;
    }
    scalar_tile(src, from, cols, block, to, rows);
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    /// The 8 x 8 tile in `r` (one row per register) transposed: the usual unpack / shuffle /
    /// permute sequence.
    #[target_feature(enable = "avx")]
    #[inline]
    pub(crate) fn transposed(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ]
    }

    /// The 8 x 8 tile at `src` (row stride `src_stride`) written transposed at `dst` (row stride
    /// `dst_stride`).
    ///
    /// # Safety
    /// AVX is available, and the 8 rows of 8 values at both places lie inside their allocations.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn transpose_8x8(
        src: *const f32,
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
    ) {
        // SAFETY: the caller guarantees every row read and written is in bounds.
        unsafe {
            let r = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * src_stride)));
            for (i, v) in transposed(r).into_iter().enumerate() {
                _mm256_storeu_ps(dst.add(i * dst_stride), v);
            }
        }
    }
}

/// Writes the destination rows `first_col..` (source columns) held in `block`: whole tiles with
/// `tile`, the edges one value at a time.
#[inline(always)]
fn transpose_rows<T: Copy>(
    src: &[T],
    rows: usize,
    cols: usize,
    first_col: usize,
    block: &mut [T],
    tile: impl Fn(&[T], usize, usize, &mut [T], usize, usize),
) {
    let block_cols = block.len() / rows;
    for c0 in (0..block_cols).step_by(TILE) {
        let width = TILE.min(block_cols - c0);
        let col = first_col + c0;
        for r0 in (0..rows).step_by(TILE) {
            let height = TILE.min(rows - r0);
            if width == TILE && height == TILE {
                tile(src, r0 * cols + col, cols, block, c0 * rows + r0, rows);
            } else {
                for j in 0..width {
                    let out = &mut block[(c0 + j) * rows + r0..][..height];
                    for (i, v) in out.iter_mut().enumerate() {
                        *v = src[(r0 + i) * cols + col + j];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition_at_odd_sizes() -> Result<()> {
        for (rows, cols) in [
            (1, 1),
            (3, 5),
            (8, 8),
            (17, 9),
            (130, 67),
            (400, 784),
            (64, 200),
        ] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let mut dst = vec![0f32; rows * cols];
            transpose(&src, rows, cols, &mut dst)?;
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        dst[c * rows + r],
                        src[r * cols + c],
                        "{rows}x{cols} at {r},{c}"
                    );
                }
            }
            // The f64 path, and the scalar tiles on a machine where f32 took the AVX ones.
            let src64: Vec<f64> = src.iter().map(|&v| v as f64).collect();
            let mut dst64 = vec![0f64; rows * cols];
            transpose(&src64, rows, cols, &mut dst64)?;
            assert!(dst64.iter().zip(&dst).all(|(a, &b)| *a == b as f64));
            let mut scalar = vec![0f32; rows * cols];
            transpose_rows(&src, rows, cols, 0, &mut scalar, scalar_tile);
            assert_eq!(scalar, dst, "{rows}x{cols}");
        }
        Ok(())
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let mut dst = vec![0f32; 6];
        assert!(transpose(&[0f32; 5], 2, 3, &mut dst).is_err());
        assert!(transpose(&[0f32; 6], 2, 3, &mut dst[..5]).is_err());
    }
}
