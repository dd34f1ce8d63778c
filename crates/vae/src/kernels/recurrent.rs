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
                    forward_row(i, f, g, o, c_prev, c, h);
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
    let rows = c.len() / hidden.max(1);
    let body =
        |(gates, d_gates): (&[T], &mut [T]), c_prev: &[T], c: &[T], dh: &[T], dc: &mut [T]| {
            vectorized(
                #[inline(always)]
                || {
                    for (((((row, d_row), c_prev), c), dh), dc) in gates
                        .chunks_exact(4 * hidden)
                        .zip(d_gates.chunks_exact_mut(4 * hidden))
                        .zip(c_prev.chunks_exact(hidden))
                        .zip(c.chunks_exact(hidden))
                        .zip(dh.chunks_exact(hidden))
                        .zip(dc.chunks_exact_mut(hidden))
                    {
                        let (i, rest) = row.split_at(hidden);
                        let (f, rest) = rest.split_at(hidden);
                        let (g, o) = rest.split_at(hidden);
                        let (di, rest) = d_row.split_at_mut(hidden);
                        let (df, rest) = rest.split_at_mut(hidden);
                        let (dg, d_o) = rest.split_at_mut(hidden);
                        backward_row([i, f, g, o], [c_prev, c, dh], dc, [di, df, dg, d_o]);
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

// A row is taken a block of lanes at a time, each slice's block passed to a function as an array
// reference of its own: references passed so cannot alias, and the compiler vectorises the
// lanes' loop with all of a cell's outputs computed in one pass. (One loop over the row's slices
// themselves, which it cannot prove apart, stays scalar.) Lanes past the last whole block go one
// by one through the same cell formulas.

/// Lanes per block.
const BLOCK: usize = 16;

/// One cell forward: the gate pre-activations `[i, f, g, o]` and the previous cell in; the
/// activated gates, the cell and the output out.
#[inline(always)]
fn forward_cell<T: Scalar>([i, f, g, o]: [T; 4], c_prev: T) -> ([T; 4], T, T) {
    let (i, f) = (sigmoid(i), sigmoid(f));
    let (g, o) = (T::tanh_vectorisable(g), sigmoid(o));
    // c = f ⊙ c_prev + i ⊙ g, then h = o ⊙ tanh(c).
    let c = f * c_prev + i * g;
    ([i, f, g, o], c, o * T::tanh_vectorisable(c))
}

/// One cell backward: the activated gates `[i, f, g, o]`, `[c_prev, c, dh]` and the gradient `dc`
/// reaching c from the next step in; the gates' gradients and the gradient reaching c_prev out.
#[inline(always)]
fn backward_cell<T: Scalar>([i, f, g, o]: [T; 4], [c_prev, c, dh]: [T; 3], dc: T) -> ([T; 4], T) {
    let one = T::one();
    // Through h = o ⊙ tanh(c): the output gate's gradient, and the cell's, which joins the
    // gradient reaching c from the next step.
    let tanh_c = T::tanh_vectorisable(c);
    let dc = dc + dh * o * (one - tanh_c * tanh_c);
    let d_o = dh * tanh_c * o * (one - o);
    // Through c = f ⊙ c_prev + i ⊙ g, `dc` now the whole gradient reaching c.
    let di = dc * g * i * (one - i);
    let df = dc * c_prev * f * (one - f);
    let dg = dc * i * (one - g * g);
    ([di, df, dg, d_o], dc * f)
}

#[inline(always)]
fn forward_row<T: Scalar>(
    i: &mut [T],
    f: &mut [T],
    g: &mut [T],
    o: &mut [T],
    c_prev: &[T],
    c: &mut [T],
    h: &mut [T],
) {
    let n = c.len();
    let whole = n - n % BLOCK;
    {
        let blocks = i[..whole]
            .as_chunks_mut::<BLOCK>()
            .0
            .iter_mut()
            .zip(f[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(g[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(o[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(c_prev[..whole].as_chunks::<BLOCK>().0)
            .zip(c[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(h[..whole].as_chunks_mut::<BLOCK>().0);
        for ((((((i, f), g), o), c_prev), c), h) in blocks {
            forward_block(i, f, g, o, c_prev, c, h);
        }
    }
    for j in whole..n {
        let (gates, cell, out) = forward_cell([i[j], f[j], g[j], o[j]], c_prev[j]);
        [i[j], f[j], g[j], o[j]] = gates;
        (c[j], h[j]) = (cell, out);
    }
}

#[inline(always)]
fn forward_block<T: Scalar>(
    i: &mut [T; BLOCK],
    f: &mut [T; BLOCK],
    g: &mut [T; BLOCK],
    o: &mut [T; BLOCK],
    c_prev: &[T; BLOCK],
    c: &mut [T; BLOCK],
    h: &mut [T; BLOCK],
) {
    for j in 0..BLOCK {
        let (gates, cell, out) = forward_cell([i[j], f[j], g[j], o[j]], c_prev[j]);
        [i[j], f[j], g[j], o[j]] = gates;
        (c[j], h[j]) = (cell, out);
    }
}

#[inline(always)]
fn backward_row<T: Scalar>(
    [i, f, g, o]: [&[T]; 4],
    [c_prev, c, dh]: [&[T]; 3],
    dc: &mut [T],
    [di, df, dg, d_o]: [&mut [T]; 4],
) {
    let n = dc.len();
    let whole = n - n % BLOCK;
    {
        let blocks = i[..whole]
            .as_chunks::<BLOCK>()
            .0
            .iter()
            .zip(f[..whole].as_chunks::<BLOCK>().0)
            .zip(g[..whole].as_chunks::<BLOCK>().0)
            .zip(o[..whole].as_chunks::<BLOCK>().0)
            .zip(c_prev[..whole].as_chunks::<BLOCK>().0)
            .zip(c[..whole].as_chunks::<BLOCK>().0)
            .zip(dh[..whole].as_chunks::<BLOCK>().0)
            .zip(dc[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(di[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(df[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(dg[..whole].as_chunks_mut::<BLOCK>().0)
            .zip(d_o[..whole].as_chunks_mut::<BLOCK>().0);
        for (((((((((((i, f), g), o), c_prev), c), dh), dc), di), df), dg), d_o) in blocks {
            backward_block([i, f, g, o], [c_prev, c, dh], dc, [di, df, dg, d_o]);
        }
    }
    for j in whole..n {
        let (d, dc_prev) = backward_cell([i[j], f[j], g[j], o[j]], [c_prev[j], c[j], dh[j]], dc[j]);
        [di[j], df[j], dg[j], d_o[j]] = d;
        dc[j] = dc_prev;
    }
}

#[inline(always)]
fn backward_block<T: Scalar>(
    [i, f, g, o]: [&[T; BLOCK]; 4],
    [c_prev, c, dh]: [&[T; BLOCK]; 3],
    dc: &mut [T; BLOCK],
    [di, df, dg, d_o]: [&mut [T; BLOCK]; 4],
) {
    for j in 0..BLOCK {
        let (d, dc_prev) = backward_cell([i[j], f[j], g[j], o[j]], [c_prev[j], c[j], dh[j]], dc[j]);
        [di[j], df[j], dg[j], d_o[j]] = d;
        dc[j] = dc_prev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row of the forward pass written out with the formulas of the module's documentation.
    #[test]
    fn forward_follows_the_gate_equations() {
        // 19 units: a whole block of the vectorised loops and a remainder.
        let hidden = 19;
        let a: Vec<f64> = (0..4 * hidden).map(|k| (k as f64 - 37.5) / 9.0).collect();
        let c_prev: Vec<f64> = (0..hidden).map(|k| (k as f64 * 0.9).sin()).collect();
        let mut gates = a.clone();
        let (mut c, mut h) = (vec![0.0; hidden], vec![0.0; hidden]);
        lstm_forward(&mut gates, &c_prev, hidden, &mut c, &mut h);
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        for j in 0..hidden {
            let (i, f) = (s(a[j]), s(a[hidden + j]));
            let (g, o) = (a[2 * hidden + j].tanh(), s(a[3 * hidden + j]));
            let cj = f * c_prev[j] + i * g;
            assert!((c[j] - cj).abs() < 1e-14);
            assert!((h[j] - o * cj.tanh()).abs() < 1e-14);
            assert!((gates[j] - i).abs() < 1e-14 && (gates[2 * hidden + j] - g).abs() < 1e-14);
        }
    }

    /// The f32 passes, split into vectorised loops, give bit for bit what one scalar loop over
    /// each cell's formulas gives, forward and backward (the rows split into parallel tasks where
    /// there are several threads).
    #[test]
    fn the_split_loops_keep_every_bit() {
        let (rows, hidden) = (128, 37);
        let wave = |n: usize, scale: f32| -> Vec<f32> {
            (0..n).map(|k| (k as f32 * 0.618).sin() * scale).collect()
        };
        let (a, c_prev) = (wave(rows * 4 * hidden, 6.0), wave(rows * hidden, 2.0));
        let (dh, dc_next) = (wave(rows * hidden + 5, 1.0), wave(rows * hidden + 3, 1.0));
        let (dh, dc_next) = (&dh[5..], &dc_next[3..]);

        let mut gates = a.clone();
        let (mut c, mut h) = (vec![0.0; rows * hidden], vec![0.0; rows * hidden]);
        lstm_forward(&mut gates, &c_prev, hidden, &mut c, &mut h);
        let mut dc = dc_next.to_vec();
        let mut d_gates = vec![0.0; a.len()];
        lstm_backward(&gates, &c_prev, &c, dh, &mut dc, hidden, &mut d_gates);

        let tanh = f32::tanh_vectorisable;
        for r in 0..rows {
            for j in 0..hidden {
                let at = |gate: usize| r * 4 * hidden + gate * hidden + j;
                let k = r * hidden + j;
                let (i, f) = (sigmoid(a[at(0)]), sigmoid(a[at(1)]));
                let (g, o) = (tanh(a[at(2)]), sigmoid(a[at(3)]));
                let cell = f * c_prev[k] + i * g;
                assert_eq!(c[k].to_bits(), cell.to_bits());
                assert_eq!(h[k].to_bits(), (o * tanh(cell)).to_bits());
                for (gate, value) in [i, f, g, o].into_iter().enumerate() {
                    assert_eq!(gates[at(gate)].to_bits(), value.to_bits());
                }
                let tanh_c = tanh(cell);
                let dc_total = dc_next[k] + dh[k] * o * (1.0 - tanh_c * tanh_c);
                let expected = [
                    dc_total * g * i * (1.0 - i),
                    dc_total * c_prev[k] * f * (1.0 - f),
                    dc_total * i * (1.0 - g * g),
                    dh[k] * tanh_c * o * (1.0 - o),
                ];
                for (gate, value) in expected.into_iter().enumerate() {
                    assert_eq!(d_gates[at(gate)].to_bits(), value.to_bits(), "row {r}");
                }
                assert_eq!(dc[k].to_bits(), (dc_total * f).to_bits());
            }
        }
    }

    /// The backward pass against central differences of `Σ u ⊙ h + Σ v ⊙ c` in f64.
    #[test]
    fn backward_matches_central_differences() {
        let (rows, hidden) = (2, 19);
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
