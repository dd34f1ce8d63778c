//! The numeric kernels: the only code that touches raw loops over buffers.
//!
//! Models call these and nothing lower, so a CUDA implementation can replace this module without
//! touching `nn` or `model`. Buffers are row-major `[rows, cols]` slices owned by the caller and
//! reused across steps; nothing here allocates per call except the bounded scratch in `reduce`.

pub mod attention;
pub mod bf16;
pub mod conv;
pub mod convert;
pub mod denormals;
pub mod elementwise;
pub mod fastmath;
pub mod gaussian;
pub mod loss;
pub mod matmul;
pub mod normalize;
pub mod peak;
pub mod recurrent;
pub mod reduce;
pub mod rng;
pub mod rows;
pub mod scalar;
pub mod transpose;
pub mod update;

use rayon::prelude::*;

/// Below this many elements a pass runs on the calling thread: rayon's fork/join costs a few
/// microseconds, which a 128 x 20 KL pass does not repay.
pub(crate) const PARALLEL_MIN_ELEMENTS: usize = 1 << 14;

/// Runs `f` compiled for the widest instruction set this CPU has (AVX-512, AVX2 + FMA, or the
/// x86-64 baseline), detected at run time, so the loops inlined into it vectorise at full width
/// while the binary still runs on any x86-64. The result does not depend on the choice: Rust never
/// fuses a multiply and an add on its own, and every reduction here has a fixed order.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Runs `f(first_row, rows_chunk)` over chunks of whole rows of a row-major `[rows, cols]` buffer,
/// in parallel when the buffer is large. Each row is visited by exactly one call, so results do not
/// depend on the thread count.
pub(crate) fn for_each_row_chunk<T, F>(data: &mut [T], cols: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    if cols == 0 || data.is_empty() {
        return;
    }
    match rows_per_task(data.len() / cols, cols) {
        None => vectorized(
            #[inline(always)]
            || f(0, data),
        ),
        Some(rows) => data
            .par_chunks_mut(rows * cols)
            .enumerate()
            .for_each(|(task, chunk)| {
                vectorized(
                    #[inline(always)]
                    || f(task * rows, chunk),
                )
            }),
    }
}

/// How many rows of a `[rows, cols]` pass each rayon task takes, or `None` to run serially.
/// A few tasks per thread for load balance, each at least `PARALLEL_MIN_ELEMENTS / 4` elements.
pub(crate) fn rows_per_task(rows: usize, cols: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if rows * cols < PARALLEL_MIN_ELEMENTS || threads == 1 || rows < 2 {
        return None;
    }
    let min_rows = (PARALLEL_MIN_ELEMENTS / 4).div_ceil(cols.max(1)).max(1);
    Some(rows.div_ceil(threads * 4).max(min_rows))
}
