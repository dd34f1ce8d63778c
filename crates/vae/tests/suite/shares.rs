//! Data parallelism's promise at the level of one step: the gradients of the shares of a
//! minibatch, each computed as a rank computes it (its rows, the minibatch's noise stream), sum to
//! the gradient of the whole minibatch up to rounding, for every objective that draws noise.

use super::gradients::{model_config, two_samples, uniform};
use vae::batch::{Batch, RankShare};
use vae::config::{LikelihoodKind, ModelConfig, ObjectiveKind, TopLayer, TrainConfig};
use vae::kernels::rng::{stream, Purpose};
use vae::nn::spec::mlp;
use vae::objective::VaeObjective;
use vae::{Activation, Model, ModelKind, Objective, Result, Step, Trainable};

/// The summed loss and gradient of `batch` split among `size` ranks.
fn shared_step(
    model: &mut Model<f64>,
    objective: &VaeObjective,
    batch: &Batch<'_, f64>,
    size: usize,
) -> Result<(f64, Vec<f64>)> {
    let (mut loss, mut grad) = (0.0, vec![0.0; model.parameters().len()]);
    for rank in 0..size {
        let mut share = RankShare::default();
        let part = share.of(batch, rank, size);
        model.parameters_mut().zero_grads();
        let mut ws = Default::default();
        let mut noise = stream(3, Purpose::Noise, &[0, 0]);
        let terms = objective.loss_and_grad(model, &mut ws, &part, &Step::default(), &mut noise)?;
        loss += terms.objective;
        for (g, &r) in grad.iter_mut().zip(model.parameters().grads()) {
            *g += r;
        }
    }
    Ok((loss, grad))
}

#[test]
fn shares_of_a_minibatch_sum_to_its_gradient() -> Result<()> {
    let iwae = TrainConfig {
        objective: ObjectiveKind::Iwae,
        samples: 3,
        ..TrainConfig::default()
    };
    let plain = model_config(Activation::Tanh, LikelihoodKind::Bernoulli, 0);
    let two_layer = ModelConfig {
        top: Some(TopLayer {
            latent: 2,
            encoder: mlp(&[4], Activation::Tanh),
            prior: mlp(&[3], Activation::Tanh),
        }),
        ..plain.clone()
    };
    let m2 = ModelConfig {
        kind: ModelKind::M2,
        classifier: Some(mlp(&[4], Activation::Tanh)),
        ..model_config(Activation::Tanh, LikelihoodKind::Gaussian, 3)
    };
    let cvae = model_config(Activation::Tanh, LikelihoodKind::Bernoulli, 3);
    let cases: [(&str, &ModelConfig, TrainConfig, usize); 6] = [
        ("vae, ELBO with 2 samples", &plain, two_samples(), 0),
        ("vae, IWAE k = 3", &plain, iwae.clone(), 0),
        ("cvae", &cvae, two_samples(), 0),
        ("two stochastic layers, ELBO", &two_layer, two_samples(), 0),
        ("two stochastic layers, IWAE", &two_layer, iwae, 0),
        (
            "m2, 4 unlabelled and 3 labelled rows",
            &m2,
            two_samples(),
            4,
        ),
    ];
    for (name, config, train, unlabelled) in cases {
        let mut model = Model::<f64>::new(config, 5)?;
        let rows = 7;
        let x = uniform(&mut stream(6, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
        let labels: &[u8] = if config.classes > 0 {
            &[1, 0, 2, 1, 2, 0, 1]
        } else {
            &[]
        };
        let batch = Batch {
            unlabelled,
            ..Batch::new(&x, labels, rows)
        };
        let objective = VaeObjective::for_model(config.kind, &train, 1.3);
        let (whole_loss, whole) = shared_step(&mut model, &objective, &batch, 1)?;
        for size in [2, 3] {
            let (loss, grad) = shared_step(&mut model, &objective, &batch, size)?;
            assert!(
                (loss - whole_loss).abs() <= 1e-12 * whole_loss.abs(),
                "{name}, {size} ranks: loss {loss} against {whole_loss}"
            );
            let scale = whole.iter().fold(0f64, |m, g| m.max(g.abs()));
            for (i, (a, b)) in grad.iter().zip(&whole).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * scale,
                    "{name}, {size} ranks: gradient {i} is {a} against {b}"
                );
            }
        }
    }
    Ok(())
}
