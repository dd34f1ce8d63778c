//! `vae reproduce NAME`: one command per published result. Each target is a list of `vae`
//! commands (train, evaluate, draw), run as child processes of this binary so that the commands
//! recorded in `result.json` are exactly what a reader would type. A target interrupted part-way
//! picks up from its finished runs: a training run whose `state.json` has reached its epochs is
//! skipped, one that has not is resumed.

use crate::cli::{BudgetArg, ReproduceArgs};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What one target runs: training runs, their evaluation, the figures.
enum Step {
    /// `vae train ARGS --epochs EPOCHS --out DIR/RUN` (resumed when interrupted); an argument
    /// `@RUN` stands for the directory of the target's run RUN (M1 + M2's `--features @m1`).
    Train {
        run: &'static str,
        args: Vec<String>,
        epochs: usize,
    },
    /// `vae eval --model DIR/RUN --iw-samples K [--limit N] --json`: the number set beside the
    /// paper's.
    Eval {
        run: &'static str,
        iw_samples: usize,
        limit: Option<usize>,
    },
    /// `vae COMMAND --model DIR/RUN ARGS --out DIR/FILE`.
    Picture {
        command: &'static str,
        run: &'static str,
        args: Vec<String>,
        file: String,
    },
}

/// A published result and how to remake it.
struct Target {
    name: &'static str,
    paper: &'static str,
    measures: &'static str,
    /// The data set the paper used (replaced by `--dataset`).
    dataset: &'static str,
    /// The paper's number, when there is one, in `metric`'s unit.
    paper_value: Option<f64>,
    metric: Metric,
    /// Expected wall-clock time on the 2-core development machine: quick, paper.
    expected: (&'static str, &'static str),
    steps: fn(Budget) -> Vec<Step>,
}

/// What a target's evaluation is compared on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// Test log p(x) in nats (IWAE estimate, with its standard error).
    LogLikelihood,
    /// Test classification error of q(y | x) in percent (with its binomial standard error).
    TestError,
}

