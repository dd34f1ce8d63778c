//! Row bookkeeping over row-major `[rows, cols]` buffers: labels appended as one-hot columns,
//! columns taken apart, rows repeated, weighted, or summed by the image they came from.
//!
//! Row `i` of a sample-major buffer of S samples is sample `i / rows` of image `i % rows`, which is
//! why several passes index a per-image array with `i % len`.

use super::scalar::Scalar;

/// `x [rows, width]` with the one-hot code of each row's label appended into `buffer` `[rows,
/// width + classes]`; row `r` takes `labels[r % labels.len()]`, so the S samples of an image share
/// its label.
pub fn append_one_hot<T: Scalar>(
    x: &[T],
    width: usize,
    labels: &[u8],
    classes: usize,
    buffer: &mut Vec<T>,
) {
    buffer.clear();
    for (r, row) in x.chunks_exact(width).enumerate() {
        buffer.extend_from_slice(row);
        let label = labels[r % labels.len()] as usize;
        buffer.extend((0..classes).map(|c| if c == label { T::one() } else { T::zero() }));
    }
}

/// `x [rows, width]` with each row's `extra [rows, extra_width]` appended, into `buffer`.
pub fn append_columns<T: Scalar>(
    x: &[T],
    width: usize,
    extra: &[T],
    extra_width: usize,
    buffer: &mut Vec<T>,
) {
    buffer.clear();
    for (row, more) in x.chunks_exact(width).zip(extra.chunks_exact(extra_width)) {
        buffer.extend_from_slice(row);
        buffer.extend_from_slice(more);
    }
}

/// Channel-last images `x [rows, pixels · channels]` with each row's `extra [rows,
/// extra_width]` appended to every pixel, as constant planes, into `buffer`.
pub fn append_planes<T: Scalar>(
    x: &[T],
    width: usize,
    channels: usize,
    extra: &[T],
    extra_width: usize,
    buffer: &mut Vec<T>,
) {
    buffer.clear();
    for (row, more) in x.chunks_exact(width).zip(extra.chunks_exact(extra_width)) {
        for pixel in row.chunks_exact(channels) {
            buffer.extend_from_slice(pixel);
            buffer.extend_from_slice(more);
        }
    }
}

/// The one-hot code of each of `labels` into `buffer` `[labels, classes]`.
pub fn one_hot<T: Scalar>(labels: &[u8], classes: usize, buffer: &mut Vec<T>) {
    buffer.clear();
    for &label in labels {
        let label = label as usize;
        buffer.extend((0..classes).map(|c| if c == label { T::one() } else { T::zero() }));
    }
}

/// Channel-last images `x [rows, pixels · channels]` with the one-hot code of each row's label
/// appended to every pixel, as `classes` constant planes, into `buffer` `[rows, pixels · (channels
/// + classes)]`; row `r` takes `labels[r % labels.len()]`.
pub fn append_one_hot_planes<T: Scalar>(
    x: &[T],
    width: usize,
    channels: usize,
    labels: &[u8],
    classes: usize,
    buffer: &mut Vec<T>,
) {
    buffer.clear();
    for (r, row) in x.chunks_exact(width).enumerate() {
        let label = labels[r % labels.len()] as usize;
        for pixel in row.chunks_exact(channels) {
            buffer.extend_from_slice(pixel);
            buffer.extend((0..classes).map(|c| if c == label { T::one() } else { T::zero() }));
        }
    }
}

/// The first `keep` columns of every row of `src [rows, width]` into `out` `[rows, keep]`.
pub fn take_columns<T: Scalar>(src: &[T], width: usize, keep: usize, out: &mut Vec<T>) {
    out.clear();
    for row in src.chunks_exact(width) {
        out.extend_from_slice(&row[..keep]);
    }
}

/// Each code row `[latent]` followed by `latent` values −∞: a Gaussian of variance 0, `[rows, 2
/// latent]`, so a deterministic code reads like a posterior.
pub fn point_mass<T: Scalar>(code: &[T], latent: usize, out: &mut Vec<T>) {
    out.clear();
    for row in code.chunks_exact(latent) {
        out.extend_from_slice(row);
        out.extend(std::iter::repeat_n(T::neg_infinity(), latent));
    }
}

/// Row `i` of `buffer [n, cols]` times `weights[i % weights.len()]`.
pub fn scale_rows<T: Scalar>(buffer: &mut [T], cols: usize, weights: &[T]) {
    for (i, row) in buffer.chunks_exact_mut(cols).enumerate() {
        let w = weights[i % weights.len()];
        row.iter_mut().for_each(|v| *v *= w);
    }
}

