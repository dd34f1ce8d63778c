//! DRAW's passes over the steps: the forward recurrence (Gregor et al. 2015, eqs. 3-8) keeping what
//! backpropagation through time needs, and its analytic backward pass.
//!
//! Step t (0-based) reads slot t of every per-step buffer and writes slot t + 1 of the states:
//!
//! ```text
//! x̂ = x − σ(c_t)                      r = read(x, x̂, h_dec_t)
//! h_enc_{t+1} = LSTM_enc(h_enc_t, [r, h_dec_t])
//! z_t ~ q(z_t | h_enc_{t+1})          h_dec_{t+1} = LSTM_dec(h_dec_t, z_t)
//! c_{t+1} = c_t + write(h_dec_{t+1})
//! ```
//!
//! with zero states and canvas at t = 0. A pass that keeps no history (scoring) runs in two slots,
//! t mod 2.

use super::Draw;
use crate::error::Result;
use crate::gaussian::DiagonalGaussian;
use crate::kernels::attention::{self, Grid, WINDOW_PARAMS};
use crate::kernels::elementwise::sigmoid_vectorisable as sigmoid;
use crate::kernels::elementwise::{add_assign, Activation};
use crate::kernels::vectorized;
use crate::nn::{Linear, LstmWeights};
use crate::scalar::Scalar;

/// Where each step's z_t comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Latents<'a, T> {
    /// z_t = μ_t + σ_t ε_t with the noise already in the workspace's `eps` `[steps, rows, latent]`.
    Sampled,
    /// z_t = μ_t, the posterior's mean.
    Means,
    /// Given, `[steps, rows, latent]`: the decoder alone paints them.
    Given(&'a [T]),
}

/// An attention grid's buffers per slot: its five numbers, filterbanks and γ.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window<T> {
    pub(crate) params: Vec<T>,
    pub(crate) fx: Vec<T>,
    pub(crate) fy: Vec<T>,
    pub(crate) gamma: Vec<T>,
}

/// The gradients of a grid: on its five numbers per slot, and on the filterbanks and γ of the
/// step being back-propagated.
#[derive(Clone, Debug, Default)]
pub(crate) struct WindowGrads<T> {
    pub(crate) params: Vec<T>,
    pub(crate) fx: Vec<T>,
    pub(crate) fy: Vec<T>,
    pub(crate) gamma: Vec<T>,
}

impl<T: Scalar> Window<T> {
    fn resize(&mut self, grid: &Grid, slots: usize, rows: usize) {
        let n = slots * rows;
        self.params.resize(n * WINDOW_PARAMS, T::zero());
        self.fx.resize(n * grid.n * grid.width, T::zero());
        self.fy.resize(n * grid.n * grid.height, T::zero());
        self.gamma.resize(n, T::zero());
    }

    /// Slot `s`'s filterbanks and γ.
    fn bank(&self, grid: &Grid, s: usize, rows: usize) -> (&[T], &[T], &[T]) {
        (
            slot(&self.fx, s, rows * grid.n * grid.width),
            slot(&self.fy, s, rows * grid.n * grid.height),
            slot(&self.gamma, s, rows),
        )
    }

    /// Computes slot `s`'s five numbers from `h [rows, hidden]` and its filterbanks from them.
    fn place(
        &mut self,
        grid: &Grid,
        layer: &Linear,
        values: &[T],
        h: &[T],
        (s, rows): (usize, usize),
        weight_t: &mut Vec<T>,
    ) -> Result<()> {
        let params = slot_mut(&mut self.params, s, rows * WINDOW_PARAMS);
        layer.forward(values, h, rows, Activation::Identity, weight_t, params)?;
        attention::filterbanks(
            grid,
            slot(&self.params, s, rows * WINDOW_PARAMS),
            slot_mut(&mut self.fx, s, rows * grid.n * grid.width),
            slot_mut(&mut self.fy, s, rows * grid.n * grid.height),
            slot_mut(&mut self.gamma, s, rows),
        );
        Ok(())
    }
}

