//! The joint multimodal VAE of Suzuki, Nakayama & Matsuo 2016 ("Joint multimodal learning with
//! deep generative models"): an image x and its label w share one latent z,
//!
//! ```text
//! p(x, w, z) = p(x | z) p(w | z) N(z; 0, I)        q(z | x, w),  q(z | x),  q(z | w)
//! ```
//!
//! The joint encoder q(z | x, w) is trained with the ELBO of (x, w); JMVAE-kl (their Sec. 3.2)
//! adds α (KL(q(z | x, w) || q(z | x)) + KL(q(z | x, w) || q(z | w))), which pulls the unimodal
//! encoders toward it, so that either modality alone finds the joint representation: an image
//! gives its label through q(z | x) and p(w | z), a label gives images through q(z | w) and p(x
//! | z). What it minimises is in `objective::joint`; here are its networks and its scores.
//!
//! The label is data here, not a condition: p(x | z) reads z alone. As any model of the family,
//! `encode` and `decode` are q(z | x) and p(x | z), and `score` is log p(x) importance-sampled
//! from q(z | x), the paper's log p(x); [`Jmvae::joint_scores`] adds log p(x, w) and log p(x |
//! w).

use super::classifier::argmax_rows;
use super::parts::{
    check_images, check_labels, check_samples, checked_samples, decode_rows, networks, LabelJoin,
};
use super::vae::{MAX_LOG_WEIGHTS, SCORE_ROWS};
use super::workspace::{importance_weighted_log_likelihood, score_terms};
use super::{Classifier, Decoder, Encoder, Generative, ImageScore, Trainable, VaeWorkspace};
use crate::batch::{mismatches, Batch};
use crate::config::{LabelModality, ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::gaussian::{standard_normal_log_prob, DiagonalGaussian};
use crate::kernels::rng::{fill_standard_normal, stream, Purpose, Rng};
use crate::kernels::{elementwise, loss, rows};
use crate::loss_terms::LossTerms;
use crate::nn::{ParamBuilder, Parameters};
use crate::scalar::Scalar;

/// The JMVAE: joint encoder `encoder.`, image decoder `decoder.`, and `image_encoder.`,
/// `label_encoder.`, `label_decoder.` in one parameter store.
#[derive(Clone, Debug)]
pub struct Jmvae<T> {
    pub(crate) config: ModelConfig,
    pub(crate) params: Parameters<T>,
    /// q(z | x, w), reading the image with the one-hot label as a conditional VAE's encoder does.
    pub(crate) joint: Encoder,
    /// p(x | z).
    pub(crate) decoder: Decoder,
    /// q(z | x): the joint encoder's layer list reading the image alone.
    pub(crate) image_encoder: Encoder,
    /// q(z | w), reading the one-hot label.
    pub(crate) label_encoder: Encoder,
    /// p(w | z): a softmax over the classes.
    pub(crate) label_decoder: Classifier,
}

/// Per-image numbers of a JMVAE on an image and its label, in nats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JointScore {
    /// log p(x, w), importance-sampled from q(z | x, w).
    pub joint: f64,
    /// log p(w), importance-sampled from q(z | w).
    pub label: f64,
}

impl JointScore {
    /// log p(x | w) = log p(x, w) − log p(w).
    pub fn conditional(&self) -> f64 {
        self.joint - self.label
    }
}

/// A batch's w: the labels (one-hot, a softmax p(w | z)) or binary attribute rows `[rows,
/// attributes]` of 0 or 1 (independent Bernoulli p(w | z)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modality<'a> {
    /// A label per row.
    Labels(&'a [u8]),
    /// The attributes of each row, one after another.
    Attributes(&'a [u8]),
}

impl<'a> Modality<'a> {
    /// The values: a label per row, or every row's attributes.
    pub fn values(&self) -> &'a [u8] {
        match *self {
            Modality::Labels(values) | Modality::Attributes(values) => values,
        }
    }

    /// The same kind of w with other values.
    pub fn with<'b>(&self, values: &'b [u8]) -> Modality<'b> {
        match self {
            Modality::Labels(_) => Modality::Labels(values),
            Modality::Attributes(_) => Modality::Attributes(values),
        }
    }
}

