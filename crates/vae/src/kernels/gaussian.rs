//! The diagonal Gaussian's passes over `[rows, 2 dim]` parameter rows (`[mean | log_var]`) and
//! sample-major latent rows (row `s * rows + r` is sample `s` of image `r`). The formulas and
//! their sources are on `gaussian::DiagonalGaussian`, which calls these.

use super::scalar::Scalar;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

fn rows_of<T>(params: &[T], dim: usize) -> usize {
    params.len() / (2 * dim)
}

fn mean<T>(params: &[T], dim: usize, row: usize) -> &[T] {
    let start = row * 2 * dim;
    &params[start..start + dim]
}

fn log_var<T>(params: &[T], dim: usize, row: usize) -> &[T] {
    let start = row * 2 * dim + dim;
    &params[start..start + dim]
}

/// The means of every row into `out` `[rows, dim]`.
pub fn means_into<T: Scalar>(params: &[T], dim: usize, out: &mut [T]) {
    for (r, o) in out.chunks_exact_mut(dim).enumerate() {
        o.copy_from_slice(mean(params, dim, r));
    }
}

/// z = mean + exp(log_var / 2) · eps.
pub fn rsample<T: Scalar>(params: &[T], dim: usize, eps: &[T], z: &mut [T]) {
    let rows = rows_of(params, dim);
    let half = T::of(0.5);
    for (i, (z_row, e_row)) in z
        .chunks_exact_mut(dim)
        .zip(eps.chunks_exact(dim))
        .enumerate()
    {
        let r = i % rows;
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        for d in 0..dim {
            z_row[d] = mean[d] + (half * log_var[d]).exp() * e_row[d];
        }
    }
}

/// −½ Σ_d (1 + log σ²_d − μ²_d − σ²_d) per row.
pub fn kl_to_standard_normal<T: Scalar>(params: &[T], dim: usize, out: &mut [T]) {
    for (r, o) in out.iter_mut().enumerate().take(rows_of(params, dim)) {
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        let mut sum = T::zero();
        for d in 0..dim {
            sum += T::one() + log_var[d] - mean[d] * mean[d] - log_var[d].exp();
        }
        *o = T::of(-0.5) * sum;
    }
}

/// ½ Σ_d (log σ²_p − log σ²_q + (σ²_q + (μ_q − μ_p)²) / σ²_p − 1) per row: KL(q || p) of
/// row-matched diagonal Gaussians `q` and `p`, both `[rows, 2 dim]`.
pub fn kl_between<T: Scalar>(q: &[T], p: &[T], dim: usize, out: &mut [T]) {
    let half = T::of(0.5);
    for (r, o) in out.iter_mut().enumerate().take(rows_of(q, dim)) {
        let (mq, lq) = (mean(q, dim, r), log_var(q, dim, r));
        let (mp, lp) = (mean(p, dim, r), log_var(p, dim, r));
        let mut sum = T::zero();
        for d in 0..dim {
            let diff = mq[d] - mp[d];
            sum += lp[d] - lq[d] + (lq[d].exp() + diff * diff) * (-lp[d]).exp() - T::one();
        }
        *o = half * sum;
    }
}

/// The gradient of `weight` · Σ_r KL(q_r || p_r), added to `d_q` and `d_p`: with δ = μ_q − μ_p,
/// ∂/∂μ_q = δ / σ²_p = −∂/∂μ_p, ∂/∂log σ²_q = ½ (σ²_q / σ²_p − 1), ∂/∂log σ²_p = ½ (1 − (σ²_q +
/// δ²) / σ²_p).
pub fn backward_kl_between<T: Scalar>(
    q: &[T],
    p: &[T],
    dim: usize,
    weight: T,
    d_q: &mut [T],
    d_p: &mut [T],
) {
    let half = T::of(0.5);
    for r in 0..rows_of(q, dim) {
        let (mq, lq) = (mean(q, dim, r), log_var(q, dim, r));
        let (mp, lp) = (mean(p, dim, r), log_var(p, dim, r));
        let row = r * 2 * dim..(r + 1) * 2 * dim;
        let (dq, dp) = (&mut d_q[row.clone()], &mut d_p[row]);
        for d in 0..dim {
            let inv_p = (-lp[d]).exp();
            let diff = mq[d] - mp[d];
            let vq = lq[d].exp();
            dq[d] += weight * diff * inv_p;
            dp[d] -= weight * diff * inv_p;
            dq[dim + d] += weight * half * (vq * inv_p - T::one());
            dp[dim + d] += weight * half * (T::one() - (vq + diff * diff) * inv_p);
        }
    }
}

