//! `vae arithmetic`: latent vector arithmetic, A − B + C (Radford et al. 2016, Fig. 7).

use super::common::{open_model, save_figure, test_split_for_model};
use crate::cli::ArithmeticArgs;
use anyhow::{bail, Context, Result};
use vae::figures::{arithmetic, Exemplars};

pub fn run(args: ArithmeticArgs) -> Result<()> {
    let [a, b, c] = args.classes[..] else {
        bail!(
            "--classes takes three classes A,B,C (the figure decodes A − B + C); got {}",
            args.classes.len()
        );
    };
    let (config, model, _) = open_model(&args.model)?;
    let classifier = match &args.classifier {
        Some(dir) => Some(
            vae::checkpoint::load_classifier(dir)
                .with_context(|| format!("opening classifier {}", dir.display()))?
                .1,
        ),
        None if !model.kind().has_encoder() => bail!(
            "a GAN has no encoder to place test images in its latent space: give --classifier DIR (from `vae classifier train`) to read its prior draws as classes"
        ),
        None => None,
    };
    let test;
    let exemplars = match &classifier {
        Some(classifier) => Exemplars::Classified(classifier),
        None => {
            test = test_split_for_model(&args.data, &config)?.0;
            Exemplars::Encoded(&test)
        }
    };
    let image = arithmetic(
        &model,
        exemplars,
        [a, b, c],
        args.average,
        args.seed,
        args.image.scale,
    )?;
    let out = save_figure(
        &image,
        args.image.out.as_deref(),
        &args.model,
        "arithmetic.png",
    )?;
    println!(
        "wrote {} (rows: classes {a}, {b} and {c}, each the decoded mean of {} {} then them; last row {a} − {b} + {c}, then with uniform noise of ±0.25)",
        out.display(),
        args.average,
        if classifier.is_some() { "prior draws the classifier reads as it" } else { "test images' encodings" }
    );
    Ok(())
}