impl<T: Scalar> Jmvae<T> {
    /// A freshly initialised JMVAE; weights drawn from the stream `(seed, Init)`: the joint
    /// encoder and the image decoder as a VAE's, then `image_encoder`, `label_encoder` and
    /// `label_decoder`.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let modality = Self::modality_of(config)?;
        let mut params = Parameters::default();
        let mut rng = stream(seed, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let (joint, decoder) = networks(&mut b, config)?;
        let image_encoder = Encoder::new(
            &mut b.pp("image_encoder"),
            &config.image.network_input(&config.encoder, 0),
            &config.encoder,
            config.latent,
            true,
        )?;
        let label_encoder = Encoder::new(
            &mut b.pp("label_encoder"),
            &[config.joint_width()],
            &modality.encoder,
            config.latent,
            true,
        )?;
        let label_decoder = Classifier::new(
            &mut b.pp("label_decoder"),
            &[config.latent],
            &modality.decoder,
            config.joint_width(),
        )?;
        Ok(Jmvae {
            config: config.clone(),
            params,
            joint,
            decoder,
            image_encoder,
            label_encoder,
            label_decoder,
        })
    }

    fn modality_of(config: &ModelConfig) -> Result<&LabelModality> {
        match (config.kind, &config.modality) {
            (ModelKind::Jmvae, Some(modality)) => Ok(modality),
            _ => Err(Error::Config(format!(
                "a {} is not a JMVAE",
                config.kind_name()
            ))),
        }
    }

    /// The size of z.
    pub fn latent(&self) -> usize {
        self.config.latent
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.config.image.len()
    }

    /// The label's classes.
    pub fn classes(&self) -> usize {
        self.config.classes
    }

    /// Floating-point operations of one image's forward pass through the five networks.
    pub fn forward_flops_per_image(&self) -> f64 {
        let macs = self.joint.network().macs_per_row()
            + self.decoder.network().macs_per_row()
            + self.image_encoder.network().macs_per_row()
            + self.label_encoder.network().macs_per_row()
            + self.label_decoder.network().macs_per_row();
        2.0 * macs as f64
    }

    /// The same model in another precision.
    pub fn cast<U: Scalar>(&self) -> Jmvae<U> {
        Jmvae {
            config: self.config.clone(),
            params: self.params.cast(),
            joint: self.joint.clone(),
            decoder: self.decoder.clone(),
            image_encoder: self.image_encoder.clone(),
            label_encoder: self.label_encoder.clone(),
            label_decoder: self.label_decoder.clone(),
        }
    }

    /// Values of w per row: the classes of a label, or the attributes.
    pub fn width(&self) -> usize {
        self.config.joint_width()
    }

    /// The binary attributes w holds (empty when w is the label).
    pub fn attributes(&self) -> &[String] {
        self.config.attributes()
    }

