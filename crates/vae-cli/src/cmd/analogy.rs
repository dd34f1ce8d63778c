//! `vae analogy`: the style of a test image written as every class (cvae, m2 and jmvae models).

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::AnalogyArgs;
use anyhow::{bail, Result};

pub fn run(args: AnalogyArgs) -> Result<()> {
    if args.images.is_empty() {
        bail!("--images needs at least one test image index");
    }
    let (config, model, _) = open_model(&args.model)?;
    let (test, _) = test_split_for_model(&args.data, &config)?;
    if model.classes() == 0 {
        bail!("analogies need a model with classes (trained with --model cvae, m2 or jmvae); this one has none");
    }
    for &i in &args.images {
        figures::check_index(&test, i, "--images")?;
    }
    let image = figures::analogy(&model, &test, &args.images, args.image.scale)?;
    let out = save_figure(
        &image,
        args.image.out.as_deref(),
        &args.model,
        "analogy.png",
    )?;
    println!(
        "wrote {} ({} test images, each followed by its style decoded as classes 0..{})",
        out.display(),
        args.images.len(),
        model.classes() - 1
    );
    Ok(())
}
