//! `vae bench`: the machine's fp32 matrix-product peak, measured with the same `gemm` kernels
//! training uses, and its arithmetic ceiling (register-resident FMAs on every thread), as JSON.
//! bench/compare.sh divides achieved training throughput by these.
//! With `--epoch-products B` it also times the products alone of one training epoch at batch B,
//! and with `--score-products K` those of K-sample importance sampling over the test set: the
//! floors training and evaluation can reach with these kernels at those (thin) shapes.
//! With `--shapes` it times each of those product shapes alone, in all four storage layouts.

use super::common::thread_pool;
use crate::cli::{ArchArg, BenchArgs};
use anyhow::{bail, Context, Result};
use std::time::Instant;
use vae::config::arch;
use vae::config::ImageShape;
use vae::kernels::elementwise::Activation;
use vae::kernels::matmul::{matmul, MatRef};
use vae::model::vae::SCORE_ROWS;
use vae::nn::linear::forward_product;
use vae::nn::products::{
    layout_name, network_step, step_and_scoring, LayerKind, Product, ProductShape, LAYOUTS,
};
use vae::nn::spec::LayerSpec;

pub fn run(args: BenchArgs) -> Result<()> {
    if !(64..=8192).contains(&args.size) || args.repeats == 0 {
        bail!("--size must be 64..=8192 and --repeats at least 1");
    }
    let pool = thread_pool(args.threads)?;
    let (layers, decoder) = default_products()?;
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
    // The arithmetic ceiling: register-resident FMAs on every thread, at the clock they run at.
    let fma = pool.install(vae::kernels::peak::fma_peak);
    let (cpu, mhz) = vae::machine::cpu();
    let mut report = serde_json::json!({
        "size": n,
        "threads": pool.current_num_threads(),
        "median_gflops": flops / median / 1e9,
        "best_gflops": flops / best / 1e9,
        "machine": {
            "cpu": cpu,
            "cpu_mhz_reported": mhz,
            "isa": fma.isa,
            "f32_lanes": fma.lanes,
            "fma_peak_gflops": fma.gflops,
            "fma_peak_how": "measured: independent register-resident FMAs on every thread",
        },
        "provenance": vae::machine::Provenance::now(pool.current_num_threads()),
    });
    if let Some(batch) = args.epoch_products {
        if !(1..=TRAINING_IMAGES).contains(&batch) {
            bail!("--epoch-products must be a minibatch size in 1..={TRAINING_IMAGES}");
        }
        // The median of three epochs, after one untimed epoch.
        let mut epochs = pool.install(|| -> Result<Vec<f64>> {
            (0..4).map(|_| epoch_products(&layers, batch)).collect()
        })?;
        epochs.remove(0);
        epochs.sort_by(f64::total_cmp);
        let seconds = epochs[epochs.len() / 2];
        let flops = 3.0 * 2.0 * macs(&layers) as f64 * TRAINING_IMAGES as f64;
        report["epoch_products"] = serde_json::json!({
            "batch_size": batch,
            "seconds": seconds,
            "gflops": flops / seconds / 1e9,
        });
    }
    if let Some(k) = args.score_products {
        if !(1..=100_000).contains(&k) {
            bail!("--score-products must be a sample count in 1..=100000");
        }
        let seconds = pool.install(|| score_products(&decoder, k))?;
        let flops = 2.0 * macs(&decoder) as f64 * (k * TEST_IMAGES) as f64;
        report["score_products"] = serde_json::json!({
            "samples": k,
            "seconds": seconds,
            "gflops": flops / seconds / 1e9,
        });
    }
    if args.shapes {
        let shapes = match args.arch {
            ArchArg::Mlp => step_and_scoring(&layers, STEP_ROWS, &decoder, SCORE_ROWS),
            ArchArg::Conv => conv_step()?,
        };
        report["arch"] = format!("{:?}", args.arch).to_lowercase().into();
        report["shapes"] =
            pool.install(|| product_shapes(&shapes, args.repeats.min(MAX_ROUNDS)))?;
    }
    println!("{report}");
    Ok(())
}

const TRAINING_IMAGES: usize = 60_000;
const TEST_IMAGES: usize = 10_000;

/// Dense products as (inputs, outputs).
type Products = Vec<(usize, usize)>;

