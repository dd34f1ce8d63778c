//! The memory a model will take, planned from its configuration before anything is allocated.
//!
//! A layer list, a flag or a `config.json` can ask for more memory than the machine has, and
//! whether it does depends on activations and workspaces, not on parameters alone. [`training`]
//! adds up what one training step holds, consumer by consumer: the parameters with their
//! gradients, the optimizer's moments and the forward pass's transposed weight copies, and for
//! every network the rows it runs (a minibatch, times the samples or classes each image is
//! expanded to) times what each layer keeps for the backward pass (its output; a convolution's
//! receptive fields), the gradient buffers and the head; and the copies a checkpoint's save
//! makes. [`MemoryPlan::check`] refuses a plan
//! above a bound: the memory the system says is available, the process's address-space limit
//! (`ulimit -v`), or one the user sets; the error names the largest consumer.

use crate::config::{ImageShape, ModelConfig, ModelKind, ObjectiveKind, RunConfig};
use crate::error::{Error, Result};
use crate::nn::LayerSpec;

const F32: u128 = 4;

/// The most bytes a training step's decoder passes take at once when an image is expanded to
/// many latent samples (`--samples`, `--k`): above it the samples are decoded in chunks, as
/// scoring decodes its importance samples, so the documented maximum runs in bounded memory.
pub const SAMPLE_CHUNK_BYTES: u128 = 256 << 20;

/// Bytes one decoded row (one latent sample of one image) takes in a training step: the
/// decoder's kept activations and gradient buffers, the likelihood's per-pixel passes, and the
/// sample's noise and latent point.
pub fn decoder_row_bytes(model: &ModelConfig) -> u128 {
    let pixels = model.image.len() as u128;
    network(
        &model.decoder,
        vec![model.decoder_input()],
        pixels,
        1,
        Some(model.image),
    )
    .saturating_add(pixels.saturating_mul(3 * F32))
    .saturating_add((model.latent as u128).saturating_mul(3 * F32))
}

/// How many of `samples` latent samples per image a training step decodes at once for `rows`
/// rows: all of them while they fit in `budget` bytes (by default [`SAMPLE_CHUNK_BYTES`]), else
/// as many as fit (at least one). Every run the literature describes decodes in one chunk, so
/// its numbers do not depend on this.
pub fn samples_per_chunk(model: &ModelConfig, samples: usize, rows: usize, budget: u128) -> usize {
    let per_sample = decoder_row_bytes(model).saturating_mul(rows.max(1) as u128);
    let fit = budget / per_sample.max(1);
    (fit.min(samples as u128) as usize).max(1)
}

/// Bytes by consumer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryPlan {
    /// What the plan is for, as the refusal names it: "a training step of this model".
    pub task: String,
    /// (consumer, bytes), in the order planned.
    pub parts: Vec<(String, u128)>,
}

impl MemoryPlan {
    /// The bytes of every consumer together.
    pub fn total(&self) -> u128 {
        self.parts.iter().map(|(_, b)| b).sum()
    }

    /// Refuses the plan when it needs more than the machine's default bound ([`default_limit`]);
    /// accepts it where no bound is known.
    pub fn check_available(&self) -> Result<()> {
        match default_limit() {
            Some((limit, what)) => self.check(limit, what),
            None => Ok(()),
        }
    }

    /// The consumer that takes the most.
    pub fn largest(&self) -> Option<&(String, u128)> {
        self.parts.iter().max_by_key(|(_, b)| *b)
    }

    /// Refuses the plan when it needs more than `limit` bytes (`what` says where the limit comes
    /// from), naming its largest consumer.
    pub fn check(&self, limit: u64, what: &str) -> Result<()> {
        let total = self.total();
        if total <= u128::from(limit) {
            return Ok(());
        }
        let (name, bytes) = self.largest().cloned().unwrap_or_default();
        Err(Error::InvalidArgument(format!(
            "{} needs about {}, most of it {name} ({}), more than the {} {what}: use a smaller batch, fewer samples or smaller layers",
            self.task,
            human(total),
            human(bytes),
            human(u128::from(limit)),
        )))
    }
}

