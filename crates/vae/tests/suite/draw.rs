//! DRAW (Gregor et al. 2015): the LSTM cell over several steps, the attention's filterbanks against
//! the paper's equations written out here, its read and write, and the whole model's gradient,
//! all against f64 central differences; what it encodes, decodes and scores.

use crate::gradients::{all, check, check_model_gradient, uniform, weights};
use vae::config::{Attention, DrawConfig, ImageShape, LikelihoodKind, ModelConfig};
use vae::data::Batch;
use vae::kernels::attention::{self, Grid, WINDOW_PARAMS};
use vae::kernels::rng::{stream, Purpose};
use vae::model::{Draw, VaeWorkspace};
use vae::nn::{LstmCell, LstmWeights, ParamBuilder, Parameters};
use vae::objective::Elbo;
use vae::{Generative, ModelKind, Result, Trainable};

const IMAGE: ImageShape = ImageShape {
    height: 5,
    width: 4,
    channels: 1,
};

fn config(attention: Option<Attention>, likelihood: LikelihoodKind) -> ModelConfig {
    ModelConfig {
        kind: ModelKind::Draw,
        image: IMAGE,
        latent: 2,
        encoder: Vec::new(),
        decoder: Vec::new(),
        likelihood,
        min_log_var: -4.0,
        draw: Some(DrawConfig {
            steps: 3,
            lstm: 4,
            attention,
        }),
        ..ModelConfig::default()
    }
}

/// The LSTM cell run for three steps from the zero state, loss Σ_t c_t ⊙ h_t: every weight and
/// every step's input, through backpropagation through time with the weights' gradients taken
/// over all steps at once.
#[test]
fn lstm_cell_over_steps_matches_finite_differences() -> Result<()> {
    let (rows, input, hidden, steps) = (2, 3, 4, 3);
    let mut params = Parameters::<f64>::default();
    let mut rng = stream(5, Purpose::Init, &[]);
    let cell = LstmCell::new(&mut ParamBuilder::new(&mut params, &mut rng), input, hidden);
    let xs = uniform(
        &mut stream(6, Purpose::Init, &[]),
        steps * rows * input,
        -1.0,
        1.0,
    );
    let c = weights(steps * rows * hidden, 7);
    let len = rows * hidden;
    // Forward: states [steps + 1, rows, hidden] with the zero state first.
    let forward = |values: &[f64], xs: &[f64]| -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
        let mut weights = LstmWeights::default();
        cell.prepare(values, rows, &mut weights).unwrap();
        let (mut hs, mut cs) = (vec![0.0; (steps + 1) * len], vec![0.0; (steps + 1) * len]);
        let mut gates = vec![0.0; steps * rows * 4 * hidden];
        for t in 0..steps {
            let (c_before, c_after) = cs.split_at_mut((t + 1) * len);
            let (h_before, h_after) = hs.split_at_mut((t + 1) * len);
            cell.step(
                values,
                &weights,
                &xs[t * rows * input..(t + 1) * rows * input],
                (
                    (t > 0).then_some(&h_before[t * len..]),
                    &c_before[t * len..],
                ),
                rows,
                &mut gates[t * rows * 4 * hidden..(t + 1) * rows * 4 * hidden],
                &mut c_after[..len],
                &mut h_after[..len],
            )
            .unwrap();
        }
        let loss = (0..steps * len).map(|i| c[i] * hs[len + i]).sum();
        (hs, cs, gates, loss)
    };
    let values = params.values().to_vec();
    let (hs, cs, gates, _) = forward(&values, &xs);
    // Backward through time.
    let mut grads = vec![0.0; values.len()];
    let mut d_gates = vec![0.0; steps * rows * 4 * hidden];
    let mut dx = vec![0.0; steps * rows * input];
    let (mut dh, mut dc) = (vec![0.0; len], vec![0.0; len]);
    for t in (0..steps).rev() {
        for i in 0..len {
            dh[i] += c[t * len + i];
        }
        let mut dh_prev = vec![0.0; len];
        cell.step_backward(
            &values,
            (
                &gates[t * rows * 4 * hidden..(t + 1) * rows * 4 * hidden],
                &cs[t * len..(t + 1) * len],
                &cs[(t + 1) * len..(t + 2) * len],
            ),
            &dh,
            &mut dc,
            rows,
            &mut d_gates[t * rows * 4 * hidden..(t + 1) * rows * 4 * hidden],
            Some(&mut dx[t * rows * input..(t + 1) * rows * input]),
            (t > 0).then_some(&mut dh_prev[..]),
        )?;
        dh = dh_prev;
    }
    cell.accumulate_grads(&mut grads, &xs, &hs[..steps * len], &d_gates, steps * rows)?;
    check(
        "lstm weights",
        &mut |p| forward(p, &xs).3,
        &values,
        &grads,
        &all(values.len()),
    );
    check(
        "lstm inputs",
        &mut |x| forward(&values, x).3,
        &xs,
        &dx,
        &all(xs.len()),
    );
    Ok(())
}

