//! `vae infer`: the labels a JMVAE reads from test images, through q(z | x) and p(y | z).

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::InferArgs;
use anyhow::{bail, Result};

pub fn run(args: InferArgs) -> Result<()> {
    if args.images.is_empty() {
        bail!("--images needs at least one test image index");
    }
    let (config, model, _) = open_model(&args.model)?;
    model.jmvae()?;
    let (test, _) = test_split_for_model(&args.data, &config)?;
    for &i in &args.images {
        figures::check_index(&test, i, "--images")?;
    }
    let (image, read) =
        vae::figures::inferred_labels(&model, &test, &args.images, args.image.scale)?;
    let out = save_figure(
        &image,
        args.image.out.as_deref(),
        &args.model,
        "inferred.png",
    )?;
    let mut right = 0;
    for (&i, &label) in args.images.iter().zip(&read) {
        let truth = test.labels[i];
        right += usize::from(truth == label);
        println!("test image {i}: read as {label} (its label: {truth})");
    }
    println!(
        "wrote {} ({} of {} read as their label; each image beside its label drawn by the model)",
        out.display(),
        right,
        read.len()
    );
    Ok(())
}