impl<T: Scalar> WindowGrads<T> {
    fn resize(&mut self, grid: &Grid, steps: usize, rows: usize) {
        self.params.clear();
        self.params.resize(steps * rows * WINDOW_PARAMS, T::zero());
        self.fx.resize(rows * grid.n * grid.width, T::zero());
        self.fy.resize(rows * grid.n * grid.height, T::zero());
        self.gamma.resize(rows, T::zero());
    }

    /// Clears the gradients of the filterbanks and γ before a step's backward pass.
    fn clear_bank(&mut self) {
        self.fx.fill(T::zero());
        self.fy.fill(T::zero());
        self.gamma.fill(T::zero());
    }
}

/// Buffers of a DRAW pass, reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct DrawWorkspace<T> {
    pub(crate) encoder_weights: LstmWeights<T>,
    pub(crate) decoder_weights: LstmWeights<T>,
    /// The images the pass reads, repeated per sample when several samples are drawn.
    pub(crate) x: Vec<T>,
    /// c_t, `[slots + 1, rows, pixels]`.
    pub(crate) canvas: Vec<T>,
    /// With attention, the error image x̂ per slot (without it, x̂ lies in `encoder_input`).
    pub(crate) error: Vec<T>,
    /// `[slots, rows, read + hidden]`: the read, then h_dec_t.
    pub(crate) encoder_input: Vec<T>,
    pub(crate) encoder_gates: Vec<T>,
    pub(crate) encoder_c: Vec<T>,
    pub(crate) encoder_h: Vec<T>,
    /// q(z_t | h_enc) `[slots, rows, 2 latent]`, the noise and z_t `[slots, rows, latent]`.
    pub(crate) posterior: Vec<T>,
    pub(crate) eps: Vec<T>,
    pub(crate) z: Vec<T>,
    pub(crate) decoder_gates: Vec<T>,
    pub(crate) decoder_c: Vec<T>,
    pub(crate) decoder_h: Vec<T>,
    /// What the write layer outputs per slot: a patch, or the whole canvas's increment.
    pub(crate) written: Vec<T>,
    pub(crate) read: Window<T>,
    pub(crate) write: Window<T>,
    pub(crate) d_read: WindowGrads<T>,
    pub(crate) d_write: WindowGrads<T>,
    /// The dense layers' transposed weight copy (see `nn::linear`).
    pub(crate) weight_t: Vec<T>,
    /// `img F_Xᵀ` of the read (image, then error image) and `patch F_X` of the write, per slot.
    pub(crate) read_tmp: Vec<T>,
    pub(crate) write_tmp: Vec<T>,
    /// Backward: the gradients on each step's gates, posterior and written values, kept for the
    /// weights' products over all steps; the rest for the step being back-propagated.
    pub(crate) d_encoder_gates: Vec<T>,
    pub(crate) d_decoder_gates: Vec<T>,
    pub(crate) d_posterior: Vec<T>,
    pub(crate) d_written: Vec<T>,
    pub(crate) d_canvas: Vec<T>,
    pub(crate) d_error: Vec<T>,
    pub(crate) d_encoder_input: Vec<T>,
    pub(crate) d_z: Vec<T>,
    pub(crate) dh_encoder: Vec<T>,
    pub(crate) dc_encoder: Vec<T>,
    pub(crate) dh_decoder: Vec<T>,
    pub(crate) dc_decoder: Vec<T>,
    pub(crate) dh_encoder_prev: Vec<T>,
    pub(crate) dh_decoder_prev: Vec<T>,
    pub(crate) d_tmp: Vec<T>,
    /// Per row: KL(q(z_t) || N(0, I)) of one step, and sums over the steps.
    pub(crate) kl: Vec<T>,
    pub(crate) nll: Vec<T>,
    pub(crate) d_logits: Vec<T>,
    pub(crate) log_q: Vec<T>,
    pub(crate) log_p: Vec<T>,
    pub(crate) kl_sum: Vec<f64>,
    pub(crate) log_ratio: Vec<f64>,
    pub(crate) noise: Vec<T>,
    pub(crate) log_weights: Vec<T>,
    /// When set, each step's posterior `[steps, rows, 2 latent]` is kept here by a pass that
    /// keeps no history.
    pub(crate) collect: bool,
    pub(crate) collected: Vec<T>,
}

