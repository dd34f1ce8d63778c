//! The pictures of a model, shared by the one-figure commands, `vae train`, the report and the
//! explorer. They read models through their public passes, never training internals.

use crate::data::Split;
use crate::error::{Error, Result};
use crate::kernels::convert::append_grey_levels;
use crate::kernels::rng::{stream, Purpose};
use crate::latent::{
    self, check_dims, interpolate, linspace, manifold_points, pca_2d, select_dims,
    traversal as traversal_points,
};
use crate::metrics::read_metrics;
use crate::model::jmvae::Modality;
use crate::model::Generative;
use crate::model::Model;
use crate::model::VaeWorkspace;
use crate::plot;
use crate::render::{interleave_rows, tile, GridLayout};
use image::{DynamicImage, RgbImage};
use std::path::{Path, PathBuf};

mod arithmetic;
mod draw;

pub use arithmetic::{arithmetic, Exemplars};
pub use draw::{draw_steps, draw_steps_gif};

/// Images per encoder pass when encoding a whole split.
const ENCODE_BATCH: usize = 1000;

/// Grey levels of the chosen images in [0, 1], `[n, pixels]`.
pub fn images(split: &Split, indices: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(indices.len() * split.shape.len());
    for &i in indices {
        append_grey_levels(split.image(i), &mut out);
    }
    out
}

/// The labels of the chosen images.
pub fn labels(split: &Split, indices: &[usize]) -> Vec<u8> {
    indices.iter().map(|&i| split.labels[i]).collect()
}

/// Labels to decode `n` images with: none for an unconditional model; `label` for all of them,
/// or every class in turn, for a conditional one.
pub fn decode_labels(model: &Model<f32>, label: Option<u8>, n: usize) -> Result<Vec<u8>> {
    let classes = model.classes();
    match (classes, label) {
        (0, Some(_)) => Err(Error::InvalidArgument(
            "a label needs a model with classes (cvae, m2 or jmvae); this one has none".into(),
        )),
        (0, None) => Ok(Vec::new()),
        (_, Some(l)) => {
            crate::batch::check_label_range(&[l], classes)?;
            Ok(vec![l; n])
        }
        (_, None) => Ok((0..n).map(|i| (i % classes) as u8).collect()),
    }
}

/// Errors unless `index` names an image of the split.
pub fn check_index(split: &Split, index: usize) -> Result<()> {
    if index >= split.len() {
        return Err(Error::InvalidArgument(format!(
            "image {index} is beyond the {} test images (0..={})",
            split.len(),
            split.len().saturating_sub(1)
        )));
    }
    Ok(())
}

/// The encoder's means for the chosen images, `[n, latent]`.
pub fn encode(model: &Model<f32>, split: &Split, indices: &[usize]) -> Result<Vec<f32>> {
    let mut ws = VaeWorkspace::default();
    let mut means = Vec::with_capacity(indices.len() * model.latent());
    let mut chunk_means = Vec::new();
    for chunk in indices.chunks(ENCODE_BATCH) {
        model.encode_means(
            &mut ws,
            &images(split, chunk),
            &labels(split, chunk),
            chunk.len(),
            &mut chunk_means,
        )?;
        means.extend_from_slice(&chunk_means);
    }
    Ok(means)
}

/// Decodes `z`; `label` conditions every point for a conditional model.
fn decode(model: &Model<f32>, z: &[f32], label: Option<u8>) -> Result<Vec<f32>> {
    let n = z.len() / model.latent();
    let labels = match model.classes() {
        0 => Vec::new(),
        _ => vec![label.unwrap_or(0); n],
    };
    let mut out = Vec::new();
    model.decode(&mut VaeWorkspace::default(), z, &labels, n, &mut out)?;
    Ok(out)
}

/// The largest picture drawn: 2^26 pixels, an 8192 x 8192 grid. Every figure checks its image
/// count against it before decoding anything, so `--n 1000000` is an error, not an abort.
pub const MAX_PICTURE_PIXELS: u64 = 1 << 26;