/// The default VAE's dense products as (inputs, outputs), derived from its configuration:
/// encoder 784-400 and the `[mean | log_var]` head, decoder 20-400 and 400-784; and the
/// decoder's alone (importance sampling runs the encoder once per image, the decoder K times).
fn default_products() -> Result<(Products, Products)> {
    let (layers, decoder) = vae::ModelConfig::default()
        .dense_products()
        .context("the default model is dense")?;
    let decoder_layers = layers[layers.len() - decoder..].to_vec();
    Ok((layers, decoder_layers))
}

/// Small nonzero operands for the timed products.
fn fill(len: usize) -> Vec<f32> {
    (0..len).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect()
}

fn macs(layers: &[(usize, usize)]) -> usize {
    layers.iter().map(|(i, o)| i * o).sum()
}

/// `nn::linear::forward_product` through each layer `(inputs, outputs)` on its own stand-in input,
/// `rows` rows (the transposed copy, where the layer makes one, timed with the product).
fn forward_layers(
    layers: &[(usize, usize)],
    weights: &[Vec<f32>],
    inputs: &[Vec<f32>],
    outputs: &mut [Vec<f32>],
    rows: usize,
    weight_t: &mut Vec<f32>,
) -> Result<()> {
    for (l, &(i, o)) in layers.iter().enumerate() {
        let x = &inputs[l][..rows * i];
        forward_product(
            &mut outputs[l][..rows * o],
            x,
            rows,
            &weights[l],
            (i, o),
            weight_t,
        )?;
    }
    Ok(())
}

