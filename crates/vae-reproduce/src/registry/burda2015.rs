//! Burda, Grosse & Salakhutdinov 2015: one and two stochastic layers, the ELBO and the IWAE bound
//! (Table 1).

use crate::command::strings;
use crate::target::{Budget, Metric, Step, Target};

/// Burda, Grosse & Salakhutdinov 2015's MNIST models (Sec. 5): one stochastic layer
/// (784-200-200-50) or two (784-200-200-100, then 100-100-50), tanh, batch 20, their schedule of
/// 3,280 passes; trained with the ELBO or the IWAE bound and `k` samples. The quick budget takes
/// at most 5 samples; the 3-hour budget trains `three_hour_epochs` with a cosine learning rate
/// (the paper's schedule spends its last two thirds at its two smallest rates, a shortened copy
/// of it would not). At that budget the two-layer models also warm their KL up over
/// `three_hour_warmup` epochs (Sønderby et al. 2016): without it the 50 top units were all
/// inactive by the tenth epoch (the ELBO, 0 of 50 at its end; the IWAE bound, likewise collapsed).
pub(crate) fn burda_steps(
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
pub(crate) const fn burda_row(
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
