//! Every analytic gradient against central finite differences in f64.

use vae::nn::spec::mlp;

use vae::config::{ImageShape, LikelihoodKind, ModelConfig, TrainConfig};
use vae::data::Batch;
use vae::gaussian::DiagonalGaussian;
use vae::kernels::elementwise::Activation;
use vae::kernels::loss::{bernoulli_nll, gaussian_log_var_grad, gaussian_nll, GaussianMean};
use vae::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use vae::nn::{Linear, ParamBuilder, Parameters};
use vae::objective::{Elbo, VaeObjective};
use vae::{LossTerms, Model, ModelKind, Objective, Result, Step, Trainable, Vae};

const H: f64 = 1e-6;

pub(crate) fn uniform(rng: &mut Rng, n: usize, low: f64, high: f64) -> Vec<f64> {
    use rand::Rng as _;
    (0..n).map(|_| rng.gen_range(low..high)).collect()
}

/// Central difference of `f` at `x` in coordinate `i`.
fn central(f: &mut dyn FnMut(&[f64]) -> f64, x: &[f64], i: usize) -> f64 {
    let mut plus = x.to_vec();
    let mut minus = x.to_vec();
    plus[i] += H;
    minus[i] -= H;
    (f(&plus) - f(&minus)) / (2.0 * H)
}

/// Asserts that `analytic` matches finite differences of `f` at `x` in every coordinate listed.
pub(crate) fn check(
    name: &str,
    f: &mut dyn FnMut(&[f64]) -> f64,
    x: &[f64],
    analytic: &[f64],
    coords: &[usize],
) {
    for &i in coords {
        let numeric = central(f, x, i);
        let err = (numeric - analytic[i]).abs() / (1.0 + numeric.abs().max(analytic[i].abs()));
        assert!(
            err < 1e-6,
            "{name}[{i}]: analytic {} vs numeric {numeric}",
            analytic[i]
        );
    }
}

pub(crate) fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// The loss `Σ c ⊙ output` turns any vector-valued function into a scalar with gradient `c`.
pub(crate) fn weights(n: usize, seed: u64) -> Vec<f64> {
    uniform(&mut stream(seed, Purpose::Sample, &[]), n, -1.0, 1.0)
}

#[test]
fn linear_layer() -> Result<()> {
    let (rows, in_dim, out_dim) = (5, 4, 3);
    for activation in [Activation::Identity, Activation::Tanh, Activation::Softplus] {
        let mut params = Parameters::<f64>::default();
        let mut rng = stream(1, Purpose::Init, &[]);
        let layer = Linear::new(
            &mut ParamBuilder::new(&mut params, &mut rng),
            in_dim,
            out_dim,
        );
        let x = uniform(&mut rng, rows * in_dim, -1.0, 1.0);
        let c = weights(rows * out_dim, 2);
        let loss = |p: &[f64], x: &[f64]| -> f64 {
            let mut y = vec![0.0; rows * out_dim];
            layer
                .forward(p, x, rows, activation, &mut Vec::new(), &mut y)
                .expect("shapes match");
            y.iter().zip(&c).map(|(a, b)| a * b).sum()
        };
        let mut y = vec![0.0; rows * out_dim];
        layer.forward(
            params.values(),
            &x,
            rows,
            activation,
            &mut Vec::new(),
            &mut y,
        )?;
        // Gradient with respect to the pre-activation output: c ⊙ activation'.
        let dy: Vec<f64> = match activation {
            Activation::Tanh => c.iter().zip(&y).map(|(c, y)| c * (1.0 - y * y)).collect(),
            Activation::Softplus => c
                .iter()
                .zip(&y)
                .map(|(c, y)| c * (1.0 - (-y).exp()))
                .collect(),
            _ => c.clone(),
        };
        let mut dx = vec![0.0; rows * in_dim];
        let (values, grads) = params.split_mut();
        layer.backward(values, grads, &x, &dy, rows, Some(&mut dx))?;
        let p0 = params.values().to_vec();
        check(
            "linear dparams",
            &mut |p| loss(p, &x),
            &p0,
            params.grads(),
            &all(p0.len()),
        );
        check("linear dx", &mut |x| loss(&p0, x), &x, &dx, &all(x.len()));
    }
    Ok(())
}

