//! The latent-space explorer's questions, after Kingma's "Digit Fantasies": what the model is,
//! the image at a latent point, a drawing's encoding, the decoded 2-D manifold. Each input is
//! checked against the model first. `vae serve` answers them over HTTP and an exported page in
//! WebAssembly, so both refuse the same inputs with the same words.

use crate::config::{ImageShape, RunConfig};
use crate::data::DatasetSpec;
use crate::error::{Error, Result};
use crate::kernels::rng::{stream, Purpose};
use crate::latent::manifold_points;
use crate::metrics::EpochMetrics;
use crate::model::jmvae::Modality;
use crate::model::{Generative, Model, VaeWorkspace};
use serde::Serialize;

/// Latent coordinates beyond this many prior standard deviations are refused: nothing there was
/// trained, and huge values only probe for overflow.
pub const Z_BOUND: f32 = 10.0;

/// The largest manifold grid, in tiles per side.
pub const MAX_GRID: usize = 40;

/// Importance samples per class when a conditional model guesses a drawing's label.
const LABEL_SAMPLES: usize = 32;

/// A model opened for exploring, with what its page shows about it.
pub struct Explorer {
    /// The run's configuration.
    pub config: RunConfig,
    /// The model.
    pub model: Model<f32>,
    /// A name per label class (the data set's, else the class numbers).
    pub class_names: Vec<String>,
    /// The last epoch's numbers, if the run kept them.
    pub metrics: Option<EpochMetrics>,
    /// Where the model came from, in words.
    pub source: String,
}

/// What the page is told about the model (`GET /api/model`).
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    /// The kind of model, in words ("VAE", "conditional VAE", ...).
    pub kind: String,
    /// The model in one line: kind, networks and likelihood.
    pub description: String,
    /// Dimensions of the latent the sliders move.
    pub latent_dim: usize,
    /// Whether a label is needed to decode.
    pub conditional: bool,
    /// A JMVAE's point for each label: the mean of q(z | y), where the label alone puts an image
    /// (empty for other models).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_points: Vec<Vec<f32>>,
    /// A JMVAE of attributes: their names, and for each the direction μ(e_a) − μ(0) between
    /// the means of q(z | w) with that attribute alone and with none, which its toggle adds to
    /// z or takes away (empty for other models).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attribute_names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[allow(missing_docs)]
    pub attribute_directions: Vec<Vec<f32>>,
    /// Label classes; 0 for an unconditional model.
    pub classes: usize,
    /// A name per class (empty for an unconditional model).
    pub class_names: Vec<String>,
    /// The data set's name.
    pub dataset: String,
    /// The images the model reads.
    pub image: ImageShape,
    /// The last epoch's numbers.
    pub metrics: Option<EpochMetrics>,
    /// Where the model came from.
    pub source: String,
}

/// A drawing's encoding (`POST /api/encode`).
#[derive(Clone, Debug, Serialize)]
pub struct Encoding {
    /// The mean of q(z | x).
    pub mean: Vec<f32>,
    /// Its log-variance.
    pub log_var: Vec<f32>,
    /// The label used: given, or the class the drawing is likeliest under.
    pub label: Option<u8>,
    /// log p(x | y) per class, when the label was guessed.
    pub label_log_likelihoods: Option<Vec<f64>>,
    /// A JMVAE of attributes: the attributes p(w | z) reads at the mean of q(z | x), 0 or 1 each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<u8>>,
    /// The image decoded from the mean.
    pub reconstruction: Vec<f32>,
}

fn bad(message: String) -> Error {
    Error::InvalidArgument(message)
}

impl Explorer {
    /// Opens `model` for exploring; the class names come from the data set's name, without loading
    /// its data.
    pub fn new(
        config: RunConfig,
        model: Model<f32>,
        metrics: Option<EpochMetrics>,
        source: String,
    ) -> Self {
        let class_names = match DatasetSpec::parse(&config.dataset) {
            Ok(DatasetSpec::Named(named)) => {
                named.class_names.iter().map(|s| s.to_string()).collect()
            }
            _ => (0..config.model.classes).map(|c| c.to_string()).collect(),
        };
        Explorer {
            config,
            model,
            class_names,
            metrics,
            source,
        }
    }

