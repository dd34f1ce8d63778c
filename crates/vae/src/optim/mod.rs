//! Adam (Kingma & Ba 2015) and Adagrad (Duchi et al. 2011), element for element as PyTorch's
//! `torch.optim` implements them, over the flat parameter buffer; learning-rate schedules in
//! `schedule`.

pub mod schedule;

use crate::config::{OptimizerConfig, OptimizerKind};
use crate::error::{Error, Result};
use crate::kernels::update;
use crate::nn::ParamGroup;
use crate::scalar::Scalar;

const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;
const ADAGRAD_EPS: f64 = 1e-10;

/// One group's state: the updates taken, and its moments.
#[derive(Clone, Debug)]
struct GroupState<T> {
    group: ParamGroup,
    /// Updates taken so far (PyTorch's `state['step']`).
    step: u64,
    /// Adam: first and second moments. Adagrad: `first` is the running sum of squared gradients,
    /// `second` is empty.
    first: Vec<T>,
    second: Vec<T>,
}

/// An optimizer's state: its configuration and, for each parameter group, the updates taken and
/// its moments. A model trains one group (every learned value) or several that take turns (a
/// GAN's discriminator and generator), each with state of its own as PyTorch keeps one optimizer
/// per network.
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    config: OptimizerConfig,
    groups: Vec<GroupState<T>>,
}

impl<T: Scalar> Optimizer<T> {
    /// A fresh optimizer for `parameters` values, one group over all of them.
    pub fn new(config: OptimizerConfig, parameters: usize) -> Self {
        Self::with_groups(
            config,
            vec![ParamGroup {
                name: String::new(),
                ranges: std::iter::once(0..parameters).collect(),
            }],
        )
    }

    /// A fresh optimizer with one state per group; the training loop steps them in turn.
    pub fn with_groups(config: OptimizerConfig, groups: Vec<ParamGroup>) -> Self {
        let groups = groups
            .into_iter()
            .map(|group| {
                let len = group.len();
                let second = match config.kind {
                    OptimizerKind::Adam => vec![T::zero(); len],
                    OptimizerKind::Adagrad => Vec::new(),
                };
                GroupState {
                    group,
                    step: 0,
                    first: vec![T::zero(); len],
                    second,
                }
            })
            .collect();
        Optimizer { config, groups }
    }

    /// Its configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Updates taken so far (by the first group; the loop steps every group once per batch
    /// unless the objective holds one back).
    pub fn steps(&self) -> u64 {
        self.groups.first().map_or(0, |g| g.step)
    }

    /// Updates taken so far by each group, in order.
    pub fn group_steps(&self) -> Vec<u64> {
        self.groups.iter().map(|g| g.step).collect()
    }

    /// How many groups take turns.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Zeroes every gradient outside group `g`: what another group's loss left there (a GAN's
    /// generator loss reaches the discriminator's weights) is not this group's to follow.
    pub fn keep_only_group(&self, g: usize, grads: &mut [T]) {
        let Some(state) = self.groups.get(g) else {
            return;
        };
        let mut from = 0;
        for range in &state.group.ranges {
            if let Some(outside) = grads.get_mut(from..range.start) {
                outside.fill(T::zero());
            }
            from = range.end;
        }
        if let Some(outside) = grads.get_mut(from..) {
            outside.fill(T::zero());
        }
    }

