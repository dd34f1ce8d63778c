//! The ELBO and the IWAE bound for the VAE with two stochastic layers (`model::Hvae`): both are
//! −Σ_i c_i log w_i in their gradient, with c_i = 1/S (the ELBO's average over S samples) or the
//! normalised importance weights w̃_i (Burda et al. 2015, eq. 14); the model's `backward` takes
//! the c_i. The analytic KL of the one-layer ELBO has no closed form here (p(z1 | z2) is learned),
//! so both objectives estimate every term from the samples.
//!
//! β and KL warm-up weight both layers' KL terms, as Sønderby et al. 2016 warm up deep VAEs: the
//! ELBO's gradient is that of −log p(x | z1) + β (log q − log p(z1, z2)), the IWAE bound's that of
//! its tempered weights (see `model::hierarchical`). Free bits need each dimension's KL, which
//! exists here only as a noisy per-sample estimate; they stay the one-layer model's.

use super::{require_labelled, Elbo, Iwae, LossTerms, Objective, Step};
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::kernels::reduce::normalized_weights;
use crate::kernels::rng::Rng;
use crate::model::{Hvae, VaeWorkspace};
use crate::scalar::Scalar;

impl<T: Scalar> Objective<T, Hvae<T>> for Elbo {
    fn loss_and_grad(
        &self,
        model: &mut Hvae<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        if self.free_bits > 0.0 {
            return Err(Error::InvalidArgument(
                "free bits apply to the one-layer VAE; a two-layer VAE takes β and KL warm-up"
                    .into(),
            ));
        }
        let kl_weight = self.kl_weight_at(step);
        if self.samples == 0 {
            return Err(Error::InvalidArgument(
                "the ELBO needs at least 1 sample".into(),
            ));
        }
        let (x, rows, samples) = (batch.x, batch.rows, self.samples);
        let (reconstruction, kl) = model.forward(
            ws,
            x,
            rows,
            samples,
            rng,
            batch.noise_rows(1).as_ref(),
            kl_weight,
        )?;
        // The c_i live in the workspace's row weights, reused from step to step.
        let mut c = std::mem::take(&mut ws.row_weights);
        c.clear();
        c.resize(samples * rows, T::of(1.0 / samples as f64));
        let result = model.backward(ws, x, rows, &c, T::of(kl_weight));
        ws.row_weights = c;
        result?;
        let per_sample = 1.0 / samples as f64;
        Ok(LossTerms {
            images: rows,
            reconstruction: reconstruction * per_sample,
            kl: kl * per_sample,
            objective: (reconstruction + kl_weight * kl) * per_sample,
            ..LossTerms::default()
        })
    }
}

impl<T: Scalar> Objective<T, Hvae<T>> for Iwae {
    fn loss_and_grad(
        &self,
        model: &mut Hvae<T>,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        step: &Step,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        require_labelled(batch)?;
        let kl_weight = self.kl_weight_at(step);
        if self.k == 0 {
            return Err(Error::InvalidArgument(
                "the IWAE bound needs at least 1 sample".into(),
            ));
        }
        let (x, rows, k) = (batch.x, batch.rows, self.k);
        let (reconstruction, kl) =
            model.forward(ws, x, rows, k, rng, batch.noise_rows(1).as_ref(), kl_weight)?;
        let mut c = std::mem::take(&mut ws.row_weights);
        c.resize(k * rows, T::zero());
        let mut bounds = vec![0f64; rows];
        normalized_weights(&ws.log_weights, rows, &mut c, &mut bounds);
        let result = model.backward(ws, x, rows, &c, T::of(kl_weight));
        ws.row_weights = c;
        result?;
        Ok(LossTerms {
            images: rows,
            reconstruction: reconstruction / k as f64,
            kl: kl / k as f64,
            objective: -bounds.iter().sum::<f64>(),
            ..LossTerms::default()
        })
    }
}