    /// What the page shows about the model.
    pub fn info(&self) -> Result<ModelInfo> {
        let m = &self.config.model;
        let (mut label_points, mut attribute_directions) = (Vec::new(), Vec::new());
        if let Model::Jmvae(jmvae) = &self.model {
            let mut ws = VaeWorkspace::default();
            let mut means = Vec::new();
            let count = jmvae.attributes().len();
            if count == 0 {
                let labels: Vec<u8> = (0..m.classes).map(|c| c as u8).collect();
                jmvae.label_means(&mut ws, &labels, &mut means)?;
                label_points = means.chunks_exact(m.latent).map(<[f32]>::to_vec).collect();
            } else {
                // No attribute, then each alone.
                let mut rows = vec![0u8; count * (count + 1)];
                for a in 0..count {
                    rows[(a + 1) * count + a] = 1;
                }
                let w = Modality::Attributes(&rows);
                jmvae.modality_means(&mut ws, w, count + 1, &mut means)?;
                let (none, each) = means.split_at(m.latent);
                attribute_directions = each
                    .chunks_exact(m.latent)
                    .map(|row| row.iter().zip(none).map(|(a, b)| a - b).collect())
                    .collect();
            }
        }
        Ok(ModelInfo {
            kind: m.kind_name(),
            description: m.describe(),
            latent_dim: self.model.latent(),
            conditional: self.model.decoder_classes() > 0,
            label_points,
            attribute_names: m.attributes().to_vec(),
            attribute_directions,
            classes: m.classes,
            class_names: if m.classes > 0 {
                self.class_names.clone()
            } else {
                Vec::new()
            },
            dataset: self.config.dataset.clone(),
            image: m.data_image(),
            metrics: self.metrics,
            source: self.source.clone(),
        })
    }

    /// The images the model decodes to.
    pub fn image(&self) -> ImageShape {
        self.model.config().image
    }

    /// The label as the model needs it: required for a conditional model, refused otherwise (a
    /// JMVAE decodes without one).
    pub fn label(&self, label: Option<i64>) -> Result<Vec<u8>> {
        let classes = self.model.decoder_classes();
        match (classes, label) {
            (0, None) => Ok(Vec::new()),
            (0, Some(_)) => Err(bad("this model is not conditional: omit \"label\"".into())),
            (_, None) => Err(bad(format!(
                "this model is conditional: give a \"label\" in 0..={}",
                classes - 1
            ))),
            (_, Some(l)) => {
                let out_of_range = || bad(format!("label {l} is out of range 0..={}", classes - 1));
                let label = u8::try_from(l).map_err(|_| out_of_range())?;
                self.model
                    .check_labels(&[label], 1)
                    .map_err(|e| bad(e.to_string()))?;
                Ok(vec![label])
            }
        }
    }

    /// Checks a latent point: one value per dimension, each finite and within `Z_BOUND`.
    pub fn check_latent(&self, z: &[f32]) -> Result<()> {
        let latent = self.model.latent();
        if z.len() != latent {
            return Err(bad(format!(
                "\"z\" has {} values; this model's latent has {latent}",
                z.len()
            )));
        }
        if let Some(v) = z.iter().find(|v| !v.is_finite() || v.abs() > Z_BOUND) {
            return Err(bad(format!(
                "latent value {v} is outside [-{Z_BOUND}, {Z_BOUND}]"
            )));
        }
        Ok(())
    }