    /// The index of the attribute `name`, or an error listing the model's attributes.
    pub fn attribute_index(&self, name: &str) -> Result<usize> {
        let names = self.attributes();
        names.iter().position(|a| a == name).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "`{name}` is not one of this JMVAE's attributes: {}",
                names.join(", ")
            ))
        })
    }

    /// A batch's w: its attributes when the model reads attributes, else its labels.
    pub fn modality<'a>(&self, labels: &'a [u8], attributes: &'a [u8]) -> Modality<'a> {
        if self.attributes().is_empty() {
            Modality::Labels(labels)
        } else {
            Modality::Attributes(attributes)
        }
    }

    /// `w` must be what this model reads, for `rows` rows: labels in range, or `rows` attribute
    /// rows of 0 and 1.
    pub(crate) fn check_modality(&self, w: Modality<'_>, rows: usize) -> Result<()> {
        match w {
            Modality::Labels(labels) if self.attributes().is_empty() => {
                check_labels(labels, rows, self.classes())
            }
            Modality::Attributes(values) if !self.attributes().is_empty() => {
                let width = self.width();
                if values.len() != rows * width {
                    return Err(Error::InvalidArgument(format!(
                        "{} attribute values for {rows} rows of the model's {width} attributes",
                        values.len()
                    )));
                }
                if values.iter().any(|&v| v > 1) {
                    return Err(Error::InvalidArgument("attributes are 0 or 1".into()));
                }
                Ok(())
            }
            Modality::Labels(_) => Err(Error::InvalidArgument(format!(
                "this JMVAE reads the attributes {}, not labels",
                self.attributes().join(", ")
            ))),
            Modality::Attributes(_) => Err(Error::InvalidArgument(
                "this JMVAE reads labels, not attributes".into(),
            )),
        }
    }

    /// Images of the model's shape with their w.
    pub(crate) fn check_pairs(&self, x: &[T], w: Modality<'_>, rows: usize) -> Result<()> {
        check_images(x, rows, self.pixels())?;
        self.check_modality(w, rows)
    }

    /// w as the networks read it, `[rows, width]` into `ws.joint.one_hot`: the one-hot labels
    /// or the attributes as 0.0 and 1.0.
    fn fill_modality(&self, ws: &mut VaeWorkspace<T>, w: Modality<'_>) {
        match w {
            Modality::Labels(labels) => {
                rows::one_hot(labels, self.classes(), &mut ws.joint.one_hot)
            }
            Modality::Attributes(values) => {
                ws.joint.one_hot.clear();
                ws.joint
                    .one_hot
                    .extend(values.iter().map(|&v| T::of(f64::from(v))));
            }
        }
    }

    /// q(z | x, w) of the rows, left in `ws.encoder`, its KL to N(0, I) in `ws.kl`; the input
    /// `[x | w]` stays in `ws.encoder_input` for the backward pass, w in `ws.joint.one_hot`.
    pub(crate) fn forward_joint(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        w: Modality<'_>,
        rows: usize,
    ) -> Result<()> {
        self.check_pairs(x, w, rows)?;
        self.fill_modality(ws, w);
        let width = self.width();
        match LabelJoin::encoder(&self.config) {
            LabelJoin::Row(pixels) => {
                rows::append_columns(x, pixels, &ws.joint.one_hot, width, &mut ws.encoder_input)
            }
            LabelJoin::Planes {
                width: values,
                channels,
            } => rows::append_planes(
                x,
                values,
                channels,
                &ws.joint.one_hot,
                width,
                &mut ws.encoder_input,
            ),
        }
        let q = self.joint.forward(
            self.params.values(),
            ws.encoder_input.as_slice(),
            rows,
            &mut ws.encoder,
        )?;
        ws.kl.resize(rows, T::zero());
        q.kl_to_standard_normal(&mut ws.kl);
        Ok(())
    }

    /// q(z | x) of the images, left in `ws.joint.image_encoder`.
    pub(crate) fn forward_image_encoder(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
    ) -> Result<()> {
        check_images(x, rows, self.pixels())?;
        self.image_encoder
            .forward(self.params.values(), x, rows, &mut ws.joint.image_encoder)?;
        Ok(())
    }

    /// q(z | w) of `rows` rows of w, left in `ws.joint.label_encoder`, its input in
    /// `ws.joint.one_hot`.
    pub(crate) fn forward_label_encoder(
        &self,
        ws: &mut VaeWorkspace<T>,
        w: Modality<'_>,
        rows: usize,
    ) -> Result<()> {
        self.check_modality(w, rows)?;
        self.fill_modality(ws, w);
        self.label_encoder.forward(
            self.params.values(),
            ws.joint.one_hot.as_slice(),
            rows,
            &mut ws.joint.label_encoder,
        )?;
        Ok(())
    }

    /// p(w | z) of `z [n, latent]`: the logits kept in `ws.joint.label_decoder` for the backward
    /// pass, and for labels log p(w | z) `[n, classes]` in `ws.joint.log_probs`.
    pub(crate) fn forward_label_decoder(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        n: usize,
    ) -> Result<()> {
        let joint = &mut ws.joint;
        if self.attributes().is_empty() {
            self.label_decoder.forward(
                self.params.values(),
                z,
                n,
                &mut joint.label_decoder,
                &mut joint.log_probs,
            )
        } else {
            self.label_decoder.network().forward(
                self.params.values(),
                z,
                n,
                &mut joint.label_decoder,
            )
        }
    }

    /// −log p(w | z) of the latest `forward_label_decoder`'s `n` rows against `w` (row `i`
    /// reads w's row `i % rows`, w filled into `ws.joint.one_hot`), into `ws.joint.nll`; with
    /// `gradient`, the gradient of that factor times their sum with respect to the logits into
    /// `ws.joint.d_logits`.
    pub(crate) fn label_nll(
        &self,
        ws: &mut VaeWorkspace<T>,
        w: Modality<'_>,
        n: usize,
        gradient: Option<T>,
    ) {
        let joint = &mut ws.joint;
        joint.nll.resize(n, T::zero());
        match w {
            Modality::Labels(labels) => loss::categorical_nll(
                &joint.log_probs,
                labels,
                self.classes(),
                &mut joint.nll,
                gradient.map(|scale| (&mut joint.d_logits, scale)),
            ),
            Modality::Attributes(_) => {
                let width = self.width();
                let grad = gradient.map(|scale| {
                    joint.d_logits.resize(n * width, T::zero());
                    (&mut joint.d_logits[..], scale)
                });
                loss::bernoulli_nll(
                    joint.label_decoder.output(),
                    &joint.one_hot,
                    width,
                    &mut joint.nll,
                    grad,
                );
            }
        }
    }

    /// The means of q(z | w) for each row of `w`, `[rows, latent]` into `out`: where w alone
    /// puts an image in the latent space.
    pub fn modality_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        w: Modality<'_>,
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.forward_label_encoder(ws, w, rows)?;
        out.resize(rows * self.latent(), T::zero());
        DiagonalGaussian::new(ws.joint.label_encoder.output(), self.latent()).means_into(out);
        Ok(())
    }

    /// The means of q(z | y) for each of `labels` (see [`Jmvae::modality_means`]).
    pub fn label_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        labels: &[u8],
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.modality_means(ws, Modality::Labels(labels), labels.len(), out)
    }

    /// Latent points moved along w (the paper's "add a smile", Sec. 4.5): for each row `r`,
    /// `z[r] += amounts[r] · (μ(to[r]) − μ(from[r]))`, where μ(w) is the mean of q(z | w): the
    /// difference between where the two values of w alone put an image.
    pub fn shift(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &mut [T],
        from: Modality<'_>,
        to: Modality<'_>,
        amounts: &[f64],
    ) -> Result<()> {
        let (latent, rows) = (self.latent(), amounts.len());
        if z.len() != rows * latent {
            return Err(Error::shape("rows to move", rows * latent, z.len()));
        }
        if let Some(bad) = amounts.iter().find(|a| !a.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "the amount {bad} to move by is not finite"
            )));
        }
        let (mut start, mut end) = (Vec::new(), Vec::new());
        self.modality_means(ws, from, rows, &mut start)?;
        self.modality_means(ws, to, rows, &mut end)?;
        // end − start, as end + (−start).
        elementwise::scale(&mut start, -T::one());
        elementwise::add_assign(&mut end, &start);
        let amounts: Vec<T> = amounts.iter().map(|&a| T::of(a)).collect();
        rows::add_scaled_rows(z, &end, latent, &amounts);
        Ok(())
    }

    /// `shift` between labels.
    pub fn shift_along_labels(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &mut [T],
        from: &[u8],
        to: &[u8],
        amounts: &[f64],
    ) -> Result<()> {
        self.shift(ws, z, Modality::Labels(from), Modality::Labels(to), amounts)
    }

    /// p(w | z) at the mean of q(z | x) for the images of `x [rows, pixels]`, its logits left in
    /// `ws.joint.label_decoder` (and log-probabilities in `ws.joint.log_probs` for labels).
    fn read_modality(&self, ws: &mut VaeWorkspace<T>, x: &[T], rows: usize) -> Result<()> {
        let mut means = std::mem::take(&mut ws.means);
        let result = self
            .encode_means(ws, x, &[], rows, &mut means)
            .and_then(|()| self.forward_label_decoder(ws, &means, rows));
        ws.means = means;
        result
    }

    /// The label each image of `x [rows, pixels]` is read as: argmax_w p(w | z) at the mean of
    /// q(z | x).
    pub fn infer_labels(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if !self.attributes().is_empty() {
            return Err(Error::InvalidArgument(
                "this JMVAE reads attributes, not labels".into(),
            ));
        }
        self.read_modality(ws, x, rows)?;
        out.clear();
        out.extend(argmax_rows(&ws.joint.log_probs, self.classes()));
        Ok(())
    }

    /// What each image of `x [rows, pixels]` is read as: its label, or each attribute it has
    /// (p(w_a | z) > ½) at the mean of q(z | x); `[rows]` or `[rows, attributes]` into `out`.
    pub fn infer(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        rows: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.attributes().is_empty() {
            return self.infer_labels(ws, x, rows, out);
        }
        self.read_modality(ws, x, rows)?;
        out.clear();
        out.extend(
            ws.joint
                .label_decoder
                .output()
                .iter()
                .map(|&l| u8::from(l > T::zero())),
        );
        Ok(())
    }

    /// log p(x, w) from q(z | x, w) and log p(w) from q(z | w), each importance-sampled with `k`
    /// samples, for each image of `x` with its w, appended to `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn joint_scores(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        w: Modality<'_>,
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<JointScore>,
    ) -> Result<()> {
        check_samples(k)?;
        self.forward_joint(ws, x, w, rows)?;
        let proposal = ws.encoder.output().to_vec();
        let joint = self.importance_sample(ws, &proposal, Some(x), Some(w), rows, k, rng)?;
        self.forward_label_encoder(ws, w, rows)?;
        let proposal = ws.joint.label_encoder.output().to_vec();
        let label = self.importance_sample(ws, &proposal, None, Some(w), rows, k, rng)?;
        out.extend(joint.iter().zip(&label).map(|(j, l)| JointScore {
            joint: j.log_likelihood,
            label: l.log_likelihood,
        }));
        Ok(())
    }

    /// Importance sampling of the observed modalities from `proposal` `[rows, 2 latent]`: per
    /// row, the mean of −log p(obs | z) over the `k` samples as `reconstruction` and log (1/k) Σ
    /// p(obs | z) p(z) / q(z) as `log_likelihood` (`kl` left 0), where obs is the image, w, or
    /// both.
    #[allow(clippy::too_many_arguments)]
    fn importance_sample(
        &self,
        ws: &mut VaeWorkspace<T>,
        proposal: &[T],
        x: Option<&[T]>,
        w: Option<Modality<'_>>,
        rows: usize,
        k: usize,
        rng: &mut Rng,
    ) -> Result<Vec<ImageScore>> {
        let (latent, pixels) = (self.latent(), self.pixels());
        let values = self.params.values();
        let q = DiagonalGaussian::new(proposal, latent);
        if let Some(w) = w {
            self.fill_modality(ws, w);
        }
        let block = (SCORE_ROWS / rows.max(1)).clamp(1, k);
        let mut log_weights = vec![T::zero(); checked_samples(rows, k, MAX_LOG_WEIGHTS)?];
        let mut reconstruction = vec![0f64; rows];
        for first in (0..k).step_by(block) {
            let n = block.min(k - first) * rows;
            ws.eps.resize(n * latent, T::zero());
            fill_standard_normal(rng, &mut ws.eps);
            ws.z.resize(n * latent, T::zero());
            q.rsample(&ws.eps, &mut ws.z);
            ws.log_posterior.resize(n, T::zero());
            q.log_prob_of_noise(&ws.eps, &mut ws.log_posterior);
            ws.log_prior.resize(n, T::zero());
            standard_normal_log_prob(&ws.z, latent, &mut ws.log_prior);
            ws.nll.clear();
            ws.nll.resize(n, T::zero());
            if let Some(x) = x {
                self.decoder.forward(values, &ws.z, n, &mut ws.decoder)?;
                self.decoder.likelihood.nll(
                    values,
                    ws.decoder.output(),
                    x,
                    pixels,
                    &mut ws.nll,
                    None,
                );
            }
            if let Some(w) = w {
                let z = std::mem::take(&mut ws.z);
                let result = self.forward_label_decoder(ws, &z, n);
                ws.z = z;
                result?;
                self.label_nll(ws, w, n, None);
                elementwise::add_assign(&mut ws.nll, &ws.joint.nll);
            }
            rows::collect_log_weights(
                &ws.nll,
                &ws.log_prior,
                &ws.log_posterior,
                first,
                k,
                &mut reconstruction,
                &mut log_weights,
            );
        }
        Ok((0..rows)
            .map(|r| ImageScore {
                reconstruction: reconstruction[r] / k as f64,
                kl: 0.0,
                log_likelihood: importance_weighted_log_likelihood(
                    &log_weights[r * k..(r + 1) * k],
                )
                .as_f64(),
            })
            .collect())
    }

    /// `n` images drawn from w: z ~ q(z | w) for each row of `w` (cycled), decoded.
    pub fn sample_given(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        w: Modality<'_>,
        rng: &mut Rng,
        out: &mut Vec<T>,
    ) -> Result<()> {
        let latent = self.latent();
        let mut eps = vec![T::zero(); n * latent];
        fill_standard_normal(rng, &mut eps);
        let per_row = match w {
            Modality::Labels(_) => 1,
            Modality::Attributes(_) => self.width(),
        };
        let wanted: Vec<u8> = w
            .values()
            .iter()
            .copied()
            .cycle()
            .take(n * per_row)
            .collect();
        self.forward_label_encoder(ws, w.with(&wanted), n)?;
        let mut z = vec![T::zero(); n * latent];
        DiagonalGaussian::new(ws.joint.label_encoder.output(), latent).rsample(&eps, &mut z);
        self.decode(ws, &z, &[], n, out)
    }
}