#[test]
fn bernoulli_loss() {
    let (rows, cols, targets_rows) = (6, 5, 3);
    let mut rng = stream(5, Purpose::Init, &[]);
    // Include large logits to exercise the stable branch.
    let mut logits = uniform(&mut rng, rows * cols, -4.0, 4.0);
    logits[0] = 30.0;
    logits[1] = -30.0;
    let targets = uniform(&mut rng, targets_rows * cols, 0.0, 1.0);
    let loss = |l: &[f64]| -> f64 {
        let mut nll = vec![0.0; rows];
        bernoulli_nll(l, &targets, cols, &mut nll, None);
        nll.iter().sum::<f64>() * 0.7
    };
    let mut nll = vec![0.0; rows];
    let mut grad = vec![0.0; rows * cols];
    bernoulli_nll(&logits, &targets, cols, &mut nll, Some((&mut grad, 0.7)));
    check(
        "bernoulli dlogits",
        &mut |l| loss(l),
        &logits,
        &grad,
        &all(logits.len()),
    );
    // Closed form at one pixel: softplus(l) - x l.
    let (l, x) = (logits[7], targets[7]);
    let direct = (1.0 + l.exp()).ln() - x * l;
    let mut one = vec![0.0; 1];
    bernoulli_nll(&[l], &[x], 1, &mut one, None);
    assert!((one[0] - direct).abs() < 1e-12);
}

/// The Gaussian decoder with both means: sigmoid(l) for pixels, l itself for unbounded codes.
#[test]
fn gaussian_loss() {
    gaussian_loss_with(GaussianMean::Sigmoid);
    gaussian_loss_with(GaussianMean::Identity);
}

fn gaussian_loss_with(mean: GaussianMean) {
    let (rows, cols, targets_rows) = (4, 5, 2);
    let floor = -3.0;
    let mut rng = stream(6, Purpose::Init, &[]);
    let logits = uniform(&mut rng, rows * cols, -3.0, 3.0);
    let targets = uniform(&mut rng, targets_rows * cols, 0.0, 1.0);
    // One log-variance sits below the floor, where its gradient must be zero.
    let log_var = vec![-1.0, 0.5, -5.0, -2.0, 1.0];
    let loss = |l: &[f64], lv: &[f64]| -> f64 {
        let mut nll = vec![0.0; rows];
        gaussian_nll(mean, l, lv, floor, &targets, cols, &mut nll, None);
        nll.iter().sum::<f64>() * 0.5
    };
    let mut nll = vec![0.0; rows];
    let mut grad = vec![0.0; rows * cols];
    gaussian_nll(
        mean,
        &logits,
        &log_var,
        floor,
        &targets,
        cols,
        &mut nll,
        Some((&mut grad, 0.5)),
    );
    let mut d_log_var = vec![0.0; cols];
    gaussian_log_var_grad(
        mean,
        &logits,
        &log_var,
        floor,
        &targets,
        cols,
        0.5,
        &mut d_log_var,
    );
    check(
        &format!("gaussian {mean:?} dlogits"),
        &mut |l| loss(l, &log_var),
        &logits,
        &grad,
        &all(logits.len()),
    );
    check(
        &format!("gaussian {mean:?} dlog_var"),
        &mut |lv| loss(&logits, lv),
        &log_var,
        &d_log_var,
        &all(cols),
    );
    assert_eq!(d_log_var[2], 0.0);
    // Closed form of one row: the log-density of N(x; sigmoid(l), exp(lv)).
    let direct: f64 = (0..cols)
        .map(|d| {
            let m = match mean {
                GaussianMean::Sigmoid => 1.0 / (1.0 + (-logits[d]).exp()),
                GaussianMean::Identity => logits[d],
            };
            let var = log_var[d].max(floor).exp();
            0.5 * (2.0 * std::f64::consts::PI * var).ln() + (targets[d] - m).powi(2) / (2.0 * var)
        })
        .sum();
    assert!((nll[0] - direct).abs() < 1e-12, "{} vs {direct}", nll[0]);

    // One log-variance shared by every pixel: its gradient is the sum over pixels.
    let shared = vec![-1.5];
    let mut d_shared = vec![0.0];
    gaussian_log_var_grad(
        mean,
        &logits,
        &shared,
        floor,
        &targets,
        cols,
        0.5,
        &mut d_shared,
    );
    check(
        &format!("gaussian {mean:?} shared dlog_var"),
        &mut |lv| loss(&logits, lv),
        &shared,
        &d_shared,
        &[0],
    );
    let mut nll_shared = vec![0.0; rows];
    let mut grad_shared = vec![0.0; rows * cols];
    gaussian_nll(
        mean,
        &logits,
        &shared,
        floor,
        &targets,
        cols,
        &mut nll_shared,
        Some((&mut grad_shared, 0.5)),
    );
    check(
        &format!("gaussian {mean:?} shared dlogits"),
        &mut |l| loss(l, &shared),
        &logits,
        &grad_shared,
        &all(logits.len()),
    );
}