/// Refuses a picture of `count` images of this model's shape at `scale` over the limit, or
/// whose decoding would need more memory than the machine has available.
pub fn check_picture(model: &Model<f32>, count: usize, scale: u32) -> Result<()> {
    let pixels = (count as u64)
        .checked_mul(model.pixels() as u64)
        .and_then(|p| p.checked_mul(u64::from(scale) * u64::from(scale)));
    match pixels {
        Some(p) if p <= MAX_PICTURE_PIXELS => {
            crate::memory::decoding(model.config(), count).check_available()
        }
        _ => Err(Error::InvalidArgument(format!(
            "a picture of {count} images of {} pixels at scale {scale} is over the limit of {MAX_PICTURE_PIXELS} pixels; ask for fewer images",
            model.pixels()
        ))),
    }
}

fn grid(columns: usize, scale: u32) -> GridLayout {
    GridLayout {
        columns,
        scale,
        separator: 1,
    }
}

/// `n` decoded draws from the prior (of class `label`, or of every class in turn, for a
/// conditional model).
pub fn samples(
    model: &Model<f32>,
    n: usize,
    label: Option<u8>,
    seed: u64,
    columns: usize,
    scale: u32,
) -> Result<DynamicImage> {
    check_picture(model, n, scale)?;
    let labels = decode_labels(model, label, n)?;
    let mut out = Vec::new();
    model.sample(
        &mut VaeWorkspace::default(),
        n,
        &labels,
        &mut stream(seed, Purpose::Sample, &[]),
        &mut out,
    )?;
    tile(&out, model.config().image, grid(columns, scale))
}

/// Each row of chosen test images above the row of their reconstructions.
pub fn reconstructions(
    model: &Model<f32>,
    split: &Split,
    indices: &[usize],
    columns: usize,
    scale: u32,
) -> Result<DynamicImage> {
    check_picture(model, indices.len().saturating_mul(2), scale)?;
    let inputs = images(split, indices);
    let mut outputs = Vec::new();
    model.reconstruct(
        &mut VaeWorkspace::default(),
        &inputs,
        &labels(split, indices),
        indices.len(),
        &mut outputs,
    )?;
    let pairs = interleave_rows(&inputs, &outputs, model.pixels(), columns);
    tile(&pairs, model.config().image, grid(columns, scale))
}

/// The decoded manifold over two latent dimensions (for class `label`, 0 by default, when the
/// model is conditional).
pub fn manifold(
    model: &Model<f32>,
    side: usize,
    dims: (usize, usize),
    label: Option<u8>,
    scale: u32,
) -> Result<DynamicImage> {
    decode_labels(model, label, 1)?;
    check_picture(model, side.saturating_mul(side), scale)?;
    let z = manifold_points(side, model.latent(), dims)?;
    tile(
        &decode(model, &z, label)?,
        model.config().image,
        grid(side, scale),
    )
}

/// How encodings become 2-D points.
#[derive(Clone, Copy, Debug)]
pub enum Projection {
    /// Two chosen dimensions of the means.
    Dims(usize, usize),
    /// The means' first two principal components.
    Pca,
}

/// The encoder means of the first `limit` images of `split`, coloured by label.
pub fn scatter(
    model: &Model<f32>,
    split: &Split,
    limit: usize,
    class_names: &[String],
    projection: Projection,
) -> Result<RgbImage> {
    let indices: Vec<usize> = (0..limit.min(split.len())).collect();
    let means = encode(model, split, &indices)?;
    let labels = &split.labels[..indices.len()];
    let latent = model.latent();
    let (points, title, axes) = match projection {
        Projection::Dims(a, b) => {
            check_dims(latent, &[a, b])?;
            (
                select_dims(&means, latent, (a, b))?,
                format!("encoder means, {} images", indices.len()),
                (format!("z{a}"), format!("z{b}")),
            )
        }
        Projection::Pca => {
            let (points, explained) = pca_2d(&means, latent)?;
            (
                points,
                format!(
                    "encoder means, first two principal components, {} images",
                    indices.len()
                ),
                (
                    format!("PC 1 ({:.0}% of variance)", 100.0 * explained[0]),
                    format!("PC 2 ({:.0}%)", 100.0 * explained[1]),
                ),
            )
        }
    };
    plot::scatter(&points, labels, class_names, &title, (&axes.0, &axes.1))
}

