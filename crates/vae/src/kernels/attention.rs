//! DRAW's selective attention (Gregor et al. 2015, Sec. 3.2): an N x N grid of Gaussian filters
//! placed on an image of `height` x `width` pixels by five numbers per image, and the batched small
//! products that read a glimpse through it and write a patch back.
//!
//! The five numbers are `(g̃_X, g̃_Y, log σ², log δ̃, log γ)`; with pixel coordinates `a = 1..A`
//! (A the width; B the height for Y) and filters `i = 1..N` (eqs. 21-24):
//!
//! ```text
//! g_X = (A + 1) / 2 · (g̃_X + 1)       δ = (max(A, B) − 1) / (N − 1) · δ̃
//! μ_X^i = g_X + (i − N/2 − 0.5) δ      F_X[i, a] = exp(−(a − μ_X^i)² / 2σ²) / Z_X^i
//! ```
//!
//! Each row of `F_X` is a softmax over `a`, which is how it is computed: no normalising constant
//! can underflow to zero. Reading is `γ F_Y x F_Xᵀ` (eq. 27, per channel), writing `(1/γ) F_Yᵀ w
//! F_X` (eq. 29). Images are channel-last `[height, width, channels]`, as everywhere else.
//!
//! Every pass takes whole batches: `params [rows, 5]`, `fx [rows, N, width]`, `fy [rows, N,
//! height]`, `gamma [rows]`. The backward passes accumulate into their gradients.

use super::vectorized;
use crate::scalar::Scalar;
use rayon::prelude::*;

/// The numbers that place one grid: `g̃_X, g̃_Y, log σ², log δ̃, log γ`.
pub const WINDOW_PARAMS: usize = 5;

/// The sizes one attention pass works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Filters per side, N.
    pub n: usize,
    /// The image's height, width and channels.
    pub height: usize,
    /// Pixels per image row.
    pub width: usize,
    /// Values per pixel.
    pub channels: usize,
}

impl Grid {
    /// Values of one glimpse or patch: N x N x channels.
    pub fn patch(&self) -> usize {
        self.n * self.n * self.channels
    }

