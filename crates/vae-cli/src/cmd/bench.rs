//! `vae bench`: the machine's fp32 matrix-product peak, measured with the same `gemm` kernels
//! training uses, as JSON. bench/compare.sh divides achieved training throughput by it.

use super::common::thread_pool;
use crate::cli::BenchArgs;
use anyhow::{bail, Result};
use std::time::Instant;
use vae::kernels::matmul::{matmul, MatRef};

pub fn run(args: BenchArgs) -> Result<()> {
    if !(64..=8192).contains(&args.size) || args.repeats == 0 {
        bail!("--size must be 64..=8192 and --repeats at least 1");
    }
    let pool = thread_pool(args.threads)?;
    let n = args.size;
    let a: Vec<f32> = (0..n * n).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i % 5) as f32 - 2.0) * 0.1).collect();
    let mut c = vec![0f32; n * n];
    let seconds = pool.install(|| -> Result<Vec<f64>> {
        // One untimed product warms caches and the thread pool.
        matmul(&mut c, MatRef::new(&a, n, n), MatRef::new(&b, n, n), false)?;
        let mut times = Vec::with_capacity(args.repeats);
        for _ in 0..args.repeats {
            let started = Instant::now();
            matmul(&mut c, MatRef::new(&a, n, n), MatRef::new(&b, n, n), false)?;
            times.push(started.elapsed().as_secs_f64());
        }
        Ok(times)
    })?;
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let best = sorted[0];
    let flops = 2.0 * (n as f64).powi(3);
    println!(
        "{}",
        serde_json::json!({
            "size": n,
            "threads": pool.current_num_threads(),
            "median_gflops": flops / median / 1e9,
            "best_gflops": flops / best / 1e9,
        })
    );
    Ok(())
}
