//! Gregor, Danihelka, Graves, Rezende & Wierstra 2015, "DRAW: A Recurrent Neural Network For Image
//! Generation": the MNIST rows of Table 2, with and without attention, and the pictures of the
//! canvas over the steps (their Fig. 7) and of the attention windows (their Fig. 4).

use crate::command::strings;
use crate::target::{Budget, Metric, Step, Target};

/// DRAW as Table 3 sizes it for MNIST: 64 steps, LSTMs of 256 units, 100 latents per step, a 2 x 2
/// read and a 5 x 5 write; Adam 1e-3 on batches of 100 with the mean loss's gradient clipped to
/// norm 10, as the reimplementation of Bornschein (github.com/jbornschein/draw) trains it.
pub(crate) fn draw_args(attention: bool) -> Vec<String> {
    let mut args = strings(&[
        "--model",
        "draw",
        "--steps",
        "64",
        "--lstm",
        "256",
        "--latent",
        "100",
        "--batch-size",
        "100",
        "--clip-norm",
        "10",
    ]);
    if attention {
        args.extend(strings(&["--read", "2", "--write", "5"]));
    } else {
        args.push("--no-attention".into());
    }
    args
}

/// Test images the importance-sampled log p(x) is estimated on, K = 5000 sequences each: all 10,000
/// would take about a day here.
const SCORED_IMAGES: usize = 1000;

/// Train, score, and draw the canvas over the steps.
fn draw_steps(attention: bool, budget: Budget) -> Vec<Step> {
    let mut steps = vec![
        Step::Train {
            run: "draw",
            args: draw_args(attention),
            epochs: budget.pick(1, 100),
            shared: false,
        },
        Step::Eval {
            run: "draw",
            iw_samples: budget.pick(10, 5000),
            limit: Some(budget.pick(100, SCORED_IMAGES)),
        },
        Step::Picture {
            command: "draw-steps",
            run: "draw",
            args: strings(&["--n", "10", "--steps", "1,2,4,8,16,32,48,64", "--gif"]),
            file: "draw-steps.png".into(),
        },
        Step::Picture {
            command: "sample",
            run: "draw",
            args: strings(&["--n", "100", "--columns", "10"]),
            file: "samples.png".into(),
        },
    ];
    if attention {
        steps.push(Step::Picture {
            command: "draw-steps",
            run: "draw",
            args: strings(&["--n", "4", "--steps", "1,4,8,16,24,32,48,64", "--windows"]),
            file: "draw-windows.png".into(),
        });
    }
    steps
}

/// Table 2's DRAW row: the variational bound on −log p(x) with attention.
pub(crate) const DRAW: Target = Target {
    name: "gregor2015-draw",
    paper: "Gregor et al. 2015, Table 2 (DRAW, MNIST: −log p(x) ≤ 80.97, a variational bound on the fixed binarization), scored on the first 1,000 images of our dynamically binarized test set with K = 5000",
    measures: "test log p(x), importance-sampled over whole sequences z_1..T from q; vae eval also gives the ELBO, the bound the paper reports",
    dataset: "mnist",
    paper_value: Some(-80.97),
    paper_spread: None,
    why: "the paper's number is a bound on the fixed binarization, ours an importance-sampled estimate (tighter than the bound) on our binarization of 1,000 test images",
    metric: Metric::LogLikelihood,
    expected: ("3 min", "5 h"),
    expected_3h: None,
    steps: |budget| draw_steps(true, budget),
};

/// Table 2's row without attention: the whole image read and the whole canvas written.
pub(crate) const DRAW_NO_ATTENTION: Target = Target {
    name: "gregor2015-draw-noattn",
    paper: "Gregor et al. 2015, Table 2 (DRAW without attention, MNIST: −log p(x) ≤ 87.40, a variational bound on the fixed binarization), scored on the first 1,000 images of our dynamically binarized test set with K = 5000",
    measures: "test log p(x), importance-sampled over whole sequences z_1..T from q; vae eval also gives the ELBO, the bound the paper reports",
    dataset: "mnist",
    paper_value: Some(-87.40),
    paper_spread: None,
    why: "the paper's number is a bound on the fixed binarization, ours an importance-sampled estimate (tighter than the bound) on our binarization of 1,000 test images",
    metric: Metric::LogLikelihood,
    expected: ("8 min", "12 h"),
    expected_3h: None,
    steps: |budget| draw_steps(false, budget),
};
