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
    /// A `shared` run lives in `OUT/shared/BUDGET/DATASET/RUN` instead, trained once for every
    /// target that names it with the same arguments (M1, under each M1 + M2 row).
    Train {
        run: &'static str,
        args: Vec<String>,
        epochs: usize,
        shared: bool,
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
    /// `vae curves --by-samples --model DIR/RUN ... --out DIR/FILE`: a panel per run.
    Curves {
        runs: Vec<&'static str>,
        title: &'static str,
        file: &'static str,
    },
    /// The final test loss of `run`, from its metrics: the number set beside the reference's.
    FinalLoss { run: &'static str },
    /// pytorch/examples' VAE (`bench/pytorch_reference.py`) trained for `epochs` on the same
    /// data, when Python with PyTorch is here: its last test loss becomes the value ours is set
    /// beside (otherwise the target's quoted value stands, labelled as measured elsewhere).
    Reference { epochs: usize },
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
    /// The spread the paper reports with it (± over its runs), when it reports one.
    paper_spread: Option<f64>,
    /// Why ours may miss the paper's number, printed when it does by more than the spread.
    why: &'static str,
    metric: Metric,
    /// Expected wall-clock time on a 2-core machine: quick, paper.
    expected: (&'static str, &'static str),
    /// Expected time at the 3-hour budget, where it shortens the paper's schedule.
    expected_3h: Option<&'static str>,
    steps: fn(Budget) -> Vec<Step>,
}

impl Target {
    /// The value ours is set beside, as the list and the report print it.
    fn reference_value(&self) -> String {
        match (self.paper_value, self.metric) {
            (Some(v), metric) => format!("{v:.2} {}", metric.unit()),
            (None, Metric::TestLoss) => "measured beside ours in the same command".into(),
            (None, _) => "figure".into(),
        }
    }
}

/// What a target's evaluation is compared on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// Test log p(x) in nats (IWAE estimate, with its standard error).
    LogLikelihood,
    /// Test classification error of q(y | x) in percent (with its binomial standard error).
    TestError,
    /// The negative ELBO per test image after training, in nats (no standard error: one run).
    TestLoss,
}

