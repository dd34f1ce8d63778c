//! The objective family: the IWAE bound's exact gradient, IWAE at K = 1 against the one-sample
//! ELBO, β = 0, free bits, the KL weight over the steps of a warm-up, and many samples decoded
//! in chunks.

use super::gradients::{check_model_gradient, model_config, uniform};
use vae::config::LikelihoodKind;
use vae::data::Batch;
use vae::kernels::rng::{fill_standard_normal, stream, Purpose};
use vae::model::VaeWorkspace;
use vae::objective::{Elbo, Iwae};
use vae::Generative;
use vae::{Activation, Objective, Result, Step, Trainable, Vae};

const ROWS: usize = 4;

fn batch_images() -> Vec<f64> {
    uniform(&mut stream(10, Purpose::Init, &[]), ROWS * 6, 0.0, 1.0)
}

/// The negative IWAE bound's gradient against finite differences of the bound itself, for
/// K = 1, 2 and 7, both likelihoods, and a conditional model.
#[test]
fn iwae_gradient_is_exact() -> Result<()> {
    let x = batch_images();
    for (k, likelihood, classes) in [
        (1, LikelihoodKind::Bernoulli, 0),
        (2, LikelihoodKind::Gaussian, 0),
        (7, LikelihoodKind::Bernoulli, 0),
        (7, LikelihoodKind::Gaussian, 0),
        (2, LikelihoodKind::Bernoulli, 3),
    ] {
        let mut model = Vae::<f64>::new(&model_config(Activation::Tanh, likelihood, classes), 9)?;
        let labels: &[u8] = if classes > 0 { &[2, 0, 1, 2] } else { &[] };
        let batch = Batch::new(&x, labels, ROWS);
        let name = format!("iwae k {k} {likelihood:?} classes {classes}");
        let terms = check_model_gradient(&name, &mut model, &Iwae::new(k), &batch, 11)?;
        assert!(
            terms.objective.is_finite() && terms.objective > 0.0,
            "{terms:?}"
        );
    }
    Ok(())
}

/// Samples decoded in chunks (here one sample per chunk, for the ELBO, the IWAE bound and a
/// conditional model) give the loss and gradient of one chunk up to rounding, draw the same
/// noise, and leave the noise stream where one chunk leaves it; their gradient is exact.
#[test]
fn samples_decoded_in_chunks_give_the_same_gradient() -> Result<()> {
    let x = batch_images();
    for (classes, likelihood) in [
        (0, LikelihoodKind::Bernoulli),
        (3, LikelihoodKind::Gaussian),
    ] {
        let labels: &[u8] = if classes > 0 { &[2, 0, 1, 2] } else { &[] };
        let batch = Batch::new(&x, labels, ROWS);
        let model = Vae::<f64>::new(&model_config(Activation::Tanh, likelihood, classes), 9)?;
        let step = Step::default();
        let run = |o: &dyn Objective<f64, Vae<f64>>| -> Result<(f64, f64, Vec<f64>, u64)> {
            let mut model = model.clone();
            model.parameters_mut().zero_grads();
            let mut rng = stream(3, Purpose::Noise, &[]);
            let terms = o.loss_and_grad(
                &mut model,
                &mut VaeWorkspace::default(),
                &batch,
                &step,
                &mut rng,
            )?;
            let next = rand::RngCore::next_u64(&mut rng);
            let grads = model.parameters().grads().to_vec();
            Ok((terms.objective, terms.reconstruction, grads, next))
        };
        let elbo = Elbo::new(5);
        let iwae = Iwae::new(5);
        let chunked_elbo = Elbo {
            sample_chunk_bytes: 1,
            ..elbo
        };
        let chunked_iwae = Iwae {
            sample_chunk_bytes: 1,
            ..iwae
        };
        for (name, whole, chunked) in [
            (
                "elbo",
                &elbo as &dyn Objective<f64, Vae<f64>>,
                &chunked_elbo as &dyn Objective<f64, Vae<f64>>,
            ),
            ("iwae", &iwae, &chunked_iwae),
        ] {
            let (a, b) = (run(whole)?, run(chunked)?);
            let close = |u: f64, v: f64| (u - v).abs() <= 1e-12 * (1.0 + u.abs());
            assert!(
                close(a.0, b.0) && close(a.1, b.1),
                "{name} {classes}: {a:?} vs {b:?}"
            );
            assert!(
                a.2.iter().zip(&b.2).all(|(&u, &v)| close(u, v)),
                "{name} {classes}"
            );
            assert!(a.2.iter().any(|&g| g != 0.0));
            assert_eq!(
                a.3, b.3,
                "{name} {classes}: the noise stream moved on differently"
            );
        }
    }
    Ok(())
}

