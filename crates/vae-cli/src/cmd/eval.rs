//! `vae eval`: ELBO, reconstruction, KL and importance-sampled log p(x) per image, in nats.

use super::common::{dataset_for_model, open_model, progress_bar, thread_pool};
use crate::cli::{EvalArgs, SplitArg};
use anyhow::{bail, Result};
use std::time::Instant;
use vae::collective::Collective;
use vae::eval::{conditional_accuracy, evaluate_across};
use vae::train::evaluation_split;
use vae::ModelKind;

pub fn run(args: EvalArgs, world: &dyn Collective) -> Result<()> {
    let root = world.is_root();
    if args.iw_samples == 0 {
        bail!("--iw-samples must be at least 1");
    }
    let pool = thread_pool(args.threads)?;
    let (config, model, epoch) = open_model(&args.model)?;
    if args.kl_plot.is_some() && config.model.kind == ModelKind::Ae {
        bail!("--kl-plot needs a model with a stochastic encoder; an autoencoder's code has no KL");
    }
    // Checked before the long evaluation, so a wrong directory fails at once.
    let classifier = match &args.classifier {
        Some(dir) => {
            let (_, classifier) = vae::checkpoint::load_classifier(dir)?;
            if model.classes() == 0 {
                bail!("--classifier scores samples drawn by label, which needs a conditional model (cvae or m2); this one is unconditional");
            }
            Some(classifier)
        }
        None => None,
    };
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
    )
    .filter(|_| root);
    let started = Instant::now();
    let mut heartbeat = super::common::Heartbeat::new(root);
    let total = split.len();
    let mut result = pool.install(|| {
        evaluate_across(
            world,
            &model,
            &split,
            args.iw_samples,
            args.seed,
            &mut |done, _| {
                if let Some(bar) = &bar {
                    bar.set_position(done as u64);
                }
                heartbeat.tick(|| {
                    format!(
                        "scoring: {done} of {total} images, {:.0} s",
                        started.elapsed().as_secs_f64()
                    )
                });
            },
        )
    })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(classifier) = &classifier {
        result.conditional_accuracy = Some(
            pool.install(|| conditional_accuracy(&model, classifier, args.per_class, args.seed))?,
        );
    }
    let autoencoder = config.model.kind == ModelKind::Ae;
    if !root {
        // Rank 0 prints and writes what every rank computed.
        return Ok(());
    }
    if let Some(path) = &args.kl_plot {
        let (Some(kl), Some(variance)) = (
            &result.kl_per_dimension,
            &result.mean_variance_per_dimension,
        ) else {
            bail!("--kl-plot needs a model with a stochastic encoder; an autoencoder's code has no KL");
        };
        let active: Vec<bool> = variance
            .iter()
            .map(|&v| v > vae::eval::ACTIVE_UNIT_VARIANCE)
            .collect();
        let title = format!(
            "KL per latent dimension, {} of {} active",
            result.active_units.unwrap_or(0),
            kl.len()
        );
        let image = vae::plot::kl_per_dimension(kl, &active, &title)?;
        vae::render::save_png(&image.into(), path)?;
    }
    // The record of this measurement: the numbers, then which model, split and machine.
    let mut record = serde_json::to_value(&result)?;
    if let Some(fields) = record.as_object_mut() {
        fields.insert("model".into(), args.model.display().to_string().into());
        fields.insert("epoch".into(), epoch.into());
        fields.insert("split".into(), split_name.into());
        fields.insert("seconds".into(), seconds.into());
        if let Some(mean) = result.conditional_accuracy_mean() {
            fields.insert("conditional_accuracy_mean".into(), mean.into());
        }
        fields.insert(
            "machine".into(),
            serde_json::to_value(vae::machine::Provenance::now(pool.current_num_threads()))?,
        );
    }
    if args.json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        println!(
            "model {} (epoch {epoch}), {} {split_name} split, {} images, K = {} importance samples, {:.1} s",
            args.model.display(),
            dataset.name,
            result.images,
            result.iw_samples,
            seconds
        );
        if world.size() > 1 {
            println!(
                "  scored by {} MPI ranks, chunks of images dealt out in turn",
                world.size()
            );
        }
        print_table(&result, autoencoder, args.per_class);
        if config.model.features.is_some() {
            println!("  (M1 + M2: the ELBO and log p above are M2's, of each image's code under M1 in nats of the code space, not of the pixels)");
        }
    }
    // Saved after it is printed, so a directory that cannot be written loses nothing. The report
    // shows log p(x) only for the whole test set; an autoencoder has none.
    if args.split == SplitArg::Test && args.limit.is_none() && !autoencoder {
        let json = serde_json::to_vec_pretty(&record)?;
        let path = args.model.join(super::report::EVALUATION_FILE);
        vae::fs::atomic_write(&path, &json).map_err(|e| {
            anyhow::anyhow!("the results above could not be saved for the report: {e}")
        })?;
    }
    Ok(())
}