/// Test image `from`, the decoded path between the two encodings, then test image `to`.
pub fn interpolation(
    model: &Model<f32>,
    split: &Split,
    from: usize,
    to: usize,
    steps: usize,
    path: latent::Path,
    scale: u32,
) -> Result<DynamicImage> {
    check_index(split, from)?;
    check_index(split, to)?;
    check_picture(model, steps.saturating_add(2), scale)?;
    let ends = encode(model, split, &[from, to])?;
    let (a, b) = ends.split_at(model.latent());
    let mut row = images(split, &[from]);
    // A conditional model decodes the whole path with the first image's label: the style moves.
    row.extend(decode(
        model,
        &interpolate(a, b, steps, path)?,
        Some(split.labels[from]),
    )?);
    row.extend(images(split, &[to]));
    tile(&row, model.config().image, grid(steps + 2, scale))
}

/// Walks between prior draws (Radford et al. 2016, Fig. 4), for a model without an encoder (a
/// GAN): `rows` pairs z_a, z_b ~ N(0, I) from the stream `(seed, Sample)`, each row the `steps`
/// points of the path from z_a to z_b decoded.
pub fn prior_interpolation(
    model: &Model<f32>,
    rows: usize,
    steps: usize,
    path: latent::Path,
    seed: u64,
    scale: u32,
) -> Result<DynamicImage> {
    check_picture(model, rows.saturating_mul(steps), scale)?;
    let latent = model.latent();
    let mut ends = vec![0.0f32; 2 * rows * latent];
    crate::kernels::rng::fill_standard_normal(&mut stream(seed, Purpose::Sample, &[]), &mut ends);
    let mut points = Vec::with_capacity(rows * steps * latent);
    for pair in ends.chunks_exact(2 * latent) {
        let (a, b) = pair.split_at(latent);
        points.extend(interpolate(a, b, steps, path)?);
    }
    tile(
        &decode(model, &points, None)?,
        model.config().image,
        grid(steps, scale),
    )
}

/// One row per latent dimension: that dimension swept over [-range, range] from the encoding of
/// test image `index`, the others held.
pub fn traversal(
    model: &Model<f32>,
    split: &Split,
    index: usize,
    steps: usize,
    range: f32,
    scale: u32,
) -> Result<DynamicImage> {
    check_index(split, index)?;
    if steps == 0 || !(range.is_finite() && range > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "a traversal needs at least 1 step and a positive, finite range, not {steps} steps over ±{range}"
        )));
    }
    check_picture(model, steps.saturating_mul(model.latent()), scale)?;
    let base = encode(model, split, &[index])?;
    let z = traversal_points(&base, &linspace(-range, range, steps));
    tile(
        &decode(model, &z, Some(split.labels[index]))?,
        model.config().image,
        grid(steps, scale),
    )
}

