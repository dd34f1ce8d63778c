//! A VAE on your own images, held in memory as floats: here 16 x 16 pictures of a bright disc of
//! random place and size, made on the spot. Trains a model with a 2-D latent, reports its test
//! loss, and writes reconstructions and a map of the latent space.
//!
//! ```text
//! cargo run --release --example custom_data -- [--out DIR]
//! ```

use std::path::PathBuf;
use vae::config::{Binarize, ImageShape, LikelihoodKind};
use vae::data::{Dataset, Split};
use vae::figures;
use vae::render::save_png;
use vae::run::Run;
use vae::{Activation, ModelConfig, RunConfig, TrainConfig};

const SIDE: usize = 16;

/// `n` images of a disc, its centre and radius drawn from a small linear congruential generator
/// (any source of images will do: a file, a camera, another library).
fn discs(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut images = Vec::with_capacity(n * SIDE * SIDE);
    for _ in 0..n {
        let (cx, cy) = (3.0 + 10.0 * uniform(), 3.0 + 10.0 * uniform());
        let radius = 1.5 + 3.0 * uniform();
        for y in 0..SIDE {
            for x in 0..SIDE {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                // A soft edge, one pixel wide: grey levels in [0, 1].
                images.push((radius + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }
    images
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = match std::env::args().nth(1).as_deref() {
        Some("--out") => PathBuf::from(std::env::args().nth(2).ok_or("--out needs a directory")?),
        Some(other) => return Err(format!("usage: custom_data [--out DIR]; got {other}").into()),
        None => PathBuf::from("runs/example-discs"),
    };
    let shape = ImageShape {
        height: SIDE,
        width: SIDE,
        channels: 1,
    };
    // No labels: an empty label list and no class names.
    let train = Split::from_floats(shape, &discs(4000, 1), &[])?;
    let test = Split::from_floats(shape, &discs(500, 2), &[])?;
    let dataset = Dataset::from_splits("discs", train, test, Vec::new())?;

    let model = ModelConfig {
        image: shape,
        latent: 2,
        likelihood: LikelihoodKind::Bernoulli,
        ..ModelConfig::default()
    }
    .with_mlp(&[256], Activation::Relu);
    let train = TrainConfig {
        epochs: 20,
        batch_size: 100,
        // The grey levels are the Bernoulli means, as for MNIST's pixels.
        binarize: Binarize::None,
        ..TrainConfig::default()
    };
    let config = RunConfig::new("discs", model, train);
    let mut run = Run::create(config, out.clone(), None, None)?;
    let test = dataset.test.clone();
    run.train_on(dataset, None)?;

    let model = run.model();
    let scores = vae::eval::evaluate(model, &test, 100, 0, &mut |_, _| {})?;
    println!(
        "{}: test log p(x) >= {:.2} nats (100 importance samples)",
        model.config().describe(),
        scores.log_likelihood
    );
    let first: Vec<usize> = (0..16).collect();
    save_png(
        &figures::reconstructions(model, &test, &first, 8, 4)?,
        &out.join("reconstructions.png"),
    )?;
    save_png(
        &figures::manifold(model, 12, (0, 1), None, 2)?,
        &out.join("manifold.png"),
    )?;
    println!(
        "wrote reconstructions.png and manifold.png in {}",
        out.display()
    );
    Ok(())
}
