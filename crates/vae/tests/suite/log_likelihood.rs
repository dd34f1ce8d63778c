//! The importance-weighted estimate of log p(x) against the ELBO: at least as large on average,
//! not decreasing in K, and equal to the ELBO in expectation at K = 1.

use vae::nn::spec::mlp;
use vae::Activation;
use vae::Generative;

use super::common;

use vae::config::{ImageShape, ModelConfig};
use vae::kernels::rng::{stream, Purpose};
use vae::model::{ImageScore, VaeWorkspace};
use vae::{Model, Result};

fn model() -> Result<Model<f64>> {
    let config = ModelConfig {
        image: ImageShape {
            height: 6,
            width: 5,
            channels: 1,
        },
        encoder: mlp(&[16], Activation::Relu),
        decoder: mlp(&[16], Activation::Relu),
        latent: 3,
        ..ModelConfig::default()
    };
    Model::new(&config, 4)
}

fn images() -> (Vec<f64>, usize) {
    let split = common::split(200, 3);
    (
        split.images.iter().map(|&v| v as f64 / 255.0).collect(),
        split.len(),
    )
}

fn scores(
    model: &Model<f64>,
    x: &[f64],
    rows: usize,
    k: usize,
    seed: u64,
) -> Result<Vec<ImageScore>> {
    let mut out = Vec::new();
    model.score(
        &mut VaeWorkspace::default(),
        x,
        &[],
        rows,
        k,
        &mut stream(seed, Purpose::Evaluate, &[]),
        &mut out,
    )?;
    Ok(out)
}

fn mean(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = values.collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (m, (var / v.len() as f64).sqrt())
}

#[test]
fn one_sample_estimate_is_unbiased_for_the_elbo() -> Result<()> {
    let model = model()?;
    let (x, rows) = images();
    // Repeat the data so the Monte Carlo error of log p(z) − log q(z|x) averages out.
    let x: Vec<f64> = x.iter().cycle().take(x.len() * 20).copied().collect();
    let s = scores(&model, &x, rows * 20, 1, 1)?;
    let (iw, iw_err) = mean(s.iter().map(|s| s.log_likelihood));
    let (elbo, _) = mean(s.iter().map(|s| -(s.reconstruction + s.kl)));
    assert!(
        (iw - elbo).abs() < 4.0 * iw_err,
        "K=1 estimate {iw} ± {iw_err} vs ELBO {elbo}"
    );
    Ok(())
}

#[test]
fn estimate_is_above_the_elbo_and_grows_with_k() -> Result<()> {
    let model = model()?;
    let (x, rows) = images();
    let at = |k| -> Result<(f64, f64)> {
        let s = scores(&model, &x, rows, k, 7)?;
        Ok((
            mean(s.iter().map(|s| s.log_likelihood)).0,
            mean(s.iter().map(|s| -(s.reconstruction + s.kl))).0,
        ))
    };
    let (k1, _) = at(1)?;
    let (k10, elbo10) = at(10)?;
    let (k100, elbo100) = at(100)?;
    let (k1000, _) = at(1000)?;
    assert!(
        k10 > elbo10 && k100 > elbo100,
        "IWAE {k10}, {k100} vs ELBO {elbo10}, {elbo100}"
    );
    assert!(
        k1 < k10 && k10 < k100 && k100 <= k1000 + 1e-3,
        "not increasing: {k1} {k10} {k100} {k1000}"
    );
    Ok(())
}

#[test]
fn every_image_gets_a_finite_score() -> Result<()> {
    let model = model()?;
    let (x, rows) = images();
    let s = scores(&model, &x, rows, 5, 1)?;
    assert_eq!(s.len(), rows);
    assert!(s
        .iter()
        .all(|s| s.log_likelihood.is_finite() && s.kl >= 0.0 && s.reconstruction > 0.0));
    Ok(())
}
