//! The Markdown report of every target's result at a budget, each row linking its record.

use crate::registry::TARGETS;
use crate::shared::trained_epochs;
use crate::target::{Budget, Step, Target};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The Markdown table of every target's `result.json` at `budget` under `out`, for the file
/// `report`: each figure is copied beside it, into `reproductions/TARGET-FIGURE`, and linked
/// relatively, so the report and its figures can be committed or moved together. So is each
/// result, as `reproductions/TARGET.BUDGET.json`: a target whose run directory is not on this
/// machine keeps the row of its last result. At the paper budget, a target without a paper
/// result shows its 3-hour one, labelled.
pub fn report(out: &Path, budget: Budget, report: &Path) -> Result<String> {
    let report_dir = report.parent().unwrap_or(Path::new(""));
    let figures_dir = report_dir.join("reproductions");
    let budgets = match budget {
        Budget::Paper => vec![Budget::Paper, Budget::ThreeHours],
        other => vec![other],
    };
    let mut table = format!(
        "# Reproductions\n\nWritten by `vae reproduce --report` from `{}/*/{}/result.json`{}{}. Each row is remade by the `vae reproduce` command that heads its commands cell, and its record is the `result.json` that command wrote, kept as `reproductions/TARGET.BUDGET.json` and linked in the row, so a row stays when its run directories are not on the machine that rewrites the report. The machine cell is the record's: CPU, threads, date, version and commit (records written before results carried them say so). The time is the wall clock of the command that finished the row, and below it the training time of every epoch of its runs summed from their metrics, which counts the epochs of earlier commands too where a target was resumed.\n\n",
        out.display(),
        budget.name(),
        match budget {
            Budget::Paper => ", or, for a target without one, its 3-hour budget's (`--budget 3h`: the paper's model on a schedule that fits 3 hours of one thread here, labelled in the row)",
            _ => "",
        },
        match budget {
            Budget::Quick => " (quick budget: shortened schedules, not the papers'; their numbers are not comparable)",
            _ => "",
        }
    );
    table.push_str(
        "| target | paper | paper's value | ours | difference | agreement | record | machine | time | commands | figures |\n",
    );
    table.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for target in TARGETS {
        let paper = target.reference_value();
        let mut found = None;
        for &b in &budgets {
            if let Some((r, run_dir)) = find_result(out, &figures_dir, target, b)? {
                found = Some((r, b, run_dir));
                break;
            }
        }
        let Some((r, shown, run_dir)) = found else {
            let status = progress(target, budget, &out.join(target.name).join(budget.name()))?;
            table.push_str(&format!(
                "| `{}` | {} | {paper} | {status} | | | | | | `vae reproduce {} --budget {}` | |\n",
                target.name,
                target.paper,
                target.name,
                budget.name()
            ));
            continue;
        };
        std::fs::create_dir_all(&figures_dir)
            .with_context(|| format!("creating {}", figures_dir.display()))?;
        if run_dir.is_some() {
            vae::fs::atomic_write(
                &record_file(&figures_dir, target, shown),
                serde_json::to_string_pretty(&r)?.as_bytes(),
            )?;
        }
        let mut ours = match (r["ours"].as_f64(), r["standard_error"].as_f64()) {
            (Some(v), Some(se)) => format!("{v:.2} ± {se:.2}"),
            (Some(v), None) => format!("{v:.2}"),
            _ => "figure".into(),
        };
        if shown != budget {
            ours.push_str("<br>(3-hour budget)");
        }
        // A reference measured in the run replaces the quoted value.
        let paper = match (r["paper_value"].as_f64(), r["paper_value_source"].as_str()) {
            (Some(v), Some(source)) if source.starts_with("measured") => {
                format!("{v:.2} {} ({source})", target.metric.unit())
            }
            _ => paper,
        };
        let difference = r["difference"]
            .as_f64()
            .map_or(String::new(), |d| format!("{d:+.2}"));
        let spread = r["paper_spread"]
            .as_f64()
            .map_or("two standard errors".to_string(), |s| format!("± {s:.2}"));
        let agreement = match r["misses"].as_bool() {
            Some(true) => format!(
                "misses by more than {spread}: {}",
                r["why"].as_str().unwrap_or("")
            ),
            Some(false) => format!("within {spread}"),
            None => String::new(),
        };
        let commands: Vec<String> = r["commands"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .map(|c| format!("`{c}`"))
                    .collect()
            })
            .unwrap_or_default();
        let mut figures = Vec::new();
        for f in r["figures"].as_array().into_iter().flatten() {
            let Some(f) = f.as_str().filter(|f| !f.contains(['/', '\\'])) else {
                bail!("{}: a figure is not a file name", target.name);
            };
            let name = format!("{}-{f}", target.name);
            if let Some(dir) = &run_dir {
                let source = dir.join(f);
                let bytes = std::fs::read(&source)
                    .with_context(|| format!("reading {}", source.display()))?;
                vae::fs::atomic_write(&figures_dir.join(&name), &bytes)?;
            } else if !figures_dir.join(&name).is_file() {
                bail!(
                    "{}: the figure {name} its kept result names is not in {}",
                    target.name,
                    figures_dir.display()
                );
            }
            figures.push(format!("[{f}](reproductions/{name})"));
        }
        let mut time = r["seconds"].as_f64().map_or(String::new(), duration);
        if let Some(t) = r["training_seconds"].as_f64() {
            time.push_str(&format!("<br>epochs: {}", duration(t)));
        }
        let record = format!("{}.{}.json", target.name, shown.name());
        let machine = machine_cell(&r["machine"]);
        table.push_str(&format!(
            "| `{}` | {} | {paper} | {ours} | {difference} | {agreement} | [{record}](reproductions/{record}) | {machine} | {time} | `vae reproduce {} --budget {}`, which ran:<br>{} | {} |\n",
            target.name,
            target.paper,
            target.name,
            shown.name(),
            commands.join("<br>"),
            figures.join(" "),
        ));
    }
    Ok(table)
}