/// `dst[i % dst.len()] += src[i] · scale`: per-sample values summed into their image.
pub fn add_by_image<T: Scalar>(dst: &mut [T], src: &[T], scale: T) {
    let rows = dst.len();
    for (i, &v) in src.iter().enumerate() {
        dst[i % rows] += v * scale;
    }
}

/// M2's expansion: each of the first `unlabelled` images of `x [rows, pixels]` once per class
/// (labels 0..C, weights π_c = exp(log_probs[r, c])), then the labelled images with their own
/// labels and weight 1; with the image each expanded row repeats.
pub struct Expanded<'a, T> {
    /// The expanded rows' images.
    pub x: &'a mut Vec<T>,
    /// Their labels.
    pub labels: &'a mut Vec<u8>,
    /// Their weights.
    pub weights: &'a mut Vec<T>,
    /// For each expanded row, the image it repeats.
    pub image_of_row: &'a mut Vec<usize>,
}

/// Fills `out` with M2's expansion of `x` (see `Expanded`).
#[allow(clippy::too_many_arguments)]
pub fn repeat_over_classes<T: Scalar>(
    x: &[T],
    labels: &[u8],
    rows: usize,
    pixels: usize,
    unlabelled: usize,
    classes: usize,
    log_probs: &[T],
    out: Expanded<'_, T>,
) {
    let Expanded {
        x: expanded_x,
        labels: expanded_labels,
        weights: row_weights,
        image_of_row,
    } = out;
    let u = unlabelled;
    expanded_x.clear();
    expanded_labels.clear();
    row_weights.clear();
    image_of_row.clear();
    for (r, image) in x.chunks_exact(pixels).take(u).enumerate() {
        for c in 0..classes {
            expanded_x.extend_from_slice(image);
            expanded_labels.push(c as u8);
            row_weights.push(log_probs[r * classes + c].exp());
            image_of_row.push(r);
        }
    }
    expanded_x.extend_from_slice(&x[u * pixels..]);
    expanded_labels.extend_from_slice(&labels[u..]);
    row_weights.extend(std::iter::repeat_n(T::one(), rows - u));
    image_of_row.extend(u..rows);
}

/// Importance sampling's bookkeeping for one block of sample-major rows `[n = samples · rows]`
/// whose first sample is `first` of `k`: `reconstruction[r] += nll_i` and
/// `log_weights[r, s] = −nll_i + log p(z_i) − log q(z_i | x)`.
pub fn collect_log_weights<T: Scalar>(
    nll: &[T],
    log_prior: &[T],
    log_posterior: &[T],
    first: usize,
    k: usize,
    reconstruction: &mut [f64],
    log_weights: &mut [T],
) {
    let rows = reconstruction.len();
    for i in 0..nll.len() {
        let (r, s) = (i % rows, first + i / rows);
        reconstruction[r] += nll[i].as_f64();
        log_weights[r * k + s] = -nll[i] + log_prior[i] - log_posterior[i];
    }
}

/// `y[r] = per_image[image_of_row[r]] + w_y[labels[r]]` over rows of width `out`.
pub fn gather_image_and_label<T: Scalar>(
    per_image: &[T],
    w_y: &[T],
    image_of_row: &[usize],
    labels: &[u8],
    out: usize,
    y: &mut [T],
) {
    for ((dst, &j), &label) in y.chunks_exact_mut(out).zip(image_of_row).zip(labels) {
        let base = &per_image[j * out..(j + 1) * out];
        let label_column = &w_y[label as usize * out..(label as usize + 1) * out];
        for ((d, &b), &l) in dst.iter_mut().zip(base).zip(label_column) {
            *d = b + l;
        }
    }
}

/// The transpose of `gather_image_and_label`: each row of `dy [rows, out]` added into its
/// image's row of `per_image` and its label's row of `w_y`.
pub fn scatter_image_and_label<T: Scalar>(
    dy: &[T],
    image_of_row: &[usize],
    labels: &[u8],
    out: usize,
    per_image: &mut [T],
    w_y: &mut [T],
) {
    for ((d, &j), &label) in dy.chunks_exact(out).zip(image_of_row).zip(labels) {
        let per_image = &mut per_image[j * out..(j + 1) * out];
        per_image.iter_mut().zip(d).for_each(|(p, &v)| *p += v);
        let label = label as usize;
        let label_column = &mut w_y[label * out..(label + 1) * out];
        label_column.iter_mut().zip(d).for_each(|(p, &v)| *p += v);
    }
}

