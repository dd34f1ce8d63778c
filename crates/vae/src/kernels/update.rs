//! The optimizers' element-wise updates, each one pass over memory that also checks the
//! gradients and zeroes them for the next batch. Formulas and sources are on `optim::Optimizer`.

use super::reduce::slice_is_finite;
use super::scalar::Scalar;
use super::vectorized;
use rayon::prelude::*;

/// Elements per rayon task: large enough that fork/join costs are noise.
pub const CHUNK: usize = 1 << 15;

/// Adam's coefficients for one step, bias corrections folded in.
#[derive(Clone, Copy, Debug)]
pub struct Adam<T> {
    /// The learning rate over the first moment's bias correction.
    pub step_size: T,
    /// The first moment's decay.
    pub beta1: T,
    /// The second moment's decay.
    pub beta2: T,
    /// 1 / sqrt(1 − β2^t): the second moment's bias correction.
    pub inv_bias2_sqrt: T,
    /// Added to the root of the second moment.
    pub eps: T,
    /// L2 weight decay added to the gradient (PyTorch's `weight_decay`).
    pub weight_decay: T,
}

/// One Adam update chunk by chunk; false (and the rest left alone) at the first chunk whose
/// gradients are not all finite.
pub fn adam<T: Scalar>(
    params: &mut [T],
    grads: &mut [T],
    first: &mut [T],
    second: &mut [T],
    c: &Adam<T>,
) -> bool {
    let Adam {
        step_size,
        beta1: b1,
        beta2: b2,
        inv_bias2_sqrt,
        eps,
        weight_decay: wd,
    } = *c;
    params
        .par_chunks_mut(CHUNK)
        .zip(grads.par_chunks_mut(CHUNK))
        .zip(first.par_chunks_mut(CHUNK))
        .zip(second.par_chunks_mut(CHUNK))
        .all(|(((p, g), m), v)| {
            if !slice_is_finite(g) {
                return false;
            }
            vectorized(
                #[inline(always)]
                || {
                    for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        let grad = *g + wd * *p;
                        *g = T::zero();
                        *m = b1 * *m + (T::one() - b1) * grad;
                        *v = b2 * *v + (T::one() - b2) * grad * grad;
                        let denom = v.sqrt() * inv_bias2_sqrt + eps;
                        *p -= step_size * *m / denom;
                    }
                },
            );
            true
        })
}

/// One Adagrad update chunk by chunk; false at the first chunk with a non-finite gradient.
pub fn adagrad<T: Scalar>(
    params: &mut [T],
    grads: &mut [T],
    sums: &mut [T],
    lr: T,
    eps: T,
    wd: T,
) -> bool {
    params
        .par_chunks_mut(CHUNK)
        .zip(grads.par_chunks_mut(CHUNK))
        .zip(sums.par_chunks_mut(CHUNK))
        .all(|((p, g), sum)| {
            if !slice_is_finite(g) {
                return false;
            }
            vectorized(
                #[inline(always)]
                || {
                    for ((p, g), sum) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
                        let grad = *g + wd * *p;
                        *g = T::zero();
                        *sum += grad * grad;
                        *p -= lr * grad / (sum.sqrt() + eps);
                    }
                },
            );
            true
        })
}

/// Rescales `grads` to L2 norm `max_norm` when longer, as `torch.nn.utils.clip_grad_norm_` does
/// (by `max_norm / (norm + 1e-6)`); returns the norm before. The sum of squares runs in f64 in a
/// fixed order.
pub fn clip_norm<T: Scalar>(grads: &mut [T], max_norm: f64) -> f64 {
    let norm = grads
        .iter()
        .map(|g| {
            let g = g.as_f64();
            g * g
        })
        .sum::<f64>()
        .sqrt();
    let coefficient = max_norm / (norm + 1e-6);
    if coefficient < 1.0 {
        let c = T::of(coefficient);
        for g in grads.iter_mut() {
            *g *= c;
        }
    }
    norm
}
