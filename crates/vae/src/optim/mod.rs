//! Adam (Kingma & Ba 2015) and Adagrad (Duchi et al. 2011), element for element as PyTorch's
//! `torch.optim` implements them, over the flat parameter buffer; learning-rate schedules in
//! `schedule`.

pub mod schedule;

use crate::config::{OptimizerConfig, OptimizerKind};
use crate::error::{Error, Result};
use crate::kernels::update;
use crate::scalar::Scalar;

const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;
const ADAGRAD_EPS: f64 = 1e-10;

/// An optimizer's state: its configuration, the updates taken, and its moments.
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    config: OptimizerConfig,
    /// Updates taken so far (PyTorch's `state['step']`).
    step: u64,
    /// Adam: first and second moments. Adagrad: `first` is the running sum of squared gradients,
    /// `second` is empty.
    first: Vec<T>,
    second: Vec<T>,
}

impl<T: Scalar> Optimizer<T> {
    /// A fresh optimizer for `parameters` values.
    pub fn new(config: OptimizerConfig, parameters: usize) -> Self {
        let second = match config.kind {
            OptimizerKind::Adam => vec![T::zero(); parameters],
            OptimizerKind::Adagrad => Vec::new(),
        };
        Optimizer {
            config,
            step: 0,
            first: vec![T::zero(); parameters],
            second,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Updates taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of `params` from `grads`, which it leaves zeroed for the next batch: one pass
    /// over memory instead of three (a finiteness check, the update, the zeroing), since the step
    /// is bound by memory traffic, not arithmetic.
    ///
    /// Returns `Ok(false)` when a gradient is NaN or infinite. The check runs chunk by chunk in
    /// the same pass, so other chunks may already have been updated (and the rest are left
    /// alone): the caller must stop and reload the last checkpoint, as training does.
    pub fn step(&mut self, params: &mut [T], grads: &mut [T]) -> Result<bool> {
        self.step_with_lr(params, grads, self.config.lr)
    }

    /// `step` with the learning rate `lr` (the schedule's rate for this step) in place of the
    /// configured base rate.
    pub fn step_with_lr(&mut self, params: &mut [T], grads: &mut [T], lr: f64) -> Result<bool> {
        if params.len() != self.first.len() || grads.len() != params.len() {
            return Err(Error::shape(
                "optimizer parameters",
                self.first.len(),
                params.len(),
            ));
        }
        self.step += 1;
        let wd = T::of(self.config.weight_decay);
        let finite = match self.config.kind {
            OptimizerKind::Adam => {
                let t = self.step as i32;
                let bias1 = 1.0 - ADAM_BETA1.powi(t);
                let bias2_sqrt = (1.0 - ADAM_BETA2.powi(t)).sqrt();
                let step_size = T::of(lr / bias1);
                let (b1, b2) = (T::of(ADAM_BETA1), T::of(ADAM_BETA2));
                let (inv_bias2_sqrt, eps) = (
                    T::of(1.0 / bias2_sqrt),
                    T::of(self.config.eps.unwrap_or(ADAM_EPS)),
                );
                let coefficients = update::Adam {
                    step_size,
                    beta1: b1,
                    beta2: b2,
                    inv_bias2_sqrt,
                    eps,
                    weight_decay: wd,
                };
                update::adam(
                    params,
                    grads,
                    &mut self.first,
                    &mut self.second,
                    &coefficients,
                )
            }
            OptimizerKind::Adagrad => {
                let (lr, eps) = (T::of(lr), T::of(self.config.eps.unwrap_or(ADAGRAD_EPS)));
                update::adagrad(params, grads, &mut self.first, lr, eps, wd)
            }
        };
        Ok(finite)
    }

    /// Named state tensors for a checkpoint (`adam.exp_avg`, `adam.exp_avg_sq`, `adagrad.sum`).
    pub fn state(&self) -> Vec<(&'static str, &[T])> {
        match self.config.kind {
            OptimizerKind::Adam => vec![
                ("adam.exp_avg", &self.first),
                ("adam.exp_avg_sq", &self.second),
            ],
            OptimizerKind::Adagrad => vec![("adagrad.sum", &self.first)],
        }
    }

    /// Restores the state written by `state` after `steps` updates.
    pub fn restore(&mut self, steps: u64, tensors: &[(String, Vec<T>)]) -> Result<()> {
        let wanted: Vec<&str> = self.state().iter().map(|(name, _)| *name).collect();
        for name in wanted {
            let Some((_, data)) = tensors.iter().find(|(n, _)| n == name) else {
                return Err(Error::Config(format!("optimizer state lacks `{name}`")));
            };
            if data.len() != self.first.len() {
                return Err(Error::shape(
                    "optimizer state",
                    self.first.len(),
                    data.len(),
                ));
            }
            match name {
                "adam.exp_avg_sq" => self.second.clone_from(data),
                _ => self.first.clone_from(data),
            }
        }
        self.step = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::update::CHUNK;

    /// Reference values from PyTorch 2.15:
    /// ```python
    /// p = torch.tensor([1.0, -2.0, 0.5], requires_grad=True, dtype=torch.float64)
    /// opt = torch.optim.Adam([p], lr=0.1, weight_decay=0.01)   # or Adagrad([p], lr=0.1, weight_decay=0.01)
    /// for g in ([0.3, -0.1, 2.0], [-0.2, 0.4, 1.0], [0.05, 0.05, -3.0]):
    ///     p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
    /// print(p.tolist())
    /// ```
    fn run(kind: OptimizerKind) -> Vec<f64> {
        let config = OptimizerConfig {
            lr: 0.1,
            weight_decay: 0.01,
            ..OptimizerConfig::default_for(kind)
        };
        let mut opt = Optimizer::new(config, 3);
        let mut p = vec![1.0f64, -2.0, 0.5];
        for mut g in [[0.3, -0.1, 2.0], [-0.2, 0.4, 1.0], [0.05, 0.05, -3.0]] {
            assert!(opt.step(&mut p, &mut g).expect("shapes match"));
            assert_eq!(g, [0.0; 3], "the step leaves the gradients zeroed");
        }
        p
    }

    #[test]
    fn a_non_finite_gradient_is_reported() {
        for kind in [OptimizerKind::Adam, OptimizerKind::Adagrad] {
            let config = OptimizerConfig {
                lr: 0.1,
                ..OptimizerConfig::default_for(kind)
            };
            // Enough parameters for several chunks; the bad one sits in the last.
            let n = 3 * CHUNK + 5;
            let mut opt = Optimizer::new(config, n);
            let mut p = vec![1.0f32; n];
            let mut g = vec![0.5f32; n];
            g[n - 2] = f32::NAN;
            assert!(!opt.step(&mut p, &mut g).expect("shapes match"));
            g[n - 2] = f32::INFINITY;
            assert!(!opt.step(&mut p, &mut g).expect("shapes match"));
            let mut g = vec![0.5f32; n];
            assert!(opt.step(&mut p, &mut g).expect("shapes match"));
        }
    }

    #[test]
    fn adam_matches_pytorch() {
        let expected = [0.8580844005855143, -1.9949245618695115, 0.3147720566772346];
        for (a, b) in run(OptimizerKind::Adam).iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn adagrad_matches_pytorch() {
        let expected = [0.9363222060581106, -2.0028816254930346, 0.4352892967607255];
        for (a, b) in run(OptimizerKind::Adagrad).iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
