//! The JMVAE (Suzuki et al. 2016): JMVAE-kl's gradient through all five networks against f64
//! central differences, its objective against the joint ELBO written out here from the weights,
//! and what it infers and generates.

use crate::gradients::{check_model_gradient, uniform};
use vae::config::{ImageShape, LabelModality, LikelihoodKind, ModelConfig};
use vae::data::Batch;
use vae::kernels::elementwise::Activation;
use vae::kernels::rng::{fill_standard_normal, stream, Purpose};
use vae::model::jmvae::Modality;
use vae::model::{Jmvae, VaeWorkspace};
use vae::nn::spec::mlp;
use vae::nn::Parameters;
use vae::objective::JointElbo;
use vae::{Generative, ModelKind, Objective, Result, Step, Trainable};

const CLASSES: usize = 3;

/// Binary attributes of the attribute models below.
const ATTRIBUTES: usize = 4;

fn config(likelihood: LikelihoodKind) -> ModelConfig {
    ModelConfig {
        kind: ModelKind::Jmvae,
        image: ImageShape {
            height: 2,
            width: 3,
            channels: 1,
        },
        encoder: mlp(&[7, 5], Activation::Tanh),
        decoder: mlp(&[5, 7], Activation::Tanh),
        latent: 3,
        classes: CLASSES,
        likelihood,
        min_log_var: -4.0,
        modality: Some(LabelModality {
            encoder: mlp(&[4], Activation::Tanh),
            decoder: mlp(&[4], Activation::Tanh),
            attributes: Vec::new(),
        }),
        ..ModelConfig::default()
    }
}

/// The same networks with w a vector of binary attributes in place of the label.
fn attribute_config(likelihood: LikelihoodKind) -> ModelConfig {
    let mut config = config(likelihood);
    config.classes = 0;
    if let Some(modality) = config.modality.as_mut() {
        modality.attributes = (0..ATTRIBUTES).map(|a| format!("a{a}")).collect();
    }
    config
}

/// Attributes of four rows, 0 or 1 each.
const ROW_ATTRIBUTES: [u8; 16] = [1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1];

