//! DRAW, the Deep Recurrent Attentive Writer of Gregor, Danihelka, Graves, Rezende & Wierstra
//! 2015: a VAE whose encoder and decoder are LSTMs that build the image on a canvas over T steps,
//! with a latent z_t per step,
//!
//! ```text
//! p(x, z_1..T) = p(x | σ(c_T)) Π_t N(z_t; 0, I)        q(z_t | x, z_<t) = N(μ(h_enc_t), σ²(h_enc_t))
//! ```
//!
//! The encoder reads the image and the error image x − σ(c_{t−1}) (whole, or through the
//! selective attention of their Sec. 3.2); the decoder writes onto the canvas (a dense layer over
//! the whole canvas, or an N x N patch through a second grid). The loss is −log p(x | c_T) plus
//! Σ_t KL(q(z_t | ·) || N(0, I)) (their eqs. 9-12); log p(x) is importance-sampled over whole
//! sequences z_1..T.
//!
//! As a member of the family, its latent is the sequence: `encode`, `decode` and `sample` take
//! `[rows, T · latent]`, z_1 first. The passes over the steps are in `passes`.

mod passes;

pub use passes::DrawWorkspace;
pub(crate) use passes::Latents;

use super::parts::{check_images, check_samples, checked_samples};
use super::vae::{MAX_LOG_WEIGHTS, SCORE_ROWS};
use super::workspace::{importance_weighted_log_likelihood, score_terms};
use super::{Generative, ImageScore, Trainable, VaeWorkspace};
use crate::batch::Batch;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::kernels::attention::{Grid, WINDOW_PARAMS};
use crate::kernels::reduce::sum_f64;
use crate::kernels::rng::{fill_standard_normal, fill_standard_normal_rows, stream, Purpose, Rng};
use crate::kernels::rows::{repeat_batch, rows_to_steps, steps_to_rows};
use crate::likelihood::Likelihood;
use crate::loss_terms::LossTerms;
use crate::nn::{Linear, LstmCell, ParamBuilder, Parameters};
use crate::scalar::Scalar;
use passes::slot;

/// The state slot a pass without history leaves its last canvas in: each step reads slot 0 and
/// writes slot 1.
const LAST_STATE: usize = 1;

/// DRAW: `encoder.` and `decoder.` LSTM cells, the posterior's `mean.` and `log_var.` heads,
/// `write.`, with attention `read_window.` and `write_window.`, and a Gaussian likelihood's
/// `likelihood.log_var`.
#[derive(Clone, Debug)]
pub struct Draw<T> {
    pub(crate) config: ModelConfig,
    pub(crate) params: Parameters<T>,
    pub(crate) encoder: LstmCell,
    pub(crate) decoder: LstmCell,
    /// q(z_t | h_enc): `[mean | log_var]` from h_enc.
    pub(crate) posterior: Linear,
    /// From h_dec: the canvas's increment, or the patch the write grid places.
    pub(crate) write: Linear,
    /// From h_dec: the five numbers of each grid.
    pub(crate) read_window: Option<Linear>,
    pub(crate) write_window: Option<Linear>,
    pub(crate) likelihood: Likelihood,
    pub(crate) read_grid: Option<Grid>,
    pub(crate) write_grid: Option<Grid>,
}

/// Where a grid lies on the image at one step, in pixel coordinates (1 to width, 1 to height):
/// the centre of its first and last filters on each axis, as the paper's Fig. 4 draws it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowBox {
    /// Left and right filter centres on the x axis.
    pub x: (f64, f64),
    /// Top and bottom filter centres on the y axis.
    pub y: (f64, f64),
}

/// A grid's box at each step, `[steps]`, each `[rows]`.
pub type StepBoxes = Vec<Vec<WindowBox>>;