/// Seconds for the products of one epoch, with the layouts `nn::Linear` uses: forward
/// `x · Wᵀ` (see `forward_layers`), weight gradient `dyᵀ · x`, input gradient `dy · W` (not for the
/// first layer, whose input is the data).
fn epoch_products(layers: &[(usize, usize)], batch: usize) -> Result<f64> {
    let weights: Vec<Vec<f32>> = layers.iter().map(|(i, o)| fill(i * o)).collect();
    let mut grads: Vec<Vec<f32>> = layers.iter().map(|(i, o)| vec![0.0; i * o]).collect();
    let inputs: Vec<Vec<f32>> = layers.iter().map(|(i, _)| fill(batch * i)).collect();
    let mut outputs: Vec<Vec<f32>> = layers.iter().map(|(_, o)| vec![0.0; batch * o]).collect();
    let mut input_grads: Vec<Vec<f32>> = layers.iter().map(|(i, _)| vec![0.0; batch * i]).collect();
    let mut weight_t = Vec::new();
    let started = Instant::now();
    let mut done = 0;
    while done < TRAINING_IMAGES {
        let rows = batch.min(TRAINING_IMAGES - done);
        forward_layers(layers, &weights, &inputs, &mut outputs, rows, &mut weight_t)?;
        for (l, &(i, o)) in layers.iter().enumerate().rev() {
            // The forward outputs stand in for the gradients flowing back: same shapes.
            let dy = MatRef::new(&outputs[l][..rows * o], rows, o);
            let x = MatRef::new(&inputs[l][..rows * i], rows, i);
            matmul(&mut grads[l], dy.t(), x, true)?;
            if l > 0 {
                let w = MatRef::new(&weights[l], o, i);
                matmul(&mut input_grads[l][..rows * i], dy, w, false)?;
            }
        }
        done += rows;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Seconds for the decoder's forward products of `k` samples of each of the 10,000 test images,
/// timed on 100 images and scaled, in blocks of `SCORE_ROWS` rows as `Vae::score` decodes them.
fn score_products(decoder: &[(usize, usize)], k: usize) -> Result<f64> {
    const TIMED_IMAGES: usize = 100;
    let block = SCORE_ROWS;
    let weights: Vec<Vec<f32>> = decoder.iter().map(|(i, o)| fill(i * o)).collect();
    let inputs: Vec<Vec<f32>> = decoder.iter().map(|(i, _)| fill(block * i)).collect();
    let mut outputs: Vec<Vec<f32>> = decoder.iter().map(|(_, o)| vec![0.0; block * o]).collect();
    let mut weight_t = Vec::new();
    let mut decode = |rows: usize, outputs: &mut [Vec<f32>]| {
        forward_layers(decoder, &weights, &inputs, outputs, rows, &mut weight_t)
    };
    decode(block, &mut outputs)?;
    let started = Instant::now();
    let mut left = TIMED_IMAGES * k;
    while left > 0 {
        let rows = block.min(left);
        decode(rows, &mut outputs)?;
        left -= rows;
    }
    Ok(started.elapsed().as_secs_f64() * (TEST_IMAGES / TIMED_IMAGES) as f64)
}

/// The training step's products of the convolutional preset on MNIST with `bench/compare.sh`'s
/// settings (latent 20, one dense layer of 400, ReLU): the encoder with its `[mean | log_var]`
/// head, then the decoder.
fn conv_step() -> Result<Vec<ProductShape>> {
    const LATENT: usize = 20;
    let image = ImageShape::MNIST;
    let (mut encoder, decoder) = arch::conv(image, &[400], Activation::Relu)?;
    encoder.push(LayerSpec::Linear {
        name: None,
        out: 2 * LATENT,
    });
    let input = vec![image.height, image.width, image.channels];
    Ok(network_step(
        &[(&encoder, input), (&decoder, vec![LATENT])],
        STEP_ROWS,
    )?)
}

/// Minibatch of the training step timed by `--shapes`.
const STEP_ROWS: usize = 128;

/// Rounds of `--shapes` timings at most (`--repeats` fewer).
const MAX_ROUNDS: usize = 7;

/// Seconds per call of each of `products`: the best of `rounds` timings of about 20 ms each,
/// taken in turns, so that a slow spell of a shared machine does not fall on one product alone.
fn best_seconds(
    products: &mut [Box<dyn FnMut() -> Result<()> + '_>],
    rounds: usize,
) -> Result<Vec<f64>> {
    let mut repeats = Vec::with_capacity(products.len());
    for product in products.iter_mut() {
        let started = Instant::now();
        product()?;
        let once = started.elapsed().as_secs_f64().max(1e-7);
        repeats.push(((0.02 / once) as usize).clamp(1, 10_000));
    }
    let mut best = vec![f64::INFINITY; products.len()];
    for _ in 0..rounds {
        for ((product, &repeats), best) in products.iter_mut().zip(&repeats).zip(&mut best) {
            let started = Instant::now();
            for _ in 0..repeats {
                product()?;
            }
            *best = best.min(started.elapsed().as_secs_f64() / repeats as f64);
        }
    }
    Ok(best)
}

/// GFLOP/s of every product shape as training and scoring run it (`as_run`: with the transposed
/// copy's time, where the forward makes one) and in each of the four storage layouts alone
/// (`nn`, `nt`, `tn`, `tt`: whether a and b are stored transposed).
fn product_shapes(shapes: &[ProductShape], rounds: usize) -> Result<serde_json::Value> {
    let mut rows = Vec::new();
    for s in shapes {
        let a = fill(s.m * s.k);
        let b = fill(s.k * s.n);
        let accumulate = s.product == Product::WeightGrad;
        let mut weight_t = Vec::new();
        // One output each, so the closures borrow nothing mutably in common.
        let mut outputs = vec![vec![0f32; s.m * s.n]; LAYOUTS.len() + 1];
        let (layout_outputs, run_output) = outputs.split_at_mut(LAYOUTS.len());
        let (a, b) = (&a, &b);
        let product = move |c: &mut [f32], layout: (bool, bool)| -> Result<()> {
            let (lhs, rhs) = s.operands(a, b, layout);
            Ok(matmul(c, lhs, rhs, accumulate)?)
        };
        let mut products: Vec<Box<dyn FnMut() -> Result<()> + '_>> = Vec::new();
        for (&layout, c) in LAYOUTS.iter().zip(layout_outputs.iter_mut()) {
            products.push(Box::new(move || product(c, layout)));
        }
        // As the layer runs it: `b` stands for the stored weight `[out, in]` in a dense forward.
        let c = &mut run_output[0];
        products.push(Box::new(move || match (s.layer, s.product) {
            (LayerKind::Dense, Product::Forward) => {
                Ok(forward_product(c, a, s.m, b, (s.k, s.n), &mut weight_t)?)
            }
            _ => product(c, s.stored_transposed()),
        }));
        let seconds = best_seconds(&mut products, rounds)?;
        let gflops = |seconds: f64| 2.0 * (s.m * s.k * s.n) as f64 / seconds / 1e9;
        let layouts: serde_json::Map<_, _> = LAYOUTS
            .iter()
            .zip(&seconds)
            .map(|(&layout, &seconds)| (layout_name(layout).to_string(), gflops(seconds).into()))
            .collect();
        rows.push(serde_json::json!({
            "name": s.name, "m": s.m, "k": s.k, "n": s.n,
            "as_run": s.as_run(), "as_run_gflops": gflops(seconds[LAYOUTS.len()]), "gflops": layouts,
        }));
    }
    Ok(serde_json::Value::Array(rows))
}