/// −½ Σ_d (log 2π + log σ²_d + ε²_d) per sample row.
pub fn log_prob_of_noise<T: Scalar>(params: &[T], dim: usize, eps: &[T], out: &mut [T]) {
    let rows = rows_of(params, dim);
    let half = T::of(0.5);
    for (i, (o, e_row)) in out.iter_mut().zip(eps.chunks_exact(dim)).enumerate() {
        let log_var = log_var(params, dim, i % rows);
        let mut sum = T::zero();
        for d in 0..dim {
            sum += T::of(LN_2PI) + log_var[d] + e_row[d] * e_row[d];
        }
        *o = -half * sum;
    }
}

/// d_params += (Σ_s dz, Σ_s dz · ε · σ / 2).
pub fn backward_rsample<T: Scalar>(
    params: &[T],
    dim: usize,
    eps: &[T],
    dz: &[T],
    d_params: &mut [T],
) {
    let rows = rows_of(params, dim);
    let half = T::of(0.5);
    for (i, (dz_row, e_row)) in dz.chunks_exact(dim).zip(eps.chunks_exact(dim)).enumerate() {
        let r = i % rows;
        let log_var = log_var(params, dim, r);
        let d_row = &mut d_params[r * 2 * dim..(r + 1) * 2 * dim];
        for d in 0..dim {
            d_row[d] += dz_row[d];
            d_row[dim + d] += dz_row[d] * e_row[d] * half * (half * log_var[d]).exp();
        }
    }
}

/// d_params += w_r · kl_weight · (μ, (σ² − 1) / 2).
pub fn backward_kl<T: Scalar>(
    params: &[T],
    dim: usize,
    weights: Option<&[T]>,
    kl_weight: T,
    d_params: &mut [T],
) {
    let half = T::of(0.5);
    for r in 0..rows_of(params, dim) {
        let scale = weights.map_or(T::one(), |w| w[r]) * kl_weight;
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        let d_row = &mut d_params[r * 2 * dim..(r + 1) * 2 * dim];
        for d in 0..dim {
            d_row[d] += scale * mean[d];
            d_row[dim + d] += scale * half * (log_var[d].exp() - T::one());
        }
    }
}

/// log N(z; 0, I) = −½ Σ_d (log 2π + z²_d) per row of `z` `[rows, dim]`.
pub fn standard_normal_log_prob<T: Scalar>(z: &[T], dim: usize, out: &mut [T]) {
    let half = T::of(0.5);
    for (o, row) in out.iter_mut().zip(z.chunks_exact(dim)) {
        let sum: T = row.iter().map(|&v| T::of(LN_2PI) + v * v).sum();
        *o = -half * sum;
    }
}

/// log N(z; μ, σ²) = −½ Σ_d (log 2π + log σ²_d + (z_d − μ_d)² / σ²_d) for each row of `z`,
/// `params` holding one row per row of `z` (a conditional prior, such as p(z1 | z2)).
pub fn log_prob<T: Scalar>(params: &[T], dim: usize, z: &[T], out: &mut [T]) {
    let half = T::of(0.5);
    for (r, (o, z_row)) in out.iter_mut().zip(z.chunks_exact(dim)).enumerate() {
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        let mut sum = T::zero();
        for d in 0..dim {
            let diff = z_row[d] - mean[d];
            sum += T::of(LN_2PI) + log_var[d] + diff * diff * (-log_var[d]).exp();
        }
        *o = -half * sum;
    }
}

