//! What a reproduction target is: a published result, the steps that remake it, the metric it is
//! compared on, and the budgets it runs at.

use serde_json::Value;

/// What one target runs: training runs, their evaluation, the figures.
pub enum Step {
    /// `vae train ARGS --epochs EPOCHS --out DIR/RUN` (resumed when interrupted); an argument
    /// `@RUN` stands for the directory of the target's run RUN (M1 + M2's `--features @m1`).
    /// A `shared` run lives in `OUT/shared/BUDGET/DATASET/RUN` instead, trained once for every
    /// target that names it with the same arguments (M1, under each M1 + M2 row).
    Train {
        /// The run's name within the target.
        run: &'static str,
        /// `vae train`'s arguments, `--epochs` and `--out` left to the step.
        args: Vec<String>,
        /// Epochs in all.
        epochs: usize,
        /// Whether the run is shared between targets.
        shared: bool,
    },
    /// `vae eval --model DIR/RUN --iw-samples K [--limit N] --json`: the number set beside the
    /// paper's.
    Eval {
        /// The run scored.
        run: &'static str,
        /// Importance samples per image.
        iw_samples: usize,
        /// Test images scored, all when absent.
        limit: Option<usize>,
    },
    /// `vae COMMAND --model DIR/RUN ARGS --out DIR/FILE`; an argument `@NAME` stands for the
    /// directory of the target's run NAME (`@classifier`: its reference classifier).
    Picture {
        /// The picture command (`sample`, `manifold`, ...).
        command: &'static str,
        /// The run drawn.
        run: &'static str,
        /// The command's own arguments.
        args: Vec<String>,
        /// The picture's file name.
        file: String,
    },
    /// `vae curves --by-samples --model DIR/RUN ... --out DIR/FILE`: a panel per run.
    Curves {
        /// The runs drawn, a panel each.
        runs: Vec<&'static str>,
        /// The figure's title.
        title: &'static str,
        /// Its file name.
        file: &'static str,
    },
    /// The final test loss of `run`, from its metrics: the number set beside the reference's.
    FinalLoss {
        /// The run.
        run: &'static str,
    },
    /// `vae classifier train --epochs EPOCHS --out DIR/classifier` on the target's data set (kept
    /// when already trained): the reference classifier a `Fid` step reads images with.
    Classifier {
        /// Epochs it trains.
        epochs: usize,
    },
    /// `vae fid --model DIR/RUN --classifier DIR/classifier --samples N`: the Fréchet distance
    /// of RUN's samples to the test images, from the `fid.json` it writes.
    Fid {
        /// The run measured.
        run: &'static str,
        /// Images on each side.
        samples: usize,
    },
    /// pytorch/examples' VAE (`bench/pytorch_reference.py`) trained for `epochs` on the same
    /// data, when Python with PyTorch is here: its last test loss becomes the value ours is set
    /// beside (otherwise the target's quoted value stands, labelled as measured elsewhere).
    Reference {
        /// Epochs the reference trains.
        epochs: usize,
    },
}

/// A published result and how to remake it.
pub struct Target {
    /// The target's name, as `vae reproduce NAME` takes it.
    pub name: &'static str,
    /// The paper and its figure or table.
    pub paper: &'static str,
    /// What is measured.
    pub measures: &'static str,
    /// The data set the paper used (replaced by `--dataset`).
    pub dataset: &'static str,
    /// The paper's number, when there is one, in `metric`'s unit.
    pub paper_value: Option<f64>,
    /// The spread the paper reports with it (± over its runs), when it reports one.
    pub paper_spread: Option<f64>,
    /// Why ours may miss the paper's number, printed when it does by more than the spread.
    pub why: &'static str,
    /// What ours is compared on.
    pub metric: Metric,
    /// Expected wall-clock time on a 2-core machine: quick, paper.
    pub expected: (&'static str, &'static str),
    /// Expected time at the 3-hour budget, where it shortens the paper's schedule.
    pub expected_3h: Option<&'static str>,
    /// The steps at a budget.
    pub steps: fn(Budget) -> Vec<Step>,
}

impl Target {
    /// The value ours is set beside, as the list and the report print it.
    pub fn reference_value(&self) -> String {
        match (self.paper_value, self.metric) {
            (Some(v), metric) => format!("{v:.2} {}", metric.unit()),
            (None, Metric::TestLoss) => "measured beside ours in the same command".into(),
            (None, Metric::Frechet) => "none published: our classifier's features".into(),
            (None, _) => "figure".into(),
        }
    }
}

/// What a target's evaluation is compared on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Test log p(x) in nats (IWAE estimate, with its standard error).
    LogLikelihood,
    /// Test classification error of q(y | x) in percent (with its binomial standard error).
    TestError,
    /// The negative ELBO per test image after training, in nats (no standard error: one run).
    TestLoss,
    /// The Fréchet distance of samples to test images in the reference classifier's features
    /// (`vae fid`; lower is sharper).
    Frechet,
}

impl Metric {
    /// The unit the paper's value and ours are in.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::LogLikelihood => "nats",
            Metric::TestError => "% test error",
            Metric::TestLoss => "nats test loss",
            Metric::Frechet => "Fréchet distance (our classifier's features)",
        }
    }

    /// Our value and its standard error, where there is one, from `vae eval --json`'s output
    /// (or, for the test loss, `Step::FinalLoss`'s).
    pub fn read(self, evaluation: &Value) -> Option<(f64, Option<f64>)> {
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
            Metric::Frechet => Some((evaluation.get("distance")?.as_f64()?, None)),
        }
    }
}

/// How much of a paper's schedule a target runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// A shortened schedule (minutes; labelled as such wherever it is printed).
    Quick,
    /// What one thread of the 2-core machine trains and scores within 3 hours: the paper's
    /// schedule where it fits, a shortened one where it does not (Burda et al.'s rows: a cosine
    /// learning rate over the epochs that fit).
    ThreeHours,
    /// The paper's schedule.
    Paper,
}

impl Budget {
    /// The budget's name, as `--budget` takes it and the directories are named.
    pub fn name(self) -> &'static str {
        match self {
            Budget::Quick => "quick",
            Budget::ThreeHours => "3h",
            Budget::Paper => "paper",
        }
    }

    /// `quick` at the quick budget, else the paper's `paper` (which fits in 3 hours).
    pub fn pick(self, quick: usize, paper: usize) -> usize {
        self.shortened(quick, paper, paper)
    }

    /// `quick`, `three_hours` or `paper`: for a schedule the 3-hour budget shortens.
    pub fn shortened(self, quick: usize, three_hours: usize, paper: usize) -> usize {
        match self {
            Budget::Quick => quick,
            Budget::ThreeHours => three_hours,
            Budget::Paper => paper,
        }
    }
}