/// With a KL weight β the IWAE bound's weights are tempered, log p(x | z) + β (log p(z) −
/// log q(z | x)): its gradient is still exact (central differences of the tempered bound), and at
/// K = 1 its objective is the one-sample reconstruction plus β times the one-sample KL estimate,
/// which β = 1 reproduces as the plain bound, bit for bit.
#[test]
fn tempered_iwae_gradient_is_exact() -> Result<()> {
    let x = batch_images();
    let batch = Batch::new(&x, &[], ROWS);
    for (k, kl_weight, likelihood) in [
        (1, 0.3, LikelihoodKind::Bernoulli),
        (3, 0.3, LikelihoodKind::Gaussian),
        (5, 2.0, LikelihoodKind::Bernoulli),
    ] {
        let mut model = Vae::<f64>::new(&model_config(Activation::Tanh, likelihood, 0), 9)?;
        let objective = Iwae {
            kl_weight,
            ..Iwae::new(k)
        };
        let name = format!("tempered iwae k {k} beta {kl_weight} {likelihood:?}");
        check_model_gradient(&name, &mut model, &objective, &batch, 11)?;
    }
    let mut model = Vae::<f64>::new(
        &model_config(Activation::Tanh, LikelihoodKind::Gaussian, 0),
        9,
    )?;
    let step = Step::default();
    let noise = || stream(4, Purpose::Noise, &[]);
    let mut ws = VaeWorkspace::default();
    let mut run = |o: Iwae| o.loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise());
    let plain = run(Iwae::new(1))?;
    let one = run(Iwae {
        kl_weight: 1.0,
        warmup_epochs: 0.0,
        k: 1,
        sample_chunk_bytes: vae::memory::SAMPLE_CHUNK_BYTES,
    })?;
    assert_eq!(plain.objective.to_bits(), one.objective.to_bits());
    let half = run(Iwae {
        kl_weight: 0.5,
        ..Iwae::new(1)
    })?;
    // −log w_β = nll + β (log q − log p): the K = 1 objective moves by (β − 1) × the KL estimate.
    let kl_estimate = plain.objective - plain.reconstruction;
    let expected = plain.reconstruction + 0.5 * kl_estimate;
    assert!(
        (half.objective - expected).abs() < 1e-9 * expected.abs(),
        "{half:?} vs {expected}"
    );
    // The warm-up's weight at a step is the ELBO's.
    let warm = Iwae {
        kl_weight: 2.0,
        warmup_epochs: 2.0,
        ..Iwae::new(5)
    };
    let step = Step {
        epoch: 1,
        batch: 2,
        batches_per_epoch: 4,
        phase: 0,
    };
    assert_eq!(warm.kl_weight_at(&step), 1.5);
    Ok(())
}

/// At K = 1 the IWAE bound is the one-sample ELBO with the KL estimated by Monte Carlo: the same
/// draw's −log p(x | z) (which the ELBO objective also reports) plus log q(z | x) − log p(z),
/// computed here from the posterior and the same noise.
#[test]
fn iwae_with_one_sample_is_the_monte_carlo_elbo() -> Result<()> {
    let x = batch_images();
    let config = model_config(Activation::Tanh, LikelihoodKind::Gaussian, 0);
    let mut model = Vae::<f64>::new(&config, 9)?;
    let batch = Batch::new(&x, &[], ROWS);
    let step = Step::default();
    let noise = || stream(3, Purpose::Noise, &[]);
    let mut ws = VaeWorkspace::default();
    let iwae = Iwae::new(1).loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    let elbo = Elbo::new(1).loss_and_grad(&mut model, &mut ws, &batch, &step, &mut noise())?;
    let mut posterior = Vec::new();
    model.encode(&mut ws, &x, &[], ROWS, &mut posterior)?;
    let mut eps = vec![0.0; ROWS * config.latent];
    fill_standard_normal(&mut noise(), &mut eps);
    let latent = config.latent;
    let mut log_ratio = 0.0;
    for (r, row) in posterior.chunks_exact(2 * latent).enumerate() {
        let (mean, log_var) = row.split_at(latent);
        for d in 0..latent {
            let e = eps[r * latent + d];
            let z = mean[d] + (0.5 * log_var[d]).exp() * e;
            // log q − log p = −½ (log σ² + ε²) + ½ z².
            log_ratio += -0.5 * (log_var[d] + e * e) + 0.5 * z * z;
        }
    }
    let expected = elbo.reconstruction + log_ratio;
    assert!(
        (iwae.objective - expected).abs() < 1e-9 * expected.abs().max(1.0),
        "IWAE(K = 1) {} vs one-sample ELBO {expected}",
        iwae.objective
    );
    // Both report the same true terms: the draw's reconstruction and the analytic KL.
    assert!((iwae.reconstruction - elbo.reconstruction).abs() < 1e-12);
    assert!((iwae.kl - elbo.kl).abs() < 1e-12);
    Ok(())
}

