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
    let names = config.model.attributes();
    if names.is_empty() {
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
    } else {
        let has = |values: &[u8]| -> String {
            let on: Vec<&str> = names
                .iter()
                .zip(values)
                .filter(|(_, &v)| v == 1)
                .map(|(n, _)| n.as_str())
                .collect();
            if on.is_empty() {
                "none".into()
            } else {
                on.join(", ")
            }
        };
        let mut right = 0;
        for (&i, values) in args.images.iter().zip(read.chunks_exact(names.len())) {
            let truth = test.attributes_of(i);
            right += values.iter().zip(truth).filter(|(a, b)| a == b).count();
            println!(
                "test image {i}: read as having {} (it has: {})",
                has(values),
                has(truth)
            );
        }
        println!(
            "wrote {} ({} of {} attribute values read right; each image beside its attributes drawn by the model)",
            out.display(),
            right,
            read.len()
        );
    }
    Ok(())
}
