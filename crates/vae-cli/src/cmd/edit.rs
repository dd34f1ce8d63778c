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
    let image = vae::figures::edit(
        &model,
        &test,
        args.image,
        args.add,
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
    println!(
        "wrote {} (test image {} with label {}, then moved toward label {} by 0 to {} in {steps} steps)",
        out.display(),
        args.image,
        test.labels[args.image],
        args.add,
        args.amount
    );
    Ok(())
}
