//! M1 + M2: M2 on another model's codes (the identity-mean Gaussian on the codes, gradient-checked
//! with the rest of M2's objective), the active code dimensions, the codes as training batches,
//! and pictures drawn through both decoders.

use crate::gradients::{check_model_gradient, model_config, two_samples, uniform};
use vae::config::{Features, ImageShape, LikelihoodKind, ModelConfig};
use vae::data::{Batch, BatchLoader, Codes};
use vae::kernels::elementwise::Activation;
use vae::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use vae::model::stacked::{active_dimensions, select_dimensions};
use vae::model::{Stacked, Vae, VaeWorkspace, M2};
use vae::nn::spec::mlp;
use vae::objective::VaeObjective;
use vae::Generative;
use vae::{LossTerms, Model, ModelKind, Result, Trainable};

/// An M2 reading dimensions `active` of a `latent`-dimensional code of 2 x 3 images.
fn m2_config(active: Vec<usize>, latent: usize) -> ModelConfig {
    let features = Features {
        run: "m1".into(),
        sha256: "0".repeat(64),
        config_sha256: Some("1".repeat(64)),
        image: ImageShape {
            height: 2,
            width: 3,
            channels: 1,
        },
        latent,
        threshold: 0.1,
        fill: (0..latent).map(|d| 0.1 * d as f64 - 0.2).collect(),
        active,
    };
    ModelConfig {
        kind: ModelKind::M2,
        image: features.code_shape(),
        latent: 3,
        classes: 3,
        encoder: mlp(&[5], Activation::Softplus),
        decoder: mlp(&[5], Activation::Softplus),
        classifier: Some(mlp(&[4], Activation::Softplus)),
        likelihood: LikelihoodKind::GaussianIdentity,
        min_log_var: -4.0,
        features: Some(features),
        ..ModelConfig::default()
    }
}

/// Eq. 9 of Kingma et al. 2014 on unbounded codes: two unlabelled rows summed over y, two
/// labelled ones, the Gaussian with identity mean and learned log-variance as p(z1 | y, z2).
#[test]
fn m2_on_codes_gradient() -> Result<()> {
    let config = m2_config(vec![0, 2, 3, 5], 6);
    config.validate()?;
    let mut model = Model::<f64>::new(&config, 21)?;
    let rows = 4;
    // Codes are not confined to [0, 1].
    let x = uniform(&mut stream(22, Purpose::Init, &[]), rows * 4, -2.5, 2.5);
    let batch = Batch {
        unlabelled: 2,
        ..Batch::new(&x, &[1, 0, 2, 1], rows)
    };
    let objective = VaeObjective::for_model(ModelKind::M2, &two_samples(), 1.3);
    let terms = check_model_gradient("m2 on codes", &mut model, &objective, &batch, 23)?;
    assert_eq!(terms.classified, 2);
    Ok(())
}

#[test]
fn features_must_match_the_model() {
    let mut config = m2_config(vec![0, 2], 4);
    config.image.width = 3;
    assert!(config.validate().is_err(), "image must be 1 x active x 1");
    let mut config = m2_config(vec![2, 0], 4);
    config.image.width = 2;
    assert!(
        config.validate().is_err(),
        "active dimensions must increase"
    );
    let config = ModelConfig {
        features: None,
        ..m2_config(vec![0], 4)
    };
    assert!(
        config.validate().is_err(),
        "gaussian-identity needs features"
    );
}

/// Codes whose posterior means have known spread: dimension d's means are drawn with standard
/// deviation `sd[d]` around `centre[d]`; the selection keeps those above 0.1 and the fill values
/// are the centres, within four standard errors.
#[test]
fn active_dimensions_of_a_known_code() {
    let (n, sd, centre) = (4000, [1.0, 0.05, 0.2, 0.09], [0.0, 0.3, 2.0, -1.0]);
    let mut noise = vec![0.0f32; n * 4];
    fill_standard_normal(&mut stream(31, Purpose::Init, &[]), &mut noise);
    let mut posterior = Vec::new();
    for row in noise.chunks_exact(4) {
        posterior.extend((0..4).map(|d| centre[d] as f32 + sd[d] as f32 * row[d]));
        posterior.extend([-1.0f32; 4]);
    }
    let codes = Codes {
        dims: 4,
        posterior,
        labels: vec![0; n],
        sampled: false,
    };
    let (active, fill) = active_dimensions(&codes, 0.1);
    assert_eq!(active, vec![0, 2]);
    for d in 0..4 {
        let se = sd[d] / (n as f64).sqrt();
        assert!((fill[d] - centre[d]).abs() < 4.0 * se, "{d}: {}", fill[d]);
    }
    let kept = select_dimensions(&codes, &active);
    assert_eq!(kept.dims, 2);
    assert_eq!(kept.row(7), [codes.row(7)[0], codes.row(7)[2], -1.0, -1.0]);
}