impl<T: Scalar> Trainable<T> for Jmvae<T> {
    type Workspace = VaeWorkspace<T>;

    fn parameters(&self) -> &Parameters<T> {
        &self.params
    }

    fn parameters_mut(&mut self) -> &mut Parameters<T> {
        &mut self.params
    }

    /// The held-out −ELBO of the image alone through q(z | x), and the labels p(w | z) reads
    /// from q(z | x)'s means against the true ones.
    fn held_out_loss(
        &self,
        ws: &mut VaeWorkspace<T>,
        batch: &Batch<'_, T>,
        samples: usize,
        rng: &mut Rng,
    ) -> Result<LossTerms> {
        let mut scores = Vec::with_capacity(batch.rows);
        self.score(ws, batch.x, &[], batch.rows, samples, rng, &mut scores)?;
        let mut terms = score_terms(&scores);
        let truth = self.modality(batch.labels, batch.attributes).values();
        let per_row = if self.attributes().is_empty() {
            1
        } else {
            self.width()
        };
        if truth.len() == batch.rows * per_row {
            let mut predicted = Vec::with_capacity(truth.len());
            self.infer(ws, batch.x, batch.rows, &mut predicted)?;
            terms.classified = truth.len();
            terms.errors = mismatches(&predicted, truth);
        }
        Ok(terms)
    }
}

