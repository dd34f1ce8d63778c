//! The LSTM cell's element-wise gate math (Hochreiter & Schmidhuber 1997, with the forget gate of
//! Gers et al. 2000), in PyTorch's `nn.LSTMCell` gate order i, f, g, o:
//!
//! ```text
//! i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//! c = f ⊙ c_prev + i ⊙ g     h = o ⊙ tanh(c)
//! ```
//!
//! `a = x Wᵢₕᵀ + h_prev Wₕₕᵀ + bᵢₕ + bₕₕ` is computed by the layer (`nn::lstm`); these passes take
//! it from there, row by row of `[rows, 4 hidden]`.

use super::elementwise::sigmoid_vectorisable as sigmoid;
use super::{rows_per_task, vectorized};
use crate::scalar::Scalar;
use rayon::prelude::*;

/// Activates the gates `[rows, 4 hidden]` in place (pre-activations in, i, f, g, o out) and writes
/// the cell `c` and the output `h` (`[rows, hidden]` each); `c_prev` is the previous cell.
pub fn lstm_forward<T: Scalar>(
    gates: &mut [T],
    c_prev: &[T],
    hidden: usize,
    c: &mut [T],
    h: &mut [T],
) {
    let rows = c.len() / hidden.max(1);
    let body = |gates: &mut [T], c_prev: &[T], c: &mut [T], h: &mut [T]| {
        vectorized(
            #[inline(always)]
            || {
                for (((row, c_prev), c), h) in gates
                    .chunks_exact_mut(4 * hidden)
                    .zip(c_prev.chunks_exact(hidden))
                    .zip(c.chunks_exact_mut(hidden))
                    .zip(h.chunks_exact_mut(hidden))
                {
                    let (i, rest) = row.split_at_mut(hidden);
                    let (f, rest) = rest.split_at_mut(hidden);
                    let (g, o) = rest.split_at_mut(hidden);
                    for j in 0..hidden {
                        i[j] = sigmoid(i[j]);
                        f[j] = sigmoid(f[j]);
                        g[j] = T::tanh_vectorisable(g[j]);
                        o[j] = sigmoid(o[j]);
                        c[j] = f[j] * c_prev[j] + i[j] * g[j];
                        h[j] = o[j] * T::tanh_vectorisable(c[j]);
                    }
                }
            },
        )
    };
    match rows_per_task(rows, 4 * hidden) {
        None => body(gates, c_prev, c, h),
        Some(n) => gates
            .par_chunks_mut(n * 4 * hidden)
            .zip(c_prev.par_chunks(n * hidden))
            .zip(c.par_chunks_mut(n * hidden))
            .zip(h.par_chunks_mut(n * hidden))
            .for_each(|(((gates, c_prev), c), h)| body(gates, c_prev, c, h)),
    }
}

