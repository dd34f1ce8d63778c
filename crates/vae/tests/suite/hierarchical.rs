//! The VAE with two stochastic layers (Burda et al. 2015, Sec. 5): the gradients of its ELBO and
//! IWAE bound against f64 central differences through all four networks, the bound's estimate
//! against the ELBO's, the conditional Gaussian density against its formula, and the model
//! through the family: built from a configuration, scored, drawn, saved and reloaded.

use super::gradients::{check_model_gradient, model_config, uniform};
use vae::config::{LikelihoodKind, ModelConfig, TopLayer};
use vae::data::Batch;
use vae::gaussian::DiagonalGaussian;
use vae::kernels::rng::{stream, Purpose};
use vae::nn::spec::mlp;
use vae::objective::{Elbo, Iwae, Objective, Step};
use vae::Generative;
use vae::{Activation, Model, Result, Trainable};

fn two_layer(likelihood: LikelihoodKind) -> ModelConfig {
    ModelConfig {
        top: Some(TopLayer {
            latent: 2,
            encoder: mlp(&[4], Activation::Tanh),
            prior: mlp(&[5, 3], Activation::Softplus),
        }),
        ..model_config(Activation::Tanh, likelihood, 0)
    }
}

#[test]
fn elbo_and_iwae_gradients_through_both_layers() -> Result<()> {
    for likelihood in [LikelihoodKind::Bernoulli, LikelihoodKind::Gaussian] {
        let config = two_layer(likelihood);
        let Model::Hvae(mut model) = Model::<f64>::new(&config, 21)? else {
            panic!("a top layer builds the two-layer VAE");
        };
        let names: Vec<&str> = model
            .parameters()
            .entries()
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert!(names.contains(&"top.encoder.mean.weight"), "{names:?}");
        assert!(names.contains(&"top.prior.log_var.bias"), "{names:?}");
        assert_eq!(config.parameter_count(), Some(model.parameters().len()));
        let rows = 3;
        let x = uniform(&mut stream(22, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
        let batch = Batch::new(&x, &[], rows);
        let name = format!("two layers {likelihood:?}");
        check_model_gradient(
            &format!("{name} elbo"),
            &mut model,
            &Elbo::new(2),
            &batch,
            23,
        )?;
        check_model_gradient(
            &format!("{name} iwae"),
            &mut model,
            &Iwae::new(4),
            &batch,
            24,
        )?;
        // β weights both layers' KL terms (warm-up sets β step by step).
        check_model_gradient(
            &format!("{name} elbo beta 0.3"),
            &mut model,
            &Elbo {
                kl_weight: 0.3,
                ..Elbo::new(2)
            },
            &batch,
            25,
        )?;
        check_model_gradient(
            &format!("{name} tempered iwae beta 0.3"),
            &mut model,
            &Iwae {
                kl_weight: 0.3,
                ..Iwae::new(4)
            },
            &batch,
            26,
        )?;
    }
    Ok(())
}

/// With one sample the IWAE bound is the ELBO's estimate, noise for noise; with 50 it is larger
/// on average (Burda et al. 2015, Theorem 1).
#[test]
fn the_bound_tightens_with_samples() -> Result<()> {
    let config = two_layer(LikelihoodKind::Bernoulli);
    let Model::Hvae(mut model) = Model::<f64>::new(&config, 31)? else {
        panic!("two layers");
    };
    let rows = 40;
    let x = uniform(&mut stream(32, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
    let batch = Batch::new(&x, &[], rows);
    let step = Step::default();
    let mut ws = Default::default();
    let noise = || stream(33, Purpose::Noise, &[]);
    let elbo = Elbo::new(1).loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    let iwae1 = Iwae::new(1).loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    assert!((elbo.objective - iwae1.objective).abs() < 1e-9 * elbo.objective.abs());
    let iwae50 = Iwae::new(50).loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    assert!(iwae50.objective < elbo.objective, "{iwae50:?} vs {elbo:?}");
    // β weighs the KL estimate of both layers in the objective; the reported terms stay true.
    let beta = Elbo {
        kl_weight: 0.25,
        ..Elbo::new(1)
    }
    .loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    assert_eq!(beta.reconstruction, elbo.reconstruction);
    assert_eq!(beta.kl, elbo.kl);
    let expected = elbo.reconstruction + 0.25 * elbo.kl;
    assert!((beta.objective - expected).abs() < 1e-9 * expected.abs());
    // At the first step of a warm-up β is 0: the objective is the reconstruction alone.
    let warm = Elbo {
        warmup_epochs: 3.0,
        ..Elbo::new(1)
    }
    .loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    assert_eq!(warm.objective, elbo.reconstruction);
    // Free bits are the one-layer model's: refused here.
    let free_bits = Elbo {
        free_bits: 0.5,
        ..Elbo::new(1)
    };
    let error = free_bits
        .loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())
        .unwrap_err();
    assert!(error.to_string().contains("free bits"), "{error}");
    Ok(())
}

/// log N(z; μ, σ²) against the formula written out, per row.
#[test]
fn the_conditional_prior_density() {
    let params = [0.5f64, -1.0, 0.2, -0.3, 1.5, 2.0, -0.7, 0.4];
    let z = [1.0f64, -2.0, 0.0, 1.0];
    let mut out = [0.0; 2];
    DiagonalGaussian::new(&params, 2).log_prob(&z, &mut out);
    for r in 0..2 {
        let (mean, log_var) = (&params[r * 4..r * 4 + 2], &params[r * 4 + 2..r * 4 + 4]);
        let expected: f64 = (0..2)
            .map(|d| {
                let v = log_var[d].exp();
                -0.5 * ((2.0 * std::f64::consts::PI * v).ln()
                    + (z[r * 2 + d] - mean[d]).powi(2) / v)
            })
            .sum();
        assert!(
            (out[r] - expected).abs() < 1e-12,
            "{} vs {expected}",
            out[r]
        );
    }
}

/// Through `Model`: pictures walk z2 (the prior's latent), scores are finite and their ELBO
/// terms add up, the weights survive a save and a reload.
#[test]
fn the_family_draws_scores_and_reloads_it() -> Result<()> {
    let config = two_layer(LikelihoodKind::Bernoulli);
    let model = Model::<f32>::new(&config, 41)?;
    assert_eq!(model.latent(), 2);
    let mut ws = Default::default();
    let mut images = Vec::new();
    model.sample(
        &mut ws,
        5,
        &[],
        &mut stream(42, Purpose::Sample, &[]),
        &mut images,
    )?;
    assert_eq!(images.len(), 5 * 6);
    assert!(images.iter().all(|v| (0.0..=1.0).contains(v)));
    let x: Vec<f32> = images.iter().map(|v| v.round()).collect();
    let mut means = Vec::new();
    model.encode_means(&mut ws, &x, &[], 5, &mut means)?;
    assert_eq!(means.len(), 5 * 2);
    let mut scores = Vec::new();
    model.score(
        &mut ws,
        &x,
        &[],
        5,
        20,
        &mut stream(43, Purpose::Noise, &[]),
        &mut scores,
    )?;
    for s in &scores {
        assert!(
            s.log_likelihood.is_finite() && s.reconstruction > 0.0,
            "{s:?}"
        );
        assert!(
            s.log_likelihood >= -(s.reconstruction + s.kl) - 1.0,
            "{s:?}"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let run = vae::RunConfig {
        format: vae::RunConfig::FORMAT,
        dataset: "synthetic".into(),
        folder: Default::default(),
        model: config,
        train: Default::default(),
        data_dir: None,
    };
    vae::checkpoint::save_model(dir.path(), &run, &model, 1)?;
    let (_, reloaded, _) = vae::checkpoint::load_model(dir.path())?;
    assert_eq!(reloaded.parameters().values(), model.parameters().values());
    Ok(())
}

/// `eval` counts the active units of both layers: z2's as for one layer, z1's by the means of
/// q(z1 | x), here counted again independently in two passes over the test images.
#[test]
fn active_units_of_both_layers() -> Result<()> {
    use super::common;
    use vae::model::VaeWorkspace;
    let dataset = common::dataset();
    let train = vae::config::TrainConfig {
        epochs: 3,
        batch_size: 30,
        ..vae::config::TrainConfig::default()
    };
    let (lower, upper) = (6, 3);
    let config = ModelConfig {
        image: dataset.shape,
        latent: lower,
        top: Some(TopLayer {
            latent: upper,
            encoder: mlp(&[8], Activation::Tanh),
            prior: mlp(&[8], Activation::Tanh),
        }),
        ..ModelConfig::default()
    }
    .with_mlp(&[16], Activation::Tanh);
    let mut model = Model::<f32>::new(&config, 2)?;
    let data = vae::train::TrainingData::prepare(dataset, train.binarize, 2);
    common::train_reports(&mut model, &data, &train)?;
    let evaluation = vae::eval::evaluate(&model, &data.test, 3, 0, &mut |_, _| {})?;
    let Model::Hvae(hvae) = &model else {
        panic!("a top layer builds the two-layer VAE");
    };
    let n = data.test.len();
    let x = vae::figures::images(&data.test, &(0..n).collect::<Vec<_>>());
    let mut ws = VaeWorkspace::default();
    let count = |params: &[f32], dim: usize| {
        (0..dim)
            .filter(|&d| {
                let values: Vec<f64> = params
                    .chunks_exact(2 * dim)
                    .map(|row| row[d] as f64)
                    .collect();
                let mean = values.iter().sum::<f64>() / n as f64;
                values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64 > 0.01
            })
            .count()
    };
    let (mut q1, mut q2) = (Vec::new(), Vec::new());
    hvae.encode_lower(&mut ws, &x, n, &mut q1)?;
    hvae.encode(&mut ws, &x, &[], n, &mut q2)?;
    assert_eq!(evaluation.lower_active_units, Some(count(&q1, lower)));
    assert_eq!(evaluation.active_units, Some(count(&q2, upper)));
    assert_eq!(
        evaluation
            .lower_mean_variance_per_dimension
            .map(|v| v.len()),
        Some(lower)
    );
    assert!(count(&q1, lower) > 0);
    Ok(())
}
