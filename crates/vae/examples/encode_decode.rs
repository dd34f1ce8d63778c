//! Open a trained run directory, encode two of its test images, and decode the straight path
//! between their codes: the latent space as a program reads it.
//!
//! ```text
//! cargo run --release --example encode_decode -- RUN_DIR [--steps N]
//! ```
//!
//! RUN_DIR is any run of an unconditional model, for instance one `vae train` or the
//! `train_mnist` example wrote. The picture goes to RUN_DIR/example-path.png.

use std::path::PathBuf;
use vae::checkpoint;
use vae::latent::{interpolate, Path};
use vae::model::VaeWorkspace;
use vae::render::{save_png, tile, GridLayout};
use vae::Generative;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: encode_decode RUN_DIR [--steps N]")?,
    );
    let steps: usize = match (args.next().as_deref(), args.next()) {
        (Some("--steps"), Some(n)) => n.parse()?,
        (None, _) => 10,
        _ => return Err("usage: encode_decode RUN_DIR [--steps N]".into()),
    };

    // The model and the configuration it was trained with, from the run directory alone.
    let (config, model, epoch) = checkpoint::load_model(&dir)?;
    if model.classes() > 0 {
        return Err("this example decodes unconditional models; this one reads labels".into());
    }
    println!("{} after {epoch} epochs", config.model.describe());

    // Its test images as the model reads them: grey levels in [0, 1].
    let (dataset, _) = vae::data::obtain(
        &config.dataset,
        config.data_dir.as_deref(),
        &config.folder,
        &mut |line| eprintln!("{line}"),
    )?;
    let x = vae::figures::images(&dataset.test, &[0, 1]);

    // q(z | x): each row the means, then the log-variances. The path joins the two means.
    let latent = model.latent();
    let mut ws = VaeWorkspace::default();
    let mut posterior = Vec::new();
    model.encode(&mut ws, &x, &[], 2, &mut posterior)?;
    let (a, b) = (&posterior[..latent], &posterior[2 * latent..3 * latent]);
    println!("z(image 0) = {a:.3?}");
    println!("z(image 1) = {b:.3?}");
    let path = interpolate(a, b, steps, Path::Linear)?;

    let mut decoded = Vec::new();
    model.decode(&mut ws, &path, &[], steps, &mut decoded)?;
    let picture = tile(
        &decoded,
        config.model.image,
        GridLayout {
            columns: steps,
            scale: 2,
            separator: 1,
        },
    )?;
    let png = dir.join("example-path.png");
    save_png(&picture, &png)?;
    println!(
        "wrote {} ({steps} images from one code to the other)",
        png.display()
    );
    Ok(())
}