impl<T: Scalar> Draw<T> {
    /// A freshly initialised DRAW; weights drawn from the stream `(seed, Init)` in the order of
    /// the struct's documentation.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let draw = match (config.kind, &config.draw) {
            (ModelKind::Draw, Some(draw)) => draw.clone(),
            _ => {
                return Err(Error::Config(format!(
                    "a {} is not a DRAW",
                    config.kind_name()
                )))
            }
        };
        let image = config.image;
        let grid = |n| Grid {
            n,
            height: image.height,
            width: image.width,
            channels: image.channels,
        };
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let h = draw.lstm;
        let encoder = LstmCell::new(&mut b.pp("encoder"), draw.read_width(image) + h, h);
        let decoder = LstmCell::new(&mut b.pp("decoder"), config.latent, h);
        let posterior = Linear::heads(&mut b, &["mean", "log_var"], h, config.latent);
        let write = Linear::new(&mut b.pp("write"), h, draw.write_width(image));
        let (read_window, write_window) = match draw.attention {
            Some(_) => (
                Some(Linear::new(&mut b.pp("read_window"), h, WINDOW_PARAMS)),
                Some(Linear::new(&mut b.pp("write_window"), h, WINDOW_PARAMS)),
            ),
            None => (None, None),
        };
        // The read grid starts centred and spanning the image, its filters as wide as half their
        // spacing (log σ² is the third of its five numbers): one with σ = 1 would read only the
        // blank border of a digit, where no gradient moves it.
        if let (Some(window), Some(a)) = (&read_window, draw.attention) {
            b.set(
                window.bias_range().start + 2,
                grid(a.read).covering_log_var(),
            );
        }
        let likelihood = Likelihood::new(
            &mut b.pp("likelihood"),
            config.likelihood,
            config.gaussian_variance,
            image.len(),
            config.min_log_var,
        );
        Ok(Draw {
            config: config.clone(),
            params,
            encoder,
            decoder,
            posterior,
            write,
            read_window,
            write_window,
            likelihood,
            read_grid: draw.attention.map(|a| grid(a.read)),
            write_grid: draw.attention.map(|a| grid(a.write)),
        })
    }

    /// T, the painting steps.
    pub fn steps(&self) -> usize {
        self.config.draw.as_ref().map_or(1, |d| d.steps)
    }

    /// Hidden units of each LSTM.
    pub fn hidden(&self) -> usize {
        self.decoder.hidden
    }

    /// The size of each step's z_t.
    pub fn latent_per_step(&self) -> usize {
        self.config.latent
    }

    /// The size of the whole latent sequence z_1..T.
    pub fn latent(&self) -> usize {
        self.steps() * self.config.latent
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.config.image.len()
    }

    /// Values the write layer outputs per row: the whole canvas, or one patch.
    pub(crate) fn write_width(&self) -> usize {
        self.write.out_dim
    }

    /// Floating-point operations of one image's forward pass through the products, all steps.
    pub fn forward_flops_per_image(&self) -> f64 {
        let mut macs = self.encoder.macs_per_row()
            + self.decoder.macs_per_row()
            + self.posterior.in_dim * self.posterior.out_dim
            + self.write.in_dim * self.write.out_dim;
        if let Some(grid) = &self.write_grid {
            macs += 2 * WINDOW_PARAMS * self.hidden()
                + grid.n * grid.width * grid.n * grid.channels
                + grid.height * grid.width * grid.n * grid.channels;
        }
        if let Some(grid) = &self.read_grid {
            macs += 2
                * (grid.height * grid.width * grid.n + grid.n * grid.height * grid.n)
                * grid.channels;
        }
        2.0 * (self.steps() * macs) as f64
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Draw<U> {
        Draw {
            config: self.config.clone(),
            params: self.params.cast(),
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
            posterior: self.posterior.clone(),
            write: self.write.clone(),
            read_window: self.read_window.clone(),
            write_window: self.write_window.clone(),
            likelihood: self.likelihood.clone(),
            read_grid: self.read_grid,
            write_grid: self.write_grid,
        }
    }

    /// The negative ELBO of a batch with `samples` draws of z_1..T per image and its gradient,
    /// accumulated into the parameters' gradients: −log p(x | c_T) + `kl_weight` · Σ_t KL, each
    /// averaged over the draws. The terms report the unweighted KL.
    pub fn elbo_and_grad(
        &mut self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        kl_weight: f64,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let (rows, pixels) = (batch.rows, self.pixels());
        check_images(batch.x, rows, pixels)?;
        let samples = samples.max(1);
        let n = checked_samples(rows, samples, MAX_LOG_WEIGHTS)?;
        let ws = &mut ws.draw;
        self.draw_noise(ws, n, Some(batch), rng)?;
        let mut x = std::mem::take(&mut ws.x);
        repeat_batch(batch.x, samples, &mut x);
        let result = self.elbo_on(ws, &x, batch.x, n, samples, kl_weight);
        ws.x = x;
        result
    }

    fn elbo_on(
        &mut self,
        ws: &mut DrawWorkspace<T>,
        x: &[T],
        targets: &[T],
        n: usize,
        samples: usize,
        kl_weight: f64,
    ) -> Result<LossTerms> {
        let pixels = self.pixels();
        let steps = self.steps();
        self.forward(ws, x, n, Latents::Sampled, true, (true, false))?;
        let scale = T::one() / T::of(samples as f64);
        let values = self.params.values();
        let canvas = slot(&ws.canvas, steps, n * pixels);
        ws.nll.resize(n, T::zero());
        ws.d_logits.resize(n * pixels, T::zero());
        self.likelihood.nll(
            values,
            canvas,
            targets,
            pixels,
            &mut ws.nll,
            Some((&mut ws.d_logits, scale)),
        );
        let reconstruction = sum_f64(&ws.nll) / samples as f64;
        let kl = ws.kl_sum.iter().sum::<f64>() / samples as f64;
        let (values, grads) = self.params.split_mut();
        self.likelihood
            .backward_params(values, grads, canvas, targets, pixels, scale, None);
        self.backward(ws, x, n, T::of(kl_weight) * scale)?;
        Ok(LossTerms {
            images: n / samples,
            reconstruction,
            kl,
            objective: reconstruction + kl_weight * kl,
            ..LossTerms::default()
        })
    }

    /// ε for every step of `n` rows into `ws.eps` `[steps, n, latent]`: from a batch's noise rows
    /// (so processes sharing a minibatch draw their rows of one noise), or plain draws.
    fn draw_noise(
        &self,
        ws: &mut DrawWorkspace<T>,
        n: usize,
        batch: Option<&Batch<'_, T>>,
        rng: &mut Rng,
    ) -> Result<()> {
        let width = self.latent();
        ws.noise.resize(n * width, T::zero());
        let share = batch.and_then(|b| b.noise_rows(1));
        fill_standard_normal_rows(rng, share.as_ref(), width, &mut ws.noise)?;
        rows_to_steps(
            &ws.noise,
            n,
            self.steps(),
            self.latent_per_step(),
            &mut ws.eps,
        );
        Ok(())
    }

    /// The canvas σ(c_t) after each of `steps` (1-based, at most T) for the latent sequences `z
    /// [rows, T · latent]`: `[steps.len(), rows, pixels]` into `out`, the paper's Fig. 7.
    pub fn canvases(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        rows: usize,
        steps: &[usize],
        out: &mut Vec<T>,
    ) -> Result<()> {
        let total = self.steps();
        if let Some(&bad) = steps.iter().find(|&&s| s == 0 || s > total) {
            return Err(Error::InvalidArgument(format!(
                "step {bad} is not one of the model's steps 1 to {total}"
            )));
        }
        self.check_latents(z, rows)?;
        let mut given = Vec::new();
        rows_to_steps(z, rows, total, self.latent_per_step(), &mut given);
        let ws = &mut ws.draw;
        self.forward(ws, &[], rows, Latents::Given(&given), true, (false, false))?;
        let pixels = self.pixels();
        out.resize(steps.len() * rows * pixels, T::zero());
        for (o, &s) in out.chunks_exact_mut(rows * pixels).zip(steps) {
            self.likelihood.mean(slot(&ws.canvas, s, rows * pixels), o);
        }
        Ok(())
    }

    /// Where the read and write grids lay at each step (`[steps]`, each `[rows]`), for the
    /// latent sequences `z` (the write grid) and the images `x` encoded with posterior means (the
    /// read grid, `None` without images): the paper's Fig. 4. Empty without attention.
    pub fn windows(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: Option<&[T]>,
        z: &[T],
        rows: usize,
    ) -> Result<(StepBoxes, StepBoxes)> {
        let (Some(read_grid), Some(write_grid)) = (self.read_grid, self.write_grid) else {
            return Ok((Vec::new(), Vec::new()));
        };
        let steps = self.steps();
        let boxes = |grid: &Grid, params: &[T]| -> StepBoxes {
            params
                .chunks_exact(rows * WINDOW_PARAMS)
                .map(|step| {
                    step.chunks_exact(WINDOW_PARAMS)
                        .map(|p| window_box(grid, p))
                        .collect()
                })
                .collect()
        };
        let reads = match x {
            Some(x) => {
                check_images(x, rows, self.pixels())?;
                let ws = &mut ws.draw;
                self.forward(ws, x, rows, Latents::Means, true, (false, false))?;
                boxes(&read_grid, &ws.read.params[..steps * rows * WINDOW_PARAMS])
            }
            None => Vec::new(),
        };
        self.check_latents(z, rows)?;
        let mut given = Vec::new();
        rows_to_steps(z, rows, steps, self.latent_per_step(), &mut given);
        let ws = &mut ws.draw;
        self.forward(ws, &[], rows, Latents::Given(&given), true, (false, false))?;
        let writes = boxes(
            &write_grid,
            &ws.write.params[..steps * rows * WINDOW_PARAMS],
        );
        Ok((reads, writes))
    }

    fn check_latents(&self, z: &[T], rows: usize) -> Result<()> {
        if z.len() != rows * self.latent() {
            return Err(Error::shape("latent batch", rows * self.latent(), z.len()));
        }
        if let Some(bad) = z.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "latent value {bad:?} is not finite"
            )));
        }
        Ok(())
    }

    /// The posterior of each step with z_t at its mean: `[steps, rows, 2 latent]` in the
    /// workspace's `collected`, from a pass that keeps no other history.
    fn posterior_means(&self, ws: &mut DrawWorkspace<T>, x: &[T], rows: usize) -> Result<()> {
        check_images(x, rows, self.pixels())?;
        ws.collect = true;
        let result = self.forward(ws, x, rows, Latents::Means, false, (false, false));
        ws.collect = false;
        result
    }
}