/// More samples tighten the bound: the IWAE objective with K = 50 lies below the K = 1 one on
/// average (Burda et al. 2015, Theorem 1), here over 20 noise draws.
#[test]
fn more_samples_tighten_the_bound() -> Result<()> {
    let x = batch_images();
    let mut model = Vae::<f64>::new(
        &model_config(Activation::Tanh, LikelihoodKind::Bernoulli, 0),
        9,
    )?;
    let batch = Batch::new(&x, &[], ROWS);
    let mut ws = VaeWorkspace::default();
    let mut mean = |k: usize| -> Result<f64> {
        let mut total = 0.0;
        for draw in 0..20 {
            let mut rng = stream(draw, Purpose::Noise, &[]);
            let step = Step::default();
            total += Iwae::new(k)
                .loss_and_grad(&mut model, &mut ws, &batch, &step, &mut rng)?
                .objective;
        }
        Ok(total / 20.0)
    };
    let (one, fifty) = (mean(1)?, mean(50)?);
    assert!(fifty < one, "K = 50 {fifty} vs K = 1 {one}");
    Ok(())
}

/// β = 0 trains on the reconstruction alone: the gradient matches finite differences of the
/// reconstruction term, and the encoder's log-variances get no pull towards the prior. Free bits
/// with λ between the dimensions' KLs: the objective counts the clamped ones as λ and passes
/// them no gradient.
#[test]
fn beta_zero_and_free_bits() -> Result<()> {
    let x = batch_images();
    let config = model_config(Activation::Tanh, LikelihoodKind::Gaussian, 0);
    let batch = Batch::new(&x, &[], ROWS);
    let mut model = Vae::<f64>::new(&config, 9)?;
    let beta_zero = Elbo {
        kl_weight: 0.0,
        ..Elbo::new(2)
    };
    let terms = check_model_gradient("beta 0", &mut model, &beta_zero, &batch, 11)?;
    assert_eq!(terms.objective, terms.reconstruction);
    assert!(terms.kl > 0.0);

    // Per-dimension batch KLs of this model and batch, to put λ between them.
    let mut probe = Vae::<f64>::new(&config, 9)?;
    let mut posterior = Vec::new();
    probe.encode(&mut VaeWorkspace::default(), &x, &[], ROWS, &mut posterior)?;
    let latent = config.latent;
    let mut per_dimension = vec![0.0; latent];
    for row in posterior.chunks_exact(2 * latent) {
        for d in 0..latent {
            let (m, lv) = (row[d], row[latent + d]);
            per_dimension[d] += -0.5 * (1.0 + lv - m * m - lv.exp()) / ROWS as f64;
        }
    }
    let mut sorted = per_dimension.clone();
    sorted.sort_by(f64::total_cmp);
    let lambda = 0.5 * (sorted[0] + sorted[latent - 1]);
    let free_bits = Elbo {
        free_bits: lambda,
        ..Elbo::new(2)
    };
    let terms = check_model_gradient("free bits", &mut probe, &free_bits, &batch, 11)?;
    let clamped: f64 = per_dimension.iter().map(|&k| k.max(lambda)).sum::<f64>() * ROWS as f64;
    assert!(
        (terms.objective - (terms.reconstruction + clamped)).abs() < 1e-9,
        "{terms:?} vs clamped KL {clamped}"
    );
    assert!(clamped > terms.kl);
    Ok(())
}