/// Slot `s` of a buffer of slots of `len` values.
pub(crate) fn slot<T>(buffer: &[T], s: usize, len: usize) -> &[T] {
    &buffer[s * len..(s + 1) * len]
}

fn slot_mut<T>(buffer: &mut [T], s: usize, len: usize) -> &mut [T] {
    &mut buffer[s * len..(s + 1) * len]
}

/// Slots `s` and `s + 1` of a buffer of state slots: the state read and the state written.
fn states<T>(buffer: &mut [T], s: usize, len: usize) -> (&[T], &mut [T]) {
    let (before, after) = buffer.split_at_mut((s + 1) * len);
    (&before[s * len..], &mut after[..len])
}

impl<T: Scalar> Draw<T> {
    /// Sizes every buffer of a pass over `rows` rows with `slots` per-step slots, and zeroes the
    /// states and canvas the first step reads.
    fn resize(&self, ws: &mut DrawWorkspace<T>, rows: usize, slots: usize, encode: bool) {
        let (pixels, hidden, latent) = (self.pixels(), self.hidden(), self.latent_per_step());
        let zero = T::zero();
        ws.canvas.resize((slots + 1) * rows * pixels, zero);
        ws.canvas[..rows * pixels].fill(zero);
        for buffer in [&mut ws.decoder_c, &mut ws.decoder_h] {
            buffer.resize((slots + 1) * rows * hidden, zero);
            buffer[..rows * hidden].fill(zero);
        }
        ws.decoder_gates.resize(slots * rows * 4 * hidden, zero);
        ws.z.resize(slots * rows * latent, zero);
        ws.written.resize(slots * rows * self.write_width(), zero);
        if let Some(grid) = &self.write_grid {
            ws.write.resize(grid, slots, rows);
            ws.write_tmp.resize(slots * rows * grid.tmp_len(), zero);
        }
        if !encode {
            return;
        }
        for buffer in [&mut ws.encoder_c, &mut ws.encoder_h] {
            buffer.resize((slots + 1) * rows * hidden, zero);
            buffer[..rows * hidden].fill(zero);
        }
        ws.encoder_gates.resize(slots * rows * 4 * hidden, zero);
        ws.encoder_input
            .resize(slots * rows * self.encoder.input, zero);
        ws.posterior.resize(slots * rows * 2 * latent, zero);
        if let Some(grid) = &self.read_grid {
            ws.read.resize(grid, slots, rows);
            ws.error.resize(slots * rows * pixels, zero);
            ws.read_tmp.resize(2 * slots * rows * grid.tmp_len(), zero);
        }
    }

