//! The machine's fp32 arithmetic ceiling, measured rather than assumed: every thread runs
//! independent fused multiply-adds on values held in registers, the widest this CPU has, so
//! nothing but the FMA units and the clock they actually run at limits it. Dividing a kernel's
//! throughput by this says how far it is from the hardware, whatever the vendor's clock tables say.

use std::time::Instant;

/// What the FMA loop found.
#[derive(Clone, Debug, PartialEq)]
pub struct FmaPeak {
    /// The instruction set used: `avx512f`, `avx2+fma`, or `scalar`.
    pub isa: &'static str,
    /// f32 lanes per instruction.
    pub lanes: usize,
    /// Threads that ran the loop at once.
    pub threads: usize,
    /// Floating-point operations per second over all threads (2 per multiply-add), in GFLOP/s.
    pub gflops: f64,
}

/// Independent accumulators: enough to cover the FMA latency (4 cycles) times two FMA ports.
const CHAINS: usize = 12;
/// Loop iterations per timing (each does CHAINS multiply-adds per lane).
const ITERATIONS: u64 = 20_000_000;

/// Runs the FMA loop on every thread of the current rayon pool at once and returns the total rate.
pub fn fma_peak() -> FmaPeak {
    let threads = rayon::current_num_threads();
    let (isa, lanes) = isa();
    // Run twice, keeping the faster: the first pass also wakes the cores up.
    let mut best = 0f64;
    for _ in 0..2 {
        let started = Instant::now();
        let checks: Vec<f32> = rayon::broadcast(|_| run(isa, ITERATIONS));
        let seconds = started.elapsed().as_secs_f64();
        // The sum keeps the loops from being optimised away.
        if checks.iter().all(|c| c.is_finite()) {
            let flops = 2.0 * (CHAINS * lanes) as f64 * ITERATIONS as f64 * threads as f64;
            best = best.max(flops / seconds / 1e9);
        }
    }
    FmaPeak {
        isa,
        lanes,
        threads,
        gflops: best,
    }
}

fn isa() -> (&'static str, usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return ("avx512f", 16);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return ("avx2+fma", 8);
        }
    }
    ("scalar", 1)
}

fn run(isa: &str, iterations: u64) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if isa == "avx512f" {
            // SAFETY: avx512f was detected at run time just above.
            return unsafe { x86::fma_avx512(iterations) };
        }
        if isa == "avx2+fma" {
            // SAFETY: avx2 and fma were detected at run time just above.
            return unsafe { x86::fma_avx2(iterations) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = isa;
    scalar(iterations)
}

fn scalar(iterations: u64) -> f32 {
    let mut acc = [1.0f32; CHAINS];
    let (a, b) = (
        std::hint::black_box(0.999_999f32),
        std::hint::black_box(1e-7f32),
    );
    for _ in 0..iterations {
        for v in acc.iter_mut() {
            *v = v.mul_add(a, b);
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn fma_avx512(iterations: u64) -> f32 {
        let a = _mm512_set1_ps(std::hint::black_box(0.999_999));
        let b = _mm512_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        for _ in 0..iterations {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        let mut total = 0.0;
        for v in acc {
            total += _mm512_reduce_add_ps(v);
        }
        total
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fma_avx2(iterations: u64) -> f32 {
        let a = _mm256_set1_ps(std::hint::black_box(0.999_999));
        let b = _mm256_set1_ps(std::hint::black_box(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..iterations {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut lanes = [0f32; 8];
        let mut total = 0.0;
        for v in acc {
            // SAFETY: `lanes` holds the 8 floats the store writes.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
            total += lanes.iter().sum::<f32>();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fma_loop_computes_what_it_claims() {
        // Each accumulator starts at 1 and takes v <- a v + b, n times: a^n + b (1 - a^n) / (1 - a)
        // in closed form, computed here in f64. With n = 100,000 that is 0.9144, far enough from
        // the starting 1 that a loop which ran too few times (or not at all) fails.
        // (a and b as the f32 values the loops use.)
        let (a, b, n) = (f64::from(0.999_999f32), f64::from(1e-7f32), 100_000u64);
        let expected = a.powi(n as i32) + b * (1.0 - a.powi(n as i32)) / (1.0 - a);
        let (isa, lanes) = super::isa();
        let total = super::run(isa, n);
        let per_value = f64::from(total) / (super::CHAINS * lanes) as f64;
        assert!(
            (per_value - expected).abs() < 1e-3,
            "{isa}: {per_value} against {expected}"
        );
        assert!(
            (1.0 - per_value).abs() > 0.05,
            "{isa}: {per_value}: the loop did not run"
        );
        // The scalar path too, whatever this CPU has.
        let scalar = f64::from(super::scalar(n)) / super::CHAINS as f64;
        assert!(
            (scalar - expected).abs() < 1e-3,
            "scalar: {scalar} against {expected}"
        );
    }
}