#[test]
fn reparameterization_and_kl() {
    let (rows, dim, samples) = (3, 4, 2);
    let mut rng = stream(7, Purpose::Init, &[]);
    let params = uniform(&mut rng, rows * 2 * dim, -1.5, 1.0);
    let mut eps = vec![0.0; samples * rows * dim];
    fill_standard_normal(&mut rng, &mut eps);
    let c = weights(samples * rows * dim, 8);
    let loss = |p: &[f64]| -> f64 {
        let q = DiagonalGaussian::new(p, dim);
        let mut z = vec![0.0; samples * rows * dim];
        q.rsample(&eps, &mut z);
        let mut kl = vec![0.0; rows];
        q.kl_to_standard_normal(&mut kl);
        let kl_weights = [0.3, 0.7, 1.1];
        z.iter().zip(&c).map(|(a, b)| a * b).sum::<f64>()
            + kl.iter().zip(kl_weights).map(|(k, w)| w * k).sum::<f64>()
    };
    let q = DiagonalGaussian::new(&params, dim);
    let mut d = vec![0.0; params.len()];
    q.backward_rsample(&eps, &c, &mut d);
    q.backward_kl(Some(&[0.3, 0.7, 1.1]), 1.0, &mut d);
    check(
        "rsample + kl",
        &mut |p| loss(p),
        &params,
        &d,
        &all(params.len()),
    );
}

pub(crate) fn model_config(
    activation: Activation,
    likelihood: LikelihoodKind,
    classes: usize,
) -> ModelConfig {
    ModelConfig {
        image: ImageShape {
            height: 2,
            width: 3,
            channels: 1,
        },
        encoder: mlp(&[7, 5], activation),
        decoder: mlp(&[5, 7], activation),
        latent: 3,
        classes,
        likelihood,
        gaussian_variance: vae::GaussianVariance::Pixel,
        min_log_var: -4.0,
        ..ModelConfig::default()
    }
}

