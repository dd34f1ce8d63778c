//! Flush-to-zero for subnormal floats. A saturated decoder gives background pixels probabilities
//! near 1e−38; weighted (M2's q(y | x), 1/S) or multiplied by a weight in a backward product they
//! become subnormal numbers, which x86 cores process through a microcode assist some hundred times
//! slower than normal ones. Measured here: M2's epochs grew from ~55 s to ~200 s over 40 epochs,
//! 85% of the time in gemm's microkernel. Setting FTZ (results) and DAZ (inputs) in MXCSR makes
//! them zero, which is what they are in any f32 sum of gradients. TensorFlow sets the same bits in
//! its compute threads.

/// Sets flush-to-zero and denormals-are-zero on the calling thread (x86-64; a no-op elsewhere).
/// Call it on every thread that runs kernels, e.g. from a rayon pool's `start_handler`.
pub fn flush_to_zero() {
    #[cfg(target_arch = "x86_64")]
    {
        const FTZ: u32 = 1 << 15;
        const DAZ: u32 = 1 << 6;
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr/ldmxcsr read and write this thread's SSE control register; setting FTZ
        // and DAZ changes only how subnormal results and inputs are treated. DAZ exists on every
        // x86-64 processor (SSE2 and later).
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            csr |= FTZ | DAZ;
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
        }
    }
}

/// Whether flush-to-zero is on for the calling thread.
pub fn flushes_to_zero() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr only stores this thread's SSE control register into `csr`.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
        }
        csr & (1 << 15) != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The most worker threads per core [`thread_pool`] starts: more only add switching, and
/// thousands would exhaust the system.
pub const MAX_THREADS_PER_CORE: usize = 8;

/// A rayon pool of `threads` workers (all cores when `None`), each flushing subnormal floats to
/// zero: run training and scoring inside it (`pool.install(|| ...)`) to get the numbers and the
/// speed `vae` gets. The numbers do not depend on the thread count.
pub fn thread_pool(threads: Option<usize>) -> crate::error::Result<rayon::ThreadPool> {
    use crate::error::Error;
    if threads == Some(0) {
        return Err(Error::InvalidArgument(
            "the thread count must be at least 1".into(),
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(n) = threads.filter(|&n| n > MAX_THREADS_PER_CORE * cores) {
        return Err(Error::InvalidArgument(format!(
            "{n} threads is more than {MAX_THREADS_PER_CORE} per core on this machine's {cores} cores"
        )));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .start_handler(|_| flush_to_zero())
        .build()
        .map_err(|e| Error::InvalidArgument(format!("starting the thread pool: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormal_products_become_zero() {
        std::thread::spawn(|| {
            let tiny = std::hint::black_box(1e-38f32);
            let half = std::hint::black_box(0.5f32);
            assert!(tiny * half > 0.0, "subnormal before");
            flush_to_zero();
            if cfg!(target_arch = "x86_64") {
                assert!(flushes_to_zero());
                assert_eq!(std::hint::black_box(tiny) * half, 0.0);
                assert_eq!(std::hint::black_box(1.0f32) + 1.0, 2.0);
            }
        })
        .join()
        .expect("test thread");
    }
}