    /// Values of one image.
    pub fn image(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The scale of the stride δ per unit of δ̃: (max(A, B) − 1) / (N − 1), with N = 1 a single
    /// filter at the centre.
    fn stride_scale(&self) -> f64 {
        (self.height.max(self.width) as f64 - 1.0) / (self.n.max(2) - 1) as f64
    }

    /// The log σ² at which the filters of a grid with δ̃ = 1 (the stride that spans the image) are
    /// as wide as half their spacing: such a grid sees the whole image, blurred, where one with σ
    /// = 1 sees a few pixels at its edges.
    pub fn covering_log_var(&self) -> f64 {
        2.0 * (self.stride_scale() / 2.0).max(1.0).ln()
    }

    /// The centre `g` of the grid, its stride `δ` and variance `σ²` on one axis of `size` pixels.
    fn axis<T: Scalar>(&self, p: &[T], centre: usize, size: usize) -> (f64, f64, f64) {
        let g = (size as f64 + 1.0) / 2.0 * (p[centre].as_f64() + 1.0);
        let delta = self.stride_scale() * p[3].as_f64().exp();
        (g, delta, p[2].as_f64().exp())
    }

    /// Where the grid five numbers place lies, in pixel coordinates: the centres of its first and
    /// last filters on the x axis, then on the y axis.
    pub fn extent<T: Scalar>(&self, p: &[T]) -> ((f64, f64), (f64, f64)) {
        let span = |(g, delta, _): (f64, f64, f64)| {
            (
                g + self.offset(0) * delta,
                g + self.offset(self.n - 1) * delta,
            )
        };
        (
            span(self.axis(p, 0, self.width)),
            span(self.axis(p, 1, self.height)),
        )
    }

    /// The offset of filter `i` (0-based) from the centre, in strides: i + 1 − N/2 − 0.5.
    fn offset(&self, i: usize) -> f64 {
        i as f64 + 0.5 - self.n as f64 / 2.0
    }
}

/// One axis's filterbank `f [N, size]` from its centre, stride and variance.
fn axis_filters<T: Scalar>(grid: &Grid, (g, delta, var): (f64, f64, f64), f: &mut [T]) {
    let size = f.len() / grid.n;
    for (i, row) in f.chunks_exact_mut(size).enumerate() {
        let mu = g + grid.offset(i) * delta;
        let mut max = f64::NEG_INFINITY;
        for (a, v) in row.iter_mut().enumerate() {
            let d = (a + 1) as f64 - mu;
            let s = -d * d / (2.0 * var);
            max = max.max(s);
            *v = T::of(s);
        }
        let mut total = 0.0;
        for v in row.iter_mut() {
            let e = (v.as_f64() - max).exp();
            total += e;
            *v = T::of(e);
        }
        for v in row.iter_mut() {
            *v = T::of(v.as_f64() / total);
        }
    }
}

/// The filterbanks and γ of every row from its five numbers.
pub fn filterbanks<T: Scalar>(
    grid: &Grid,
    params: &[T],
    fx: &mut [T],
    fy: &mut [T],
    gamma: &mut [T],
) {
    let rows = gamma.len();
    for r in 0..rows {
        let p = &params[r * WINDOW_PARAMS..(r + 1) * WINDOW_PARAMS];
        let fx = &mut fx[r * grid.n * grid.width..(r + 1) * grid.n * grid.width];
        let fy = &mut fy[r * grid.n * grid.height..(r + 1) * grid.n * grid.height];
        axis_filters(grid, grid.axis(p, 0, grid.width), fx);
        axis_filters(grid, grid.axis(p, 1, grid.height), fy);
        gamma[r] = p[4].exp();
    }
}

/// Through one axis's softmax rows: the gradient on the centre g, the stride δ and the variance σ²
/// from the gradient `df` on the filters `f`.
fn axis_backward<T: Scalar>(
    grid: &Grid,
    (g, delta, var): (f64, f64, f64),
    f: &[T],
    df: &[T],
) -> (f64, f64, f64) {
    let size = f.len() / grid.n;
    let (mut dg, mut d_delta, mut d_var) = (0.0, 0.0, 0.0);
    for (i, (row, d_row)) in f.chunks_exact(size).zip(df.chunks_exact(size)).enumerate() {
        let mu = g + grid.offset(i) * delta;
        let dot: f64 = row
            .iter()
            .zip(d_row)
            .map(|(&p, &d)| p.as_f64() * d.as_f64())
            .sum();
        let mut d_mu = 0.0;
        for (a, (&p, &d)) in row.iter().zip(d_row).enumerate() {
            // s = −(a − μ)² / 2σ²; ds = F (dF − Σ F dF).
            let ds = p.as_f64() * (d.as_f64() - dot);
            let dist = (a + 1) as f64 - mu;
            d_mu += ds * dist / var;
            d_var += ds * dist * dist / (2.0 * var * var);
        }
        dg += d_mu;
        d_delta += d_mu * grid.offset(i);
    }
    (dg, d_delta, d_var)
}

/// Accumulates into `d_params [rows, 5]` the gradient through `filterbanks`, given the gradients
/// on the filters and on γ.
pub fn filterbanks_backward<T: Scalar>(
    grid: &Grid,
    params: &[T],
    (fx, fy, gamma): (&[T], &[T], &[T]),
    (d_fx, d_fy, d_gamma): (&[T], &[T], &[T]),
    d_params: &mut [T],
) {
    let rows = gamma.len();
    let (sx, sy) = (grid.n * grid.width, grid.n * grid.height);
    for r in 0..rows {
        let p = &params[r * WINDOW_PARAMS..(r + 1) * WINDOW_PARAMS];
        let x_axis = grid.axis(p, 0, grid.width);
        let y_axis = grid.axis(p, 1, grid.height);
        let (dgx, ddx, dvx) = axis_backward(
            grid,
            x_axis,
            &fx[r * sx..(r + 1) * sx],
            &d_fx[r * sx..(r + 1) * sx],
        );
        let (dgy, ddy, dvy) = axis_backward(
            grid,
            y_axis,
            &fy[r * sy..(r + 1) * sy],
            &d_fy[r * sy..(r + 1) * sy],
        );
        let d = &mut d_params[r * WINDOW_PARAMS..(r + 1) * WINDOW_PARAMS];
        d[0] += T::of(dgx * (grid.width as f64 + 1.0) / 2.0);
        d[1] += T::of(dgy * (grid.height as f64 + 1.0) / 2.0);
        // σ² = exp(log σ²) and δ = scale · exp(log δ̃): the derivative of each is itself.
        d[2] += T::of((dvx + dvy) * x_axis.2);
        d[3] += T::of((ddx + ddy) * x_axis.1);
        d[4] += d_gamma[r] * gamma[r];
    }
}

/// Σ a ⊙ b with eight running sums, so that the loop vectorises; the order is fixed.
#[inline(always)]
fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::zero(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_rest, b_rest) = (a8.remainder(), b8.remainder());
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let mut total = T::zero();
    for (x, y) in a_rest.iter().zip(b_rest) {
        total += *x * *y;
    }
    lanes.iter().fold(total, |acc, &v| acc + v)
}

