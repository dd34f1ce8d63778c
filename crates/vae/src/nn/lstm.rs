//! The LSTM cell, `torch.nn.LSTMCell`: `weight_ih [4 hidden, in]`, `weight_hh [4 hidden,
//! hidden]`, `bias_ih` and `bias_hh [4 hidden]`, gates in the order i, f, g, o (their math is in
//! `kernels::recurrent`).
//!
//! A recurrent model runs the cell step by step, keeping each step's input, gates and cell for
//! backpropagation through time; the backward pass goes step by step too, but the weights'
//! gradients over all steps are one product each ([`LstmCell::accumulate_grads`]), taken once the
//! gradients on every step's gates are known. (One product of `[x | h_prev]` with both weights
//! side by side, tried instead of the two per step, was 5-10% slower on DRAW's shapes.)

use super::linear::forward_transposes_weight;
use super::params::{Init, ParamBuilder};
use super::scratch::grown;
use crate::error::{Error, Result};
use crate::kernels::matmul::{matmul, products_in_bf16, MatRef};
use crate::kernels::recurrent::{lstm_backward, lstm_forward};
use crate::kernels::reduce::add_column_sums;
use crate::kernels::transpose::transpose;
use crate::scalar::Scalar;
use std::ops::Range;

/// An LSTM cell's weights in the model's parameters.
#[derive(Clone, Debug)]
pub struct LstmCell {
    /// Input values per row.
    pub input: usize,
    /// Hidden units, the size of h and c.
    pub hidden: usize,
    weight_ih: Range<usize>,
    weight_hh: Range<usize>,
    bias_ih: Range<usize>,
    bias_hh: Range<usize>,
}

/// The weights as one pass over the steps reads them: transposed copies (made once, not per
/// step) and the two biases summed.
#[derive(Clone, Debug, Default)]
pub struct LstmWeights<T> {
    weight_ih_t: Vec<T>,
    weight_hh_t: Vec<T>,
    bias: Vec<T>,
    transposed: bool,
}

impl LstmCell {
    /// `prefix.weight_ih`, `prefix.weight_hh`, `prefix.bias_ih`, `prefix.bias_hh`, initialised as
    /// PyTorch does: uniform on ±1/√hidden.
    pub fn new<T: Scalar>(b: &mut ParamBuilder<'_, T>, input: usize, hidden: usize) -> Self {
        let init = Init::Uniform(1.0 / (hidden as f64).sqrt());
        let weight_ih = b.add("weight_ih", &[4 * hidden, input], init);
        let weight_hh = b.add("weight_hh", &[4 * hidden, hidden], init);
        let bias_ih = b.add("bias_ih", &[4 * hidden], init);
        let bias_hh = b.add("bias_hh", &[4 * hidden], init);
        LstmCell {
            input,
            hidden,
            weight_ih,
            weight_hh,
            bias_ih,
            bias_hh,
        }
    }

    /// Multiply-adds of one step for one row.
    pub fn macs_per_row(&self) -> usize {
        4 * self.hidden * (self.input + self.hidden)
    }

    /// Readies `weights` for the steps of one pass over `rows` rows.
    pub fn prepare<T: Scalar>(
        &self,
        params: &[T],
        rows: usize,
        weights: &mut LstmWeights<T>,
    ) -> Result<()> {
        let h4 = 4 * self.hidden;
        weights.bias.clear();
        weights.bias.extend(
            params[self.bias_ih.clone()]
                .iter()
                .zip(&params[self.bias_hh.clone()])
                .map(|(&a, &b)| a + b),
        );
        // bf16 products pack the weight themselves; the fp32 copy would only cost time.
        weights.transposed =
            forward_transposes_weight(rows, h4 * self.input) && !products_in_bf16();
        if weights.transposed {
            let w = grown(&mut weights.weight_ih_t, h4 * self.input);
            transpose(&params[self.weight_ih.clone()], h4, self.input, w)?;
            let w = grown(&mut weights.weight_hh_t, h4 * self.hidden);
            transpose(&params[self.weight_hh.clone()], h4, self.hidden, w)?;
        }
        Ok(())
    }