/// Bytes as a person reads them: `1.5 GiB`, `384 MiB`, `12 KiB`.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What one training step of `config`'s model holds at once, by consumer. Sizes that overflow
/// count as `u128::MAX` bytes, which no limit admits.
pub fn training(config: &RunConfig) -> MemoryPlan {
    let model = &config.model;
    let train = &config.train;
    let batch = train.batch_size as u128;
    let samples = train.samples as u128;
    let classes = model.classes as u128;
    let mut plan = MemoryPlan {
        task: "a training step of this model".into(),
        ..MemoryPlan::default()
    };
    // Parameters, their gradients, Adam's two moments and the forward pass's transposed copies.
    let parameters = model.parameter_count().map_or(u128::MAX, |p| p as u128);
    plan.parts.push((
        "parameters, gradients, optimizer moments and weight copies".into(),
        parameters.saturating_mul(5 * F32),
    ));
    // A checkpoint's save serializes the weights and the optimizer's moments: a copy of each
    // tensor and the file's bytes.
    plan.parts.push((
        "checkpoint serialization".into(),
        parameters.saturating_mul(3 * 2 * F32),
    ));
    let image = model.image;
    let pixels = image.len() as u128;
    if let Some(draw) = &model.draw {
        // DRAW keeps every step of every sample row for backpropagation through time.
        let rows = batch.saturating_mul(samples);
        plan.parts.push((
            "painting steps kept for backpropagation through time".into(),
            rows.saturating_mul(draw.steps as u128)
                .saturating_mul(draw_step_values(model, true))
                .saturating_mul(F32),
        ));
        plan.parts.push((
            "per-image buffers".into(),
            rows.saturating_mul(draw_row_values(model))
                .saturating_mul(F32),
        ));
        return plan;
    }
    // M2 runs every unlabelled image under each class, beside the labelled ones.
    let encoder_rows = if model.kind == ModelKind::M2 {
        let labelled = train.labelled_per_batch.map_or(batch, |l| l as u128);
        batch.saturating_mul(classes).saturating_add(labelled)
    } else {
        batch
    };
    // Samples are decoded in chunks, except by the two-layer model, which decodes them at once.
    let decoded_samples = if model.top.is_some() {
        samples
    } else {
        let rows = usize::try_from(encoder_rows).unwrap_or(usize::MAX);
        samples.min(samples_per_chunk(model, train.samples, rows, SAMPLE_CHUNK_BYTES) as u128)
    };
    let mut decoder_rows = encoder_rows.saturating_mul(decoded_samples);
    // A VAE-GAN keeps two decoder passes (z and z_p) and three discriminator passes (x, x̃,
    // x_p) for one backward pass, and every gradient of its first phase for the later ones.
    let vae_gan = model.kind == ModelKind::VaeGan;
    if vae_gan {
        decoder_rows = decoder_rows.saturating_mul(2);
        plan.parts.push((
            "gradients kept between phases".into(),
            parameters.saturating_mul(F32),
        ));
    }
    if train.objective == ObjectiveKind::Iwae {
        // Every sample's log-weight and normalised weight, whatever the chunks.
        plan.parts.push((
            "importance weights".into(),
            encoder_rows.saturating_mul(samples).saturating_mul(2 * F32),
        ));
    }
    let heads = if model.kind == ModelKind::Ae { 1 } else { 2 };
    plan.parts.push((
        "encoder activations".into(),
        network(
            &model.encoder,
            model.encoder_input_shape(),
            model.latent as u128 * heads,
            encoder_rows,
            None,
        ),
    ));
    plan.parts.push((
        "decoder activations".into(),
        network(
            &model.decoder,
            vec![model.decoder_input()],
            pixels,
            decoder_rows,
            Some(image),
        ),
    ));
    // The likelihood's per-pixel passes: targets, probabilities and the logits' gradient.
    plan.parts.push((
        "reconstruction targets and gradients".into(),
        decoder_rows.saturating_mul(pixels).saturating_mul(3 * F32),
    ));
    if let Some(discriminator) = &model.discriminator {
        // A GAN's discriminator keeps one pass of the batch at a time for its backward pass.
        plan.parts.push((
            "discriminator activations".into(),
            network(
                discriminator,
                image.network_input(discriminator, 0),
                1,
                batch.saturating_mul(if vae_gan { 3 } else { 1 }),
                None,
            ),
        ));
    }
    if let Some(classifier) = &model.classifier {
        plan.parts.push((
            "classifier activations".into(),
            network(
                classifier,
                image.network_input(classifier, 0),
                classes,
                batch.saturating_mul(2),
                None,
            ),
        ));
    }
    if let Some(modality) = &model.modality {
        // JMVAE: q(z | x) beside the joint encoder, q(z | w) per image, p(w | z) per sample.
        plan.parts.push((
            "unimodal encoders and label decoder activations".into(),
            network(
                &model.encoder,
                image.network_input(&model.encoder, 0),
                2 * model.latent as u128,
                batch,
                None,
            )
            .saturating_add(network(
                &modality.encoder,
                vec![model.classes],
                2 * model.latent as u128,
                batch,
                None,
            ))
            .saturating_add(network(
                &modality.decoder,
                vec![model.latent],
                classes,
                batch.saturating_mul(samples),
                None,
            )),
        ));
    }
    if let Some(top) = &model.top {
        plan.parts.push((
            "top layer activations".into(),
            network(
                &top.encoder,
                vec![model.latent],
                2 * top.latent as u128,
                decoder_rows,
                None,
            )
            .saturating_add(network(
                &top.prior,
                vec![top.latent],
                2 * model.latent as u128,
                decoder_rows,
                None,
            )),
        ));
    }
    plan
}