    /// The forward pass over every step for `x [rows, pixels]` (not read with given latents),
    /// keeping every step's buffers when `keep` (for the backward pass, or the canvas at each
    /// step), else running in two slots. With `kl`, each row's Σ_t KL(q(z_t | ·) || N(0, I)) goes
    /// to `ws.kl_sum`; with `log_ratio`, Σ_t log p(z_t) − log q(z_t | ·) to `ws.log_ratio`
    /// (sampled latents only).
    pub(crate) fn forward(
        &self,
        ws: &mut DrawWorkspace<T>,
        x: &[T],
        rows: usize,
        latents: Latents<'_, T>,
        keep: bool,
        (kl, log_ratio): (bool, bool),
    ) -> Result<()> {
        let steps = self.steps();
        let slots = if keep { steps } else { steps.min(2) };
        let encode = !matches!(latents, Latents::Given(_));
        let values = self.params.values();
        self.resize(ws, rows, slots, encode);
        self.decoder
            .prepare(values, rows, &mut ws.decoder_weights)?;
        if encode {
            self.encoder
                .prepare(values, rows, &mut ws.encoder_weights)?;
        }
        ws.kl_sum.clear();
        ws.kl_sum.resize(if kl { rows } else { 0 }, 0.0);
        ws.log_ratio.clear();
        ws.log_ratio.resize(if log_ratio { rows } else { 0 }, 0.0);
        for t in 0..steps {
            // Without history the states alternate: each step reads slot 0 and writes slot 1,
            // which the next step finds moved to slot 0.
            let (s, s_state) = if keep { (t, t) } else { (t % 2, 0) };
            if !keep && t > 0 {
                self.carry_states(ws, rows, encode);
            }
            if encode {
                self.encode_step(ws, x, rows, (t, s, s_state), latents)?;
            }
            let given = match latents {
                Latents::Given(z) => {
                    let len = rows * self.latent_per_step();
                    Some(&z[t * len..(t + 1) * len])
                }
                _ => None,
            };
            self.decode_step(ws, given, rows, (t, s, s_state))?;
        }
        Ok(())
    }

    /// Without history, moves the states the last step wrote (slot 1) to slot 0.
    fn carry_states(&self, ws: &mut DrawWorkspace<T>, rows: usize, encode: bool) {
        let (hidden, pixels) = (rows * self.hidden(), rows * self.pixels());
        ws.canvas.copy_within(pixels..2 * pixels, 0);
        ws.decoder_c.copy_within(hidden..2 * hidden, 0);
        ws.decoder_h.copy_within(hidden..2 * hidden, 0);
        if encode {
            ws.encoder_c.copy_within(hidden..2 * hidden, 0);
            ws.encoder_h.copy_within(hidden..2 * hidden, 0);
        }
    }