/// Eqs. 19-26 of the paper written out for one grid: centre, stride, filter means, and each
/// filter normalised over the pixels a = 1..A.
#[test]
fn filterbanks_follow_the_papers_equations() {
    let grid = Grid {
        n: 3,
        height: 7,
        width: 5,
        channels: 1,
    };
    let p = [0.3, -0.4, 0.2, -0.5, 0.1];
    let (mut fx, mut fy, mut gamma) = (vec![0.0; 15], vec![0.0; 21], vec![0.0; 1]);
    attention::filterbanks(&grid, &p, &mut fx, &mut fy, &mut gamma);
    let (a, b, n) = (5.0, 7.0, 3.0);
    let gx = (a + 1.0) / 2.0 * (p[0] + 1.0);
    let gy = (b + 1.0) / 2.0 * (p[1] + 1.0);
    let delta = (f64::max(a, b) - 1.0) / (n - 1.0) * p[3].exp();
    let var = p[2].exp();
    for i in 1..=3 {
        let mu_x = gx + (i as f64 - n / 2.0 - 0.5) * delta;
        let mu_y = gy + (i as f64 - n / 2.0 - 0.5) * delta;
        let zx: f64 = (1..=5)
            .map(|a| (-(a as f64 - mu_x).powi(2) / (2.0 * var)).exp())
            .sum();
        let zy: f64 = (1..=7)
            .map(|b| (-(b as f64 - mu_y).powi(2) / (2.0 * var)).exp())
            .sum();
        for a in 1..=5 {
            let want = (-(a as f64 - mu_x).powi(2) / (2.0 * var)).exp() / zx;
            assert!((fx[(i - 1) * 5 + a - 1] - want).abs() < 1e-12);
        }
        for b in 1..=7 {
            let want = (-(b as f64 - mu_y).powi(2) / (2.0 * var)).exp() / zy;
            assert!((fy[(i - 1) * 7 + b - 1] - want).abs() < 1e-12);
        }
    }
    assert!((gamma[0] - p[4].exp()).abs() < 1e-15);
}

