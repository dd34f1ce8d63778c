//! The floating-point types the kernels run on: `f32` for training, `f64` for gradient checks.

use super::fastmath;
use std::fmt::Debug;
use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// `f32` or `f64`. Sealed: `gemm` dispatches on exactly these two types.
pub trait Scalar:
    num_traits::Float
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
    + Default
    + Debug
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// `value` in this precision.
    fn of(value: f64) -> Self;
    /// This value in f64.
    fn as_f64(self) -> f64;

    /// `(e^{−|v|}, log(1 + e^{−|v|}))`: the transcendental parts of a stable softplus and
    /// sigmoid. Vectorisable approximations for f32, `std` for f64.
    fn exp_log1p_neg_abs(v: Self) -> (Self, Self);

    /// tanh(v): a vectorisable approximation for f32 (`fastmath::tanh`), `std` for f64.
    fn tanh_vectorisable(v: Self) -> Self;
    /// exp(−|v|), in a form the compiler vectorises for f32.
    fn exp_neg_abs(v: Self) -> Self;

    /// The same slices as `f32`, when `Self` is `f32`: for kernels with an f32-only SIMD path.
    fn as_f32_pair<'a>(src: &'a [Self], dst: &'a mut [Self]) -> Option<(&'a [f32], &'a mut [f32])>;

    /// The same slice as `f32`, when `Self` is `f32`.
    fn as_f32(src: &[Self]) -> Option<&[f32]>;

    /// The same mutable slice as `f32`, when `Self` is `f32`.
    fn as_f32_mut(dst: &mut [Self]) -> Option<&mut [f32]>;
}

impl Scalar for f32 {
    #[inline(always)]
    fn of(value: f64) -> Self {
        value as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp_log1p_neg_abs(v: Self) -> (Self, Self) {
        let e = fastmath::exp_nonpositive(-v.abs());
        (e, fastmath::log1p_unit(e))
    }
    #[inline(always)]
    fn tanh_vectorisable(v: Self) -> Self {
        fastmath::tanh(v)
    }
    #[inline(always)]
    fn exp_neg_abs(v: Self) -> Self {
        fastmath::exp_nonpositive(-v.abs())
    }
    #[inline(always)]
    fn as_f32_pair<'a>(src: &'a [f32], dst: &'a mut [f32]) -> Option<(&'a [f32], &'a mut [f32])> {
        Some((src, dst))
    }
    #[inline(always)]
    fn as_f32(src: &[f32]) -> Option<&[f32]> {
        Some(src)
    }
    #[inline(always)]
    fn as_f32_mut(dst: &mut [f32]) -> Option<&mut [f32]> {
        Some(dst)
    }
}

impl Scalar for f64 {
    #[inline(always)]
    fn of(value: f64) -> Self {
        value
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_log1p_neg_abs(v: Self) -> (Self, Self) {
        let e = (-v.abs()).exp();
        (e, e.ln_1p())
    }
    #[inline(always)]
    fn tanh_vectorisable(v: Self) -> Self {
        v.tanh()
    }
    #[inline(always)]
    fn exp_neg_abs(v: Self) -> Self {
        (-v.abs()).exp()
    }
    #[inline(always)]
    fn as_f32_pair<'a>(_: &'a [f64], _: &'a mut [f64]) -> Option<(&'a [f32], &'a mut [f32])> {
        None
    }
    #[inline(always)]
    fn as_f32(_: &[f64]) -> Option<&[f32]> {
        None
    }
    #[inline(always)]
    fn as_f32_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}