    /// The encoder's half of step `t`: the error image, the read, the encoder LSTM, q(z_t) and
    /// z_t, into slot `s`; the states are read from slot `s_state` and written to `s_state + 1`.
    fn encode_step(
        &self,
        ws: &mut DrawWorkspace<T>,
        x: &[T],
        rows: usize,
        (t, s, s_state): (usize, usize, usize),
        latents: Latents<'_, T>,
    ) -> Result<()> {
        let values = self.params.values();
        let (pixels, hidden, latent) = (self.pixels(), self.hidden(), self.latent_per_step());
        let width = self.encoder.input;
        let read = width - hidden;
        let canvas = slot(&ws.canvas, s_state, rows * pixels);
        let h_dec = slot(&ws.decoder_h, s_state, rows * hidden);
        let input = slot_mut(&mut ws.encoder_input, s, rows * width);
        match (&self.read_grid, &self.read_window) {
            (Some(grid), Some(window)) => {
                // r = γ [F_Y x F_Xᵀ, F_Y x̂ F_Xᵀ] through the grid h_dec_t places.
                let error = slot_mut(&mut ws.error, s, rows * pixels);
                error_image(x, canvas, error);
                ws.read
                    .place(grid, window, values, h_dec, (s, rows), &mut ws.weight_t)?;
                let bank = ws.read.bank(grid, s, rows);
                let tmp_len = rows * grid.tmp_len();
                let tmp = slot_mut(&mut ws.read_tmp, s, 2 * tmp_len);
                let (tmp_x, tmp_error) = tmp.split_at_mut(tmp_len);
                attention::read(grid, x, bank, tmp_x, input, width, 0);
                let error = slot(&ws.error, s, rows * pixels);
                attention::read(grid, error, bank, tmp_error, input, width, grid.patch());
            }
            _ => {
                // r = [x, x̂]: the whole image and the error image.
                for r in 0..rows {
                    let row = &mut input[r * width..(r + 1) * width];
                    let x = &x[r * pixels..(r + 1) * pixels];
                    row[..pixels].copy_from_slice(x);
                    let c = &canvas[r * pixels..(r + 1) * pixels];
                    error_image(x, c, &mut row[pixels..2 * pixels]);
                }
            }
        }
        for r in 0..rows {
            input[r * width + read..(r + 1) * width]
                .copy_from_slice(&h_dec[r * hidden..(r + 1) * hidden]);
        }
        // h_enc_{t+1} = LSTM_enc(h_enc_t, [r, h_dec_t]).
        let input = slot(&ws.encoder_input, s, rows * width);
        let (c_prev, c) = states(&mut ws.encoder_c, s_state, rows * hidden);
        let (h_prev, h) = states(&mut ws.encoder_h, s_state, rows * hidden);
        let gates = slot_mut(&mut ws.encoder_gates, s, rows * 4 * hidden);
        let h_prev = (t > 0).then_some(h_prev);
        let weights = &ws.encoder_weights;
        self.encoder
            .step(values, weights, input, (h_prev, c_prev), rows, gates, c, h)?;
        // q(z_t | h_enc_{t+1}) and z_t.
        let h = slot(&ws.encoder_h, s_state + 1, rows * hidden);
        let q = slot_mut(&mut ws.posterior, s, rows * 2 * latent);
        self.posterior
            .forward(values, h, rows, Activation::Identity, &mut ws.weight_t, q)?;
        if ws.collect {
            let len = rows * 2 * latent;
            ws.collected.resize(self.steps() * len, T::zero());
            ws.collected[t * len..(t + 1) * len].copy_from_slice(slot(&ws.posterior, s, len));
        }
        let q = DiagonalGaussian::new(slot(&ws.posterior, s, rows * 2 * latent), latent);
        let z = slot_mut(&mut ws.z, s, rows * latent);
        match latents {
            Latents::Sampled => {
                let eps = slot(&ws.eps, t, rows * latent);
                q.rsample(eps, z);
                if !ws.log_ratio.is_empty() {
                    ws.log_q.resize(rows, T::zero());
                    ws.log_p.resize(rows, T::zero());
                    q.log_prob_of_noise(eps, &mut ws.log_q);
                    crate::gaussian::standard_normal_log_prob(z, latent, &mut ws.log_p);
                    for ((acc, &p), &lq) in ws.log_ratio.iter_mut().zip(&ws.log_p).zip(&ws.log_q) {
                        *acc += p.as_f64() - lq.as_f64();
                    }
                }
            }
            Latents::Means | Latents::Given(_) => q.means_into(z),
        }
        if !ws.kl_sum.is_empty() {
            ws.kl.resize(rows, T::zero());
            q.kl_to_standard_normal(&mut ws.kl);
            for (acc, &k) in ws.kl_sum.iter_mut().zip(&ws.kl) {
                *acc += k.as_f64();
            }
        }
        Ok(())
    }