    /// Checks a drawing: one value in [0, 1] per pixel, row-major and channel-last.
    pub fn check_pixels(&self, pixels: &[f32]) -> Result<()> {
        let shape = self.image();
        if pixels.len() != shape.len() {
            return Err(bad(format!(
                "\"pixels\" has {} values; this model's images are {} ({} values, row-major, channel-last)",
                pixels.len(),
                shape,
                shape.len()
            )));
        }
        if let Some(v) = pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(bad(format!("pixel value {v} is outside [0, 1]")));
        }
        Ok(())
    }

    /// The image at latent point `z` under `labels` (from [`Explorer::label`]), into `out`.
    pub fn decode(
        &self,
        ws: &mut VaeWorkspace<f32>,
        z: &[f32],
        labels: &[u8],
        out: &mut Vec<f32>,
    ) -> Result<()> {
        self.check_latent(z)?;
        self.model
            .decode(ws, z, labels, 1, out)
            .map_err(|e| bad(e.to_string()))
    }

    /// A drawing's encoding and its reconstruction. A conditional model asked without a label
    /// reads the drawing as the class it explains best (log p(x | y) by importance sampling, on
    /// a fixed noise stream, so the same drawing always gets the same answer); a JMVAE reads it
    /// as the label p(y | z) gives at the mean of q(z | x).
    pub fn encode(
        &self,
        ws: &mut VaeWorkspace<f32>,
        pixels: &[f32],
        label: Option<i64>,
    ) -> Result<Encoding> {
        self.check_pixels(pixels)?;
        let guess = self.model.decoder_classes() > 0 && label.is_none();
        let given = if guess {
            Vec::new()
        } else {
            self.label(label)?
        };
        let failed = |e: Error| bad(e.to_string());
        let (labels, scores) = if guess {
            let mut rng = stream(0, Purpose::Evaluate, &[]);
            let mut scores = Vec::new();
            self.model
                .class_log_likelihoods(ws, pixels, LABEL_SAMPLES, &mut rng, &mut scores)
                .map_err(failed)?;
            let best = scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(c, _)| c);
            (vec![best as u8], Some(scores))
        } else {
            (given, None)
        };
        let latent = self.model.latent();
        let mut posterior = Vec::new();
        self.model
            .encode(ws, pixels, &labels, 1, &mut posterior)
            .map_err(failed)?;
        let (mean, log_var) = posterior.split_at(latent);
        let mut reconstruction = Vec::new();
        self.model
            .decode(ws, mean, &labels, 1, &mut reconstruction)
            .map_err(failed)?;
        let (label, attributes) = match &self.model {
            Model::Jmvae(jmvae) => {
                let mut read = Vec::new();
                jmvae.infer(ws, pixels, 1, &mut read).map_err(failed)?;
                if jmvae.attributes().is_empty() {
                    (read.first().copied(), None)
                } else {
                    (None, Some(read))
                }
            }
            _ => (labels.first().copied(), None),
        };
        Ok(Encoding {
            mean: mean.to_vec(),
            log_var: log_var.to_vec(),
            label,
            label_log_likelihoods: scores,
            attributes,
            reconstruction,
        })
    }

    /// The decoded manifold of a 2-D latent: `grid x grid` images, row by row, from the top
    /// left (tiles spaced by the inverse Gaussian CDF, as in Kingma & Welling's Fig. 4).
    pub fn manifold(
        &self,
        ws: &mut VaeWorkspace<f32>,
        grid: usize,
        label: Option<i64>,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        if self.model.latent() != 2 {
            return Err(bad(format!(
                "the manifold pad needs a 2-D latent; this model has {}",
                self.model.latent()
            )));
        }
        if !(2..=MAX_GRID).contains(&grid) {
            return Err(bad(format!("grid {grid} must be between 2 and {MAX_GRID}")));
        }
        let label = self.label(label)?;
        crate::memory::decoding(self.model.config(), grid * grid)
            .check_available()
            .map_err(|e| bad(e.to_string()))?;
        let z = manifold_points(grid, 2, (0, 1)).map_err(|e| bad(e.to_string()))?;
        let labels = label.first().map_or(Vec::new(), |&l| vec![l; grid * grid]);
        self.model.decode(ws, &z, &labels, grid * grid, out)
    }
}