/// `y += a x`.
#[inline(always)]
fn axpy<T: Scalar>(y: &mut [T], a: T, x: &[T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out [width, channels] += filter [width] ⊗ values [channels]`.
#[inline(always)]
fn add_outer<T: Scalar>(out: &mut [T], filter: &[T], values: &[T]) {
    if let [v] = values {
        axpy(out, *v, filter);
    } else {
        for (o, &f) in out.chunks_exact_mut(values.len()).zip(filter) {
            axpy(o, f, values);
        }
    }
}

/// `out [channels] += Σ_a filter[a] · rows[a, channels]`, accumulated into `out`.
#[inline(always)]
fn add_filtered<T: Scalar>(out: &mut [T], filter: &[T], rows: &[T]) {
    if let [o] = out {
        *o += dot(filter, rows);
    } else {
        for (&f, row) in filter.iter().zip(rows.chunks_exact(out.len())) {
            axpy(out, f, row);
        }
    }
}

/// Runs `f(row, chunk)` on every row's chunk of `data` (`len` values per row) in parallel, with a
/// scratch buffer per task.
fn for_each_row<T: Scalar, F>(data: &mut [T], len: usize, f: F)
where
    F: Fn(usize, &mut [T], &mut Vec<T>) + Sync + Send,
{
    if len == 0 {
        return;
    }
    data.par_chunks_mut(len)
        .enumerate()
        .for_each_init(Vec::new, |scratch, (r, chunk)| {
            vectorized(
                #[inline(always)]
                || f(r, chunk, scratch),
            )
        });
}

impl Grid {
    fn fx_len(&self) -> usize {
        self.n * self.width
    }

    fn fy_len(&self) -> usize {
        self.n * self.height
    }

    /// Values of the intermediate `F_Y img` `[N, width, channels]` (and of a write's `patch F_X`).
    pub fn tmp_len(&self) -> usize {
        self.n * self.width * self.channels
    }
}

/// Reads a glimpse `γ F_Y img F_Xᵀ` `[N, N, channels]` of every row into `out`, whose rows are
/// `out_cols` wide, starting at column `offset`. `tmp [rows, N, width, channels]` keeps `F_Y img`
/// for the backward pass.
#[allow(clippy::too_many_arguments)]
pub fn read<T: Scalar>(
    grid: &Grid,
    img: &[T],
    (fx, fy, gamma): (&[T], &[T], &[T]),
    tmp: &mut [T],
    out: &mut [T],
    out_cols: usize,
    offset: usize,
) {
    let (n, ch) = (grid.n, grid.channels);
    let line = grid.width * ch;
    let tmp_len = grid.tmp_len();
    // F_Y img first, then the rows of each glimpse.
    for_each_row(tmp, tmp_len, |r, tmp, _| {
        let img = &img[r * grid.image()..(r + 1) * grid.image()];
        let fy = &fy[r * grid.fy_len()..(r + 1) * grid.fy_len()];
        tmp.fill(T::zero());
        for (t, fy) in tmp.chunks_exact_mut(line).zip(fy.chunks_exact(grid.height)) {
            for (&w, row) in fy.iter().zip(img.chunks_exact(line)) {
                axpy(t, w, row);
            }
        }
    });
    let tmp = &*tmp;
    for_each_row(out, out_cols, |r, out, _| {
        let out = &mut out[offset..offset + grid.patch()];
        let fx = &fx[r * grid.fx_len()..(r + 1) * grid.fx_len()];
        let tmp = &tmp[r * tmp_len..(r + 1) * tmp_len];
        out.fill(T::zero());
        for (o, t) in out.chunks_exact_mut(n * ch).zip(tmp.chunks_exact(line)) {
            for (o, fx) in o.chunks_exact_mut(ch).zip(fx.chunks_exact(grid.width)) {
                add_filtered(o, fx, t);
                for v in o.iter_mut() {
                    *v *= gamma[r];
                }
            }
        }
    });
}

/// The gradients through `read`, given `d_out` laid out as `out` was: accumulates into the
/// filters' and γ's gradients and, when asked, into the image's.
#[allow(clippy::too_many_arguments)]
pub fn read_backward<T: Scalar>(
    grid: &Grid,
    img: &[T],
    (fx, fy, gamma): (&[T], &[T], &[T]),
    tmp: &[T],
    (d_out, out_cols, offset): (&[T], usize, usize),
    (d_fx, d_fy, d_gamma): (&mut [T], &mut [T], &mut [T]),
    d_img: Option<&mut [T]>,
    d_tmp: &mut Vec<T>,
) {
    let (n, ch) = (grid.n, grid.channels);
    let line = grid.width * ch;
    let tmp_len = grid.tmp_len();
    let rows = gamma.len();
    // Per row, in parallel: d_tmp = γ d_out F_X, the filters' and γ's gradients.
    d_tmp.resize(rows * tmp_len, T::zero());
    let per_row = |r: usize| {
        (
            &fx[r * grid.fx_len()..(r + 1) * grid.fx_len()],
            &tmp[r * tmp_len..(r + 1) * tmp_len],
            &d_out[r * out_cols + offset..r * out_cols + offset + grid.patch()],
        )
    };
    d_tmp
        .par_chunks_mut(tmp_len)
        .zip(d_fx.par_chunks_mut(grid.fx_len()))
        .zip(d_gamma.par_iter_mut())
        .enumerate()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(u, scaled), (r, ((dt, d_fx), d_gamma))| {
                vectorized(
                    #[inline(always)]
                    || {
                        let (fx, tmp, d_out) = per_row(r);
                        let g = gamma[r];
                        dt.fill(T::zero());
                        let mut dg = T::zero();
                        u.resize(ch, T::zero());
                        scaled.resize(ch, T::zero());
                        for ((d_o, t), dt) in d_out
                            .chunks_exact(n * ch)
                            .zip(tmp.chunks_exact(line))
                            .zip(dt.chunks_exact_mut(line))
                        {
                            for ((d, fx), d_fx) in d_o
                                .chunks_exact(ch)
                                .zip(fx.chunks_exact(grid.width))
                                .zip(d_fx.chunks_exact_mut(grid.width))
                            {
                                // out = γ u, u = Σ_a tmp[a] F_X[i, a].
                                u.fill(T::zero());
                                add_filtered(u, fx, t);
                                dg += dot(d, u);
                                for (s, &v) in scaled.iter_mut().zip(d) {
                                    *s = v * g;
                                }
                                add_outer(dt, fx, scaled);
                                add_filtered_transposed(d_fx, t, scaled);
                            }
                        }
                        *d_gamma += dg;
                    },
                )
            },
        );
    let d_tmp = &*d_tmp;
    // dF_Y[j, b] = d_tmp[j] · img[b]; d_img[b] += Σ_j F_Y[j, b] d_tmp[j].
    d_fy.par_chunks_mut(grid.fy_len())
        .enumerate()
        .for_each(|(r, d_fy)| {
            vectorized(
                #[inline(always)]
                || {
                    let img = &img[r * grid.image()..(r + 1) * grid.image()];
                    let dt = &d_tmp[r * tmp_len..(r + 1) * tmp_len];
                    for (d_fy, dt) in d_fy
                        .chunks_exact_mut(grid.height)
                        .zip(dt.chunks_exact(line))
                    {
                        for (d, row) in d_fy.iter_mut().zip(img.chunks_exact(line)) {
                            *d += dot(dt, row);
                        }
                    }
                },
            )
        });
    if let Some(d_img) = d_img {
        for_each_row(d_img, grid.image(), |r, d_img, _| {
            let fy = &fy[r * grid.fy_len()..(r + 1) * grid.fy_len()];
            let dt = &d_tmp[r * tmp_len..(r + 1) * tmp_len];
            for (fy, dt) in fy.chunks_exact(grid.height).zip(dt.chunks_exact(line)) {
                for (&w, row) in fy.iter().zip(d_img.chunks_exact_mut(line)) {
                    axpy(row, w, dt);
                }
            }
        });
    }
}

/// `d_filter [width] += Σ_c rows[width, channels] · values[channels]`, per pixel.
#[inline(always)]
fn add_filtered_transposed<T: Scalar>(d_filter: &mut [T], rows: &[T], values: &[T]) {
    if let [v] = values {
        axpy(d_filter, *v, rows);
    } else {
        for (d, row) in d_filter.iter_mut().zip(rows.chunks_exact(values.len())) {
            *d += dot(row, values);
        }
    }
}

/// Adds `(1/γ) F_Yᵀ patch F_X` of every row to `canvas [rows, height, width, channels]`; `patch`
/// is `[rows, N, N, channels]` and `tmp [rows, N, width, channels]` keeps `patch F_X`.
pub fn write<T: Scalar>(
    grid: &Grid,
    patch: &[T],
    (fx, fy, gamma): (&[T], &[T], &[T]),
    tmp: &mut [T],
    canvas: &mut [T],
) {
    let (n, ch) = (grid.n, grid.channels);
    let line = grid.width * ch;
    let tmp_len = grid.tmp_len();
    for_each_row(tmp, tmp_len, |r, tmp, _| {
        let patch = &patch[r * grid.patch()..(r + 1) * grid.patch()];
        let fx = &fx[r * grid.fx_len()..(r + 1) * grid.fx_len()];
        tmp.fill(T::zero());
        for (t, p) in tmp.chunks_exact_mut(line).zip(patch.chunks_exact(n * ch)) {
            for (p, fx) in p.chunks_exact(ch).zip(fx.chunks_exact(grid.width)) {
                add_outer(t, fx, p);
            }
        }
    });
    let tmp = &*tmp;
    for_each_row(canvas, grid.image(), |r, canvas, _| {
        let fy = &fy[r * grid.fy_len()..(r + 1) * grid.fy_len()];
        let tmp = &tmp[r * tmp_len..(r + 1) * tmp_len];
        let scale = T::one() / gamma[r];
        for (fy, t) in fy.chunks_exact(grid.height).zip(tmp.chunks_exact(line)) {
            for (&w, row) in fy.iter().zip(canvas.chunks_exact_mut(line)) {
                axpy(row, w * scale, t);
            }
        }
    });
}

/// The gradients through `write`, given the gradient `d_canvas` on the canvas: accumulates into
/// the patch's, the filters' and γ's gradients.
#[allow(clippy::too_many_arguments)]
pub fn write_backward<T: Scalar>(
    grid: &Grid,
    patch: &[T],
    (fx, fy, gamma): (&[T], &[T], &[T]),
    tmp: &[T],
    d_canvas: &[T],
    d_patch: &mut [T],
    (d_fx, d_fy, d_gamma): (&mut [T], &mut [T], &mut [T]),
) {
    let (n, ch) = (grid.n, grid.channels);
    let line = grid.width * ch;
    let tmp_len = grid.tmp_len();
    d_patch
        .par_chunks_mut(grid.patch())
        .zip(d_fx.par_chunks_mut(grid.fx_len()))
        .zip(d_fy.par_chunks_mut(grid.fy_len()))
        .zip(d_gamma.par_iter_mut())
        .enumerate()
        .for_each_init(Vec::new, |dt, (r, (((d_patch, d_fx), d_fy), d_gamma))| {
            vectorized(
                #[inline(always)]
                || {
                    let patch = &patch[r * grid.patch()..(r + 1) * grid.patch()];
                    let fx = &fx[r * grid.fx_len()..(r + 1) * grid.fx_len()];
                    let fy = &fy[r * grid.fy_len()..(r + 1) * grid.fy_len()];
                    let tmp = &tmp[r * tmp_len..(r + 1) * tmp_len];
                    let d_canvas = &d_canvas[r * grid.image()..(r + 1) * grid.image()];
                    let scale = T::one() / gamma[r];
                    // canvas += (1/γ) Σ_j F_Y[j, b] tmp[j]: d_tmp[j] = (1/γ) Σ_b F_Y[j, b] d_canvas[b].
                    dt.clear();
                    dt.resize(tmp_len, T::zero());
                    for (((fy, d_fy), t), dt) in fy
                        .chunks_exact(grid.height)
                        .zip(d_fy.chunks_exact_mut(grid.height))
                        .zip(tmp.chunks_exact(line))
                        .zip(dt.chunks_exact_mut(line))
                    {
                        for ((&w, d), dc) in fy
                            .iter()
                            .zip(d_fy.iter_mut())
                            .zip(d_canvas.chunks_exact(line))
                        {
                            *d += scale * dot(dc, t);
                            axpy(dt, w * scale, dc);
                        }
                    }
                    // d(1/γ) = −dγ/γ², and Σ d_canvas · (F_Yᵀ tmp) = γ Σ d_tmp · tmp.
                    *d_gamma -= dot(dt, tmp) * scale;
                    // tmp[j, a] = Σ_i patch[j, i] F_X[i, a].
                    for ((p, dp), dt) in patch
                        .chunks_exact(n * ch)
                        .zip(d_patch.chunks_exact_mut(n * ch))
                        .zip(dt.chunks_exact(line))
                    {
                        for (((p, dp), fx), d_fx) in p
                            .chunks_exact(ch)
                            .zip(dp.chunks_exact_mut(ch))
                            .zip(fx.chunks_exact(grid.width))
                            .zip(d_fx.chunks_exact_mut(grid.width))
                        {
                            add_filtered(dp, fx, dt);
                            add_filtered_transposed(d_fx, dt, p);
                        }
                    }
                },
            )
        });
}
