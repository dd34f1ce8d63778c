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
            &Iwae { k: 4 },
            &batch,
            24,
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
    let iwae1 = Iwae { k: 1 }.loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    assert!((elbo.objective - iwae1.objective).abs() < 1e-9 * elbo.objective.abs());
    let iwae50 = Iwae { k: 50 }.loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    assert!(iwae50.objective < elbo.objective, "{iwae50:?} vs {elbo:?}");
    // β and free bits are the one-layer model's: refused here.
    let beta = Elbo {
        kl_weight: 2.0,
        ..Elbo::new(1)
    };
    assert!(beta
        .loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())
        .is_err());
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
    };
    vae::checkpoint::save_model(dir.path(), &run, &model, 1)?;
    let (_, reloaded, _) = vae::checkpoint::load_model(dir.path())?;
    assert_eq!(reloaded.parameters().values(), model.parameters().values());
    Ok(())
}
