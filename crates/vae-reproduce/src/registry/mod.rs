//! The targets: one entry per published figure or table row, with the commands that remake it,
//! the steps of each paper in its own file.

mod burda2015;
mod gregor2015;
mod kingma2013;
mod kingma2014;
mod larsen2015;
mod pytorch_examples;
mod radford2016;
mod suzuki2016;

use crate::command::strings;
use crate::target::{Budget, Metric, Step, Target};
use burda2015::{burda_row, burda_steps};
use gregor2015::{DRAW, DRAW_NO_ATTENTION};
use kingma2013::{
    kingma_welling, kingma_welling_fig2, KW_FREY_EPOCHS, KW_MNIST_3H_EPOCHS, KW_MNIST_EPOCHS,
};
use kingma2014::{kingma2014_row, m1_plus_m2_steps, m2_steps, M1_PLUS_M2, M2_ON_PIXELS};
use larsen2015::{
    CONV_VAE_FASHION, CONV_VAE_MNIST, VAE_GAN_FASHION, VAE_GAN_FREY, VAE_GAN_MNIST, VAE_MNIST,
};
use pytorch_examples::pytorch_examples_steps;
use radford2016::{DCGAN_FASHION, DCGAN_MNIST, GAN_MNIST};
use suzuki2016::JMVAE;

/// A figure of a paper: nothing to set a number of ours beside (the metric is never read).
pub(crate) const fn figure(
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

/// Every target, in the order `vae reproduce --list` prints them.
pub const TARGETS: &[Target] = &[
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
    JMVAE,
    DRAW,
    DRAW_NO_ATTENTION,
    GAN_MNIST,
    DCGAN_MNIST,
    DCGAN_FASHION,
    VAE_MNIST,
    CONV_VAE_MNIST,
    VAE_GAN_MNIST,
    VAE_GAN_FASHION,
    CONV_VAE_FASHION,
    VAE_GAN_FREY,
];
