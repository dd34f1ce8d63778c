//! Train the default VAE on MNIST, save the run, load it back and draw samples from it: what
//! `vae train` does, as library calls.
//!
//! ```text
//! cargo run --release --example train_mnist -- [--epochs N] [--out DIR]
//! ```
//!
//! MNIST is downloaded on first use (and checked against its checksums) into the user's cache.

use std::path::PathBuf;
use vae::checkpoint;
use vae::collective::SingleProcess;
use vae::data::folder::FolderOptions;
use vae::figures;
use vae::kernels::denormals::thread_pool;
use vae::render::save_png;
use vae::run::{Observer, Run};
use vae::train::EpochReport;
use vae::{ModelConfig, RunConfig, TrainConfig};

/// Prints each epoch's losses, as `vae train` does.
struct PrintEpochs;

impl Observer for PrintEpochs {
    fn message(&mut self, line: &str) {
        println!("{line}");
    }

    fn epoch(&mut self, report: &EpochReport, _rank: usize) -> vae::Result<()> {
        println!(
            "epoch {}: train loss {:.2}, test loss {:.2} nats per image",
            report.epoch,
            report.train.loss_per_image(),
            report.test.loss_per_image()
        );
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut epochs = 2;
    let mut out = PathBuf::from("runs/example-mnist");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--epochs", Some(n)) => epochs = n.parse()?,
            ("--out", Some(dir)) => out = dir.into(),
            _ => {
                return Err(
                    format!("usage: train_mnist [--epochs N] [--out DIR]; got {flag}").into(),
                )
            }
        }
    }

    // The default model: 784-400-20, ReLU, a Bernoulli decoder; Adam at 1e-3, batches of 128.
    let config = RunConfig::new(
        "mnist",
        ModelConfig::default(),
        TrainConfig {
            epochs,
            ..TrainConfig::default()
        },
    );
    let (dataset, _) = vae::data::obtain(
        &config.dataset,
        None,
        &FolderOptions::default(),
        &mut |line| eprintln!("{line}"),
    )?;
    let mut run = Run::create(config, out.clone(), None, None)?;
    // Every core, subnormal floats flushed to zero: the speed and the numbers of `vae train`.
    let pool = thread_pool(None)?;
    pool.install(|| -> vae::Result<()> {
        let data = run.prepare(dataset, &mut PrintEpochs)?;
        run.train(&data, &SingleProcess, &mut PrintEpochs)
    })?;

    // Everything a run needs is in its directory: load it back as another program would.
    let (config, model, epoch) = checkpoint::load_model(&out)?;
    println!(
        "loaded {} trained for {epoch} epochs",
        config.model.describe()
    );
    let samples = figures::samples(&model, 64, None, 0, 8, 2)?;
    let png = out.join("example-samples.png");
    save_png(&samples, &png)?;
    println!("wrote {}", png.display());
    Ok(())
}
