//! Running one target: its steps as `vae` commands, then its `result.json`.

use crate::command::{display, path_arg, run_vae, strings};
use crate::reference::{pytorch_reference, Reference};
use crate::shared::{
    adopt_private_run, command_file, original_command, previous_commands, run_path, shared_dir,
    train_command, trained_epochs, wait_for_other_trainer, with_shared,
};
use crate::target::{Budget, Step, Target};
use crate::Options;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Runs (or finishes) one target and writes its `result.json`.
pub fn run_target(target: &Target, budget: Budget, args: &Options) -> Result<()> {
    let dir = args.out.join(target.name).join(budget.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dataset = args.dataset.as_deref().unwrap_or(target.dataset);
    let note = match (budget, &args.dataset) {
        (Budget::Quick, _) => "quick budget: a shortened schedule, not the paper's",
        (_, Some(_)) => "on another data set than the paper's",
        (Budget::ThreeHours, None) if target.expected_3h.is_some() => {
            "3-hour budget: the paper's model on a schedule shortened to fit 3 hours here"
        }
        (Budget::ThreeHours | Budget::Paper, None) => "",
    };
    let label = if note.is_empty() {
        String::new()
    } else {
        format!(" [{note}]")
    };
    println!("== {}: {}{label}", target.name, target.paper);
    let started = Instant::now();
    let mut commands: Vec<String> = Vec::new();
    let mut figures: Vec<String> = Vec::new();
    let mut evaluation: Option<Value> = None;
    let mut reference: Option<std::result::Result<Reference, String>> = None;
    let previous = previous_commands(&dir.join("result.json"));
    // Where each of the target's runs is (a shared one outside the target's directory).
    let mut runs: Vec<(&str, PathBuf)> = Vec::new();
    for step in (target.steps)(budget) {
        match step {
            Step::Train {
                run,
                args: a,
                epochs,
                shared,
            } => {
                let run_dir = if shared {
                    shared_dir(&args.out, budget, dataset).join(run)
                } else {
                    dir.join(run)
                };
                let fresh =
                    |run_dir: &Path| train_command(dataset, &a, &runs, &dir, epochs, run_dir, args);
                if shared && !run_dir.exists() {
                    adopt_private_run(&dir.join(run), &run_dir, run, &previous, &fresh)?;
                }
                if shared && run_dir.is_dir() {
                    wait_for_other_trainer(&run_dir, run)?;
                }
                let origin = original_command(&run_dir, &previous);
                let command = match trained_epochs(&run_dir)? {
                    Some(done) if done >= epochs => {
                        println!("   {run}: already trained for {done} epochs");
                        commands.push(origin.unwrap_or_else(|| {
                            format!("(finished) vae train --out {}", run_dir.display())
                        }));
                        runs.push((run, run_dir));
                        continue;
                    }
                    Some(_) => {
                        commands.extend(origin);
                        let mut c = strings(&["train", "--resume"]);
                        c.push(path_arg(&run_dir));
                        c.extend(strings(&["--epochs", &epochs.to_string()]));
                        with_shared(c, args)
                    }
                    None => {
                        let c = fresh(&run_dir);
                        // Kept beside the run, so a later target that finds it finished or
                        // resumes it can record how it was made.
                        if let Some(parent) = run_dir.parent() {
                            std::fs::create_dir_all(parent)
                                .with_context(|| format!("creating {}", parent.display()))?;
                        }
                        vae::fs::atomic_write(&command_file(&run_dir), display(&c).as_bytes())?;
                        c
                    }
                };
                run_vae(&args.vae, &command, None)?;
                commands.push(display(&command));
                runs.push((run, run_dir));
            }
            Step::Eval {
                run,
                iw_samples,
                limit,
            } => {
                let mut command = strings(&["eval", "--model"]);
                command.push(path_arg(&run_path(&runs, &dir, run)));
                command.extend(strings(&[
                    "--iw-samples",
                    &iw_samples.to_string(),
                    "--json",
                ]));
                if let Some(limit) = limit {
                    command.extend(strings(&["--limit", &limit.to_string()]));
                }
                let command = with_shared(command, args);
                let mut output = String::new();
                run_vae(&args.vae, &command, Some(&mut output))?;
                let value: Value = serde_json::from_str(output.trim())
                    .with_context(|| format!("reading the output of `{}`", display(&command)))?;
                commands.push(display(&command));
                evaluation = Some(value);
            }
            Step::Picture {
                command: name,
                run,
                args: a,
                file,
            } => {
                // `--gif` writes the animation beside the picture: a figure of its own.
                let animation = a
                    .iter()
                    .any(|arg| arg == "--gif")
                    .then(|| Path::new(&file).with_extension("gif"));
                let mut command = strings(&[name, "--model"]);
                command.push(path_arg(&run_path(&runs, &dir, run)));
                // `@NAME` stands for the directory of the target's run (or classifier) NAME.
                command.extend(a.into_iter().map(|arg| match arg.strip_prefix('@') {
                    Some(other) => path_arg(&run_path(&runs, &dir, other)),
                    None => arg,
                }));
                command.push("--out".into());
                command.push(path_arg(&dir.join(&file)));
                run_vae(&args.vae, &command, None)?;
                commands.push(display(&command));
                figures.push(file);
                figures.extend(animation.map(|gif| gif.display().to_string()));
            }
            Step::Curves {
                runs: names,
                title,
                file,
            } => {
                let mut command = strings(&["curves", "--by-samples"]);
                for run in names {
                    command.push("--model".into());
                    command.push(path_arg(&run_path(&runs, &dir, run)));
                }
                command.extend(strings(&["--title", title, "--out"]));
                command.push(path_arg(&dir.join(file)));
                run_vae(&args.vae, &command, None)?;
                commands.push(display(&command));
                figures.push(file.to_string());
            }
            Step::FinalLoss { run } => {
                let metrics = vae::metrics::read_metrics(
                    &run_path(&runs, &dir, run).join(vae::checkpoint::METRICS_FILE),
                )?;
                let last = metrics
                    .last()
                    .with_context(|| format!("{run} has no finished epoch"))?;
                evaluation = Some(json!({
                    "test_loss": -last.test_elbo,
                    "epoch": last.epoch,
                }));
            }
            Step::Classifier { epochs } => {
                let classifier = dir.join("classifier");
                if classifier.join(vae::checkpoint::CONFIG_FILE).exists() {
                    println!("   classifier: already trained");
                    continue;
                }
                let mut command = strings(&["classifier", "train", "--dataset", dataset]);
                command.extend(strings(&["--epochs", &epochs.to_string(), "--out"]));
                command.push(path_arg(&classifier));
                let command = with_shared(command, args);
                run_vae(&args.vae, &command, None)?;
                commands.push(display(&command));
            }
            Step::Fid { run, samples } => {
                let model = run_path(&runs, &dir, run);
                let mut command = strings(&["fid", "--model"]);
                command.push(path_arg(&model));
                command.push("--classifier".into());
                command.push(path_arg(&dir.join("classifier")));
                command.extend(strings(&["--samples", &samples.to_string()]));
                let command = with_shared(command, args);
                run_vae(&args.vae, &command, None)?;
                commands.push(display(&command));
                let file = model.join("fid.json");
                let bytes = vae::fs::read_bounded(&file, vae::fs::JSON_LIMIT)?;
                evaluation = Some(
                    serde_json::from_slice(&bytes)
                        .with_context(|| format!("reading {}", file.display()))?,
                );
            }
            Step::Reference { epochs } => {
                reference = Some(pytorch_reference(dataset, epochs, args)?);
                if let Some(Ok(r)) = &reference {
                    commands.push(r.command.clone());
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // A target finished over several commands ran its epochs in each: their training time
    // is in each run's metrics, whichever command trained them (a shared run counts in full for
    // every target that uses it: it is what the target takes on its own). A run whose metrics
    // are missing or unreadable leaves it unknown (null), not the result lost after its scoring.
    let mut training_seconds = (!runs.is_empty()).then_some(0.0);
    for (_, run_dir) in &runs {
        let file = run_dir.join(vae::checkpoint::METRICS_FILE);
        match vae::metrics::read_metrics(&file) {
            Ok(metrics) => {
                if let Some(t) = training_seconds.as_mut() {
                    *t += metrics.iter().map(|m| m.train_seconds).sum::<f64>();
                }
            }
            Err(e) => {
                eprintln!("warning: training time unknown: {e:#}");
                training_seconds = None;
            }
        }
    }
    let ours = evaluation.as_ref().and_then(|e| target.metric.read(e));
    // The reference measured in this command, when it ran, replaces the quoted value.
    let (paper_value, paper_source) = match &reference {
        Some(Ok(r)) => (
            Some(r.test_loss),
            format!("measured in this command: {}", r.framework),
        ),
        Some(Err(why)) => (target.paper_value, format!("not measured: {why}")),
        None => (target.paper_value, "quoted from the paper".into()),
    };
    let misses = ours
        .zip(paper_value)
        .and_then(|((v, se), p)| misses(v - p, target.paper_spread, se));
    let result = json!({
        "target": target.name,
        "paper": target.paper,
        "measures": target.measures,
        "budget": budget.name(),
        "dataset": dataset,
        "paper_value": paper_value,
        "paper_value_source": paper_source,
        "unit": target.metric.unit(),
        "ours": ours.map(|(v, _)| v),
        "standard_error": ours.and_then(|(_, se)| se),
        "difference": ours.zip(paper_value).map(|((v, _), p)| v - p),
        "paper_spread": target.paper_spread,
        "misses": misses,
        "why": (misses == Some(true)).then_some(target.why),
        "evaluation": evaluation,
        "figures": figures,
        "seconds": seconds,
        "training_seconds": training_seconds,
        "commands": commands,
        "note": note,
        "machine": vae::machine::Provenance::now(
            args.threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        ),
    });
    match (ours, paper_value) {
        (Some((v, se)), Some(p)) => println!(
            "   ours {v:.2}{} {unit}, {} {p:.2}: difference {:+.2}{label}",
            se.map_or(String::new(), |se| format!(" ± {se:.2}")),
            if reference.is_some() {
                "reference"
            } else {
                "paper"
            },
            v - p,
            unit = target.metric.unit()
        ),
        (Some((v, se)), None) => println!(
            "   ours {v:.2}{} {unit}; no reference value to set it beside{label}",
            se.map_or(String::new(), |se| format!(" ± {se:.2}")),
            unit = target.metric.unit()
        ),
        (None, _) => println!(
            "   figures: {} (set them beside the paper's){label}",
            figures
                .iter()
                .map(|f| dir.join(f).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    if misses == Some(true) {
        println!("   more than the spread apart: {}", target.why);
    }
    // Printed before it is written, so an output directory that cannot be written loses only
    // the file, not the number.
    let file = dir.join("result.json");
    vae::fs::atomic_write(&file, serde_json::to_string_pretty(&result)?.as_bytes())
        .with_context(|| "the result above could not be saved".to_string())?;
    println!("   {:.0} s; {}", seconds, file.display());
    Ok(())
}

/// Whether a difference from the paper's number is more than the paper's spread (widened by our
/// standard error) or, where the paper reports none, more than two of our standard errors; `None`
/// when neither is known.
pub(crate) fn misses(difference: f64, spread: Option<f64>, se: Option<f64>) -> Option<bool> {
    match (spread, se) {
        (Some(spread), se) => Some(difference.abs() > spread + se.unwrap_or(0.0)),
        (None, Some(se)) => Some(difference.abs() > 2.0 * se),
        (None, None) => None,
    }
}