    /// The decoder's half of step `t`: the decoder LSTM on z_t (`given`, or slot `s` of the
    /// workspace's) and the write onto the canvas.
    fn decode_step(
        &self,
        ws: &mut DrawWorkspace<T>,
        given: Option<&[T]>,
        rows: usize,
        (t, s, s_state): (usize, usize, usize),
    ) -> Result<()> {
        let values = self.params.values();
        let (pixels, hidden, latent) = (self.pixels(), self.hidden(), self.latent_per_step());
        let z = given.unwrap_or(slot(&ws.z, s, rows * latent));
        let (c_prev, c) = states(&mut ws.decoder_c, s_state, rows * hidden);
        let (h_prev, h) = states(&mut ws.decoder_h, s_state, rows * hidden);
        let gates = slot_mut(&mut ws.decoder_gates, s, rows * 4 * hidden);
        let h_prev = (t > 0).then_some(h_prev);
        let weights = &ws.decoder_weights;
        self.decoder
            .step(values, weights, z, (h_prev, c_prev), rows, gates, c, h)?;
        // c_{t+1} = c_t + write(h_dec_{t+1}).
        let h = slot(&ws.decoder_h, s_state + 1, rows * hidden);
        let width = self.write_width();
        let written = slot_mut(&mut ws.written, s, rows * width);
        self.write.forward(
            values,
            h,
            rows,
            Activation::Identity,
            &mut ws.weight_t,
            written,
        )?;
        let (before, after) = states(&mut ws.canvas, s_state, rows * pixels);
        after.copy_from_slice(before);
        let written = slot(&ws.written, s, rows * width);
        match (&self.write_grid, &self.write_window) {
            (Some(grid), Some(window)) => {
                ws.write
                    .place(grid, window, values, h, (s, rows), &mut ws.weight_t)?;
                let bank = ws.write.bank(grid, s, rows);
                let tmp_len = rows * grid.tmp_len();
                let tmp = slot_mut(&mut ws.write_tmp, s, tmp_len);
                attention::write(grid, written, bank, tmp, after);
            }
            _ => add_assign(after, written),
        }
        Ok(())
    }