/// `dW [out, in_x + classes] += [d_x | d_yᵀ]`: the gradients of a layer reading
/// `[x | onehot(y)]`, `d_x [out, in_x]` and `d_yᵀ [classes, out]`, merged into its weight's.
pub fn merge_label_columns<T: Scalar>(
    dw: &mut [T],
    in_dim: usize,
    width: usize,
    out: usize,
    d_x: &[T],
    d_y: &[T],
) {
    for (o, row) in dw.chunks_exact_mut(in_dim).enumerate() {
        let (g_x, g_y) = row.split_at_mut(width);
        g_x.iter_mut()
            .zip(&d_x[o * width..(o + 1) * width])
            .for_each(|(g, &v)| *g += v);
        for (c, g) in g_y.iter_mut().enumerate() {
            *g += d_y[c * out + o];
        }
    }
}

/// `log w_i = −nll_i + β log p(z_i) − β log q(z_i | x)` for every sample row: the importance
/// weights of Burda et al. 2015 at β = 1, tempered by the KL weight β during warm-up.
pub fn log_importance_weights<T: Scalar>(
    nll: &[T],
    log_prior: &[T],
    log_posterior: &[T],
    kl_weight: T,
    out: &mut [T],
) {
    for (((o, &n), &p), &q) in out.iter_mut().zip(nll).zip(log_prior).zip(log_posterior) {
        *o = -n + kl_weight * p - kl_weight * q;
    }
}

/// Row `i` of `dst [n, cols]` += `weights[i]` · row `i` of `src`.
pub fn add_scaled_rows<T: Scalar>(dst: &mut [T], src: &[T], cols: usize, weights: &[T]) {
    for ((d, s), &w) in dst
        .chunks_exact_mut(cols)
        .zip(src.chunks_exact(cols))
        .zip(weights)
    {
        d.iter_mut().zip(s).for_each(|(d, &s)| *d += w * s);
    }
}

/// Columns `columns` of `values [rows, width]` into `out [rows, columns]`.
pub fn select_columns<T: Copy>(values: &[T], width: usize, columns: &[usize], out: &mut Vec<T>) {
    out.clear();
    for row in values.chunks_exact(width) {
        out.extend(columns.iter().map(|&d| row[d]));
    }
}

/// The inverse of `select_columns`: rows of `fill` (`[width]`) with columns `columns` set from
/// each row of `values [rows, columns]`, appended to `out`.
pub fn scatter_columns<T: Copy>(values: &[T], columns: &[usize], fill: &[T], out: &mut Vec<T>) {
    for row in values.chunks_exact(columns.len().max(1)) {
        let start = out.len();
        out.extend_from_slice(fill);
        for (&d, &v) in columns.iter().zip(row) {
            out[start + d] = v;
        }
    }
}

/// `[rows, steps · width]` (each row's steps one after another) to `[steps, rows, width]` (each
/// step's rows together), as a recurrent model reads a sequence step by step.
pub fn rows_to_steps<T: Scalar>(
    src: &[T],
    rows: usize,
    steps: usize,
    width: usize,
    dst: &mut Vec<T>,
) {
    dst.resize(rows * steps * width, T::zero());
    for (r, row) in src.chunks_exact(steps * width).take(rows).enumerate() {
        for (t, step) in row.chunks_exact(width).enumerate() {
            let at = (t * rows + r) * width;
            dst[at..at + width].copy_from_slice(step);
        }
    }
}

/// The inverse of `rows_to_steps`: `[steps, rows, width]` to `[rows, steps · width]`.
pub fn steps_to_rows<T: Scalar>(
    src: &[T],
    rows: usize,
    steps: usize,
    width: usize,
    dst: &mut Vec<T>,
) {
    dst.resize(rows * steps * width, T::zero());
    for (t, step) in src.chunks_exact(rows * width).take(steps).enumerate() {
        for (r, row) in step.chunks_exact(width).enumerate() {
            let at = (r * steps + t) * width;
            dst[at..at + width].copy_from_slice(row);
        }
    }
}

/// `src` repeated `times` times into `dst`, one copy after another: a batch's rows once per
/// latent sample, sample-major.
pub fn repeat_batch<T: Scalar>(src: &[T], times: usize, dst: &mut Vec<T>) {
    dst.clear();
    for _ in 0..times {
        dst.extend_from_slice(src);
    }
}
