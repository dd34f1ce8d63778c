//! `vae edit`: a test image moved along a label by a JMVAE (Suzuki et al. 2016, Sec. 4.5).

use super::common::{open_model, save_figure, test_split_for_model};
use super::figures;
use crate::cli::EditArgs;
use anyhow::Result;

pub fn run(args: EditArgs) -> Result<()> {
    let (config, model, _) = open_model(&args.model)?;
    model.jmvae()?;
    let (test, _) = test_split_for_model(&args.data, &config)?;
    figures::check_index(&test, args.image, "--image")?;
    let steps = args.steps as usize;
    let target = vae::figures::EditTarget::parse(&model, &args.add)
        .map_err(|e| anyhow::anyhow!("--add {}: {e}", args.add))?;
    let image = vae::figures::edit(
        &model,
        &test,
        args.image,
        target,
        args.amount,
        steps,
        args.image_args.scale,
    )?;
    let out = save_figure(
        &image,
        args.image_args.out.as_deref(),
        &args.model,
        "edit.png",
    )?;
    let from = match target {
        vae::figures::EditTarget::Label(_) => format!("with label {}", test.labels[args.image]),
        vae::figures::EditTarget::Attribute(a) => {
            format!("with {} = {}", args.add, test.attributes_of(args.image)[a])
        }
    };
    let toward = match target {
        vae::figures::EditTarget::Label(l) => format!("label {l}"),
        vae::figures::EditTarget::Attribute(_) => format!("having {}", args.add),
    };
    println!(
        "wrote {} (test image {} {from}, then moved toward {toward} by 0 to {} in {steps} steps)",
        out.display(),
        args.image,
        args.amount
    );
    Ok(())
}