/// Values one DRAW row keeps per step: the canvas, the error image, the encoder's input, both
/// LSTMs' gates and states, the posterior, noise and z_t, the write's output, the grids and their
/// products' intermediates; with `backward`, the gradients kept per step.
pub fn draw_step_values(model: &ModelConfig, backward: bool) -> u128 {
    let Some(draw) = &model.draw else { return 0 };
    let image = model.image;
    let (pixels, channels) = (image.len() as u128, image.channels as u128);
    let (h, l) = (draw.lstm as u128, model.latent as u128);
    let (read, write) = (
        draw.read_width(image) as u128,
        draw.write_width(image) as u128,
    );
    let side = (image.height + image.width) as u128;
    let grids = draw.attention.map_or(0, |a| {
        let (r, w) = (a.read as u128, a.write as u128);
        pixels
            + 2 * (6 + r * side)
            + 2 * image.height as u128 * r * channels
            + w * image.width as u128 * channels
    });
    // The encoder's input [read, h_dec]; gates, cells and outputs of both LSTMs; q, ε and z.
    let forward = pixels + read + h + 12 * h + 4 * l + write + grids;
    let kept = if backward {
        8 * h + 2 * l + write + 10
    } else {
        0
    };
    forward.saturating_add(kept)
}

/// Values one DRAW row holds once, whatever the steps: its image, the gradients of the step
/// being back-propagated, the likelihood's passes.
pub fn draw_row_values(model: &ModelConfig) -> u128 {
    let Some(draw) = &model.draw else { return 0 };
    let pixels = model.image.len() as u128;
    let (h, l) = (draw.lstm as u128, model.latent as u128);
    6 * pixels + draw.read_width(model.image) as u128 + 7 * h + l * draw.steps as u128 + 2 * l
}

/// What decoding `rows` latent points at once holds: a picture's decoder pass (the decoder's
/// buffers, and the images decoded).
pub fn decoding(model: &ModelConfig, rows: usize) -> MemoryPlan {
    let rows = rows as u128;
    let pixels = model.image.len() as u128;
    if model.draw.is_some() {
        // Two slots of steps suffice to decode; the canvas of every step when pictured.
        let steps = model.draw.as_ref().map_or(0, |d| d.steps as u128 + 1);
        return MemoryPlan {
            task: format!("decoding {rows} images at once"),
            parts: vec![
                (
                    "painting steps".into(),
                    rows.saturating_mul(steps)
                        .saturating_mul(draw_step_values(model, false))
                        .saturating_mul(F32),
                ),
                (
                    "decoded images".into(),
                    rows.saturating_mul(pixels).saturating_mul(2 * F32),
                ),
            ],
        };
    }
    MemoryPlan {
        task: format!("decoding {rows} images at once"),
        parts: vec![
            (
                "decoder activations".into(),
                network(
                    &model.decoder,
                    vec![model.decoder_input()],
                    pixels,
                    rows,
                    Some(model.image),
                ),
            ),
            (
                "decoded images".into(),
                rows.saturating_mul(pixels).saturating_mul(2 * F32),
            ),
        ],
    }
}

/// What scoring holds: `images` images encoded at once, `rows` latent samples decoded at once,
/// and `k` log-weights per image of the chunk (kept in f64).
pub fn scoring(model: &ModelConfig, images: usize, rows: usize, k: usize) -> MemoryPlan {
    let heads = if model.kind == ModelKind::Ae { 1 } else { 2 };
    let encoder = network(
        &model.encoder,
        model.encoder_input_shape(),
        model.latent as u128 * heads,
        images as u128,
        None,
    );
    let mut plan = decoding(model, rows);
    plan.task = format!("scoring with {k} importance samples");
    if model.draw.is_some() {
        plan.parts.push((
            "per-image buffers".into(),
            (rows as u128)
                .saturating_mul(draw_row_values(model))
                .saturating_mul(F32),
        ));
    }
    plan.parts.push(("encoder activations".into(), encoder));
    plan.parts.push((
        "log-weights".into(),
        (images as u128).saturating_mul(k as u128).saturating_mul(8),
    ));
    plan
}