impl Metric {
    fn unit(self) -> &'static str {
        match self {
            Metric::LogLikelihood => "nats",
            Metric::TestError => "% test error",
            Metric::TestLoss => "nats test loss",
        }
    }

    /// Our value and its standard error, where there is one, from `vae eval --json`'s output
    /// (or, for the test loss, `Step::FinalLoss`'s).
    fn read(self, evaluation: &Value) -> Option<(f64, Option<f64>)> {
        match self {
            Metric::LogLikelihood => Some((
                evaluation.get("log_likelihood")?.as_f64()?,
                evaluation.get("log_likelihood_stderr")?.as_f64(),
            )),
            Metric::TestError => {
                let error = evaluation.get("classification_error")?.as_f64()?;
                let images = evaluation.get("images")?.as_f64()?;
                let se = (error * (1.0 - error) / images.max(1.0)).sqrt();
                Some((100.0 * error, Some(100.0 * se)))
            }
            Metric::TestLoss => Some((evaluation.get("test_loss")?.as_f64()?, None)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Budget {
    Quick,
    /// What one thread of the 2-core machine trains and scores within 3 hours: the paper's
    /// schedule where it fits, a shortened one where it does not (Burda et al.'s rows: a cosine
    /// learning rate over the epochs that fit).
    ThreeHours,
    Paper,
}

impl Budget {
    fn name(self) -> &'static str {
        match self {
            Budget::Quick => "quick",
            Budget::ThreeHours => "3h",
            Budget::Paper => "paper",
        }
    }

    /// `quick` at the quick budget, else the paper's `paper` (which fits in 3 hours).
    fn pick(self, quick: usize, paper: usize) -> usize {
        self.shortened(quick, paper, paper)
    }

    /// `quick`, `three_hours` or `paper`: for a schedule the 3-hour budget shortens.
    fn shortened(self, quick: usize, three_hours: usize, paper: usize) -> usize {
        match self {
            Budget::Quick => quick,
            Budget::ThreeHours => three_hours,
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

/// The passes of each Kingma & Welling MNIST model (Figs. 2 and 5) at the 3-hour budget: one
/// pass of 784-500-N takes about 5.4 s on one thread of the 2-core machine, so Fig. 5's four
/// models take 1.8 h and Fig. 2's five 2.3 h (0.9 h once Fig. 5's have trained: they share three).
const KW_MNIST_3H_EPOCHS: usize = 300;

/// Frey Face's training images (about 1,900 of 1,965): 5,000 passes are about 10^7 samples.
const KW_FREY_EPOCHS: usize = 5000;

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

/// A figure of a paper: nothing to set a number of ours beside (the metric is never read).
const fn figure(
    name: &'static str,
    paper: &'static str,
    measures: &'static str,
    dataset: &'static str,
    expected: (&'static str, &'static str),
    steps: fn(Budget) -> Vec<Step>,
) -> Target {
    Target {
        name,
        paper,
        measures,
        dataset,
        paper_value: None,
        paper_spread: None,
        why: "",
        metric: Metric::LogLikelihood,
        expected,
        expected_3h: None,
        steps,
    }
}

/// What sets the M2 and the M1 + M2 rows of Kingma et al. 2014's Table 1 apart.
struct Kingma2014 {
    paper: &'static str,
    why: &'static str,
    expected_quick: &'static str,
    expected_paper: &'static str,
}

const M2_ON_PIXELS: Kingma2014 = Kingma2014 {
    paper: "Kingma, Rezende, Mohamed & Welling 2014, Table 1 (M2; the paper budget is our schedule, 50 epochs, not the authors' 3,000)",
    why: "on our 50-epoch schedule M2's test error levels off after about 40 epochs; the authors trained for about 3,000 (docs/models.md)",
    expected_quick: "40 s",
    expected_paper: "30 min",
};

const M1_PLUS_M2: Kingma2014 = Kingma2014 {
    paper: "Kingma, Rezende, Mohamed & Welling 2014, Table 1 (M1 + M2; the paper budget is our schedule, M1 150 epochs and M2 400, not the authors' 3,000)",
    why: "our schedule (M1 150 epochs, M2 400 on its codes) against the authors' 3,000 epochs (docs/models.md)",
    expected_quick: "30 s",
    expected_paper: "1 h",
};

/// A row of Kingma et al. 2014's Table 1: the paper's test error and its spread.
const fn kingma2014_row(
    name: &'static str,
    model: Kingma2014,
    measures: &'static str,
    (paper_value, paper_spread): (f64, f64),
    steps: fn(Budget) -> Vec<Step>,
) -> Target {
    Target {
        name,
        paper: model.paper,
        measures,
        dataset: "mnist",
        paper_value: Some(paper_value),
        paper_spread: Some(paper_spread),
        why: model.why,
        metric: Metric::TestError,
        expected: (model.expected_quick, model.expected_paper),
        expected_3h: None,
        steps,
    }
}

/// An M2 run's test error (`vae eval`) and its analogies, the last steps of every such row.
fn m2_scored(run: &'static str) -> [Step; 2] {
    [
        Step::Eval {
            run,
            iw_samples: 10,
            limit: None,
        },
        Step::Picture {
            command: "analogy",
            run,
            args: strings(&["--images", "0,1,2,3,4,5,6,7"]),
            file: "analogy.png".into(),
        },
    ]
}

/// M1, then M2 on its codes from `labels` labels, scored and drawn. The paper budget is our
/// schedule (M1 150 epochs, M2 400; see docs/models.md), not the authors' 3,000
/// epochs; the quick budget uses at most 100 labels, so it runs on small data sets.
fn m1_plus_m2_steps(labels: usize, budget: Budget) -> Vec<Step> {
    let labels = budget.pick(labels.min(100), labels).to_string();
    vec![
        Step::Train {
            run: "m1",
            args: m1_args(),
            epochs: budget.pick(2, 150),
            shared: true,
        },
        Step::Train {
            run: "m2",
            args: m2_on_codes_args(&labels, budget),
            epochs: budget.pick(2, 400),
            shared: false,
        },
    ]
    .into_iter()
    .chain(m2_scored("m2"))
    .collect()
}

/// M2 on pixels from `labels` labels: 784-500-50 with a 500-unit classifier, ReLU, Adam 1e-3,
/// 100 unlabelled and 100 labelled images per batch, 50 epochs (the quick budget: 2 epochs, at
/// most 100 labels).
fn m2_steps(labels: usize, budget: Budget) -> Vec<Step> {
    let labels = budget.pick(labels.min(100), labels).to_string();
    vec![Step::Train {
        run: "m2",
        args: strings(&[
            "--model",
            "m2",
            "--labels",
            &labels,
            "--hidden",
            "500",
            "--latent",
            "50",
            "--batch-size",
            "100",
        ]),
        epochs: budget.pick(2, 50),
        shared: false,
    }]
    .into_iter()
    .chain(m2_scored("m2"))
    .collect()
}

/// M2 on M1's codes: 300 softplus units, 50 latents, Adam 2e-3 falling to 0 (cosine). The quick
/// budget keeps every code dimension: a 2-epoch M1 has not yet let its unused ones collapse.
fn m2_on_codes_args(labels: &str, budget: Budget) -> Vec<String> {
    let threshold = match budget {
        Budget::Quick => "0",
        Budget::ThreeHours | Budget::Paper => "0.1",
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

/// Burda, Grosse & Salakhutdinov 2015's MNIST models (Sec. 5): one stochastic layer
/// (784-200-200-50) or two (784-200-200-100, then 100-100-50), tanh, batch 20, their schedule of
/// 3,280 passes; trained with the ELBO or the IWAE bound and `k` samples. The quick budget takes
/// at most 5 samples; the 3-hour budget trains `three_hour_epochs` with a cosine learning rate
/// (the paper's schedule spends its last two thirds at its two smallest rates, a shortened copy
/// of it would not). At that budget the two-layer models also warm their KL up over
/// `three_hour_warmup` epochs (Sønderby et al. 2016): without it the 50 top units were all
/// inactive by the tenth epoch (the ELBO, 0 of 50 at its end; the IWAE bound, likewise collapsed).
fn burda_steps(
    two_layers: bool,
    objective: &str,
    k: usize,
    three_hour_epochs: usize,
    three_hour_warmup: Option<usize>,
    budget: Budget,
) -> Vec<Step> {
    let mut args = strings(&["--hidden", "200,200", "--latent"]);
    if two_layers {
        args.extend(strings(&[
            "100",
            "--top-hidden",
            "100,100",
            "--top-latent",
            "50",
        ]));
    } else {
        args.push("50".into());
    }
    args.extend(strings(&[
        "--activation",
        "tanh",
        "--batch-size",
        "20",
        "--lr-schedule",
        match budget {
            Budget::ThreeHours => "cosine",
            Budget::Quick | Budget::Paper => "burda",
        },
    ]));
    let k = budget.pick(k.min(5), k);
    if objective != "elbo" {
        args.extend(strings(&["--objective", objective]));
    }
    if k > 1 {
        args.extend(strings(&["--k", &k.to_string()]));
    }
    if let (Some(epochs), Budget::ThreeHours) = (three_hour_warmup, budget) {
        args.extend(strings(&["--kl-warmup", &epochs.to_string()]));
    }
    vec![
        Step::Train {
            run: "vae",
            args,
            epochs: budget.shortened(1, three_hour_epochs, 3280),
            shared: false,
        },
        Step::Eval {
            run: "vae",
            iw_samples: budget.pick(50, 5000),
            limit: (budget == Budget::Quick).then_some(500),
        },
    ]
}

/// A row of Burda et al. 2015's Table 1.
const fn burda_row(
    name: &'static str,
    paper: &'static str,
    paper_value: f64,
    (expected_paper, expected_3h): (&'static str, &'static str),
    steps: fn(Budget) -> Vec<Step>,
) -> Target {
    Target {
        name,
        paper,
        measures: "test log p(x), K = 5000 importance samples, dynamically binarized MNIST",
        dataset: "mnist",
        paper_value: Some(paper_value),
        paper_spread: None,
        why: "one seed; the paper's number comes from its full 3,280 passes",
        metric: Metric::LogLikelihood,
        expected: ("5 s", expected_paper),
        expected_3h: Some(expected_3h),
        steps,
    }
}

/// Kingma & Welling 2013, Fig. 2: their setup (`kingma_welling`) for each latent size, to
/// `epochs` passes, the bounds drawn against the training samples evaluated.
///
/// With `shared`, the runs live in the shared directory, where MNIST's N_z = 5, 10 and 20 are also
/// Fig. 5's models (the same setup, passes and seed), trained once for both figures. They are
/// trained last, in the reverse of Fig. 5's order, so the two targets started side by side train
/// different models and seldom wait for one another.
fn kingma_welling_fig2(
    hidden: &str,
    epochs: usize,
    shared: bool,
    title: &'static str,
) -> Vec<Step> {
    const RUNS: [(&str, &str); 5] = [
        ("latent3", "3"),
        ("latent5", "5"),
        ("latent10", "10"),
        ("latent20", "20"),
        ("latent200", "200"),
    ];
    // Indices into RUNS (whose order is the figure's panels): N_z = 3 and 200 first, then 20,
    // 10, 5.
    const TRAINING_ORDER: [usize; 5] = [0, 4, 3, 2, 1];
    let mut steps: Vec<Step> = TRAINING_ORDER
        .iter()
        .map(|&i| Step::Train {
            run: RUNS[i].0,
            args: kingma_welling(hidden, RUNS[i].1),
            epochs,
            shared,
        })
        .collect();
    steps.push(Step::Curves {
        runs: RUNS.iter().map(|&(run, _)| run).collect(),
        title,
        file: "bound-by-samples.png",
    });
    steps
}

/// pytorch/examples' vae/main.py as `bench/pytorch_reference.py` runs it: 784-400-20, ReLU,
/// Adam 1e-3, batch 128, BCE on grey levels, 10 epochs.
fn pytorch_examples_steps(budget: Budget) -> Vec<Step> {
    let epochs = budget.pick(1, 10);
    vec![
        Step::Train {
            run: "vae",
            args: strings(&[
                "--hidden",
                "400",
                "--latent",
                "20",
                "--activation",
                "relu",
                "--batch-size",
                "128",
                "--binarize",
                "none",
            ]),
            epochs,
            shared: false,
        },
        Step::FinalLoss { run: "vae" },
        Step::Reference { epochs },
    ]
}

const TARGETS: &[Target] = &[
    figure(
        "kingma2013-fig4-mnist",
        "Kingma & Welling 2013, Fig. 4(b)",
        "the learned 2-D manifold of MNIST (a figure; no number)",
        "mnist",
        ("5 s", "2.5 h"),
        |budget| {
            vec![
                // At the paper's budget this is Fig. 5's N_z = 2 model (the same 1,667 passes),
                // so the two share it; at 3h Fig. 5 trains 300 passes, so this one keeps its own.
                Step::Train {
                    run: "latent2",
                    args: kingma_welling("500", "2"),
                    epochs: budget.pick(2, KW_MNIST_EPOCHS),
                    shared: budget == Budget::Paper,
                },
                Step::Picture {
                    command: "manifold",
                    run: "latent2",
                    args: strings(&["--grid", "20"]),
                    file: "manifold.png".into(),
                },
            ]
        },
    ),
    figure(
        "kingma2013-fig4-frey",
        "Kingma & Welling 2013, Fig. 4(a)",
        "the learned 2-D manifold of Frey Face (a figure; no number)",
        "frey",
        ("2 s", "3 min"),
        |budget| {
            vec![
                Step::Train {
                    run: "latent2",
                    args: kingma_welling("200", "2"),
                    epochs: budget.pick(20, 3000),
                    shared: false,
                },
                Step::Picture {
                    command: "manifold",
                    run: "latent2",
                    args: strings(&["--grid", "12", "--scale", "2"]),
                    file: "manifold.png".into(),
                },
            ]
        },
    ),
    Target {
        expected_3h: Some("1.8 h (300 passes per model)"),
        ..figure(
            "kingma2013-fig5",
            "Kingma & Welling 2013, Fig. 5",
            "random samples of MNIST models with 2, 5, 10 and 20 latent dimensions (figures)",
            "mnist",
            ("15 s", "10 h (7.5 h after Fig. 4's MNIST manifold, which trains its N_z = 2)"),
            |budget| {
                let mut steps = Vec::new();
                for (run, latent) in [
                    ("latent2", "2"),
                    ("latent5", "5"),
                    ("latent10", "10"),
                    ("latent20", "20"),
                ] {
                    // Shared with Fig. 2's MNIST models (`kingma_welling_fig2`).
                    steps.push(Step::Train {
                        run,
                        args: kingma_welling("500", latent),
                        epochs: budget.shortened(2, KW_MNIST_3H_EPOCHS, KW_MNIST_EPOCHS),
                        shared: true,
                    });
                    steps.push(Step::Picture {
                        command: "sample",
                        run,
                        args: strings(&["--n", "100", "--columns", "10"]),
                        file: format!("samples-{run}.png"),
                    });
                }
                steps
            },
        )
    },
    figure(
        "doersch2016-fig6",
        "Doersch 2016, Sec. 4 and Fig. 6",
        "conditional VAE samples, one row per digit (a figure)",
        "mnist",
        ("3 s", "5 min"),
        |budget| {
            vec![
                Step::Train {
                    run: "cvae",
                    args: strings(&["--model", "cvae", "--latent", "2", "--hidden", "256"]),
                    epochs: budget.pick(2, 30),
                    shared: false,
                },
                Step::Picture {
                    command: "sample",
                    run: "cvae",
                    args: strings(&["--n", "100", "--columns", "10"]),
                    file: "samples-by-digit.png".into(),
                },
            ]
        },
    ),
    burda_row(
        "burda2015-vae-k1",
        "Burda, Grosse & Salakhutdinov 2015, Table 1 (VAE, one stochastic layer, k = 1)",
        -86.76,
        ("4 h", "2.2 h"),
        |b| burda_steps(false, "elbo", 1, 2000, None, b),
    ),
    burda_row(
        "burda2015-vae-k50",
        "Burda, Grosse & Salakhutdinov 2015, Table 1 (VAE, one stochastic layer, k = 50: the ELBO averaged over 50 samples)",
        -86.35,
        ("about 4 days", "2 h"),
        |b| burda_steps(false, "elbo", 50, 130, None, b),
    ),
    burda_row(
        "burda2015-iwae-k50",
        "Burda, Grosse & Salakhutdinov 2015, Table 1 (IWAE, one stochastic layer, k = 50)",
        -84.78,
        ("about 4 days", "2 h"),
        |b| burda_steps(false, "iwae", 50, 130, None, b),
    ),
    burda_row(
        "burda2015-vae2-k1",
        "Burda, Grosse & Salakhutdinov 2015, Table 1 (VAE, two stochastic layers, k = 1)",
        -85.33,
        ("8 h", "2.5 h"),
        |b| burda_steps(true, "elbo", 1, 1400, Some(100), b),
    ),
    burda_row(
        "burda2015-iwae2-k50",
        "Burda, Grosse & Salakhutdinov 2015, Table 1 (IWAE, two stochastic layers, k = 50)",
        -82.90,
        ("about 10 days", "2.5 h"),
        |b| burda_steps(true, "iwae", 50, 90, Some(10), b),
    ),
    Target {
        expected_3h: Some("2.3 h (300 passes per model; 0.9 h after Fig. 5's, which it shares)"),
        ..figure(
            "kingma2013-fig2-mnist",
            "Kingma & Welling 2013, Fig. 2 (MNIST; our AEVB curves only, without wake-sleep)",
            "the training and test lower bound against the training samples evaluated, N_z = 3, 5, 10, 20, 200 (a figure; the paper gives no numbers)",
            "mnist",
            ("20 s", "12.5 h (5 h after Fig. 5's, which it shares)"),
            |budget| {
                kingma_welling_fig2(
                    "500",
                    budget.shortened(2, KW_MNIST_3H_EPOCHS, KW_MNIST_EPOCHS),
                    true,
                    "MNIST: lower bound per datapoint (the axes of Kingma & Welling 2013, Fig. 2)",
                )
            },
        )
    },
    figure(
        "kingma2013-fig2-frey",
        "Kingma & Welling 2013, Fig. 2 (Frey Face; our AEVB curves only, without wake-sleep)",
        "the training and test lower bound against the training samples evaluated, N_z = 3, 5, 10, 20, 200 (a figure; the paper gives no numbers)",
        "frey",
        ("3 s", "25 min"),
        |budget| {
            kingma_welling_fig2(
                "200",
                budget.pick(20, KW_FREY_EPOCHS),
                false,
                "Frey Face: lower bound per datapoint (the axes of Kingma & Welling 2013, Fig. 2)",
            )
        },
    ),
    Target {
        name: "pytorch-examples-vae",
        paper: "pytorch/examples vae/main.py (784-400-20 ReLU, Adam 1e-3, batch 128, grey-level targets), run beside ours by bench/pytorch_reference.py (Python with PyTorch needed; without it the row has no reference value)",
        measures: "test loss (negative ELBO per test image) after 10 epochs",
        dataset: "mnist",
        paper_value: None,
        paper_spread: Some(1.0),
        why: "two runs with different random streams agree to about 1 nat (the spread used here); more is a difference between the two programs",
        metric: Metric::TestLoss,
        expected: ("15 s", "2 min"),
        expected_3h: None,
        steps: pytorch_examples_steps,
    },
    kingma2014_row(
        "kingma2014-m2-100",
        M2_ON_PIXELS,
        "MNIST test error of M2 from 100 labels",
        (11.97, 1.71),
        |b| m2_steps(100, b),
    ),
    kingma2014_row(
        "kingma2014-m2-600",
        M2_ON_PIXELS,
        "MNIST test error of M2 from 600 labels",
        (4.94, 0.13),
        |b| m2_steps(600, b),
    ),
    kingma2014_row(
        "kingma2014-m2-1000",
        M2_ON_PIXELS,
        "MNIST test error of M2 from 1000 labels",
        (3.60, 0.56),
        |b| m2_steps(1000, b),
    ),
    kingma2014_row(
        "kingma2014-m2-3000",
        M2_ON_PIXELS,
        "MNIST test error of M2 from 3000 labels",
        (3.92, 0.63),
        |b| m2_steps(3000, b),
    ),
    kingma2014_row(
        "kingma2014-m1m2-100",
        M1_PLUS_M2,
        "MNIST test error of the stacked model from 100 labels",
        (3.33, 0.14),
        |b| m1_plus_m2_steps(100, b),
    ),
    kingma2014_row(
        "kingma2014-m1m2-600",
        M1_PLUS_M2,
        "MNIST test error of the stacked model from 600 labels",
        (2.59, 0.05),
        |b| m1_plus_m2_steps(600, b),
    ),
    kingma2014_row(
        "kingma2014-m1m2-1000",
        M1_PLUS_M2,
        "MNIST test error of the stacked model from 1000 labels",
        (2.40, 0.02),
        |b| m1_plus_m2_steps(1000, b),
    ),
    kingma2014_row(
        "kingma2014-m1m2-3000",
        M1_PLUS_M2,
        "MNIST test error of the stacked model from 3000 labels",
        (2.18, 0.04),
        |b| m1_plus_m2_steps(3000, b),
    ),
];

pub fn run(args: ReproduceArgs) -> Result<()> {
    if args.list {
        for t in TARGETS {
            println!("{}", t.name);
            println!("    {}: {}", t.paper, t.measures);
            let value = t.reference_value();
            println!(
                "    paper: {value}; data set {}; expected time on 2 cores: quick {}, 3h {}, paper {}",
                t.dataset,
                t.expected.0,
                t.expected_3h.unwrap_or("as paper"),
                t.expected.1
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
        BudgetArg::ThreeHours => Budget::ThreeHours,
        BudgetArg::Paper => Budget::Paper,
    };
    for target in targets {
        run_target(target, budget, &args)?;
    }
    if let Some(file) = &args.report {
        let table = report(&args.out, budget, file)?;
        vae::fs::atomic_write(file, table.as_bytes())?;
        println!("wrote {}", file.display());
    }
    Ok(())
}

/// The Markdown table of every target's `result.json` at `budget` under `out`, for the file
/// `report`: each figure is copied beside it, into `reproductions/TARGET-FIGURE`, and linked
/// relatively, so the report and its figures can be committed or moved together. So is each
/// result, as `reproductions/TARGET.BUDGET.json`: a target whose run directory is not on this
/// machine keeps the row of its last result. At the paper budget, a target without a paper
/// result shows its 3-hour one, labelled.
fn report(out: &Path, budget: Budget, report: &Path) -> Result<String> {
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
fn progress(target: &Target, budget: Budget, dir: &Path) -> Result<String> {
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
fn machine_cell(machine: &Value) -> String {
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
fn record_file(figures_dir: &Path, target: &Target, budget: Budget) -> PathBuf {
    figures_dir.join(format!("{}.{}.json", target.name, budget.name()))
}

/// A target's result at `budget`: from its run directory under `out` (returned with it), else
/// from the copy an earlier report kept; `None` when neither exists.
fn find_result(
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
fn duration(seconds: f64) -> String {
    if seconds < 600.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// Runs (or finishes) one target and writes its `result.json`.
fn run_target(target: &Target, budget: Budget, args: &ReproduceArgs) -> Result<()> {
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
                run_vae(&command, None)?;
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
                command.push(path_arg(&run_path(&runs, &dir, run)));
                command.extend(a);
                command.push("--out".into());
                command.push(path_arg(&dir.join(&file)));
                run_vae(&command, None)?;
                commands.push(display(&command));
                figures.push(file);
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
                run_vae(&command, None)?;
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
fn misses(difference: f64, spread: Option<f64>, se: Option<f64>) -> Option<bool> {
    match (spread, se) {
        (Some(spread), se) => Some(difference.abs() > spread + se.unwrap_or(0.0)),
        (None, Some(se)) => Some(difference.abs() > 2.0 * se),
        (None, None) => None,
    }
}

/// What `bench/pytorch_reference.py` measured.
struct Reference {
    test_loss: f64,
    framework: String,
    command: String,
}

/// Runs `bench/pytorch_reference.py` for `epochs` on `dataset`'s IDX files. `Ok(Err(why))`
/// when it cannot run here (no Python with PyTorch, no script, data that are not IDX files, or
/// a failure, printed): the caller then quotes the value measured elsewhere.
fn pytorch_reference(
    dataset: &str,
    epochs: usize,
    args: &ReproduceArgs,
) -> Result<std::result::Result<Reference, String>> {
    use vae::data::datasets::{locate, DatasetSpec};
    let script = [
        PathBuf::from("bench/pytorch_reference.py"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/pytorch_reference.py"),
    ]
    .into_iter()
    .find(|p| p.is_file());
    let Some(script) = script else {
        return Ok(Err("bench/pytorch_reference.py is not here".into()));
    };
    let data_dir = match DatasetSpec::parse(dataset)? {
        DatasetSpec::IdxDir(dir) => Some(dir),
        DatasetSpec::Named(named) => locate(named, &named.files[0], args.data_dir.as_deref())
            .and_then(|file| file.parent().map(Path::to_path_buf)),
        _ => None,
    };
    let Some(data_dir) = data_dir else {
        return Ok(Err(format!(
            "no IDX files of {dataset} for the PyTorch script"
        )));
    };
    let has_torch = Command::new("python3")
        .args(["-c", "import torch, numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_torch {
        return Ok(Err("PyTorch is not installed here".into()));
    }
    let mut command = vec![
        "python3".to_string(),
        path_arg(&script),
        "--data-dir".into(),
        path_arg(&data_dir),
        "--epochs".into(),
        epochs.to_string(),
    ];
    if let Some(threads) = args.threads {
        command.extend(strings(&["--threads", &threads.to_string()]));
    }
    let line = command.join(" ");
    // The command as recorded: the data directory under the home directory written with `~`,
    // so a kept record names no account of the machine it ran on.
    let recorded = command
        .iter()
        .map(|word| home_relative(word))
        .collect::<Vec<_>>()
        .join(" ");
    println!("   $ {recorded}");
    let output = Command::new(&command[0])
        .args(&command[1..])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running `{line}`"))?;
    if !output.status.success() {
        println!(
            "   the PyTorch reference failed ({}): quoting",
            output.status
        );
        return Ok(Err(format!(
            "the PyTorch reference failed: {}",
            output.status
        )));
    }
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let test_loss = lines
        .iter()
        .rev()
        .find_map(|l| l.get("test_loss").and_then(Value::as_f64));
    let framework = lines
        .iter()
        .rev()
        .find_map(|l| l.get("framework").and_then(Value::as_str))
        .unwrap_or("PyTorch");
    match test_loss {
        Some(test_loss) => Ok(Ok(Reference {
            test_loss,
            framework: framework.to_string(),
            command: recorded,
        })),
        None => Ok(Err("the PyTorch reference printed no test loss".into())),
    }
}

/// `vae train --dataset DATASET ARGS --epochs EPOCHS --out RUN_DIR`, with `--threads` and
/// `--data-dir`: the command that starts a run of a target, `@RUN` arguments made paths.
fn train_command(
    dataset: &str,
    a: &[String],
    runs: &[(&str, PathBuf)],
    dir: &Path,
    epochs: usize,
    run_dir: &Path,
    args: &ReproduceArgs,
) -> Vec<String> {
    let mut c = strings(&["train", "--dataset", dataset]);
    for arg in a {
        c.push(match arg.strip_prefix('@') {
            Some(other) => path_arg(&run_path(runs, dir, other)),
            None => arg.clone(),
        });
    }
    c.extend(strings(&["--epochs", &epochs.to_string(), "--out"]));
    c.push(path_arg(run_dir));
    with_shared(c, args)
}

/// A run that became shared after this target had begun it in its own directory (an earlier
/// version of `vae reproduce` kept it there) moves to the shared place, finished or not, instead
/// of being trained again from scratch: when the command kept beside it is the one the shared run
/// would start with (but for `--out`, `--threads` and `--data-dir`), the directory is renamed and
/// its command file follows, `--out` rewritten. A run made otherwise is left where it is, and
/// said so.
fn adopt_private_run(
    private: &Path,
    shared: &Path,
    run: &str,
    previous: &[String],
    fresh: &dyn Fn(&Path) -> Vec<String>,
) -> Result<()> {
    if trained_epochs(private)?.is_none() {
        return Ok(());
    }
    // The words of a command but those that may differ between two invocations of a target.
    let essential = |line: &str| -> Vec<String> {
        let mut words = line.split(' ');
        let mut kept = Vec::new();
        while let Some(word) = words.next() {
            if word == "--threads" || word == "--data-dir" {
                words.next();
            } else {
                kept.push(word.to_string());
            }
        }
        kept
    };
    let recorded = original_command(private, previous)
        .filter(|c| essential(c) == essential(&display(&fresh(private))));
    let Some(recorded) = recorded else {
        println!(
            "   {run}: {} was trained before this run was shared, by another command than the \
             shared run's; left there",
            private.display()
        );
        return Ok(());
    };
    // Not while a `vae train` still writes into it.
    let _held = hold_run(private, run)?;
    if let Some(parent) = shared.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    // The command first: stopped before the rename, the next call adopts the run again and
    // rewrites it; after, the moved run already has it.
    let from = format!(" --out {}", quoted(&path_arg(private)));
    let to = format!(" --out {}", quoted(&path_arg(shared)));
    vae::fs::atomic_write(
        &command_file(shared),
        recorded.replacen(&from, &to, 1).as_bytes(),
    )?;
    std::fs::rename(private, shared)
        .with_context(|| format!("moving {} to {}", private.display(), shared.display()))?;
    match std::fs::remove_file(command_file(private)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", command_file(private).display()))
        }
        _ => {}
    }
    println!(
        "   {run}: moved {}, trained before this run was shared, to {}",
        private.display(),
        shared.display()
    );
    Ok(())
}

/// The lock of the run in `run_dir`, once no other process trains it (waiting for it, and saying
/// so, while one does).
fn hold_run(run_dir: &Path, run: &str) -> Result<vae::run_dir::RunLock> {
    use vae::run_dir::RunLock;
    match RunLock::acquire(run_dir) {
        Ok(held) => Ok(held),
        Err(vae::Error::RunLocked { holder, .. }) => {
            println!("   {run}: another process{holder} is training this run; waiting for it");
            Ok(RunLock::wait(run_dir)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A shared run that another process trains (two targets that share it started side by side):
/// waits for that trainer to end, so the caller goes on from what it left, finished or not,
/// instead of a second `vae train` failing on the run's lock.
fn wait_for_other_trainer(run_dir: &Path, run: &str) -> Result<()> {
    drop(hold_run(run_dir, run)?);
    Ok(())
}

/// Where runs shared among targets live: one directory per budget and data set, so a target run
/// with `--dataset` never finds a run made on other data.
fn shared_dir(out: &Path, budget: Budget, dataset: &str) -> PathBuf {
    let slug: String = dataset
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.join("shared").join(budget.name()).join(slug)
}

/// The directory of the run named `run`: where this target put it, else its own directory.
fn run_path(runs: &[(&str, PathBuf)], dir: &Path, run: &str) -> PathBuf {
    runs.iter()
        .find(|(name, _)| *name == run)
        .map_or_else(|| dir.join(run), |(_, path)| path.clone())
}

/// The file beside a run directory that holds the command which started it.
fn command_file(run_dir: &Path) -> PathBuf {
    let mut name = run_dir.as_os_str().to_owned();
    name.push(".command");
    PathBuf::from(name)
}

/// The command that started the run in `run_dir`: from the file beside it, else from the
/// commands an earlier `result.json` of the target recorded (runs made before the file was kept).
fn original_command(run_dir: &Path, previous: &[String]) -> Option<String> {
    if let Ok(bytes) = vae::fs::read_bounded(&command_file(run_dir), vae::fs::JSON_LIMIT) {
        return Some(String::from_utf8_lossy(&bytes).trim().to_string());
    }
    let path = path_arg(run_dir);
    previous
        .iter()
        .find(|c| {
            let words: Vec<&str> = c.split(' ').collect();
            c.starts_with("vae train ")
                && words
                    .windows(2)
                    .any(|w| (w[0] == "--out" || w[0] == "--resume") && w[1] == path)
        })
        .cloned()
}

/// The commands an earlier `result.json` of the target recorded (none when there is no
/// readable one).
fn previous_commands(file: &Path) -> Vec<String> {
    vae::fs::read_bounded(file, vae::fs::JSON_LIMIT)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|r| {
            r.get("commands")?.as_array().map(|c| {
                c.iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
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

/// `word` with the home directory written as `~` when it starts with it.
fn home_relative(word: &str) -> String {
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() && home != "/" => match word.strip_prefix(home.as_str()) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("~{rest}"),
            _ => word.to_string(),
        },
        _ => word.to_string(),
    }
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

fn display(command: &[String]) -> String {
    let mut line = String::from("vae");
    for arg in command {
        line.push(' ');
        line.push_str(&quoted(arg));
    }
    line
}

/// `arg` as a POSIX shell reads it back: quoted where it holds white space or a quote (a quote
/// inside is closed, escaped and reopened).
fn quoted(arg: &str) -> String {
    if arg.contains(|c: char| c.is_whitespace() || c == '\'') {
        format!("'{}'", arg.replace('\'', r"'\''"))
    } else {
        arg.to_string()
    }
}

/// Runs this binary with `command`, its output shown (or captured into `capture`).
fn run_vae(command: &[String], capture: Option<&mut String>) -> Result<()> {
    let exe: PathBuf = std::env::current_exe().context("finding the vae binary")?;
    println!("   $ {}", display(command));
    let mut child = Command::new(exe);
    child.args(command);
    ends_with_this_process(&mut child);
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

/// On Linux the child gets SIGTERM when this process ends, however it ends (Ctrl-C reaches both
/// already; a `kill PID`, a scheduler's time limit or the out-of-memory killer reach only this
/// one): otherwise the `vae train` of an interrupted target would train on, writing the run a
/// restarted `vae reproduce` resumes (which its lock then refuses).
#[cfg(target_os = "linux")]
fn ends_with_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec, makes only async-signal-safe
    // system calls and touches no memory shared with the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // This process may have ended before the request was in place.
            if libc::getppid() != parent {
                libc::raise(libc::SIGTERM);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn ends_with_this_process(_: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_is_beyond_the_spread_and_our_standard_error() {
        assert_eq!(misses(0.5, Some(0.14), Some(0.2)), Some(true));
        assert_eq!(misses(-0.3, Some(0.14), Some(0.2)), Some(false));
        assert_eq!(misses(0.3, None, Some(0.2)), Some(false));
        assert_eq!(misses(0.5, None, Some(0.2)), Some(true));
        assert_eq!(misses(9.0, None, None), None);
    }

    /// The training arguments and epochs of a target's first run at `budget`.
    fn first_run(name: &str, budget: Budget) -> (Vec<String>, usize) {
        let target = TARGETS.iter().find(|t| t.name == name).expect("a target");
        match (target.steps)(budget).into_iter().next() {
            Some(Step::Train { args, epochs, .. }) => (args, epochs),
            _ => panic!("{name} starts with a training run"),
        }
    }

    #[test]
    fn the_3h_budget_shortens_only_what_does_not_fit() {
        let schedule = |args: &[String]| {
            let i = args
                .iter()
                .position(|a| a == "--lr-schedule")
                .expect("a schedule");
            args[i + 1].clone()
        };
        // Burda et al.'s rows: the paper's 3,280 passes on its schedule, or a cosine schedule
        // over the epochs that fit, with the same model and objective.
        for (name, epochs) in [
            ("burda2015-vae-k1", 2000),
            ("burda2015-vae-k50", 130),
            ("burda2015-iwae-k50", 130),
            ("burda2015-vae2-k1", 1400),
            ("burda2015-iwae2-k50", 90),
        ] {
            let (paper, paper_epochs) = first_run(name, Budget::Paper);
            let (short, short_epochs) = first_run(name, Budget::ThreeHours);
            assert_eq!((schedule(&paper).as_str(), paper_epochs), ("burda", 3280));
            assert_eq!(
                (schedule(&short).as_str(), short_epochs),
                ("cosine", epochs)
            );
            let without = |a: &[String], flag: &str| match a.iter().position(|x| x == flag) {
                Some(s) => [&a[..s], &a[s + 2..]].concat(),
                None => a.to_vec(),
            };
            let warmup = short
                .iter()
                .position(|a| a == "--kl-warmup")
                .map(|i| short[i + 1].as_str());
            let expected = match name {
                "burda2015-vae2-k1" => Some("100"),
                "burda2015-iwae2-k50" => Some("10"),
                _ => None,
            };
            assert_eq!(warmup, expected, "{name}");
            assert_eq!(
                without(&paper, "--lr-schedule"),
                without(&without(&short, "--lr-schedule"), "--kl-warmup"),
                "{name}"
            );
        }
        assert_eq!(first_run("kingma2013-fig5", Budget::ThreeHours).1, 300);
        assert_eq!(
            first_run("kingma2013-fig2-mnist", Budget::ThreeHours).1,
            300
        );
        // What fits stays the paper's, and says so in the listing.
        for name in [
            "kingma2013-fig4-mnist",
            "doersch2016-fig6",
            "kingma2014-m1m2-100",
        ] {
            assert_eq!(
                first_run(name, Budget::ThreeHours),
                first_run(name, Budget::Paper)
            );
        }
        for t in TARGETS {
            let shortened = (t.steps)(Budget::ThreeHours)
                .iter()
                .zip((t.steps)(Budget::Paper).iter())
                .any(|(a, b)| match (a, b) {
                    (Step::Train { epochs: x, .. }, Step::Train { epochs: y, .. }) => x != y,
                    _ => false,
                });
            assert_eq!(shortened, t.expected_3h.is_some(), "{}", t.name);
        }
    }

    /// Targets that name the same shared run on the same data set train it with the same
    /// arguments and epochs at every budget: whichever target comes first trains it for all.
    #[test]
    fn shared_runs_agree_across_targets() {
        for budget in [Budget::Quick, Budget::ThreeHours, Budget::Paper] {
            // (data set, run) -> the first target's (arguments, epochs, name).
            let mut first = std::collections::HashMap::new();
            for t in TARGETS {
                for step in (t.steps)(budget) {
                    let Step::Train {
                        run,
                        args,
                        epochs,
                        shared: true,
                    } = step
                    else {
                        continue;
                    };
                    let (first_args, first_epochs, first_name) = first
                        .entry((t.dataset, run))
                        .or_insert((args.clone(), epochs, t.name));
                    assert_eq!(
                        (&*first_args, *first_epochs),
                        (&args, epochs),
                        "{first_name} and {} share {run} at {}",
                        t.name,
                        budget.name()
                    );
                }
            }
        }
        // Fig. 4's MNIST manifold is Fig. 5's N_z = 2 model at the paper's budget only.
        let shares_latent2 = |name: &str, budget: Budget| {
            let target = TARGETS.iter().find(|t| t.name == name).expect("a target");
            (target.steps)(budget).iter().any(|s| {
                matches!(
                    s,
                    Step::Train {
                        run: "latent2",
                        shared: true,
                        ..
                    }
                )
            })
        };
        assert!(shares_latent2("kingma2013-fig4-mnist", Budget::Paper));
        assert!(shares_latent2("kingma2013-fig5", Budget::Paper));
        assert!(!shares_latent2("kingma2013-fig4-mnist", Budget::ThreeHours));
        assert!(!shares_latent2("kingma2013-fig4-mnist", Budget::Quick));
    }

    #[test]
    fn target_names_are_unique() {
        let mut names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TARGETS.len());
    }
}