/// The gradient through one step: given the activated `gates`, `c_prev`, `c`, the gradient `dh`
/// reaching `h` and `dc` reaching `c` from later steps, writes the gradient with respect to the
/// gate pre-activations into `d_gates` and replaces `dc` by the gradient reaching `c_prev`.
pub fn lstm_backward<T: Scalar>(
    gates: &[T],
    c_prev: &[T],
    c: &[T],
    dh: &[T],
    dc: &mut [T],
    hidden: usize,
    d_gates: &mut [T],
) {
    let one = T::one();
    let rows = c.len() / hidden.max(1);
    let body =
        |(gates, d_gates): (&[T], &mut [T]), c_prev: &[T], c: &[T], dh: &[T], dc: &mut [T]| {
            vectorized(
                #[inline(always)]
                || {
                    for r in 0..dh.len() / hidden {
                        let row = &gates[r * 4 * hidden..(r + 1) * 4 * hidden];
                        let d_row = &mut d_gates[r * 4 * hidden..(r + 1) * 4 * hidden];
                        let span = r * hidden..(r + 1) * hidden;
                        let (c_prev, c, dh) =
                            (&c_prev[span.clone()], &c[span.clone()], &dh[span.clone()]);
                        let dc = &mut dc[span];
                        let (i, rest) = row.split_at(hidden);
                        let (f, rest) = rest.split_at(hidden);
                        let (g, o) = rest.split_at(hidden);
                        let (di, rest) = d_row.split_at_mut(hidden);
                        let (df, rest) = rest.split_at_mut(hidden);
                        let (dg, d_o) = rest.split_at_mut(hidden);
                        for j in 0..hidden {
                            let tanh_c = T::tanh_vectorisable(c[j]);
                            let dc_total = dc[j] + dh[j] * o[j] * (one - tanh_c * tanh_c);
                            d_o[j] = dh[j] * tanh_c * o[j] * (one - o[j]);
                            di[j] = dc_total * g[j] * i[j] * (one - i[j]);
                            df[j] = dc_total * c_prev[j] * f[j] * (one - f[j]);
                            dg[j] = dc_total * i[j] * (one - g[j] * g[j]);
                            dc[j] = dc_total * f[j];
                        }
                    }
                },
            )
        };
    match rows_per_task(rows, 4 * hidden) {
        None => body((gates, d_gates), c_prev, c, dh, dc),
        Some(n) => gates
            .par_chunks(n * 4 * hidden)
            .zip(d_gates.par_chunks_mut(n * 4 * hidden))
            .zip(c_prev.par_chunks(n * hidden))
            .zip(c.par_chunks(n * hidden))
            .zip(dh.par_chunks(n * hidden))
            .zip(dc.par_chunks_mut(n * hidden))
            .for_each(|(((((g, dg), cp), c), dh), dc)| body((g, dg), cp, c, dh, dc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row of the forward pass written out with the formulas of the module's documentation.
    #[test]
    fn forward_follows_the_gate_equations() {
        let hidden = 3;
        let a: Vec<f64> = (0..12).map(|k| (k as f64 - 5.5) / 3.0).collect();
        let c_prev = [0.3, -0.7, 1.2];
        let mut gates = a.clone();
        let (mut c, mut h) = (vec![0.0; 3], vec![0.0; 3]);
        lstm_forward(&mut gates, &c_prev, hidden, &mut c, &mut h);
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        for j in 0..hidden {
            let (i, f, g, o) = (s(a[j]), s(a[3 + j]), a[6 + j].tanh(), s(a[9 + j]));
            let cj = f * c_prev[j] + i * g;
            assert!((c[j] - cj).abs() < 1e-14);
            assert!((h[j] - o * cj.tanh()).abs() < 1e-14);
            assert!((gates[j] - i).abs() < 1e-14 && (gates[6 + j] - g).abs() < 1e-14);
        }
    }

    /// The backward pass against central differences of `Σ u ⊙ h + Σ v ⊙ c` in f64.
    #[test]
    fn backward_matches_central_differences() {
        let (rows, hidden) = (2, 3);
        let a: Vec<f64> = (0..rows * 4 * hidden)
            .map(|k| ((k * 7 % 11) as f64 - 5.0) / 4.0)
            .collect();
        let c_prev: Vec<f64> = (0..rows * hidden).map(|k| (k as f64 - 2.5) / 2.0).collect();
        let u: Vec<f64> = (0..rows * hidden)
            .map(|k| (k as f64 * 0.37).sin())
            .collect();
        let v: Vec<f64> = (0..rows * hidden)
            .map(|k| (k as f64 * 0.71).cos())
            .collect();
        let loss = |a: &[f64], c_prev: &[f64]| {
            let mut gates = a.to_vec();
            let (mut c, mut h) = (vec![0.0; rows * hidden], vec![0.0; rows * hidden]);
            lstm_forward(&mut gates, c_prev, hidden, &mut c, &mut h);
            (0..rows * hidden)
                .map(|k| u[k] * h[k] + v[k] * c[k])
                .sum::<f64>()
        };
        let mut gates = a.clone();
        let (mut c, mut h) = (vec![0.0; rows * hidden], vec![0.0; rows * hidden]);
        lstm_forward(&mut gates, &c_prev, hidden, &mut c, &mut h);
        let mut dc = v.clone();
        let mut d_gates = vec![0.0; a.len()];
        lstm_backward(&gates, &c_prev, &c, &u, &mut dc, hidden, &mut d_gates);
        let eps = 1e-6;
        for k in 0..a.len() {
            let (mut plus, mut minus) = (a.clone(), a.clone());
            plus[k] += eps;
            minus[k] -= eps;
            let numeric = (loss(&plus, &c_prev) - loss(&minus, &c_prev)) / (2.0 * eps);
            assert!((numeric - d_gates[k]).abs() < 1e-8, "gate {k}");
        }
        for k in 0..c_prev.len() {
            let (mut plus, mut minus) = (c_prev.clone(), c_prev.clone());
            plus[k] += eps;
            minus[k] -= eps;
            let numeric = (loss(&a, &plus) - loss(&a, &minus)) / (2.0 * eps);
            assert!((numeric - dc[k]).abs() < 1e-8, "c_prev {k}");
        }
    }
}