    /// The values of group `g`'s gradient, for clipping.
    pub fn group_grads<'a>(&self, g: usize, grads: &'a mut [T]) -> Vec<&'a mut [T]> {
        let Some(state) = self.groups.get(g) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(state.group.ranges.len());
        let mut rest = grads;
        let mut offset = 0;
        for range in &state.group.ranges {
            let taken = std::mem::take(&mut rest);
            if range.end > offset + taken.len() || range.start < offset {
                break;
            }
            let (_, tail) = taken.split_at_mut(range.start - offset);
            let (inside, tail) = tail.split_at_mut(range.len());
            out.push(inside);
            rest = tail;
            offset = range.end;
        }
        out
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
    /// configured base rate, for every group.
    pub fn step_with_lr(&mut self, params: &mut [T], grads: &mut [T], lr: f64) -> Result<bool> {
        let mut finite = true;
        for g in 0..self.groups.len() {
            finite &= self.step_group(g, params, grads, lr)?;
        }
        Ok(finite)
    }

    /// One update of group `g`'s values, leaving its gradients zeroed.
    pub fn step_group(
        &mut self,
        g: usize,
        params: &mut [T],
        grads: &mut [T],
        lr: f64,
    ) -> Result<bool> {
        let config = self.config;
        let Some(state) = self.groups.get_mut(g) else {
            return Err(Error::InvalidArgument(format!(
                "optimizer group {g} of {}",
                self.groups.len()
            )));
        };
        let end = state.group.ranges.last().map_or(0, |r| r.end);
        if grads.len() != params.len() || params.len() < end {
            return Err(Error::shape("optimizer parameters", end, params.len()));
        }
        state.step += 1;
        let wd = T::of(config.weight_decay);
        let [beta1, beta2] = config.betas.unwrap_or([ADAM_BETA1, ADAM_BETA2]);
        let mut finite = true;
        let mut offset = 0;
        for range in &state.group.ranges {
            let (p, gr) = (&mut params[range.clone()], &mut grads[range.clone()]);
            let first = &mut state.first[offset..offset + range.len()];
            finite &= match config.kind {
                OptimizerKind::Adam => {
                    let t = state.step as i32;
                    let bias1 = 1.0 - beta1.powi(t);
                    let bias2_sqrt = (1.0 - beta2.powi(t)).sqrt();
                    let coefficients = update::Adam {
                        step_size: T::of(lr / bias1),
                        beta1: T::of(beta1),
                        beta2: T::of(beta2),
                        inv_bias2_sqrt: T::of(1.0 / bias2_sqrt),
                        eps: T::of(config.eps.unwrap_or(ADAM_EPS)),
                        weight_decay: wd,
                    };
                    let second = &mut state.second[offset..offset + range.len()];
                    update::adam(p, gr, first, second, &coefficients)
                }
                OptimizerKind::Adagrad => {
                    let (lr, eps) = (T::of(lr), T::of(config.eps.unwrap_or(ADAGRAD_EPS)));
                    update::adagrad(p, gr, first, lr, eps, wd)
                }
            };
            offset += range.len();
        }
        Ok(finite)
    }

    /// Named state tensors for a checkpoint (`adam.exp_avg`, `adam.exp_avg_sq`, `adagrad.sum`),
    /// prefixed by the group's name where it has one.
    pub fn state(&self) -> Vec<(String, &[T])> {
        let mut out = Vec::new();
        for state in &self.groups {
            let name = |n: &str| match state.group.name.as_str() {
                "" => n.to_string(),
                group => format!("{group}.{n}"),
            };
            match self.config.kind {
                OptimizerKind::Adam => {
                    out.push((name("adam.exp_avg"), state.first.as_slice()));
                    out.push((name("adam.exp_avg_sq"), state.second.as_slice()));
                }
                OptimizerKind::Adagrad => out.push((name("adagrad.sum"), state.first.as_slice())),
            }
        }
        out
    }

    /// Restores the state written by `state` after `steps` updates of every group, or after
    /// `group_steps[g]` of group `g` where the groups' counts differ.
    pub fn restore(
        &mut self,
        steps: u64,
        group_steps: Option<&[u64]>,
        tensors: &[(String, Vec<T>)],
    ) -> Result<()> {
        if let Some(counts) = group_steps {
            if counts.len() != self.groups.len() {
                return Err(Error::Config(format!(
                    "the state counts the updates of {} optimizer groups; the model has {}",
                    counts.len(),
                    self.groups.len()
                )));
            }
        }
        let wanted: Vec<(usize, String, bool)> = self
            .state()
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (i, name.clone(), name.ends_with("exp_avg_sq")))
            .collect();
        let per_group = wanted.len() / self.groups.len().max(1);
        for (i, name, second) in wanted {
            let Some((_, data)) = tensors.iter().find(|(n, _)| *n == name) else {
                return Err(Error::Config(format!("optimizer state lacks `{name}`")));
            };
            let state = &mut self.groups[i / per_group.max(1)];
            if data.len() != state.first.len() {
                return Err(Error::shape(
                    "optimizer state",
                    state.first.len(),
                    data.len(),
                ));
            }
            if second {
                state.second.clone_from(data);
            } else {
                state.first.clone_from(data);
            }
        }
        for (g, state) in self.groups.iter_mut().enumerate() {
            state.step = group_steps.and_then(|c| c.get(g).copied()).unwrap_or(steps);
        }
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