impl Metric {
    fn unit(self) -> &'static str {
        match self {
            Metric::LogLikelihood => "nats",
            Metric::TestError => "% test error",
        }
    }

    /// Our value and its standard error from `vae eval --json`'s output.
    fn read(self, evaluation: &Value) -> Option<(f64, f64)> {
        match self {
            Metric::LogLikelihood => Some((
                evaluation.get("log_likelihood")?.as_f64()?,
                evaluation.get("log_likelihood_stderr")?.as_f64()?,
            )),
            Metric::TestError => {
                let error = evaluation.get("classification_error")?.as_f64()?;
                let images = evaluation.get("images")?.as_f64()?;
                let se = (error * (1.0 - error) / images.max(1.0)).sqrt();
                Some((100.0 * error, 100.0 * se))
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Budget {
    Quick,
    Paper,
}

impl Budget {
    fn name(self) -> &'static str {
        match self {
            Budget::Quick => "quick",
            Budget::Paper => "paper",
        }
    }

    fn pick(self, quick: usize, paper: usize) -> usize {
        match self {
            Budget::Quick => quick,
            Budget::Paper => paper,
        }
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Kingma & Welling's MNIST and Frey Face setup: one tanh hidden layer, Adagrad, minibatch 100.
/// Their Fig. 2 runs to 10^8 training samples: about 1,667 passes over MNIST's 60,000 images.
fn kingma_welling(hidden: &str, latent: &str) -> Vec<String> {
    strings(&[
        "--hidden",
        hidden,
        "--activation",
        "tanh",
        "--optimizer",
        "adagrad",
        "--lr",
        "0.02",
        "--batch-size",
        "100",
        "--latent",
        latent,
    ])
}

const KW_MNIST_EPOCHS: usize = 1667;

/// M1 of Kingma et al. 2014 as their released code builds it: two softplus layers of 500 units,
/// 50 latents.
fn m1_args() -> Vec<String> {
    strings(&[
        "--hidden",
        "500,500",
        "--latent",
        "50",
        "--activation",
        "softplus",
        "--batch-size",
        "100",
    ])
}

/// A row of Kingma et al. 2014's Table 1 for M1 + M2.
const fn m1_plus_m2(
    name: &'static str,
    measures: &'static str,
    paper_value: f64,
    steps: fn(Budget) -> Vec<Step>,
) -> Target {
    Target {
        name,
        paper: "Kingma, Rezende, Mohamed & Welling 2014, Table 1 (M1 + M2; the paper budget is our schedule, M1 150 epochs and M2 400, not the authors' 3,000)",
        measures,
        dataset: "mnist",
        paper_value: Some(paper_value),
        metric: Metric::TestError,
        expected: ("1 min", "1 h"),
        steps,
    }
}

/// M1, then M2 on its codes from `labels` labels, scored and drawn. The paper budget is our
/// schedule (M1 150 epochs, M2 400; see the README's M1 + M2 section), not the authors' 3,000
/// epochs; the quick budget uses at most 100 labels, so it runs on small data sets.
fn m1_plus_m2_steps(labels: usize, budget: Budget) -> Vec<Step> {
    let labels = budget.pick(labels.min(100), labels).to_string();
    vec![
        Step::Train {
            run: "m1",
            args: m1_args(),
            epochs: budget.pick(2, 150),
        },
        Step::Train {
            run: "m2",
            args: m2_on_codes_args(&labels, budget),
            epochs: budget.pick(2, 400),
        },
        Step::Eval {
            run: "m2",
            iw_samples: 10,
            limit: None,
        },
        Step::Picture {
            command: "analogy",
            run: "m2",
            args: strings(&["--images", "0,1,2,3,4,5,6,7"]),
            file: "analogy.png".into(),
        },
    ]
}

/// M2 on M1's codes: 300 softplus units, 50 latents, Adam 2e-3 falling to 0 (cosine). The quick
/// budget keeps every code dimension: a 2-epoch M1 has not yet let its unused ones collapse.
fn m2_on_codes_args(labels: &str, budget: Budget) -> Vec<String> {
    let threshold = match budget {
        Budget::Quick => "0",
        Budget::Paper => "0.1",
    };
    strings(&[
        "--model",
        "m2",
        "--labels",
        labels,
        "--features",
        "@m1",
        "--hidden",
        "300",
        "--latent",
        "50",
        "--activation",
        "softplus",
        "--lr",
        "2e-3",
        "--lr-schedule",
        "cosine",
        "--active-threshold",
        threshold,
    ])
}

const TARGETS: &[Target] = &[
    Target {
        name: "kingma2013-fig4-mnist",
        paper: "Kingma & Welling 2013, Fig. 4(b)",
        measures: "the learned 2-D manifold of MNIST (a figure; no number)",
        dataset: "mnist",
        paper_value: None,
        metric: Metric::LogLikelihood,
        expected: ("1 min", "1.2 h"),
        steps: |budget| {
            vec![
                Step::Train {
                    run: "latent2",
                    args: kingma_welling("500", "2"),
                    epochs: budget.pick(2, KW_MNIST_EPOCHS),
                },
                Step::Picture {
                    command: "manifold",
                    run: "latent2",
                    args: strings(&["--grid", "20"]),
                    file: "manifold.png".into(),
                },
            ]
        },
    },
    Target {
        name: "kingma2013-fig4-frey",
        paper: "Kingma & Welling 2013, Fig. 4(a)",
        measures: "the learned 2-D manifold of Frey Face (a figure; no number)",
        dataset: "frey",
        paper_value: None,
        metric: Metric::LogLikelihood,
        expected: ("10 s", "3 min"),
        steps: |budget| {
            vec![
                Step::Train {
                    run: "latent2",
                    args: kingma_welling("200", "2"),
                    epochs: budget.pick(20, 3000),
                },
                Step::Picture {
                    command: "manifold",
                    run: "latent2",
                    args: strings(&["--grid", "12", "--scale", "2"]),
                    file: "manifold.png".into(),
                },
            ]
        },
    },
    Target {
        name: "kingma2013-fig5",
        paper: "Kingma & Welling 2013, Fig. 5",
        measures: "random samples of MNIST models with 2, 5, 10 and 20 latent dimensions (figures)",
        dataset: "mnist",
        paper_value: None,
        metric: Metric::LogLikelihood,
        expected: ("3 min", "5 h"),
        steps: |budget| {
            let mut steps = Vec::new();
            for (run, latent) in [
                ("latent2", "2"),
                ("latent5", "5"),
                ("latent10", "10"),
                ("latent20", "20"),
            ] {
                steps.push(Step::Train {
                    run,
                    args: kingma_welling("500", latent),
                    epochs: budget.pick(2, KW_MNIST_EPOCHS),
                });
                steps.push(Step::Picture {
                    command: "sample",
                    run,
                    args: strings(&["--n", "100"]),
                    file: format!("samples-{run}.png"),
                });
            }
            steps
        },
    },
    Target {
        name: "doersch2016-fig6",
        paper: "Doersch 2016, Sec. 4 and Fig. 6",
        measures: "conditional VAE samples, one row per digit (a figure)",
        dataset: "mnist",
        paper_value: None,
        metric: Metric::LogLikelihood,
        expected: ("1 min", "5 min"),
        steps: |budget| {
            vec![
                Step::Train {
                    run: "cvae",
                    args: strings(&["--model", "cvae", "--latent", "2", "--hidden", "256"]),
                    epochs: budget.pick(2, 30),
                },
                Step::Picture {
                    command: "sample",
                    run: "cvae",
                    args: strings(&["--n", "100", "--columns", "10"]),
                    file: "samples-by-digit.png".into(),
                },
            ]
        },
    },
    Target {
        name: "burda2015-vae-k1",
        paper: "Burda, Grosse & Salakhutdinov 2015, Table 1 (VAE, one stochastic layer, k = 1)",
        measures: "test log p(x) of a 784-200-200-50 tanh VAE, K = 5000 importance samples",
        dataset: "mnist",
        paper_value: Some(-86.76),
        metric: Metric::LogLikelihood,
        expected: ("1 min", "4 to 6 days"),
        steps: |budget| {
            vec![
                Step::Train {
                    run: "vae",
                    args: strings(&[
                        "--hidden",
                        "200,200",
                        "--latent",
                        "50",
                        "--activation",
                        "tanh",
                        "--batch-size",
                        "20",
                        "--lr-schedule",
                        "burda",
                    ]),
                    epochs: budget.pick(1, 3280),
                },
                Step::Eval {
                    run: "vae",
                    iw_samples: budget.pick(50, 5000),
                    limit: (budget == Budget::Quick).then_some(500),
                },
            ]
        },
    },
    m1_plus_m2(
        "kingma2014-m1m2-100",
        "MNIST test error of the stacked model from 100 labels",
        3.33,
        |b| m1_plus_m2_steps(100, b),
    ),
    m1_plus_m2(
        "kingma2014-m1m2-600",
        "MNIST test error of the stacked model from 600 labels",
        2.59,
        |b| m1_plus_m2_steps(600, b),
    ),
    m1_plus_m2(
        "kingma2014-m1m2-1000",
        "MNIST test error of the stacked model from 1000 labels",
        2.40,
        |b| m1_plus_m2_steps(1000, b),
    ),
    m1_plus_m2(
        "kingma2014-m1m2-3000",
        "MNIST test error of the stacked model from 3000 labels",
        2.18,
        |b| m1_plus_m2_steps(3000, b),
    ),
];

pub fn run(args: ReproduceArgs) -> Result<()> {
    if args.list {
        for t in TARGETS {
            println!("{}", t.name);
            println!("    {}: {}", t.paper, t.measures);
            let value = t.paper_value.map_or("figure".to_string(), |v| {
                format!("{v:.2} {}", t.metric.unit())
            });
            println!(
                "    paper: {value}; data set {}; expected time on 2 cores: quick {}, paper {}",
                t.dataset, t.expected.0, t.expected.1
            );
        }
        return Ok(());
    }
    let known = || {
        TARGETS
            .iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let targets: Vec<&Target> = match (&args.name, args.all) {
        (Some(_), true) => bail!("give a target name or --all, not both"),
        (None, false) if args.report.is_some() => Vec::new(),
        (None, false) => bail!("name a target (one of {}) or give --all", known()),
        (None, true) => TARGETS.iter().collect(),
        (Some(name), false) => match TARGETS.iter().find(|t| t.name == name) {
            Some(t) => vec![t],
            None => bail!("no target `{name}`; the targets are {}", known()),
        },
    };
    let budget = match args.budget {
        BudgetArg::Quick => Budget::Quick,
        BudgetArg::Paper => Budget::Paper,
    };
    for target in targets {
        run_target(target, budget, &args)?;
    }
    if let Some(file) = &args.report {
        let table = report(&args.out, budget)?;
        vae::fs::atomic_write(file, table.as_bytes())?;
        println!("wrote {}", file.display());
    }
    Ok(())
}

/// The Markdown table of every target's `result.json` at `budget` under `out`.
fn report(out: &Path, budget: Budget) -> Result<String> {
    let mut table = format!(
        "# Reproductions\n\nWritten by `vae reproduce --report` from `{}/*/{}/result.json`{}.\n\n",
        out.display(),
        budget.name(),
        match budget {
            Budget::Quick => " (quick budget: shortened schedules, not the papers'; their numbers are not comparable)",
            Budget::Paper => "",
        }
    );
    table.push_str(
        "| target | paper | paper's value | ours | difference | time | commands | figures |\n",
    );
    table.push_str("|---|---|---|---|---|---|---|---|\n");
    for target in TARGETS {
        let file = out
            .join(target.name)
            .join(budget.name())
            .join("result.json");
        let paper = target.paper_value.map_or("figure".to_string(), |v| {
            format!("{v:.2} {}", target.metric.unit())
        });
        if !file.is_file() {
            table.push_str(&format!(
                "| `{}` | {} | {paper} | not run | | | `vae reproduce {} --budget {}` | |\n",
                target.name,
                target.paper,
                target.name,
                budget.name()
            ));
            continue;
        }
        let bytes = vae::fs::read_bounded(&file, vae::fs::JSON_LIMIT)?;
        let r: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", file.display()))?;
        let ours = match (r["ours"].as_f64(), r["standard_error"].as_f64()) {
            (Some(v), Some(se)) => format!("{v:.2} ± {se:.2}"),
            _ => "figure".into(),
        };
        let difference = r["difference"]
            .as_f64()
            .map_or(String::new(), |d| format!("{d:+.2}"));
        let commands: Vec<String> = r["commands"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .map(|c| format!("`{c}`"))
                    .collect()
            })
            .unwrap_or_default();
        let figures: Vec<String> = r["figures"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(Value::as_str)
                    .map(|f| {
                        let path = out.join(target.name).join(budget.name()).join(f);
                        format!("[{f}]({})", path.display())
                    })
                    .collect()
            })
            .unwrap_or_default();
        table.push_str(&format!(
            "| `{}` | {} | {paper} | {ours} | {difference} | {:.0} s | {} | {} |\n",
            target.name,
            target.paper,
            r["seconds"].as_f64().unwrap_or(f64::NAN),
            commands.join("<br>"),
            figures.join(" "),
        ));
    }
    Ok(table)
}

/// Runs (or finishes) one target and writes its `result.json`.
fn run_target(target: &Target, budget: Budget, args: &ReproduceArgs) -> Result<()> {
    let dir = args.out.join(target.name).join(budget.name());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dataset = args.dataset.as_deref().unwrap_or(target.dataset);
    let note = match (budget, &args.dataset) {
        (Budget::Quick, _) => "quick budget: a shortened schedule, not the paper's",
        (Budget::Paper, Some(_)) => "on another data set than the paper's",
        (Budget::Paper, None) => "",
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
    for step in (target.steps)(budget) {
        match step {
            Step::Train {
                run,
                args: a,
                epochs,
            } => {
                let run_dir = dir.join(run);
                let command = match trained_epochs(&run_dir)? {
                    Some(done) if done >= epochs => {
                        println!("   {run}: already trained for {done} epochs");
                        commands.push(format!("(finished) vae train --out {}", run_dir.display()));
                        continue;
                    }
                    Some(_) => {
                        let mut c = strings(&["train", "--resume"]);
                        c.push(path_arg(&run_dir));
                        c.extend(strings(&["--epochs", &epochs.to_string()]));
                        c
                    }
                    None => {
                        let mut c = strings(&["train", "--dataset", dataset]);
                        c.extend(a.into_iter().map(|arg| match arg.strip_prefix('@') {
                            Some(other) => path_arg(&dir.join(other)),
                            None => arg,
                        }));
                        c.extend(strings(&["--epochs", &epochs.to_string(), "--out"]));
                        c.push(path_arg(&run_dir));
                        c
                    }
                };
                let command = with_shared(command, args);
                run_vae(&command, None)?;
                commands.push(display(&command));
            }
            Step::Eval {
                run,
                iw_samples,
                limit,
            } => {
                let mut command = strings(&["eval", "--model"]);
                command.push(path_arg(&dir.join(run)));
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
                run_vae(&command, Some(&mut output))?;
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
                let mut command = strings(&[name, "--model"]);
                command.push(path_arg(&dir.join(run)));
                command.extend(a);
                command.push("--out".into());
                command.push(path_arg(&dir.join(&file)));
                run_vae(&command, None)?;
                commands.push(display(&command));
                figures.push(file);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let ours = evaluation.as_ref().and_then(|e| target.metric.read(e));
    let result = json!({
        "target": target.name,
        "paper": target.paper,
        "measures": target.measures,
        "budget": budget.name(),
        "dataset": dataset,
        "paper_value": target.paper_value,
        "unit": target.metric.unit(),
        "ours": ours.map(|(v, _)| v),
        "standard_error": ours.map(|(_, se)| se),
        "difference": ours.zip(target.paper_value).map(|((v, _), p)| v - p),
        "evaluation": evaluation,
        "figures": figures,
        "seconds": seconds,
        "commands": commands,
        "note": note,
    });
    let file = dir.join("result.json");
    vae::fs::atomic_write(&file, serde_json::to_string_pretty(&result)?.as_bytes())?;
    match (ours, target.paper_value) {
        (Some((v, se)), Some(p)) => println!(
            "   ours {v:.2} ± {se:.2} {unit}, paper {p:.2}: difference {:+.2}{label}",
            v - p,
            unit = target.metric.unit()
        ),
        _ => println!(
            "   figures: {} (set them beside the paper's){label}",
            figures
                .iter()
                .map(|f| dir.join(f).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    println!("   {:.0} s; {}", seconds, file.display());
    Ok(())
}

/// The epochs a run directory has completed, or None when it holds no resumable run.
fn trained_epochs(dir: &Path) -> Result<Option<usize>> {
    let state = dir.join(vae::checkpoint::STATE_FILE);
    if !state.is_file() {
        return Ok(None);
    }
    let bytes = vae::fs::read_bounded(&state, vae::fs::JSON_LIMIT)?;
    let value: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", state.display()))?;
    Ok(value
        .get("epoch")
        .and_then(Value::as_u64)
        .map(|e| e as usize))
}

/// `--threads` and `--data-dir`, passed on to training and evaluation (the pictures of these
/// targets read no data).
fn with_shared(mut command: Vec<String>, args: &ReproduceArgs) -> Vec<String> {
    if let Some(threads) = args.threads {
        command.extend(strings(&["--threads", &threads.to_string()]));
    }
    if let Some(dir) = &args.data_dir {
        command.push("--data-dir".into());
        command.push(path_arg(dir));
    }
    command
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

fn display(command: &[String]) -> String {
    let mut line = String::from("vae");
    for arg in command {
        line.push(' ');
        if arg.contains(char::is_whitespace) {
            line.push_str(&format!("'{arg}'"));
        } else {
            line.push_str(arg);
        }
    }
    line
}

/// Runs this binary with `command`, its output shown (or captured into `capture`).
fn run_vae(command: &[String], capture: Option<&mut String>) -> Result<()> {
    let exe: PathBuf = std::env::current_exe().context("finding the vae binary")?;
    println!("   $ {}", display(command));
    let mut child = Command::new(exe);
    child.args(command);
    if capture.is_some() {
        child.stdout(Stdio::piped());
    }
    let output = child
        .spawn()
        .with_context(|| format!("starting `{}`", display(command)))?
        .wait_with_output()
        .with_context(|| format!("running `{}`", display(command)))?;
    if !output.status.success() {
        bail!("`{}` failed ({})", display(command), output.status);
    }
    if let Some(capture) = capture {
        *capture = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    Ok(())
}