    /// One step for `rows` rows: `gates [rows, 4 hidden]` (kept, activated, for the backward
    /// pass), the cell `c` and the output `h`, from the input `x [rows, input]` and the previous
    /// state: `h_prev`, `None` for the zero output the first step starts from, and the cell
    /// `c_prev` (zeros for the first step).
    #[allow(clippy::too_many_arguments)]
    pub fn step<T: Scalar>(
        &self,
        params: &[T],
        weights: &LstmWeights<T>,
        x: &[T],
        (h_prev, c_prev): (Option<&[T]>, &[T]),
        rows: usize,
        gates: &mut [T],
        c: &mut [T],
        h: &mut [T],
    ) -> Result<()> {
        let (h4, hidden) = (4 * self.hidden, self.hidden);
        if x.len() != rows * self.input || gates.len() != rows * h4 {
            return Err(Error::shape("LSTM step input", rows * self.input, x.len()));
        }
        for row in gates.chunks_exact_mut(h4) {
            row.copy_from_slice(&weights.bias);
        }
        let x = MatRef::new(x, rows, self.input);
        if weights.transposed {
            let w = &weights.weight_ih_t[..h4 * self.input];
            matmul(gates, x, MatRef::new(w, self.input, h4), true)?;
        } else {
            let w = &params[self.weight_ih.clone()];
            matmul(gates, x, MatRef::new(w, h4, self.input).t(), true)?;
        }
        if let Some(h_prev) = h_prev {
            let h_prev = MatRef::new(h_prev, rows, hidden);
            if weights.transposed {
                let w = &weights.weight_hh_t[..h4 * hidden];
                matmul(gates, h_prev, MatRef::new(w, hidden, h4), true)?;
            } else {
                let w = &params[self.weight_hh.clone()];
                matmul(gates, h_prev, MatRef::new(w, h4, hidden).t(), true)?;
            }
        }
        lstm_forward(gates, c_prev, hidden, c, h);
        Ok(())
    }

    /// The gradient through one step: from `dh` and `dc` (replaced by the gradient reaching the
    /// previous cell), writes the gates' gradient `d_gates`, and adds the input's gradient to `dx`
    /// and the previous output's to `dh_prev` when asked. Skip `dh_prev` at the first step, whose
    /// previous output is the zero state.
    #[allow(clippy::too_many_arguments)]
    pub fn step_backward<T: Scalar>(
        &self,
        params: &[T],
        (gates, c_prev, c): (&[T], &[T], &[T]),
        dh: &[T],
        dc: &mut [T],
        rows: usize,
        d_gates: &mut [T],
        dx: Option<&mut [T]>,
        dh_prev: Option<&mut [T]>,
    ) -> Result<()> {
        let (h4, hidden) = (4 * self.hidden, self.hidden);
        lstm_backward(gates, c_prev, c, dh, dc, hidden, d_gates);
        let dg = MatRef::new(&*d_gates, rows, h4);
        if let Some(dx) = dx {
            let w = MatRef::new(&params[self.weight_ih.clone()], h4, self.input);
            matmul(dx, dg, w, true)?;
        }
        if let Some(dh_prev) = dh_prev {
            let w = MatRef::new(&params[self.weight_hh.clone()], h4, hidden);
            matmul(dh_prev, dg, w, true)?;
        }
        Ok(())
    }

    /// Accumulates the weights' gradients over every step at once: `d_gates [n, 4 hidden]`, the
    /// inputs `x [n, input]` and the previous outputs `h_prev [n, hidden]` of the same `n` rows
    /// (steps one after another); rows whose previous output was the zero state hold zeros.
    pub fn accumulate_grads<T: Scalar>(
        &self,
        grads: &mut [T],
        x: &[T],
        h_prev: &[T],
        d_gates: &[T],
        n: usize,
    ) -> Result<()> {
        let h4 = 4 * self.hidden;
        let dg = MatRef::new(d_gates, n, h4).t();
        matmul(
            &mut grads[self.weight_ih.clone()],
            dg,
            MatRef::new(x, n, self.input),
            true,
        )?;
        matmul(
            &mut grads[self.weight_hh.clone()],
            dg,
            MatRef::new(h_prev, n, self.hidden),
            true,
        )?;
        add_column_sums(&mut grads[self.bias_ih.clone()], d_gates);
        add_column_sums(&mut grads[self.bias_hh.clone()], d_gates);
        Ok(())
    }
}