/// The KL weight rises linearly from 0 to β over the warm-up epochs, step by step.
#[test]
fn warm_up_weights_over_steps() {
    let elbo = Elbo {
        kl_weight: 2.0,
        warmup_epochs: 2.0,
        ..Elbo::new(1)
    };
    let at = |epoch, batch| {
        elbo.kl_weight_at(&Step {
            epoch,
            batch,
            batches_per_epoch: 4,
            phase: 0,
        })
    };
    // Hand-computed: β · (epoch + batch / 4) / 2.
    for (epoch, batch, expected) in [
        (0, 0, 0.0),
        (0, 1, 0.25),
        (0, 3, 0.75),
        (1, 0, 1.0),
        (1, 2, 1.5),
        (2, 0, 2.0),
        (5, 3, 2.0),
    ] {
        assert_eq!(at(epoch, batch), expected, "epoch {epoch} batch {batch}");
    }
    assert_eq!(Elbo::new(1).kl_weight_at(&Step::default()), 1.0);
}

/// A model trained with the IWAE objective through the loop keeps a finite objective and
/// records it beside the true ELBO.
#[test]
fn iwae_trains_through_the_loop() -> Result<()> {
    use super::common;
    use vae::config::{ModelConfig, ObjectiveKind, TrainConfig};
    use vae::nn::spec::mlp;
    use vae::objective::VaeObjective;
    use vae::train::{train, TrainingData};
    let dataset = common::dataset();
    let config = TrainConfig {
        epochs: 3,
        batch_size: 30,
        samples: 5,
        objective: ObjectiveKind::Iwae,
        ..TrainConfig::default()
    };
    let model_config = ModelConfig {
        image: dataset.shape,
        latent: 2,
        ..ModelConfig::default()
    }
    .with_mlp(&[16], Activation::Tanh);
    let mut model = vae::Model::<f32>::new(&model_config, 1)?;
    assert_eq!(model_config.encoder, mlp(&[16], Activation::Tanh));
    let data = TrainingData::prepare(dataset, config.binarize, 1);
    let objective = VaeObjective::for_model(model_config.kind, &config, 0.0);
    let mut optimizer = vae::Optimizer::new(config.optimizer, model.parameters().len());
    let mut reports = Vec::new();
    train(
        &mut model,
        &objective,
        &mut optimizer,
        &data,
        &config,
        0,
        &mut |_| Ok(()),
        &mut |_, _, r| {
            reports.push(*r);
            Ok(())
        },
    )?;
    let (first, last) = (&reports[0], &reports[2]);
    assert!(last.test.loss_per_image() < first.test.loss_per_image());
    // The IWAE bound is tighter than the ELBO of the same step's samples.
    assert!(last.train.objective_per_image() < last.train.loss_per_image());
    Ok(())
}

/// `eval`'s posterior statistics: the per-dimension KLs add up to the mean KL, and the active
/// units are the dimensions whose posterior mean varies across the images with variance above
/// 0.01, counted here independently in two passes.
#[test]
fn active_units_and_kl_per_dimension() -> Result<()> {
    use super::common;
    use vae::config::ModelConfig;
    let dataset = common::dataset();
    let config = vae::config::TrainConfig {
        epochs: 3,
        batch_size: 30,
        ..vae::config::TrainConfig::default()
    };
    let model_config = ModelConfig {
        image: dataset.shape,
        latent: 6,
        ..ModelConfig::default()
    }
    .with_mlp(&[16], Activation::Tanh);
    let mut model = vae::Model::<f32>::new(&model_config, 2)?;
    let data = vae::train::TrainingData::prepare(dataset, config.binarize, 2);
    common::train_reports(&mut model, &data, &config)?;
    let evaluation = vae::eval::evaluate(&model, &data.test, 3, 0, &mut |_, _| {})?;
    let kl: f64 = evaluation.kl_per_dimension.iter().flatten().sum();
    assert!(
        (kl - evaluation.kl).abs() < 1e-4 * evaluation.kl.abs().max(1.0),
        "{kl} vs {}",
        evaluation.kl
    );
    let x = vae::figures::images(&data.test, &(0..data.test.len()).collect::<Vec<_>>());
    let mut means = Vec::new();
    model.encode_means(
        &mut VaeWorkspace::default(),
        &x,
        &data.test.labels,
        data.test.len(),
        &mut means,
    )?;
    let n = data.test.len() as f64;
    let active = (0..6)
        .filter(|&d| {
            let values: Vec<f64> = means.iter().skip(d).step_by(6).map(|&v| v as f64).collect();
            let mean = values.iter().sum::<f64>() / n;
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n > 0.01
        })
        .count();
    assert_eq!(evaluation.active_units, Some(active));
    assert!(active > 0);
    Ok(())
}