/// Read and write through the grid five numbers place, two channels, two rows: the gradient with
/// respect to the numbers, the image and the patch.
#[test]
fn read_and_write_match_finite_differences() {
    let grid = Grid {
        n: 2,
        height: 5,
        width: 4,
        channels: 2,
    };
    let rows = 2;
    let params = uniform(
        &mut stream(8, Purpose::Init, &[]),
        rows * WINDOW_PARAMS,
        -0.6,
        0.6,
    );
    let image = uniform(
        &mut stream(9, Purpose::Init, &[]),
        rows * grid.image(),
        0.0,
        1.0,
    );
    let patch = uniform(
        &mut stream(10, Purpose::Init, &[]),
        rows * grid.patch(),
        -1.0,
        1.0,
    );
    let c_read = weights(rows * grid.patch(), 11);
    let c_write = weights(rows * grid.image(), 12);
    let bank = |p: &[f64]| {
        let (mut fx, mut fy, mut gamma) = (
            vec![0.0; rows * grid.n * grid.width],
            vec![0.0; rows * grid.n * grid.height],
            vec![0.0; rows],
        );
        attention::filterbanks(&grid, p, &mut fx, &mut fy, &mut gamma);
        (fx, fy, gamma)
    };
    let read_loss = |p: &[f64], img: &[f64]| {
        let (fx, fy, gamma) = bank(p);
        let mut tmp = vec![0.0; rows * grid.tmp_len()];
        let mut out = vec![0.0; rows * grid.patch()];
        attention::read(
            &grid,
            img,
            (&fx, &fy, &gamma),
            &mut tmp,
            &mut out,
            grid.patch(),
            0,
        );
        out.iter().zip(&c_read).map(|(o, c)| o * c).sum::<f64>()
    };
    let write_loss = |p: &[f64], patch: &[f64]| {
        let (fx, fy, gamma) = bank(p);
        let mut tmp = vec![0.0; rows * grid.tmp_len()];
        let mut canvas = vec![0.0; rows * grid.image()];
        attention::write(&grid, patch, (&fx, &fy, &gamma), &mut tmp, &mut canvas);
        canvas.iter().zip(&c_write).map(|(o, c)| o * c).sum::<f64>()
    };
    let (fx, fy, gamma) = bank(&params);
    // Read.
    let mut tmp = vec![0.0; rows * grid.tmp_len()];
    let mut out = vec![0.0; rows * grid.patch()];
    attention::read(
        &grid,
        &image,
        (&fx, &fy, &gamma),
        &mut tmp,
        &mut out,
        grid.patch(),
        0,
    );
    let (mut d_fx, mut d_fy, mut d_gamma) =
        (vec![0.0; fx.len()], vec![0.0; fy.len()], vec![0.0; rows]);
    let mut d_image = vec![0.0; image.len()];
    attention::read_backward(
        &grid,
        &image,
        (&fx, &fy, &gamma),
        &tmp,
        (&c_read, grid.patch(), 0),
        (&mut d_fx, &mut d_fy, &mut d_gamma),
        Some(&mut d_image),
        &mut Vec::new(),
    );
    let mut d_params = vec![0.0; params.len()];
    attention::filterbanks_backward(
        &grid,
        &params,
        (&fx, &fy, &gamma),
        (&d_fx, &d_fy, &d_gamma),
        &mut d_params,
    );
    check(
        "read params",
        &mut |p| read_loss(p, &image),
        &params,
        &d_params,
        &all(params.len()),
    );
    check(
        "read image",
        &mut |x| read_loss(&params, x),
        &image,
        &d_image,
        &all(image.len()),
    );
    // Write.
    let mut tmp = vec![0.0; rows * grid.tmp_len()];
    let mut canvas = vec![0.0; rows * grid.image()];
    attention::write(&grid, &patch, (&fx, &fy, &gamma), &mut tmp, &mut canvas);
    let (mut d_fx, mut d_fy, mut d_gamma) =
        (vec![0.0; fx.len()], vec![0.0; fy.len()], vec![0.0; rows]);
    let mut d_patch = vec![0.0; patch.len()];
    attention::write_backward(
        &grid,
        &patch,
        (&fx, &fy, &gamma),
        &tmp,
        &c_write,
        &mut d_patch,
        (&mut d_fx, &mut d_fy, &mut d_gamma),
    );
    let mut d_params = vec![0.0; params.len()];
    attention::filterbanks_backward(
        &grid,
        &params,
        (&fx, &fy, &gamma),
        (&d_fx, &d_fy, &d_gamma),
        &mut d_params,
    );
    check(
        "write params",
        &mut |p| write_loss(p, &patch),
        &params,
        &d_params,
        &all(params.len()),
    );
    check(
        "write patch",
        &mut |w| write_loss(&params, w),
        &patch,
        &d_patch,
        &all(patch.len()),
    );
}

