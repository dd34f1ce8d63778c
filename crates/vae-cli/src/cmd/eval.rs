//! `vae eval`: ELBO, reconstruction, KL and importance-sampled log p(x) per image, in nats.

use super::common::{dataset_for_model, open_model, progress_bar, thread_pool};
use crate::cli::{EvalArgs, SplitArg};
use anyhow::{bail, Result};
use std::time::Instant;
use vae::eval::evaluate;
use vae::train::evaluation_split;

pub fn run(args: EvalArgs) -> Result<()> {
    if args.iw_samples == 0 {
        bail!("--iw-samples must be at least 1");
    }
    let pool = thread_pool(args.threads)?;
    let (config, model, epoch) = open_model(&args.model)?;
    let dataset = dataset_for_model(&args.data, &config)?;
    let (split_name, split) = match args.split {
        SplitArg::Test => ("test", dataset.test),
        SplitArg::Train => ("train", dataset.train),
    };
    let mut split = evaluation_split(split, config.train.binarize);
    if let Some(limit) = args.limit {
        if limit == 0 {
            bail!("--limit must be at least 1");
        }
        split = split.truncated(limit);
    }
    let bar = progress_bar(
        split.len() as u64,
        "scoring [{bar:30}] {pos}/{len} images ETA {eta}",
    );
    let started = Instant::now();
    let result = pool.install(|| {
        evaluate(
            &model,
            &split,
            args.iw_samples,
            args.seed,
            &mut |done, _| {
                if let Some(bar) = &bar {
                    bar.set_position(done as u64);
                }
            },
        )
    })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    // The report shows log p(x) only for the whole test set.
    if args.split == SplitArg::Test && args.limit.is_none() {
        let json = serde_json::to_vec_pretty(&result)?;
        vae::checkpoint::atomic_write(&args.model.join(super::report::EVALUATION_FILE), &json)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    println!(
        "model {} (epoch {epoch}), {} {split_name} split, {} images, K = {} importance samples, {:.1} s",
        args.model.display(),
        dataset.name,
        result.images,
        result.iw_samples,
        seconds
    );
    println!("  ELBO            {:10.3} nats per image", result.elbo);
    println!("    reconstruction {:9.3}", result.reconstruction);
    println!("    KL             {:9.3}", result.kl);
    println!(
        "  log p(x)        {:10.3} ± {:.3} nats (IWAE estimate, K = {}; ± one standard error)",
        result.log_likelihood, result.log_likelihood_stderr, result.iw_samples
    );
    Ok(())
}