/// "The same handwriting, another digit" (Kingma et al. 2014, Fig. 1): each chosen test image,
/// then its encoding z ~ q(z | x, y) under its own label decoded with every label in turn. A
/// JMVAE, whose decoder reads no label, moves the mean of q(z | x) by the difference of q(z |
/// y)'s means for every label y and its own ([`edit`] with amount 1).
pub fn analogy(
    model: &Model<f32>,
    split: &Split,
    indices: &[usize],
    scale: u32,
) -> Result<DynamicImage> {
    let classes = model.classes();
    if classes == 0 {
        return Err(Error::InvalidArgument(
            "analogies need a model with classes (cvae, m2 or jmvae); this one has none".into(),
        ));
    }
    for &i in indices {
        check_index(split, i)?;
    }
    check_picture(model, indices.len().saturating_mul(classes + 1), scale)?;
    let styles = encode(model, split, indices)?;
    let mut ws = VaeWorkspace::default();
    let mut rows = Vec::with_capacity(indices.len() * (classes + 1) * model.pixels());
    for (&i, style) in indices.iter().zip(styles.chunks_exact(model.latent())) {
        rows.extend(images(split, &[i]));
        let mut z: Vec<f32> = style
            .iter()
            .copied()
            .cycle()
            .take(classes * style.len())
            .collect();
        let labels: Vec<u8> = (0..classes).map(|c| c as u8).collect();
        if let Model::Jmvae(m) = model {
            let own = vec![split.labels[i]; classes];
            m.shift_along_labels(&mut ws, &mut z, &own, &labels, &vec![1.0; classes])?;
        }
        let mut out = Vec::new();
        model.decode(&mut ws, &z, &labels, classes, &mut out)?;
        rows.extend(out);
    }
    tile(&rows, model.config().image, grid(classes + 1, scale))
}

/// Where a JMVAE's edit moves an image: toward a label, or toward having an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditTarget {
    /// A label (for a JMVAE of labels).
    Label(u8),
    /// An attribute, by its index among the model's attributes.
    Attribute(usize),
}

impl EditTarget {
    /// The target `name` names for `model`: an attribute's name, or a label's number.
    pub fn parse(model: &Model<f32>, name: &str) -> Result<Self> {
        let attributes = model.config().attributes();
        if attributes.is_empty() {
            let label: u8 = name.parse().map_err(|_| {
                Error::InvalidArgument(format!(
                    "`{name}` is not a label: this JMVAE's labels are 0..={}",
                    model.classes().saturating_sub(1)
                ))
            })?;
            crate::batch::check_label_range(&[label], model.classes())?;
            Ok(EditTarget::Label(label))
        } else {
            model
                .jmvae()?
                .attribute_index(name)
                .map(EditTarget::Attribute)
        }
    }
}

/// A JMVAE's edit of one test image (Suzuki et al. 2016, Sec. 4.5): the image, then the mean of
/// its q(z | x) moved by a · (μ(w') − μ(w)) for `steps` amounts a evenly spaced from 0 to
/// `amount`, decoded; μ(w) is the mean of q(z | w). Toward a label, w is the image's label and
/// w' the target; toward an attribute, w and w' are the image's attributes without and with it
/// (a negative amount takes it away).
pub fn edit(
    model: &Model<f32>,
    split: &Split,
    index: usize,
    to: EditTarget,
    amount: f64,
    steps: usize,
    scale: u32,
) -> Result<DynamicImage> {
    let jmvae = model.jmvae()?;
    check_index(split, index)?;
    if steps < 2 {
        return Err(Error::InvalidArgument(
            "an edit needs at least 2 steps (the start and the end)".into(),
        ));
    }
    check_picture(model, steps + 1, scale)?;
    let start = encode(model, split, &[index])?;
    let mut z: Vec<f32> = start
        .iter()
        .copied()
        .cycle()
        .take(steps * start.len())
        .collect();
    let amounts: Vec<f64> = (0..steps)
        .map(|s| amount * s as f64 / (steps - 1) as f64)
        .collect();
    let mut ws = VaeWorkspace::default();
    match to {
        EditTarget::Label(label) => {
            crate::batch::check_label_range(&[label], model.classes())?;
            jmvae.shift_along_labels(
                &mut ws,
                &mut z,
                &vec![split.labels[index]; steps],
                &vec![label; steps],
                &amounts,
            )?
        }
        EditTarget::Attribute(a) => {
            let own = split.attributes_of(index);
            if a >= own.len() {
                return Err(Error::InvalidArgument(format!(
                    "attribute {a} is beyond the test images' {} attributes",
                    own.len()
                )));
            }
            let (mut without, mut with) = (own.to_vec(), own.to_vec());
            without[a] = 0;
            with[a] = 1;
            let repeat =
                |w: &[u8]| -> Vec<u8> { w.iter().copied().cycle().take(steps * w.len()).collect() };
            let (from, to) = (repeat(&without), repeat(&with));
            jmvae.shift(
                &mut ws,
                &mut z,
                Modality::Attributes(&from),
                Modality::Attributes(&to),
                &amounts,
            )?
        }
    }
    let mut row = images(split, &[index]);
    let mut out = Vec::new();
    model.decode(&mut ws, &z, &[], steps, &mut out)?;
    row.extend(out);
    tile(&row, model.config().image, grid(steps + 1, scale))
}