/// Bytes a network holds for `rows` rows in a training step: its input, each product's output
/// and a convolution's receptive fields (kept for the backward pass), an activation's output
/// where it follows no product (a chain of them in a row keeps its output and its derivatives,
/// however long), two gradient buffers of its widest layer, and the head of `head` values (none
/// when the body ends on `image`'s shape). An activation after a product is fused into it, and
/// flatten and reshape only relabel the shape: they hold nothing.
fn network(
    layers: &[LayerSpec],
    input: Vec<usize>,
    head: u128,
    rows: u128,
    image: Option<ImageShape>,
) -> u128 {
    let values = |shape: &[usize]| shape.iter().map(|&d| d as u128).product::<u128>();
    let mut shape = input;
    let mut per_row = values(&shape);
    let mut widest = per_row;
    // Whether the layer before is a product with no activation fused yet; how many standalone
    // activations are in the current run.
    let (mut fusable, mut run) = (false, 0usize);
    for layer in layers {
        let Ok(plan) = layer.plan(&shape) else {
            // A list that cannot work is refused when the model is built, naming the layer.
            break;
        };
        let out = values(&plan.shape);
        if layer.activation().is_some() {
            if fusable {
                fusable = false;
            } else {
                run += 1;
                // The first keeps its output; the second turns them into a chain that also
                // keeps the derivatives; the rest are applied in place.
                if run <= 2 {
                    per_row = per_row.saturating_add(out);
                }
            }
        } else if matches!(layer, LayerSpec::BatchNorm { .. }) {
            // Its output; an activation after it is fused into its output pass.
            per_row = per_row.saturating_add(out);
            (fusable, run) = (true, 0);
        } else if plan.geometry.is_some() || matches!(layer, LayerSpec::Linear { .. }) {
            per_row = per_row.saturating_add(out);
            if let Some(g) = plan.geometry {
                let fields = [g.out_height, g.out_width, g.channels, g.kernel, g.kernel]
                    .iter()
                    .map(|&d| d as u128)
                    .product::<u128>();
                per_row = per_row.saturating_add(fields);
            }
            (fusable, run) = (true, 0);
        } else {
            // A view: flatten or reshape.
            (fusable, run) = (false, 0);
        }
        widest = widest.max(out);
        shape = plan.shape;
    }
    let ends_on_image = image.is_some_and(|i| shape == [i.height, i.width, i.channels]);
    if !ends_on_image {
        per_row = per_row.saturating_add(head);
        widest = widest.max(head);
    }
    per_row = per_row.saturating_add(widest.saturating_mul(2));
    rows.saturating_mul(per_row).saturating_mul(F32)
}

/// The bound a plan is checked against when the user sets none: the memory the system says is
/// available (`MemAvailable`), or what is left of the process's address-space limit
/// (`ulimit -v`) if that is lower; `None` where neither is known.
pub fn default_limit() -> Option<(u64, &'static str)> {
    let available =
        crate::machine::available_bytes().map(|b| (b, "of memory available (MemAvailable)"));
    let address =
        crate::machine::address_space_left().map(|b| (b, "of address space left (ulimit -v)"));
    match (available, address) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Parses a size written as a person writes it: `4G`, `512M`, `1.5GiB`, `2000000000`.
///
/// ```
/// assert_eq!(vae::memory::parse_size("4G")?, 4 << 30);
/// assert_eq!(vae::memory::parse_size("1.5GiB")?, 3 << 29);
/// assert!(vae::memory::parse_size("lots").is_err());
/// # Ok::<(), vae::Error>(())
/// ```
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(Error::InvalidArgument(format!(
                "`{text}` is not a size (write for example 4G, 512M or a number of bytes)"
            )))
        }
    };
    let value: f64 = number.parse().map_err(|_| {
        Error::InvalidArgument(format!(
            "`{text}` is not a size (write for example 4G, 512M or a number of bytes)"
        ))
    })?;
    let bytes = value * scale;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(Error::InvalidArgument(format!(
            "`{text}` is not a usable size"
        )));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_written() {
        assert_eq!(parse_size("4G").ok(), Some(4 << 30));
        assert_eq!(parse_size("512MiB").ok(), Some(512 << 20));
        assert_eq!(parse_size("1.5g").ok(), Some(3 << 29));
        assert_eq!(parse_size("2000").ok(), Some(2000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1G").is_err());
    }

    #[test]
    fn bytes_print_in_units() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(384 << 20), "384 MiB");
    }
}