/// JMVAE-kl with S = 2 samples, α = 0.7 and a KL weight of 0.3 (as in warm-up), for both
/// likelihoods: every weight of the joint encoder, q(z | x), q(z | w), p(x | z) and p(w | z).
#[test]
fn jmvae_kl_gradient_matches_finite_differences() -> Result<()> {
    for (likelihood, attributes) in [
        (LikelihoodKind::Bernoulli, false),
        (LikelihoodKind::Gaussian, false),
        (LikelihoodKind::Bernoulli, true),
    ] {
        for (alpha, kl_weight) in [(0.7, 1.0), (0.7, 0.3), (0.0, 1.0)] {
            let config = if attributes {
                attribute_config(likelihood)
            } else {
                config(likelihood)
            };
            let mut model = Jmvae::<f64>::new(&config, 21)?;
            let rows = 4;
            let x = uniform(&mut stream(22, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
            let batch = if attributes {
                Batch {
                    attributes: &ROW_ATTRIBUTES,
                    ..Batch::new(&x, &[], rows)
                }
            } else {
                Batch::new(&x, &[2, 0, 1, 2], rows)
            };
            let objective = JointElbo {
                kl_weight,
                ..JointElbo::new(2, alpha)
            };
            let terms = check_model_gradient(
                &format!(
                    "jmvae {likelihood:?} attributes {attributes} alpha {alpha} kl weight {kl_weight}"
                ),
                &mut model,
                &objective,
                &batch,
                23,
            )?;
            assert!(terms.classification > 0.0 && terms.kl > 0.0);
            // Every network learns something from this batch, except q(z | x) and q(z | w)
            // when α = 0: nothing then reaches them.
            for prefix in [
                "encoder.",
                "decoder.",
                "image_encoder.",
                "label_encoder.",
                "label_decoder.",
            ] {
                let norm: f64 = model
                    .parameters()
                    .entries()
                    .iter()
                    .filter(|e| e.name.starts_with(prefix))
                    .flat_map(|e| model.parameters().grads()[e.range.clone()].iter())
                    .map(|g| g * g)
                    .sum();
                let unimodal = prefix == "image_encoder." || prefix == "label_encoder.";
                if alpha == 0.0 && unimodal {
                    assert_eq!(norm, 0.0, "{prefix} with alpha 0");
                } else {
                    assert!(norm > 0.0, "{prefix} got no gradient");
                }
            }
        }
    }
    Ok(())
}

/// A dense layer `name` of `params` on rows of `x`, then `activation`.
fn dense(params: &Parameters<f64>, name: &str, x: &[f64], tanh: bool) -> Vec<f64> {
    let weight = params.entry(&format!("{name}.weight")).expect("weight");
    let bias = params.entry(&format!("{name}.bias")).expect("bias");
    let (out, inputs) = (weight.shape[0], weight.shape[1]);
    let (w, b) = (
        &params.values()[weight.range.clone()],
        &params.values()[bias.range.clone()],
    );
    x.chunks_exact(inputs)
        .flat_map(|row| {
            (0..out).map(move |o| {
                let v = b[o] + (0..inputs).map(|i| w[o * inputs + i] * row[i]).sum::<f64>();
                if tanh {
                    v.tanh()
                } else {
                    v
                }
            })
        })
        .collect()
}

/// A network of two tanh layers `hidden.0`, `hidden.1` (or one) under `prefix`, then `heads`.
fn network(
    params: &Parameters<f64>,
    prefix: &str,
    depth: usize,
    x: &[f64],
    head: &str,
) -> Vec<f64> {
    let mut h = x.to_vec();
    for i in 0..depth {
        h = dense(params, &format!("{prefix}.hidden.{i}"), &h, true);
    }
    dense(params, &format!("{prefix}.{head}"), &h, false)
}

/// With α = 0 JMVAE-kl is the ELBO of the pair (x, w) alone: −log p(x | z) − log p(w | z) at z
/// = μ + σ ε, plus KL(q(z | x, w) || N(0, I)), written out here from the checkpoint's tensors
/// with the same ε: a softmax over the label, or independent Bernoulli attributes.
#[test]
fn with_alpha_zero_the_objective_is_the_joint_elbo() -> Result<()> {
    for attributes in [false, true] {
        let config = if attributes {
            attribute_config(LikelihoodKind::Bernoulli)
        } else {
            config(LikelihoodKind::Bernoulli)
        };
        let mut model = Jmvae::<f64>::new(&config, 31)?;
        let rows = 4;
        let x = uniform(&mut stream(32, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
        let labels = [1u8, 2, 0, 1];
        let batch = if attributes {
            Batch {
                attributes: &ROW_ATTRIBUTES,
                ..Batch::new(&x, &[], rows)
            }
        } else {
            Batch::new(&x, &labels, rows)
        };
        let terms = JointElbo::new(1, 0.0).loss_and_grad(
            &mut model,
            &mut VaeWorkspace::default(),
            &batch,
            &Step::default(),
            &mut stream(33, Purpose::Noise, &[]),
        )?;

        let params = model.parameters();
        let latent = 3;
        let mut eps = vec![0.0; rows * latent];
        fill_standard_normal(&mut stream(33, Purpose::Noise, &[]), &mut eps);
        let mut expected = 0.0;
        for r in 0..rows {
            let w: Vec<f64> = if attributes {
                ROW_ATTRIBUTES[r * ATTRIBUTES..(r + 1) * ATTRIBUTES]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect()
            } else {
                (0..CLASSES)
                    .map(|c| f64::from(u8::from(c == labels[r] as usize)))
                    .collect()
            };
            let mut input = x[r * 6..(r + 1) * 6].to_vec();
            input.extend(&w);
            let mean = network(params, "encoder", 2, &input, "mean");
            let log_var = network(params, "encoder", 2, &input, "log_var");
            let z: Vec<f64> = (0..latent)
                .map(|d| mean[d] + (0.5 * log_var[d]).exp() * eps[r * latent + d])
                .collect();
            let kl: f64 = (0..latent)
                .map(|d| -0.5 * (1.0 + log_var[d] - mean[d] * mean[d] - log_var[d].exp()))
                .sum();
            let bernoulli = |logits: &[f64], targets: &[f64]| -> f64 {
                logits
                    .iter()
                    .zip(targets)
                    .map(|(&l, &t)| (1.0 + l.exp()).ln() - t * l)
                    .sum()
            };
            let logits = network(params, "decoder", 2, &z, "output");
            let image_nll = bernoulli(&logits, &x[r * 6..(r + 1) * 6]);
            let label_logits = network(params, "label_decoder", 1, &z, "output");
            let label_nll = if attributes {
                bernoulli(&label_logits, &w)
            } else {
                let norm = label_logits.iter().map(|l| l.exp()).sum::<f64>().ln();
                norm - label_logits[labels[r] as usize]
            };
            expected += image_nll + label_nll + kl;
        }
        assert!(
            (terms.objective - expected).abs() < 1e-9 * expected.abs(),
            "attributes {attributes}: objective {} vs the joint ELBO {expected}",
            terms.objective
        );
        assert!((terms.loss() - expected).abs() < 1e-9 * expected.abs());
    }
    Ok(())
}

/// What the model does without training, checked for shapes and consistency: log p(x | w) =
/// log p(x, w) − log p(w) per image, labels inferred in range, images sampled from labels in
/// [0, 1], and bad labels refused.
#[test]
fn scores_inference_and_sampling() -> Result<()> {
    let model = Jmvae::<f64>::new(&config(LikelihoodKind::Bernoulli), 41)?;
    let mut ws = VaeWorkspace::default();
    let rows = 3;
    let x = uniform(&mut stream(42, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
    let labels = [0u8, 2, 1];
    let mut rng = stream(43, Purpose::Sample, &[]);
    let mut scores = Vec::new();
    model.joint_scores(
        &mut ws,
        &x,
        Modality::Labels(&labels),
        rows,
        50,
        &mut rng,
        &mut scores,
    )?;
    assert_eq!(scores.len(), rows);
    for s in &scores {
        assert!(s.joint.is_finite() && s.label < 0.0 && s.joint < s.label);
        assert_eq!(s.conditional(), s.joint - s.label);
    }
    let mut inferred = Vec::new();
    model.infer_labels(&mut ws, &x, rows, &mut inferred)?;
    assert!(inferred.len() == rows && inferred.iter().all(|&w| (w as usize) < CLASSES));
    let mut images = Vec::new();
    model.sample(&mut ws, 4, &[2, 1], &mut rng, &mut images)?;
    assert!(images.len() == 24 && images.iter().all(|v| (0.0..=1.0).contains(v)));
    // Any model as a run directory holds it draws as its kind does: from q(z | y) here, not
    // from the prior.
    let family = vae::Model::Jmvae(model.clone());
    let draw = |m: &dyn Fn(&mut Vec<f64>) -> Result<()>| -> Result<Vec<f64>> {
        let mut out = Vec::new();
        m(&mut out)?;
        Ok(out)
    };
    let through_family = draw(&|out| {
        family.sample(
            &mut VaeWorkspace::default(),
            4,
            &[2, 1],
            &mut stream(9, Purpose::Sample, &[]),
            out,
        )
    })?;
    let given = draw(&|out| {
        model.sample_given(
            &mut VaeWorkspace::default(),
            4,
            Modality::Labels(&[2, 1]),
            &mut stream(9, Purpose::Sample, &[]),
            out,
        )
    })?;
    let prior = draw(&|out| {
        family.sample(
            &mut VaeWorkspace::default(),
            4,
            &[],
            &mut stream(9, Purpose::Sample, &[]),
            out,
        )
    })?;
    assert_eq!(through_family, given);
    assert_ne!(through_family, prior);
    let err = model
        .joint_scores(
            &mut ws,
            &x,
            Modality::Labels(&[0, 3, 1]),
            rows,
            5,
            &mut rng,
            &mut scores,
        )
        .expect_err("label 3 of 3 classes");
    assert!(err.to_string().contains("label"), "{err}");
    Ok(())
}

/// A JMVAE of attributes reads one 0 or 1 per attribute, scores and samples from attribute
/// rows, and refuses labels in their place.
#[test]
fn attributes_are_read_scored_and_sampled() -> Result<()> {
    let model = Jmvae::<f64>::new(&attribute_config(LikelihoodKind::Bernoulli), 51)?;
    let mut ws = VaeWorkspace::default();
    let rows = 4;
    let x = uniform(&mut stream(52, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
    let mut read = Vec::new();
    model.infer(&mut ws, &x, rows, &mut read)?;
    assert!(read.len() == rows * ATTRIBUTES && read.iter().all(|&v| v <= 1));
    let mut rng = stream(53, Purpose::Sample, &[]);
    let mut scores = Vec::new();
    let w = Modality::Attributes(&ROW_ATTRIBUTES);
    model.joint_scores(&mut ws, &x, w, rows, 20, &mut rng, &mut scores)?;
    assert!(scores.iter().all(|s| s.joint < s.label && s.label < 0.0));
    let mut images = Vec::new();
    model.sample_given(
        &mut ws,
        3,
        Modality::Attributes(&[1, 0, 1, 1]),
        &mut rng,
        &mut images,
    )?;
    assert!(images.len() == 18 && images.iter().all(|v| (0.0..=1.0).contains(v)));
    for (bad, needle) in [
        (
            Modality::Labels(&[0, 1, 0, 1]),
            "reads the attributes a0, a1, a2, a3, not labels",
        ),
        (
            Modality::Attributes(&ROW_ATTRIBUTES[..12]),
            "12 attribute values for 4 rows",
        ),
        (Modality::Attributes(&[2; 16]), "attributes are 0 or 1"),
    ] {
        let err = model
            .joint_scores(&mut ws, &x, bad, rows, 2, &mut rng, &mut scores)
            .expect_err(needle)
            .to_string();
        assert!(err.contains(needle), "{err}");
    }
    Ok(())
}
