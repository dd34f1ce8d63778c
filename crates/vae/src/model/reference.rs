//! The reference classifier: a network (dense layers, or convolutions then dense layers) trained
//! with labels on real images, used to check what a conditional model generates ("is a sample
//! drawn as a 7 read as a 7?") and as the feature space of the Fréchet distance. It shares the
//! classifier network with M2 and trains through the same loop.

use super::classifier::{argmax_rows, Classifier};
use super::Trainable;
use crate::batch::{check_label_range, mismatches, Batch};
use crate::config::ClassifierConfig;
use crate::error::{Error, Result};
use crate::kernels::loss::cross_entropy_grad;
use crate::kernels::rng::{stream, Purpose, Rng};
use crate::loss_terms::LossTerms;
use crate::nn::{NetworkBuffers, ParamBuilder, Parameters};
use crate::scalar::Scalar;

/// The classifier that reads generated images: how often a conditional model's samples are read as
/// the label they were drawn with.
#[derive(Clone, Debug)]
pub struct ReferenceClassifier<T> {
    config: ClassifierConfig,
    pub(crate) params: Parameters<T>,
    pub(crate) net: Classifier,
}

/// The reference classifier's buffers, reused across batches.
#[derive(Clone, Debug, Default)]
pub struct ClassifierWorkspace<T> {
    buffers: NetworkBuffers<T>,
    log_probs: Vec<T>,
    d_logits: Vec<T>,
}

impl<T: Scalar> ReferenceClassifier<T> {
    /// Weights under `classifier.`, drawn from the stream `(seed, Init)`.
    pub fn new(config: &ClassifierConfig, seed: u64) -> Result<Self> {
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let net = Classifier::new(
            &mut b.pp("classifier"),
            &config.image.network_input(&config.layers, 0),
            &config.layers,
            config.classes,
        )?;
        Ok(ReferenceClassifier {
            config: config.clone(),
            params,
            net,
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// The most probable class of each image of `x [rows, pixels]`.
    pub fn predict(
        &self,
        ws: &mut ClassifierWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        predict(&self.net, self.params.values(), ws, x, rows, out)
    }
}

impl<T: Scalar> ReferenceClassifier<T> {
    /// The penultimate layer's values (the last hidden layer, after its activation) for each
    /// image of `x [rows, pixels]`, `[rows, width]` into `out`: the feature space the Fréchet
    /// distance compares images in. Returns the width.
    pub fn features(
        &self,
        ws: &mut ClassifierWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<usize> {
        let net = self.net.network();
        net.forward(self.params.values(), x, rows, &mut ws.buffers)?;
        let features = ws.buffers.penultimate().ok_or_else(|| {
            Error::Config(
                "the reference classifier has no hidden layer to take features from".into(),
            )
        })?;
        out.clear();
        out.extend_from_slice(features);
        Ok(features.len() / rows.max(1))
    }
}

fn predict<T: Scalar>(
    net: &Classifier,
    values: &[T],
    ws: &mut ClassifierWorkspace<T>,
    x: &[T],
    rows: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    net.forward(values, x, rows, &mut ws.buffers, &mut ws.log_probs)?;
    out.clear();
    out.extend(argmax_rows(&ws.log_probs, net.classes()));
    Ok(())
}

/// Σ −log q(y | x) over the batch, with errors counted; the gradient accumulated into `grads`
/// when given.
pub(crate) fn cross_entropy<T: Scalar>(
    net: &Classifier,
    values: &[T],
    ws: &mut ClassifierWorkspace<T>,
    batch: &Batch<'_, T>,
    grads: Option<&mut [T]>,
) -> Result<LossTerms> {
    let (rows, classes) = (batch.rows, net.classes());
    if batch.labels.len() != rows {
        return Err(Error::shape("batch labels", rows, batch.labels.len()));
    }
    check_label_range(batch.labels, classes)?;
    let mut predicted = Vec::with_capacity(rows);
    predict(net, values, ws, batch.x, rows, &mut predicted)?;
    let mut terms = LossTerms {
        images: rows,
        classified: rows,
        ..LossTerms::default()
    };
    cross_entropy_grad(
        &ws.log_probs,
        batch.labels,
        classes,
        &mut terms.classification,
        &mut ws.d_logits,
    );
    terms.errors = mismatches(&predicted, batch.labels);
    if let Some(grads) = grads {
        let ClassifierWorkspace {
            buffers, d_logits, ..
        } = ws;
        net.backward(values, grads, batch.x, rows, buffers, d_logits)?;
    }
    Ok(terms)
}

impl<T: Scalar> Trainable<T> for ReferenceClassifier<T> {
    type Workspace = ClassifierWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    fn held_out_loss(
        &self,
        ws: &mut ClassifierWorkspace<T>,
        batch: &Batch<'_, T>,
        _samples: usize,
        _rng: &mut Rng,
    ) -> Result<LossTerms> {
        cross_entropy(&self.net, self.params.values(), ws, batch, None)
    }
}