/// A JMVAE encodes images with q(z | x) and decodes with p(x | z); labels are not read.
impl<T: Scalar> Generative<T> for Jmvae<T> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn encode(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.forward_image_encoder(ws, x, rows)?;
        out.clear();
        out.extend_from_slice(ws.joint.image_encoder.output());
        Ok(())
    }

    fn encode_means(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        self.forward_image_encoder(ws, x, rows)?;
        out.resize(rows * self.latent(), T::zero());
        DiagonalGaussian::new(ws.joint.image_encoder.output(), self.latent()).means_into(out);
        Ok(())
    }

    fn decode(
        &self,
        ws: &mut VaeWorkspace<T>,
        z: &[T],
        _labels: &[u8],
        rows: usize,
        out: &mut Vec<T>,
    ) -> Result<()> {
        decode_rows(
            &self.decoder,
            &self.config,
            self.params.values(),
            ws,
            z,
            &[],
            rows,
            out,
        )
    }

    /// log p(x) importance-sampled from q(z | x) (the paper's log p(x)), with the ELBO terms of
    /// q(z | x); labels are not read.
    #[allow(clippy::too_many_arguments)]
    fn score(
        &self,
        ws: &mut VaeWorkspace<T>,
        x: &[T],
        _labels: &[u8],
        rows: usize,
        k: usize,
        rng: &mut Rng,
        out: &mut Vec<ImageScore>,
    ) -> Result<()> {
        check_samples(k)?;
        self.forward_image_encoder(ws, x, rows)?;
        let proposal = ws.joint.image_encoder.output().to_vec();
        let mut kl = vec![T::zero(); rows];
        DiagonalGaussian::new(&proposal, self.latent()).kl_to_standard_normal(&mut kl);
        let scores = self.importance_sample(ws, &proposal, Some(x), None, rows, k, rng)?;
        out.extend(scores.iter().zip(&kl).map(|(s, kl)| ImageScore {
            kl: kl.as_f64(),
            ..*s
        }));
        Ok(())
    }

    /// `n` images from labels: z ~ q(z | y) for each of `labels` (cycled), decoded; from the
    /// prior N(0, I) when `labels` is empty or the model reads attributes
    /// ([`Jmvae::sample_given`] draws from attributes).
    fn sample(
        &self,
        ws: &mut VaeWorkspace<T>,
        n: usize,
        labels: &[u8],
        rng: &mut Rng,
        out: &mut Vec<T>,
    ) -> Result<()> {
        if labels.is_empty() || !self.attributes().is_empty() {
            let mut z = vec![T::zero(); n * self.latent()];
            fill_standard_normal(rng, &mut z);
            return self.decode(ws, &z, &[], n, out);
        }
        self.sample_given(ws, n, Modality::Labels(labels), rng, out)
    }
}