/// The gradient of −Σ_r w_r log N(z_r; μ_r, σ²_r): `d_params` += w_r (−(z − μ) / σ², ½ (1 −
/// (z − μ)² / σ²)) and `d_z` += w_r (z − μ) / σ².
pub fn backward_neg_log_prob<T: Scalar>(
    params: &[T],
    dim: usize,
    z: &[T],
    weights: &[T],
    d_params: &mut [T],
    d_z: &mut [T],
) {
    let half = T::of(0.5);
    for (r, (z_row, &w)) in z.chunks_exact(dim).zip(weights).enumerate() {
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        let d_row = &mut d_params[r * 2 * dim..(r + 1) * 2 * dim];
        let dz_row = &mut d_z[r * dim..(r + 1) * dim];
        for d in 0..dim {
            let precision = (-log_var[d]).exp();
            let scaled = (z_row[d] - mean[d]) * precision;
            d_row[d] -= w * scaled;
            d_row[dim + d] += w * half * (T::one() - scaled * (z_row[d] - mean[d]));
            dz_row[d] += w * scaled;
        }
    }
}

/// Σ_r KL per latent dimension added into `out` `[dim]`, computed in f64, rows in order.
pub fn kl_per_dimension<T: Scalar>(params: &[T], dim: usize, out: &mut [f64]) {
    for r in 0..rows_of(params, dim) {
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        for d in 0..dim {
            let (m, lv) = (mean[d].as_f64(), log_var[d].as_f64());
            out[d] += -0.5 * (1.0 + lv - m * m - lv.exp());
        }
    }
}

/// d_params += kl_weight · mask_d · (μ, (σ² − 1) / 2): the KL's gradient with dimension `d`
/// counted `mask[d]` times (0 where free bits hold it at λ).
pub fn backward_kl_dimensions<T: Scalar>(
    params: &[T],
    dim: usize,
    mask: &[T],
    kl_weight: T,
    d_params: &mut [T],
) {
    let half = T::of(0.5);
    for r in 0..rows_of(params, dim) {
        let (mean, log_var) = (mean(params, dim, r), log_var(params, dim, r));
        let d_row = &mut d_params[r * 2 * dim..(r + 1) * 2 * dim];
        for d in 0..dim {
            let scale = kl_weight * mask[d];
            d_row[d] += scale * mean[d];
            d_row[dim + d] += scale * half * (log_var[d].exp() - T::one());
        }
    }
}

/// d_params[log σ²] += −½ · w_i for every sample row `i` `[samples * rows]`: the gradient of
/// Σ_i w_i log q(z_i | x) with z_i = μ + σ ε_i held as a function of ε (its μ-part is zero).
pub fn backward_log_prob_of_noise<T: Scalar>(
    params: &[T],
    dim: usize,
    weights: &[T],
    d_params: &mut [T],
) {
    let rows = rows_of(params, dim);
    let half = T::of(0.5);
    for (i, &w) in weights.iter().enumerate() {
        let r = i % rows;
        let d_row = &mut d_params[r * 2 * dim + dim..(r + 1) * 2 * dim];
        d_row.iter_mut().for_each(|g| *g -= half * w);
    }
}

/// Adds each dimension's Σ_r μ, Σ_r μ² and Σ_r KL over the rows of `params` into the three
/// `[dim]` sums (f64, rows in order): the posterior statistics of a data set, chunk by chunk.
pub fn accumulate_posterior_statistics<T: Scalar>(
    params: &[T],
    dim: usize,
    sum_mean: &mut [f64],
    sum_mean_sq: &mut [f64],
    sum_kl: &mut [f64],
) {
    accumulate_mean_statistics(params, dim, sum_mean, sum_mean_sq);
    kl_per_dimension(params, dim, sum_kl);
}

/// Adds each dimension's Σ_r μ and Σ_r μ² over the rows of `params` into the two `[dim]` sums
/// (f64, rows in order): what the active units are counted from, for a layer whose prior is not
/// N(0, I) and so has no KL of this kind.
pub fn accumulate_mean_statistics<T: Scalar>(
    params: &[T],
    dim: usize,
    sum_mean: &mut [f64],
    sum_mean_sq: &mut [f64],
) {
    for r in 0..rows_of(params, dim) {
        for (d, &m) in mean(params, dim, r).iter().enumerate() {
            let m = m.as_f64();
            sum_mean[d] += m;
            sum_mean_sq[d] += m * m;
        }
    }
}