/// The whole DRAW, T = 3, with S = 2 samples: with and without attention, Bernoulli and Gaussian
/// likelihoods, and a KL weight of 0.3; every weight of both LSTMs, the heads, the write and
/// the grids.
#[test]
fn draw_elbo_gradient_matches_finite_differences() -> Result<()> {
    let grids = Some(Attention { read: 2, write: 3 });
    for (attention, likelihood, kl_weight) in [
        (None, LikelihoodKind::Bernoulli, 1.0),
        (grids, LikelihoodKind::Bernoulli, 1.0),
        (grids, LikelihoodKind::Gaussian, 0.3),
        (None, LikelihoodKind::Gaussian, 1.0),
    ] {
        let mut model = Draw::<f64>::new(&config(attention, likelihood), 31)?;
        let rows = 3;
        let x = uniform(
            &mut stream(32, Purpose::Init, &[]),
            rows * IMAGE.len(),
            0.0,
            1.0,
        );
        let batch = Batch::new(&x, &[], rows);
        let objective = Elbo {
            kl_weight,
            ..Elbo::new(2)
        };
        let terms = check_model_gradient(
            &format!("draw {attention:?} {likelihood:?} kl weight {kl_weight}"),
            &mut model,
            &objective,
            &batch,
            33,
        )?;
        assert!(terms.kl > 0.0 && terms.reconstruction.is_finite());
        for entry in model.parameters().entries() {
            let norm: f64 = model.parameters().grads()[entry.range.clone()]
                .iter()
                .map(|g| g * g)
                .sum();
            assert!(norm > 0.0, "{} got no gradient", entry.name);
        }
    }
    Ok(())
}

/// Scoring with one sample gives the negative ELBO's terms of that sample, and the importance
/// estimate with K samples lies above the ELBO's average; decoding the posterior means of an
/// image is its reconstruction; the latent is the whole sequence.
#[test]
fn draw_scores_encodes_and_decodes() -> Result<()> {
    let config = config(
        Some(Attention { read: 2, write: 3 }),
        LikelihoodKind::Bernoulli,
    );
    let model = Draw::<f64>::new(&config, 41)?;
    assert_eq!(Generative::latent(&model), 6);
    let rows = 2;
    let x = uniform(
        &mut stream(42, Purpose::Init, &[]),
        rows * IMAGE.len(),
        0.0,
        1.0,
    );
    let mut ws = VaeWorkspace::default();
    let mut scores = Vec::new();
    model.score(
        &mut ws,
        &x,
        &[],
        rows,
        200,
        &mut stream(43, Purpose::Noise, &[]),
        &mut scores,
    )?;
    for s in &scores {
        let elbo = -(s.reconstruction + s.kl);
        assert!(
            s.log_likelihood > elbo,
            "log p(x) {} <= ELBO {elbo}",
            s.log_likelihood
        );
    }
    let mut means = Vec::new();
    model.encode_means(&mut ws, &x, &[], rows, &mut means)?;
    assert_eq!(means.len(), rows * 6);
    let mut encoded = Vec::new();
    model.encode(&mut ws, &x, &[], rows, &mut encoded)?;
    assert_eq!(&encoded[..6], &means[..6]);
    let (mut decoded, mut reconstructed) = (Vec::new(), Vec::new());
    model.decode(&mut ws, &means, &[], rows, &mut decoded)?;
    model.reconstruct(&mut ws, &x, &[], rows, &mut reconstructed)?;
    assert_eq!(decoded, reconstructed);
    // The last canvas of the steps' pictures is the decoded image.
    let mut canvases = Vec::new();
    model.canvases(&mut ws, &means, rows, &[1, 3], &mut canvases)?;
    let pixels = IMAGE.len();
    assert_eq!(&canvases[rows * pixels..], &decoded[..]);
    assert!(model
        .canvases(&mut ws, &means, rows, &[4], &mut canvases)
        .is_err());
    Ok(())
}

/// A grid wider than the image, or no steps, is refused with one line naming it.
#[test]
fn draw_refuses_grids_that_do_not_fit() {
    let mut config = config(
        Some(Attention { read: 6, write: 3 }),
        LikelihoodKind::Bernoulli,
    );
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("read grid of 6x6") && !err.contains('\n'),
        "{err}"
    );
    config.draw = Some(DrawConfig {
        steps: 0,
        lstm: 4,
        attention: None,
    });
    assert!(config.validate().unwrap_err().to_string().contains("steps"));
}