    /// The backward pass of a forward pass over `x` that kept its history and sampled its
    /// latents, given the gradient on the final canvas in `ws.d_logits` and the weight of the KL
    /// terms: accumulates every weight's gradient.
    pub(crate) fn backward(
        &mut self,
        ws: &mut DrawWorkspace<T>,
        x: &[T],
        rows: usize,
        kl_weight: T,
    ) -> Result<()> {
        let steps = self.steps();
        let (pixels, hidden, latent) = (self.pixels(), self.hidden(), self.latent_per_step());
        let width = self.encoder.input;
        let read = width - hidden;
        let write_width = self.write_width();
        let zero = T::zero();
        let n = steps * rows;
        ws.d_encoder_gates.resize(n * 4 * hidden, zero);
        ws.d_decoder_gates.resize(n * 4 * hidden, zero);
        ws.d_posterior.clear();
        ws.d_posterior.resize(n * 2 * latent, zero);
        ws.d_written.resize(n * write_width, zero);
        ws.d_canvas.clear();
        ws.d_canvas.extend_from_slice(&ws.d_logits[..rows * pixels]);
        ws.d_error.resize(rows * pixels, zero);
        ws.d_encoder_input.resize(rows * width, zero);
        ws.d_z.resize(rows * latent, zero);
        for buffer in [
            &mut ws.dh_encoder,
            &mut ws.dc_encoder,
            &mut ws.dh_decoder,
            &mut ws.dc_decoder,
            &mut ws.dh_encoder_prev,
            &mut ws.dh_decoder_prev,
        ] {
            buffer.clear();
            buffer.resize(rows * hidden, zero);
        }
        if let Some(grid) = &self.read_grid {
            ws.d_read.resize(grid, steps, rows);
        }
        if let Some(grid) = &self.write_grid {
            ws.d_write.resize(grid, steps, rows);
        }
        let (values, grads) = self.params.split_mut();
        for t in (0..steps).rev() {
            // c_{t+1} = c_t + write(h_dec_{t+1}): the write's gradient reaches h_dec_{t+1}.
            let d_written = slot_mut(&mut ws.d_written, t, rows * write_width);
            match (&self.write_grid, &self.write_window) {
                (Some(grid), Some(window)) => {
                    d_written.fill(zero);
                    ws.d_write.clear_bank();
                    let bank = ws.write.bank(grid, t, rows);
                    let tmp_len = rows * grid.tmp_len();
                    attention::write_backward(
                        grid,
                        slot(&ws.written, t, rows * write_width),
                        bank,
                        slot(&ws.write_tmp, t, tmp_len),
                        &ws.d_canvas,
                        d_written,
                        (
                            &mut ws.d_write.fx,
                            &mut ws.d_write.fy,
                            &mut ws.d_write.gamma,
                        ),
                    );
                    let d_params = slot_mut(&mut ws.d_write.params, t, rows * WINDOW_PARAMS);
                    attention::filterbanks_backward(
                        grid,
                        slot(&ws.write.params, t, rows * WINDOW_PARAMS),
                        bank,
                        (&ws.d_write.fx, &ws.d_write.fy, &ws.d_write.gamma),
                        d_params,
                    );
                    window.input_grad(values, d_params, rows, &mut ws.dh_decoder)?;
                }
                _ => d_written.copy_from_slice(&ws.d_canvas),
            }
            let d_written = slot(&ws.d_written, t, rows * write_width);
            self.write
                .input_grad(values, d_written, rows, &mut ws.dh_decoder)?;
            // h_dec_{t+1} = LSTM_dec(h_dec_t, z_t).
            ws.d_z.fill(zero);
            ws.dh_decoder_prev.fill(zero);
            self.decoder.step_backward(
                values,
                (
                    slot(&ws.decoder_gates, t, rows * 4 * hidden),
                    slot(&ws.decoder_c, t, rows * hidden),
                    slot(&ws.decoder_c, t + 1, rows * hidden),
                ),
                &ws.dh_decoder,
                &mut ws.dc_decoder,
                rows,
                slot_mut(&mut ws.d_decoder_gates, t, rows * 4 * hidden),
                Some(&mut ws.d_z),
                (t > 0).then_some(&mut ws.dh_decoder_prev[..]),
            )?;
            // z_t = μ_t + σ_t ε_t, and the step's weighted KL.
            let q = DiagonalGaussian::new(slot(&ws.posterior, t, rows * 2 * latent), latent);
            let d_q = slot_mut(&mut ws.d_posterior, t, rows * 2 * latent);
            q.backward_rsample(slot(&ws.eps, t, rows * latent), &ws.d_z, d_q);
            q.backward_kl(None, kl_weight, d_q);
            let d_q = slot(&ws.d_posterior, t, rows * 2 * latent);
            self.posterior
                .input_grad(values, d_q, rows, &mut ws.dh_encoder)?;
            // h_enc_{t+1} = LSTM_enc(h_enc_t, [r, h_dec_t]).
            ws.d_encoder_input.fill(zero);
            ws.dh_encoder_prev.fill(zero);
            self.encoder.step_backward(
                values,
                (
                    slot(&ws.encoder_gates, t, rows * 4 * hidden),
                    slot(&ws.encoder_c, t, rows * hidden),
                    slot(&ws.encoder_c, t + 1, rows * hidden),
                ),
                &ws.dh_encoder,
                &mut ws.dc_encoder,
                rows,
                slot_mut(&mut ws.d_encoder_gates, t, rows * 4 * hidden),
                Some(&mut ws.d_encoder_input),
                (t > 0).then_some(&mut ws.dh_encoder_prev[..]),
            )?;
            // The encoder read [r, h_dec_t]: h_dec_t's part goes back a step.
            for r in 0..rows {
                let d = &ws.d_encoder_input[r * width + read..(r + 1) * width];
                add_assign(&mut ws.dh_decoder_prev[r * hidden..(r + 1) * hidden], d);
            }
            match (&self.read_grid, &self.read_window) {
                (Some(grid), Some(window)) => {
                    ws.d_read.clear_bank();
                    ws.d_error.fill(zero);
                    let bank = ws.read.bank(grid, t, rows);
                    let tmp_len = rows * grid.tmp_len();
                    let (tmp_x, tmp_error) = slot(&ws.read_tmp, t, 2 * tmp_len).split_at(tmp_len);
                    let d_read = &mut ws.d_read;
                    attention::read_backward(
                        grid,
                        x,
                        bank,
                        tmp_x,
                        (&ws.d_encoder_input, width, 0),
                        (&mut d_read.fx, &mut d_read.fy, &mut d_read.gamma),
                        None,
                        &mut ws.d_tmp,
                    );
                    attention::read_backward(
                        grid,
                        slot(&ws.error, t, rows * pixels),
                        bank,
                        tmp_error,
                        (&ws.d_encoder_input, width, grid.patch()),
                        (&mut d_read.fx, &mut d_read.fy, &mut d_read.gamma),
                        Some(&mut ws.d_error),
                        &mut ws.d_tmp,
                    );
                    let d_params = slot_mut(&mut d_read.params, t, rows * WINDOW_PARAMS);
                    attention::filterbanks_backward(
                        grid,
                        slot(&ws.read.params, t, rows * WINDOW_PARAMS),
                        bank,
                        (&d_read.fx, &d_read.fy, &d_read.gamma),
                        d_params,
                    );
                    if t > 0 {
                        window.input_grad(values, d_params, rows, &mut ws.dh_decoder_prev)?;
                    }
                }
                _ => {
                    for r in 0..rows {
                        let d = &ws.d_encoder_input[r * width + pixels..r * width + 2 * pixels];
                        ws.d_error[r * pixels..(r + 1) * pixels].copy_from_slice(d);
                    }
                }
            }
            // x̂ = x − σ(c_t), c_t the canvas before this step (a constant at t = 0).
            if t > 0 {
                let canvas = slot(&ws.canvas, t, rows * pixels);
                error_image_backward(canvas, &ws.d_error, &mut ws.d_canvas);
            }
            std::mem::swap(&mut ws.dh_decoder, &mut ws.dh_decoder_prev);
            std::mem::swap(&mut ws.dh_encoder, &mut ws.dh_encoder_prev);
        }
        // The weights' gradients over every step at once; states slot 0 is the zero state.
        let all = |from: usize| from * rows * hidden..(from + steps) * rows * hidden;
        let (h_enc, h_dec) = (&ws.encoder_h, &ws.decoder_h);
        self.encoder.accumulate_grads(
            grads,
            &ws.encoder_input[..n * width],
            &h_enc[all(0)],
            &ws.d_encoder_gates,
            n,
        )?;
        self.decoder.accumulate_grads(
            grads,
            &ws.z[..n * latent],
            &h_dec[all(0)],
            &ws.d_decoder_gates,
            n,
        )?;
        let (h_enc_out, h_dec_in, h_dec_out) = (&h_enc[all(1)], &h_dec[all(0)], &h_dec[all(1)]);
        self.posterior
            .backward(values, grads, h_enc_out, &ws.d_posterior, n, None)?;
        self.write
            .backward(values, grads, h_dec_out, &ws.d_written, n, None)?;
        if let Some(window) = &self.read_window {
            window.backward(values, grads, h_dec_in, &ws.d_read.params, n, None)?;
        }
        if let Some(window) = &self.write_window {
            window.backward(values, grads, h_dec_out, &ws.d_write.params, n, None)?;
        }
        Ok(())
    }
}

/// x̂ = x − σ(c), row by row of equal length.
fn error_image<T: Scalar>(x: &[T], canvas: &[T], out: &mut [T]) {
    vectorized(
        #[inline(always)]
        || {
            for ((o, &x), &c) in out.iter_mut().zip(x).zip(canvas) {
                *o = x - sigmoid(c);
            }
        },
    )
}

/// d_canvas −= d_x̂ · σ'(c).
fn error_image_backward<T: Scalar>(canvas: &[T], d_error: &[T], d_canvas: &mut [T]) {
    vectorized(
        #[inline(always)]
        || {
            for ((d, &e), &c) in d_canvas.iter_mut().zip(d_error).zip(canvas) {
                let s = sigmoid(c);
                *d -= e * s * (T::one() - s);
            }
        },
    )
}
