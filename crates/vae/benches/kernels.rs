//! Micro-benchmarks of the kernels at the pytorch/examples shapes (batch 128, 784-400-20):
//! `cargo bench -p vae`. Absolute times on a shared machine are noise; compare runs on one machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use vae::config::{ModelConfig, OptimizerConfig, OptimizerKind};
use vae::data::Batch;
use vae::kernels::elementwise::Activation;
use vae::kernels::loss::bernoulli_nll;
use vae::kernels::matmul::matmul;
use vae::kernels::recurrent::{lstm_backward, lstm_forward};
use vae::kernels::rng::{fill_standard_normal, stream, Purpose};
use vae::model::vae::SCORE_ROWS;
use vae::model::VaeWorkspace;
use vae::nn::linear::forward_product;
use vae::nn::products::{step_and_scoring, Product};
use vae::nn::{Linear, ParamBuilder, Parameters};
use vae::objective::Elbo;
use vae::Generative;
use vae::{Objective, Optimizer, Step, Trainable, Vae};

const BATCH: usize = 128;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0f32; n];
    fill_standard_normal(&mut stream(seed, Purpose::Sample, &[]), &mut v);
    v
}

fn linear(c: &mut Criterion) {
    let mut params = Parameters::<f32>::default();
    let mut rng = stream(1, Purpose::Init, &[]);
    let layer = Linear::new(&mut ParamBuilder::new(&mut params, &mut rng), 784, 400);
    let x = random(BATCH * 784, 2);
    let dy = random(BATCH * 400, 3);
    let mut y = vec![0f32; BATCH * 400];
    let mut weight_t = Vec::new();
    let mut dx = vec![0f32; BATCH * 784];
    c.bench_function(
        "linear 784->400 forward, batch 128 (bias + relu fused)",
        |b| {
            b.iter(|| {
                layer
                    .forward(
                        params.values(),
                        black_box(&x),
                        BATCH,
                        Activation::Relu,
                        &mut weight_t,
                        &mut y,
                    )
                    .unwrap()
            })
        },
    );
    c.bench_function(
        "linear 784->400 backward with input gradient, batch 128",
        |b| {
            b.iter(|| {
                let (values, grads) = params.split_mut();
                layer
                    .backward(values, grads, black_box(&x), &dy, BATCH, Some(&mut dx))
                    .unwrap()
            })
        },
    );
}

fn loss(c: &mut Criterion) {
    let logits = random(BATCH * 784, 4);
    let targets: Vec<f32> = random(BATCH * 784, 5)
        .iter()
        .map(|v| (*v > 0.0) as u8 as f32)
        .collect();
    let mut nll = vec![0f32; BATCH];
    let mut grad = vec![0f32; BATCH * 784];
    c.bench_function("Bernoulli loss and gradient, 128 x 784", |b| {
        b.iter(|| {
            bernoulli_nll(
                black_box(&logits),
                &targets,
                784,
                &mut nll,
                Some((&mut grad, 1.0)),
            )
        })
    });
}

fn adam(c: &mut Criterion) {
    let n = 652_824; // the default VAE's parameter count
    let mut params = random(n, 6);
    let grads = random(n, 7);
    let mut scratch = grads.clone();
    let mut optimizer = Optimizer::new(OptimizerConfig::default_for(OptimizerKind::Adam), n);
    c.bench_function("Adam step, 652,824 parameters", |b| {
        b.iter(|| {
            // The step zeroes the gradients it consumes; the copy stands in for a backward pass.
            scratch.copy_from_slice(&grads);
            optimizer
                .step(&mut params, black_box(&mut scratch))
                .unwrap()
        })
    });
}

fn model(c: &mut Criterion) {
    let config = ModelConfig::default();
    let mut vae = Vae::<f32>::new(&config, 0).unwrap();
    let x: Vec<f32> = random(BATCH * 784, 8)
        .iter()
        .map(|v| (*v > 0.0) as u8 as f32)
        .collect();
    let batch = Batch::new(&x, &[], BATCH);
    let mut ws = VaeWorkspace::default();
    let mut rng = stream(9, Purpose::Noise, &[]);
    let objective = Elbo::new(1);
    c.bench_function(
        "VAE loss and gradient, batch 128 (one training step without the update)",
        |b| {
            b.iter(|| {
                vae.parameters_mut().zero_grads();
                objective
                    .loss_and_grad(&mut vae, &mut ws, &batch, &Step::default(), &mut rng)
                    .unwrap()
            })
        },
    );
    let z = random(config.latent, 10);
    let mut image = Vec::new();
    c.bench_function(
        "decode one latent vector to an image (the explorer's path)",
        |b| {
            b.iter(|| {
                vae.decode(&mut ws, black_box(&z), &[], 1, &mut image)
                    .unwrap()
            })
        },
    );
}

/// The LSTM cell's gate math at DRAW's MNIST shape (batch 100, 256 units), forward and backward.
fn lstm(c: &mut Criterion) {
    let (rows, hidden) = (100, 256);
    let pre = random(rows * 4 * hidden, 8);
    let c_prev = random(rows * hidden, 9);
    let dh = random(rows * hidden, 10);
    let (mut gates, mut cell, mut h) = (
        pre.clone(),
        vec![0f32; rows * hidden],
        vec![0f32; rows * hidden],
    );
    let mut dc = vec![0f32; rows * hidden];
    let mut d_gates = vec![0f32; rows * 4 * hidden];
    c.bench_function("LSTM gates forward, 100 x 256", |b| {
        b.iter(|| {
            gates.copy_from_slice(&pre);
            lstm_forward(black_box(&mut gates), &c_prev, hidden, &mut cell, &mut h)
        })
    });
    c.bench_function("LSTM gates backward, 100 x 256", |b| {
        b.iter(|| {
            dc.copy_from_slice(&dh);
            lstm_backward(
                &gates,
                &c_prev,
                &cell,
                black_box(&dh),
                &mut dc,
                hidden,
                &mut d_gates,
            )
        })
    });
}

/// Every product shape of the default VAE's training step (784-400-20, batch 128) and of its scoring
/// decoder (2,048 rows), as `Linear` runs it and with the right operand stored the other way.
fn product_shapes(c: &mut Criterion) {
    let layers = [(784, 400), (400, 40), (20, 400), (400, 784)];
    let shapes = step_and_scoring(&layers, BATCH, &layers[2..], SCORE_ROWS);
    let mut group = c.benchmark_group("product shapes");
    for s in &shapes {
        let a = random(s.m * s.k, 7);
        let b = random(s.k * s.n, 8);
        let mut out = vec![0f32; s.m * s.n];
        let mut weight_t = Vec::new();
        let accumulate = s.product == Product::WeightGrad;
        let (a_t, b_t) = s.stored_transposed();
        for flip in [false, true] {
            let layout = if flip {
                "other layout of b"
            } else {
                s.as_run()
            };
            let (lhs, rhs) = s.operands(&a, &b, (a_t, b_t != flip));
            group.bench_function(
                format!("{} {}x{}x{}, {layout}", s.name, s.m, s.k, s.n),
                |bench| {
                    bench.iter(|| {
                        if !flip && s.product == Product::Forward {
                            forward_product(&mut out, &a, s.m, &b, (s.k, s.n), &mut weight_t)
                        } else {
                            matmul(&mut out, lhs, rhs, accumulate)
                        }
                        .unwrap()
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, linear, loss, adam, model, lstm, product_shapes);
criterion_main!(benches);