/// The plain autoencoder's reconstruction loss, and M2's objective over a batch of two unlabelled
/// images (the sum over y, q(y | x)'s weights and entropy) and two labelled ones (their ELBO and
/// the weighted −log q(y | x)), with both decoders.
#[test]
fn relatives_objectives() -> Result<()> {
    for (kind, likelihood, classes) in [
        (ModelKind::Ae, LikelihoodKind::Bernoulli, 0),
        (ModelKind::Ae, LikelihoodKind::Gaussian, 0),
        (ModelKind::M2, LikelihoodKind::Bernoulli, 3),
        (ModelKind::M2, LikelihoodKind::Gaussian, 3),
    ] {
        let config = ModelConfig {
            kind,
            classifier: (kind == ModelKind::M2).then(|| mlp(&[4], Activation::Tanh)),
            ..model_config(Activation::Tanh, likelihood, classes)
        };
        let mut model = Model::<f64>::new(&config, 12)?;
        let rows = 4;
        let x = uniform(&mut stream(13, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
        let labels: &[u8] = if classes > 0 { &[1, 0, 2, 1] } else { &[] };
        let batch = Batch {
            unlabelled: if kind == ModelKind::M2 { 2 } else { 0 },
            ..Batch::new(&x, labels, rows)
        };
        let objective = VaeObjective::for_model(kind, &two_samples(), 1.7);
        let name = format!("{kind:?} {likelihood:?}");
        let terms = check_model_gradient(&name, &mut model, &objective, &batch, 14)?;
        if kind == ModelKind::M2 {
            assert_eq!(terms.classified, 2);
            assert!(terms.classification > 0.0);
        } else {
            assert_eq!(terms.kl, 0.0);
        }
    }
    Ok(())
}

/// Training with S = 2 latent samples per image.
pub(crate) fn two_samples() -> TrainConfig {
    TrainConfig {
        samples: 2,
        ..TrainConfig::default()
    }
}

/// Checks the analytic gradient of `objective` on `batch` against f64 central differences of the
/// value it reports minimising (`LossTerms::objective`), ε held fixed by drawing it from the same
/// stream `noise_seed` each time.
pub(crate) fn check_model_gradient<M: Trainable<f64> + Clone, O: Objective<f64, M>>(
    name: &str,
    model: &mut M,
    objective: &O,
    batch: &Batch<'_, f64>,
    noise_seed: u64,
) -> Result<LossTerms> {
    let noise = || stream(noise_seed, Purpose::Noise, &[]);
    let mut ws = Default::default();
    model.parameters_mut().zero_grads();
    let step = Step::default();
    let terms = objective.loss_and_grad(model, &mut ws, batch, &step, &mut noise())?;
    let analytic = model.parameters().grads().to_vec();
    let p0 = model.parameters().values().to_vec();
    let mut probe = model.clone();
    let mut loss = |p: &[f64]| -> f64 {
        probe.parameters_mut().values_mut().copy_from_slice(p);
        let mut ws = Default::default();
        objective
            .loss_and_grad(&mut probe, &mut ws, batch, &step, &mut noise())
            .expect("shapes match")
            .objective
    };
    check(name, &mut loss, &p0, &analytic, &all(p0.len()));
    Ok(terms)
}

/// The whole negative ELBO with S = 2 samples, ε held fixed by reusing the same stream: a
/// conditional VAE, whose encoder and decoder also read one-hot labels, and a KL weighted by 0.3.
#[test]
fn whole_elbo() -> Result<()> {
    for (activation, likelihood, classes, kl_weight) in [
        (Activation::Tanh, LikelihoodKind::Bernoulli, 0, 1.0),
        (Activation::Relu, LikelihoodKind::Bernoulli, 0, 1.0),
        (Activation::Tanh, LikelihoodKind::Gaussian, 0, 1.0),
        (Activation::Tanh, LikelihoodKind::Bernoulli, 3, 1.0),
        (Activation::Tanh, LikelihoodKind::Gaussian, 0, 0.3),
    ] {
        let config = model_config(activation, likelihood, classes);
        let mut model = Vae::<f64>::new(&config, 9)?;
        let rows = 4;
        let x = uniform(&mut stream(10, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
        let labels: &[u8] = if classes > 0 { &[2, 0, 1, 2] } else { &[] };
        let batch = Batch::new(&x, labels, rows);
        let objective = Elbo {
            kl_weight,
            ..Elbo::new(2)
        };
        check_model_gradient(
            &format!("elbo {activation:?} {likelihood:?} classes {classes} kl weight {kl_weight}"),
            &mut model,
            &objective,
            &batch,
            11,
        )?;
    }
    Ok(())
}
