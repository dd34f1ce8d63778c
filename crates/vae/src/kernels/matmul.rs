//! Matrix products through the `gemm` crate, checked so that the unsafe call is always in bounds.
//!
//! The three products a linear layer needs, with PyTorch's `[out, in]` weight layout:
//! forward `y = x · Wᵀ`, weight gradient `dW += dyᵀ · x`, input gradient `dx = dy · W`.

use super::bf16::{self, Strided};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use gemm::Parallelism;
use std::cell::Cell;

/// What f32 matrix products multiply in. Sums are fp32 either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// fp32 products.
    #[default]
    #[serde(rename = "fp32")]
    F32,
    /// Operands rounded to bfloat16 and multiplied with AVX512-BF16, summed in fp32.
    Bf16,
}

thread_local! {
    /// The precision f32 products on this thread multiply in (see [`with_precision`]).
    static PRECISION: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// Runs `work` with this thread's f32 products multiplying in `precision` (bf16 products sum in
/// fp32), then restores the previous setting. The training loop wraps each step in it; everything
/// else (scoring, pictures, the optimizer) multiplies in fp32.
pub fn with_precision<R>(precision: Precision, work: impl FnOnce() -> R) -> R {
    struct Restore(Precision);
    impl Drop for Restore {
        fn drop(&mut self) {
            PRECISION.set(self.0);
        }
    }
    let _restore = Restore(PRECISION.replace(precision));
    work()
}

/// Whether this thread's f32 products multiply in bf16 now (see [`with_precision`]).
pub fn products_in_bf16() -> bool {
    PRECISION.get() == Precision::Bf16 && bf16::available()
}

/// Products smaller than this many multiply-adds stay fp32 in bf16 mode: below it packing and a
/// padded block cost more than the faster multiply saves (measured on the default model, whose
/// 128 x 400 x 40 and 128 x 20 x 400 products ran slower in bf16).
const BF16_MIN_WORK: usize = 1 << 22;

/// A row-major matrix as stored, optionally read transposed.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    /// Stored shape.
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a, T> MatRef<'a, T> {
    /// `data` as a row-major `[rows, cols]` matrix.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// The transpose, without moving any value.
    pub fn t(self) -> Self {
        MatRef {
            transposed: !self.transposed,
            ..self
        }
    }

    /// The same shape and orientation over `data` (the same values seen as another type).
    fn over<U>(self, data: &[U]) -> MatRef<'_, U> {
        MatRef {
            data,
            rows: self.rows,
            cols: self.cols,
            transposed: self.transposed,
        }
    }

    /// Logical shape after the optional transposition.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (row stride, column stride) of the logical matrix.
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (1, self.cols as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `matmul` in bf16 with fp32 sums, for operands whose shapes `matmul` checked, on a CPU with
/// AVX512-BF16.
pub(crate) fn matmul_bf16_f32(
    dst: &mut [f32],
    a: MatRef<'_, f32>,
    b: MatRef<'_, f32>,
    accumulate: bool,
) -> Result<()> {
    let ((m, k), (_, n)) = (a.shape(), b.shape());
    let ((a_rs, a_cs), (b_rs, b_cs)) = (a.strides(), b.strides());
    // a as its transpose's view ([k, m]): the inner index first, as b is.
    let a = Strided {
        data: a.data,
        inner: k,
        cols: m,
        inner_stride: a_cs as usize,
        col_stride: a_rs as usize,
    };
    let b = Strided {
        data: b.data,
        inner: k,
        cols: n,
        inner_stride: b_rs as usize,
        col_stride: b_cs as usize,
    };
    bf16::matmul_bf16(dst, a, b, accumulate)
}

/// `dst[m, n] = a[m, k] · b[k, n]`, or `dst += a · b` when `accumulate`.
pub fn matmul<T: Scalar>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
) -> Result<()> {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    if k != k2 {
        return Err(Error::shape("matmul inner dimension", k, k2));
    }
    if a.data.len() != a.rows * a.cols {
        return Err(Error::shape(
            "matmul lhs length",
            a.rows * a.cols,
            a.data.len(),
        ));
    }
    if b.data.len() != b.rows * b.cols {
        return Err(Error::shape(
            "matmul rhs length",
            b.rows * b.cols,
            b.data.len(),
        ));
    }
    if dst.len() != m * n {
        return Err(Error::shape("matmul destination length", m * n, dst.len()));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::zero());
        }
        return Ok(());
    }
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    if m * n * k >= BF16_MIN_WORK && products_in_bf16() {
        if let (Some(a_data), Some(b_data), Some(dst)) =
            (T::as_f32(a.data), T::as_f32(b.data), T::as_f32_mut(dst))
        {
            return matmul_bf16_f32(dst, a.over(a_data), b.over(b_data), accumulate);
        }
    }
    let threads = rayon::current_num_threads();
    // gemm splits the output between threads; below ~64^3 the split costs more than it saves.
    let parallelism = if threads > 1 && m * n * k >= 1 << 18 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the lengths checked above make every index gemm computes from (m, n, k) and the
    // strides fall inside the three slices; `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut out = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                out[j * rows + i] = a[i * cols + j];
            }
        }
        out
    }

    #[test]
    fn all_transpositions_match_the_naive_product() -> Result<()> {
        let (m, k, n) = (37, 53, 29);
        let a: Vec<f64> = (0..m * k)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect();
        let b: Vec<f64> = (0..k * n)
            .map(|i| ((i * 104729) % 97) as f64 / 48.0 - 1.0)
            .collect();
        let expected = naive(&a, &b, m, k, n);
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        for (lhs, rhs) in [
            (MatRef::new(&a, m, k), MatRef::new(&b, k, n)),
            (MatRef::new(&at, k, m).t(), MatRef::new(&b, k, n)),
            (MatRef::new(&a, m, k), MatRef::new(&bt, n, k).t()),
            (MatRef::new(&at, k, m).t(), MatRef::new(&bt, n, k).t()),
        ] {
            let mut dst = vec![1.0; m * n];
            matmul(&mut dst, lhs, rhs, false)?;
            for (x, y) in dst.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-12, "{x} vs {y}");
            }
            matmul(&mut dst, lhs, rhs, true)?;
            for (x, y) in dst.iter().zip(&expected) {
                assert!((x - 2.0 * y).abs() < 1e-12, "{x} vs {}", 2.0 * y);
            }
        }
        Ok(())
    }

    #[test]
    fn wrong_lengths_are_errors_not_out_of_bounds_reads() {
        let a = vec![0f32; 6];
        let b = vec![0f32; 5];
        let mut dst = vec![0f32; 4];
        let result = matmul(
            &mut dst,
            MatRef::new(&a, 2, 3),
            MatRef::new(&b, 3, 2),
            false,
        );
        assert!(matches!(result, Err(Error::Shape { .. })));
    }
}