/// A training batch is a draw from each posterior (its mean and variance over many draws match
/// the closed form); a held-out batch is the mean itself.
#[test]
fn code_batches_draw_from_the_posterior() {
    let (mean, log_var) = ([0.5f32, -2.0], [-1.0f32, 0.7]);
    let codes = Codes {
        dims: 2,
        posterior: [mean, log_var].concat(),
        labels: vec![3],
        sampled: true,
    };
    let mut loader = BatchLoader::default();
    let draws = 20_000;
    let mut rng = stream(41, Purpose::Features, &[]);
    let (mut sum, mut squares) = ([0.0f64; 2], [0.0f64; 2]);
    for _ in 0..draws {
        let batch = loader.load_codes(&codes, &[0], Some(&mut rng));
        assert_eq!(batch.labels, [3]);
        for d in 0..2 {
            sum[d] += batch.x[d] as f64;
            squares[d] += (batch.x[d] as f64).powi(2);
        }
    }
    for d in 0..2 {
        let m = sum[d] / draws as f64;
        let var = squares[d] / draws as f64 - m * m;
        let expected = (log_var[d] as f64).exp();
        assert!((m - mean[d] as f64).abs() < 4.0 * (expected / draws as f64).sqrt());
        assert!(
            (var / expected - 1.0).abs() < 0.05,
            "{d}: {var} vs {expected}"
        );
    }
    let held_out = Codes {
        sampled: false,
        ..codes
    };
    let batch = loader.load_codes(&held_out, &[0, 0], Some(&mut rng));
    assert_eq!(batch.x, [mean, mean].concat());
}

/// What M1 + M2 draws comes from M1's decoder: M2's decoder gives the selected code dimensions
/// (its mean), the others take their fill values, and M1 decodes the whole code.
#[test]
fn pictures_come_through_both_decoders() -> Result<()> {
    let (active, latent) = (vec![1, 3], 4);
    let m1_config = ModelConfig {
        latent,
        ..model_config(Activation::Tanh, LikelihoodKind::Bernoulli, 0)
    };
    let m1 = Vae::<f64>::new(&m1_config, 51)?;
    let m2_config = m2_config(active.clone(), latent);
    let m2 = M2::<f64>::new(&m2_config, 52)?;
    let stacked = Stacked::new(m1.clone(), m2.clone())?;
    assert_eq!(stacked.config().image, m1_config.image);

    let mut ws = VaeWorkspace::default();
    let z = uniform(&mut stream(53, Purpose::Init, &[]), 2 * 3, -1.0, 1.0);
    let labels = [0u8, 2];
    let mut images = Vec::new();
    stacked.decode(&mut ws, &z, &labels, 2, &mut images)?;

    let mut codes = Vec::new();
    m2.vae().decode(&mut ws, &z, &labels, 2, &mut codes)?;
    let fill = &m2_config.features.as_ref().expect("features").fill;
    let mut full = Vec::new();
    for row in codes.chunks_exact(active.len()) {
        let mut code = fill.clone();
        for (&d, &v) in active.iter().zip(row) {
            code[d] = v;
        }
        full.extend(code);
    }
    let mut expected = Vec::new();
    m1.decode(&mut ws, &full, &[], 2, &mut expected)?;
    assert_eq!(images, expected);
    assert_eq!(images.len(), 2 * 6);
    assert!(images.iter().all(|&p| (0.0..=1.0).contains(&p)));

    // Classifying an image reads the means of M1's posterior on the selected dimensions.
    let x = uniform(&mut stream(54, Purpose::Init, &[]), 3 * 6, 0.0, 1.0);
    let (mut via_stacked, mut via_codes, mut means) = (Vec::new(), Vec::new(), Vec::new());
    stacked.classify(&mut ws, &x, 3, &mut via_stacked)?;
    m1.encode_means(&mut ws, &x, &[], 3, &mut means)?;
    let selected: Vec<f64> = means
        .chunks_exact(latent)
        .flat_map(|row| active.iter().map(move |&d| row[d]))
        .collect();
    m2.classify(&mut ws, &selected, 3, &mut via_codes)?;
    assert_eq!(via_stacked, via_codes);
    // So does the held-out loss the training loop reports.
    let labels = [0u8, 1, 2];
    let held_out = |model: &dyn Fn(&mut Rng) -> Result<LossTerms>| {
        model(&mut stream(56, Purpose::Evaluate, &[]))
    };
    let stacked_terms = held_out(&|rng| {
        stacked.held_out_loss(
            &mut VaeWorkspace::default(),
            &Batch::new(&x, &labels, 3),
            2,
            rng,
        )
    })?;
    let code_terms = held_out(&|rng| {
        m2.held_out_loss(
            &mut VaeWorkspace::default(),
            &Batch::new(&selected, &labels, 3),
            2,
            rng,
        )
    })?;
    assert_eq!(stacked_terms.loss(), code_terms.loss());
    assert_eq!(stacked_terms.errors, code_terms.errors);
    assert_eq!(stacked_terms.classified, 3);

    // An M1 of another latent size is not the one M2 was trained on.
    let other = Vae::<f64>::new(
        &ModelConfig {
            latent: 5,
            ..m1_config
        },
        55,
    )?;
    assert!(Stacked::new(other, m2).is_err());
    Ok(())
}
