//! The importance-weighted estimate of log p(x) (Burda, Grosse & Salakhutdinov 2015).

use crate::kernels::reduce::log_sum_exp;
use crate::scalar::Scalar;

/// log p̂_K(x) = log (1/K) Σ_k w_k with log w_k = log p(x | z_k) + log p(z_k) − log q(z_k | x),
/// z_k ~ q(z | x): the importance-weighted bound of Burda, Grosse & Salakhutdinov 2015 (eq. 8),
/// which tightens towards log p(x) as K grows and equals the one-sample ELBO estimate at K = 1.
pub fn importance_weighted_log_likelihood<T: Scalar>(log_weights: &[T]) -> T {
    log_sum_exp(log_weights) - T::of((log_weights.len() as f64).ln())
}