/// The extent of the grid five numbers place, as `kernels::attention` places it.
pub fn window_box<T: Scalar>(grid: &Grid, p: &[T]) -> WindowBox {
    let (x, y) = grid.extent(p);
    WindowBox { x, y }
}

impl<T: Scalar> Trainable<T> for Draw<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let mut scores = Vec::with_capacity(batch.rows);
        self.score(ws, batch.x, &[], batch.rows, samples, rng, &mut scores)?;
        Ok(score_terms(&scores))
    }
}

impl<T: Scalar> Generative<T> for Draw<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn latent(&self) -> usize {
        Draw::latent(self)
    }

    /// q(z_t | x, z_<t) of every step along the path of posterior means: `[rows, 2 T latent]`,
    /// the means of z_1..T then their log-variances.
    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.posterior_means(&mut ws.draw, x, rows)?;
        let (steps, latent) = (self.steps(), self.latent_per_step());
        let mut per_row = Vec::new();
        steps_to_rows(&ws.draw.collected, rows, steps, 2 * latent, &mut per_row);
        // Each row now holds [μ_1 | log σ²_1 | μ_2 | ...]: split into the means, then the rest.
        out.clear();
        out.reserve(rows * 2 * steps * latent);
        for row in per_row.chunks_exact(2 * steps * latent) {
            for step in row.chunks_exact(2 * latent) {
                out.extend_from_slice(&step[..latent]);
            }
            for step in row.chunks_exact(2 * latent) {
                out.extend_from_slice(&step[latent..]);
            }
        }
        Ok(())
    }

    /// The means of z_1..T along the path of posterior means, `[rows, T latent]`.
    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.posterior_means(&mut ws.draw, x, rows)?;
        let latent = self.latent_per_step();
        let means: Vec<T> = ws
            .draw
            .collected
            .chunks_exact(2 * latent)
            .flat_map(|q| q[..latent].iter().copied())
            .collect();
        steps_to_rows(&means, rows, self.steps(), latent, out);
        Ok(())
    }

    /// The canvas after the last step, σ(c_T), for `z [rows, T latent]`.
    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.check_latents(z, rows)?;
        let mut given = std::mem::take(&mut ws.decoder_input);
        rows_to_steps(z, rows, self.steps(), self.latent_per_step(), &mut given);
        let result = self.forward(
            &mut ws.draw,
            &[],
            rows,
            Latents::Given(&given),
            false,
            (false, false),
        );
        ws.decoder_input = given;
        result?;
        let pixels = self.pixels();
        out.resize(rows * pixels, T::zero());
        self.likelihood
            .mean(slot(&ws.draw.canvas, LAST_STATE, rows * pixels), out);
        Ok(())
    }

    /// Per image: −E_q[log p(x | c_T)] and E_q[Σ_t KL(q(z_t | ·) || N(0, I))] over `k` sampled
    /// sequences, and log p(x) importance-sampled with them.
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        check_samples(k)?;
        check_images(x, rows, self.pixels())?;
        let pixels = self.pixels();
        let ws = &mut ws.draw;
        let block = (SCORE_ROWS / rows.max(1)).clamp(1, k);
        ws.log_weights
            .resize(checked_samples(rows, k, MAX_LOG_WEIGHTS)?, T::zero());
        let (mut reconstruction, mut kl) = (vec![0f64; rows], vec![0f64; rows]);
        for first in (0..k).step_by(block) {
            let samples = block.min(k - first);
            let n = samples * rows;
            ws.noise.resize(n * self.latent(), T::zero());
            fill_standard_normal(rng, &mut ws.noise);
            rows_to_steps(
                &ws.noise,
                n,
                self.steps(),
                self.latent_per_step(),
                &mut ws.eps,
            );
            let mut repeated = std::mem::take(&mut ws.x);
            repeat_batch(x, samples, &mut repeated);
            let result = self.forward(ws, &repeated, n, Latents::Sampled, false, (true, true));
            ws.x = repeated;
            result?;
            ws.nll.resize(n, T::zero());
            let canvas = slot(&ws.canvas, LAST_STATE, n * pixels);
            self.likelihood
                .nll(self.params.values(), canvas, x, pixels, &mut ws.nll, None);
            for i in 0..n {
                let (s, r) = (i / rows, i % rows);
                let nll = ws.nll[i].as_f64();
                reconstruction[r] += nll;
                kl[r] += ws.kl_sum[i];
                ws.log_weights[r * k + first + s] = T::of(ws.log_ratio[i] - nll);
            }
        }
        for r in 0..rows {
            out.push(ImageScore {
                reconstruction: reconstruction[r] / k as f64,
                kl: kl[r] / k as f64,
                log_likelihood: importance_weighted_log_likelihood(
                    &ws.log_weights[r * k..(r + 1) * k],
                )
                .as_f64(),
            });
        }
        Ok(())
    }
}