/// The evaluation as the table `vae eval` prints.
fn print_table(result: &vae::eval::Evaluation, autoencoder: bool, per_class: usize) {
    if autoencoder {
        println!(
            "  reconstruction  {:10.3} nats per image (−log p(x | z = f(x)); a plain autoencoder has no ELBO or log p(x))",
            result.reconstruction
        );
        return;
    }
    if let (Some(accuracy), Some(mean)) = (
        &result.conditional_accuracy,
        result.conditional_accuracy_mean(),
    ) {
        println!(
            "  samples classified as their label: {:.2}% ({} per label, by the reference classifier)",
            100.0 * mean,
            per_class,
        );
        let per_label: Vec<String> = accuracy
            .iter()
            .enumerate()
            .map(|(c, a)| format!("{c}: {:.1}%", 100.0 * a))
            .collect();
        println!("    {}", per_label.join("  "));
    }
    if let Some(error) = result.classification_error {
        let reader = if result.joint_log_likelihood.is_some() {
            "argmax p(y | z) at the mean of q(z | x)"
        } else {
            "q(y | x)"
        };
        println!(
            "  classification error {:6.2}% ({reader}, {} images)",
            100.0 * error,
            result.images
        );
    }
    println!("  ELBO            {:10.3} nats per image", result.elbo);
    println!("    reconstruction {:9.3}", result.reconstruction);
    println!("    KL             {:9.3}", result.kl);
    println!(
        "  log p(x)        {:10.3} ± {:.3} nats (IWAE estimate, K = {}; ± one standard error)",
        result.log_likelihood, result.log_likelihood_stderr, result.iw_samples
    );
    if let (Some(joint), Some(joint_se), Some(conditional), Some(conditional_se)) = (
        result.joint_log_likelihood,
        result.joint_log_likelihood_stderr,
        result.conditional_log_likelihood,
        result.conditional_log_likelihood_stderr,
    ) {
        println!(
            "  log p(x, y)     {joint:10.3} ± {joint_se:.3} nats (from q(z | x, y), K = {})",
            result.iw_samples
        );
        println!(
            "  log p(x | y)    {conditional:10.3} ± {conditional_se:.3} nats (log p(x, y) − log p(y), log p(y) from q(z | y))"
        );
    }
    if let (Some(active), Some(kl)) = (result.active_units, &result.kl_per_dimension) {
        println!(
            "  active units    {active} of {}{} (posterior-mean variance above {}; Burda et al. 2015, Sec. 5.2)",
            kl.len(),
            if result.lower_active_units.is_some() { " in z2" } else { "" },
            vae::eval::ACTIVE_UNIT_VARIANCE
        );
    }
    if let (Some(active), Some(variance)) = (
        result.lower_active_units,
        &result.lower_mean_variance_per_dimension,
    ) {
        println!(
            "                  {active} of {} in z1 (the means of q(z1 | x))",
            variance.len()
        );
    }
}