/// `n` images a JMVAE of attributes draws from the attributes `on` (the others off): z ~ q(z |
/// w), decoded.
pub fn samples_with_attributes(
    model: &Model<f32>,
    n: usize,
    on: &[String],
    seed: u64,
    columns: usize,
    scale: u32,
) -> Result<DynamicImage> {
    let jmvae = model.jmvae()?;
    check_picture(model, n, scale)?;
    let names = jmvae.attributes();
    if names.is_empty() {
        return Err(Error::InvalidArgument(
            "this JMVAE reads labels, not attributes: draw from a label instead".into(),
        ));
    }
    let mut w = vec![0u8; names.len()];
    for name in on {
        w[jmvae.attribute_index(name)?] = 1;
    }
    let mut out = Vec::new();
    jmvae.sample_given(
        &mut VaeWorkspace::default(),
        n,
        Modality::Attributes(&w),
        &mut stream(seed, Purpose::Sample, &[]),
        &mut out,
    )?;
    tile(&out, model.config().image, grid(columns, scale))
}

/// A JMVAE reading w from images: for each chosen test image, what p(w | z) reads at the mean
/// of q(z | x) (its label, or a 0 or 1 per attribute, `[images]` or `[images, attributes]`), and
/// a row of the image beside w drawn as the model draws it (decoded from the mean of q(z | w)).
pub fn inferred_labels(
    model: &Model<f32>,
    split: &Split,
    indices: &[usize],
    scale: u32,
) -> Result<(DynamicImage, Vec<u8>)> {
    let jmvae = model.jmvae()?;
    for &i in indices {
        check_index(split, i)?;
    }
    check_picture(model, indices.len().saturating_mul(2), scale)?;
    let x = images(split, indices);
    let mut ws = VaeWorkspace::default();
    let mut read = Vec::new();
    jmvae.infer(&mut ws, &x, indices.len(), &mut read)?;
    let mut points = Vec::new();
    let w = if jmvae.attributes().is_empty() {
        Modality::Labels(&read)
    } else {
        Modality::Attributes(&read)
    };
    jmvae.modality_means(&mut ws, w, indices.len(), &mut points)?;
    let mut drawn = Vec::new();
    model.decode(&mut ws, &points, &[], indices.len(), &mut drawn)?;
    let pairs = interleave_rows(&x, &drawn, model.pixels(), 1);
    Ok((tile(&pairs, model.config().image, grid(2, scale))?, read))
}

/// Kingma & Welling 2013, Fig. 2 for the runs in `dirs`: each run's training and test bound
/// against the training samples evaluated (the images of every epoch so far), a panel per run
/// titled by its latent size.
pub fn bound_by_samples(dirs: &[PathBuf], title: &str) -> Result<RgbImage> {
    let mut curves = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let config = crate::checkpoint::load_config(dir)?;
        let metrics = read_metrics(&dir.join(crate::checkpoint::METRICS_FILE))?;
        let mut samples = 0.0;
        let points = metrics
            .iter()
            .map(|m| {
                samples += (m.images_per_second * m.train_seconds).round();
                (samples, m.train_elbo, m.test_elbo)
            })
            .collect();
        curves.push(plot::BoundCurve {
            title: format!("N_z = {}", config.model.latent),
            points,
        });
    }
    plot::bound_by_samples(&curves, title)
}

/// Training curves from the run's metrics.
pub fn curves(dir: &Path) -> Result<RgbImage> {
    let metrics = read_metrics(&dir.join(crate::checkpoint::METRICS_FILE))?;
    plot::curves(&metrics)
}