/// What a target without a result has done so far: "not run", or how many epochs each of its
/// runs under `dir` has trained (a run that has begun and not finished).
pub(crate) fn progress(target: &Target, budget: Budget, dir: &Path) -> Result<String> {
    let planned = |name: &str| {
        (target.steps)(budget)
            .into_iter()
            .find_map(|step| match step {
                Step::Train { run, epochs, .. } if run == name => Some(epochs),
                _ => None,
            })
    };
    let mut runs = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_dir()) {
            if let Some(done) = trained_epochs(&path)? {
                let name = path
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned());
                let of = planned(&name).map_or(String::new(), |e| format!(" of {e}"));
                runs.push(format!("{name}: {done}{of} epochs trained"));
            }
        }
    }
    Ok(if runs.is_empty() {
        "not run".into()
    } else {
        format!("in progress ({}); no result yet", runs.join(", "))
    })
}

/// A result's machine as the report prints it: CPU, threads, date, version and commit.
pub(crate) fn machine_cell(machine: &Value) -> String {
    let Some(m) = machine.as_object() else {
        return "not recorded (a record of an earlier version)".into();
    };
    let text = |key: &str| m.get(key).and_then(Value::as_str).unwrap_or("unknown");
    let threads = m.get("threads").and_then(Value::as_u64).unwrap_or(0);
    let commit = m
        .get("commit")
        .and_then(Value::as_str)
        .map_or(String::new(), |c| format!(" ({c})"));
    format!(
        "{}, {threads} {}, {}, {}{commit}",
        text("cpu"),
        if threads == 1 { "thread" } else { "threads" },
        text("date").get(..10).unwrap_or("unknown"),
        text("version"),
    )
}

/// Where the report keeps a copy of a target's result at a budget.
pub(crate) fn record_file(figures_dir: &Path, target: &Target, budget: Budget) -> PathBuf {
    figures_dir.join(format!("{}.{}.json", target.name, budget.name()))
}

/// A target's result at `budget`: from its run directory under `out` (returned with it), else
/// from the copy an earlier report kept; `None` when neither exists.
pub(crate) fn find_result(
    out: &Path,
    figures_dir: &Path,
    target: &Target,
    budget: Budget,
) -> Result<Option<(Value, Option<PathBuf>)>> {
    let dir = out.join(target.name).join(budget.name());
    let (file, run_dir) = if dir.join("result.json").is_file() {
        (dir.join("result.json"), Some(dir))
    } else {
        let record = record_file(figures_dir, target, budget);
        if !record.is_file() {
            return Ok(None);
        }
        (record, None)
    };
    let bytes = vae::fs::read_bounded(&file, vae::fs::JSON_LIMIT)?;
    let r: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", file.display()))?;
    if r.get("restored_from").is_some() {
        // A row rebuilt by hand is not a result: the target shows as not run until it reruns.
        eprintln!(
            "warning: {} was not written by a run (it has `restored_from`); {} shows as not run",
            file.display(),
            target.name
        );
        return Ok(None);
    }
    if r["target"] != target.name || r["budget"] != budget.name() {
        bail!(
            "{}: not the result of {} at the {} budget",
            file.display(),
            target.name,
            budget.name()
        );
    }
    Ok(Some((r, run_dir)))
}

/// Seconds as a reader takes them in: seconds under ten minutes, minutes under two hours, then
/// hours.
pub(crate) fn duration(seconds: f64) -> String {
    if seconds < 600.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}
