//! Matrix products in bfloat16 with fp32 sums, on AVX512-BF16 (`vdpbf16ps`: 32 multiply-adds of
//! bf16 pairs into 16 fp32 sums per instruction, twice fp32 FMA's rate).
//!
//! Both operands are rounded to bf16 (round to nearest even, as `_mm512_cvtne2ps_pbh`) and packed
//! as pairs along the inner dimension: `[k / 2, cols]` of `u32`, each holding the values at inner
//! indices `2p` and `2p + 1` of one column. The micro-kernel keeps an 8 x 32 block of fp32 sums in
//! 16 registers; each step broadcasts one pair of each of 8 rows of `a` and multiplies it into 32
//! columns of `b`. The destination, the master weights and everything outside the product stay
//! fp32.

use super::transpose::transpose;
use crate::error::Result;
use rayon::prelude::*;

/// Rows of the micro-kernel's block.
const MR: usize = 8;
/// Columns of the micro-kernel's block: two registers of 16 fp32 sums.
const NR: usize = 32;

/// Whether this CPU multiplies in bf16 (AVX512-BF16, with AVX-512 F and BW).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `value` rounded to the nearest bf16 (ties to even), as its 16 bits. NaN stays NaN.
pub fn to_bf16(value: f32) -> u16 {
    let bits = value.to_bits();
    if value.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rounding = 0x7FFF + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

/// The f32 a bf16 stands for.
pub fn from_bf16(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// A logical `[inner, cols]` view of a strided f32 matrix: element `(i, c)` is
/// `data[i * inner_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a> {
    pub data: &'a [f32],
    pub inner: usize,
    pub cols: usize,
    pub inner_stride: usize,
    pub col_stride: usize,
}

/// A pair of bf16 values as the 32 bits the kernel reads: `lo` in the low half.
fn pair(lo: f32, hi: f32) -> f32 {
    f32::from_bits(u32::from(to_bf16(lo)) | (u32::from(to_bf16(hi)) << 16))
}

/// Packs `m` as bf16 pairs along the inner dimension into `out`: `[ceil(inner / 2), padded_cols]`,
/// each 32-bit slot (an `f32` holding the pair's bits) the values at inner indices `2p` and
/// `2p + 1` of one column; the columns past `cols` and an odd inner dimension's last half zero.
/// `scratch` holds the transposed pairs where the inner index runs along memory.
fn pack(m: Strided, padded_cols: usize, out: &mut Vec<f32>, scratch: &mut Vec<f32>) -> Result<()> {
    let pairs = m.inner.div_ceil(2);
    out.clear();
    out.resize(pairs * padded_cols, 0.0);
    if m.col_stride == 1 {
        // Each pair of inner rows is two runs of columns: converted 16 columns at a time.
        out.par_chunks_mut(padded_cols)
            .enumerate()
            .for_each(|(p, row)| {
                let run = |i: usize| &m.data[i * m.inner_stride..][..m.cols];
                let second = (2 * p + 1 < m.inner).then(|| run(2 * p + 1));
                pairs_across(run(2 * p), second, &mut row[..m.cols]);
            });
    } else if m.inner_stride == 1 {
        // Each column is a run along the inner index: converted into pairs 32 values at a time,
        // as a `[padded_cols, pairs]` matrix, then transposed.
        pack_columns(m, padded_cols, scratch);
        transpose(scratch, padded_cols, pairs, out)?;
    } else {
        let at = |i: usize, c: usize| m.data[i * m.inner_stride + c * m.col_stride];
        out.par_chunks_mut(padded_cols)
            .enumerate()
            .for_each(|(p, row)| {
                for (c, slot) in row.iter_mut().enumerate().take(m.cols) {
                    let hi = if 2 * p + 1 < m.inner {
                        at(2 * p + 1, c)
                    } else {
                        0.0
                    };
                    *slot = pair(at(2 * p, c), hi);
                }
            });
    }
    Ok(())
}

/// Packs `m`, whose columns run along the inner index, as `[padded_cols, ceil(inner / 2)]`: each
/// column's pairs in a row of their own (the padding columns zero).
fn pack_columns(m: Strided, padded_cols: usize, out: &mut Vec<f32>) {
    let pairs = m.inner.div_ceil(2);
    out.clear();
    out.resize(padded_cols * pairs, 0.0);
    out.par_chunks_mut(pairs)
        .take(m.cols)
        .enumerate()
        .for_each(|(c, column)| {
            pairs_along(&m.data[c * m.col_stride..][..m.inner], column);
        });
}

/// `out[c] = (first[c], second[c])` as bf16 pairs (`second` zero when absent).
fn pairs_across(first: &[f32], second: Option<&[f32]>, out: &mut [f32]) {
    // SAFETY: the caller of the kernels checked AVX512-BF16; the lengths bound every access.
    #[cfg(target_arch = "x86_64")]
    let done = unsafe { x86::pairs_across(first, second, out) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for c in done..out.len() {
        out[c] = pair(first[c], second.map_or(0.0, |s| s[c]));
    }
}

/// `out[q] = (run[2q], run[2q + 1])` as bf16 pairs (the last half zero for an odd run).
fn pairs_along(run: &[f32], out: &mut [f32]) {
    // SAFETY: as in `pairs_across`.
    #[cfg(target_arch = "x86_64")]
    let done = unsafe { x86::pairs_along(run, out) };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for q in done..out.len() {
        let hi = run.get(2 * q + 1).copied().unwrap_or(0.0);
        out[q] = pair(run[2 * q], hi);
    }
}

thread_local! {
    /// Each thread's packed operands and their scratch, reused from product to product.
    static BUFFERS: std::cell::RefCell<[Vec<f32>; 3]> = std::cell::RefCell::default();
}

/// `dst [m, n] = a · b` (or `+=` when `accumulate`), `a` given as its transpose's view
/// (`[k, m]`: inner dimension first) and `b` as `[k, n]`, multiplied in bf16 with fp32 sums.
/// The caller checks that the CPU has AVX512-BF16 ([`available`]) and the shapes.
pub(super) fn matmul_bf16(dst: &mut [f32], a: Strided, b: Strided, accumulate: bool) -> Result<()> {
    let (m, n, k) = (a.cols, b.cols, a.inner);
    debug_assert_eq!(b.inner, k);
    debug_assert_eq!(dst.len(), m * n);
    let padded_m = m.div_ceil(MR) * MR;
    let padded_n = n.div_ceil(NR) * NR;
    // Taken out for the call (a nested product, were there one, would start from empty buffers).
    let [mut a_pairs, mut b_pairs, mut scratch] = BUFFERS.take();
    // The kernel reads a's pairs one row of the block at a time, wherever they lie: as packed, or
    // (when a's rows run along the inner index) row by row, with no transposition.
    let a_strides = if a.inner_stride == 1 && a.col_stride != 1 {
        pack_columns(a, padded_m, &mut a_pairs);
        (1, a.inner.div_ceil(2))
    } else {
        pack(a, padded_m, &mut a_pairs, &mut scratch)?;
        (padded_m, 1)
    };
    pack(b, padded_n, &mut b_pairs, &mut scratch)?;
    let pairs = k.div_ceil(2);
    let threads = rayon::current_num_threads().max(1);
    // Each task takes whole blocks of rows and sweeps every column panel over them, so a panel of
    // b stays in cache while the task's rows pass over it.
    let rows_per_task = (m.div_ceil(threads)).div_ceil(MR) * MR;
    dst.par_chunks_mut(rows_per_task * n)
        .enumerate()
        .for_each(|(task, rows)| {
            let first = task * rows_per_task;
            let count = rows.len() / n;
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `available()` was checked by the caller; every index below stays inside the
            // packed buffers (padded to whole blocks) and `rows` (masked at the edges).
            unsafe {
                x86::task(
                    rows, first, count, n, pairs, a_strides, padded_n, &a_pairs, &b_pairs,
                    accumulate,
                );
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                let _ = (
                    rows, first, count, pairs, a_strides, &a_pairs, &b_pairs, accumulate,
                );
            }
        });
    BUFFERS.set([a_pairs, b_pairs, scratch]);
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    /// 32 bf16 values, as the 16 pairs of 32 bits they were packed in.
    #[inline(always)]
    fn bh(v: __m512i) -> __m512bh {
        // SAFETY: both are 64 bytes of plain data; every bit pattern is a valid value of each.
        unsafe { std::mem::transmute::<__m512i, __m512bh>(v) }
    }

    /// `pairs_across` 16 columns at a time; returns how many columns it did.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pairs_across(
        first: &[f32],
        second: Option<&[f32]>,
        out: &mut [f32],
    ) -> usize {
        let whole = out.len() / 16 * 16;
        // SAFETY: every access is below `whole`, which no slice is shorter than.
        unsafe {
            for c in (0..whole).step_by(16) {
                let lo = _mm512_cvtepu16_epi32(bits(_mm512_cvtneps_pbh(_mm512_loadu_ps(
                    first.as_ptr().add(c),
                ))));
                let hi = match second {
                    Some(s) => _mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(bits(
                        _mm512_cvtneps_pbh(_mm512_loadu_ps(s.as_ptr().add(c))),
                    ))),
                    None => _mm512_setzero_si512(),
                };
                _mm512_storeu_si512(out.as_mut_ptr().add(c).cast(), _mm512_or_si512(lo, hi));
            }
        }
        whole
    }

    /// `pairs_along` 16 pairs (32 values) at a time; returns how many pairs it did.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn pairs_along(run: &[f32], out: &mut [f32]) -> usize {
        let whole = (run.len() / 32).min(out.len() / 16) * 16;
        // SAFETY: pair q reads values 2q and 2q + 1, below 2 * whole <= run.len().
        unsafe {
            for q in (0..whole).step_by(16) {
                let low = _mm512_loadu_ps(run.as_ptr().add(2 * q));
                let high = _mm512_loadu_ps(run.as_ptr().add(2 * q + 16));
                let packed = _mm512_cvtne2ps_pbh(high, low);
                _mm512_storeu_si512(
                    out.as_mut_ptr().add(q).cast(),
                    std::mem::transmute::<__m512bh, __m512i>(packed),
                );
            }
        }
        whole
    }

    /// 16 bf16 values as the 16-bit integers they are.
    #[inline(always)]
    fn bits(v: __m256bh) -> __m256i {
        // SAFETY: both are 32 bytes of plain data.
        unsafe { std::mem::transmute::<__m256bh, __m256i>(v) }
    }

    /// Rows `first .. first + count` of the product, into `rows` (`count x n`).
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn task(
        rows: &mut [f32],
        first: usize,
        count: usize,
        n: usize,
        pairs: usize,
        (a_step, a_row_stride): (usize, usize),
        padded_n: usize,
        a: &[f32],
        b: &[f32],
        accumulate: bool,
    ) {
        // SAFETY: the caller checked the CPU; the packed operands are padded to whole blocks, so
        // every load lies inside them, and the stores are masked to the `count x n` rows.
        unsafe {
            for panel in (0..padded_n).step_by(NR) {
                let width = NR.min(n - panel);
                for block in (0..count).step_by(MR) {
                    let height = MR.min(count - block);
                    let mut sums = [[_mm512_setzero_ps(); 2]; MR];
                    let a_base = a.as_ptr().add((first + block) * a_row_stride);
                    let b_base = b.as_ptr().add(panel);
                    for p in 0..pairs {
                        let b_row = b_base.add(p * padded_n);
                        let b0 = bh(_mm512_loadu_si512(b_row.cast()));
                        let b1 = bh(_mm512_loadu_si512(b_row.add(16).cast()));
                        let a_row = a_base.add(p * a_step);
                        for (r, sum) in sums.iter_mut().enumerate() {
                            let pair = bh(_mm512_set1_epi32(
                                (*a_row.add(r * a_row_stride)).to_bits() as i32,
                            ));
                            sum[0] = _mm512_dpbf16_ps(sum[0], pair, b0);
                            sum[1] = _mm512_dpbf16_ps(sum[1], pair, b1);
                        }
                    }
                    for (r, sum) in sums.iter().enumerate().take(height) {
                        let out = rows.as_mut_ptr().add((block + r) * n + panel);
                        for (half, value) in sum.iter().enumerate() {
                            let start = half * 16;
                            if start >= width {
                                break;
                            }
                            let lanes = (width - start).min(16);
                            let mask: __mmask16 = if lanes == 16 {
                                0xFFFF
                            } else {
                                (1u16 << lanes) - 1
                            };
                            let at = out.add(start);
                            let value = if accumulate {
                                _mm512_add_ps(*value, _mm512_maskz_loadu_ps(mask, at))
                            } else {
                                *value
                            };
                            _mm512_mask_storeu_ps(at, mask, value);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::matmul::{matmul_bf16_f32, MatRef};

    /// The product of the bf16-rounded operands in f64: what bf16 products with fp32 sums
    /// approach, up to the sums' rounding.
    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let r = |v: f32| f64::from(from_bf16(to_bf16(v)));
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| r(a[i * k + p]) * r(b[p * n + j])).sum();
            }
        }
        out
    }

    fn values(len: usize, salt: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + salt * 104_729) % 2003) as f32 / 1001.0 - 1.0) * 1.7)
            .collect()
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3F80);
        // 1 + 2^-8 lies halfway between two bf16 values: ties go to the even one, 1.0.
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0), 0x3F80);
        assert_eq!(to_bf16(1.0 + 3.0 / 256.0), 0x3F82);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
    }

    #[test]
    fn products_in_every_layout_match_the_rounded_reference() {
        if !available() {
            eprintln!("SKIPPED: this CPU has no AVX512-BF16");
            return;
        }
        for &(m, k, n) in &[
            (13, 33, 45),
            (128, 784, 40),
            (8, 2, 32),
            (1, 257, 3),
            (40, 128, 784),
        ] {
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let expected = reference(&a, &b, m, k, n);
            // Each operand stored as is and stored transposed.
            let a_t: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            let b_t: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            for (a_view, b_view) in [
                (MatRef::new(&a, m, k), MatRef::new(&b, k, n)),
                (MatRef::new(&a_t, k, m).t(), MatRef::new(&b, k, n)),
                (MatRef::new(&a, m, k), MatRef::new(&b_t, n, k).t()),
                (MatRef::new(&a_t, k, m).t(), MatRef::new(&b_t, n, k).t()),
            ] {
                let mut dst = vec![0.5f32; m * n];
                matmul_bf16_f32(&mut dst, a_view, b_view, true).unwrap_or_else(|e| panic!("{e}"));
                for (got, want) in dst.iter().zip(&expected) {
                    let want = want + 0.5;
                    assert!(
                        (f64::from(*got) - want).abs() <= 1e-5 * (k as f64) * (1.0 + want.abs()),
                        "({m}, {k}, {n}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
