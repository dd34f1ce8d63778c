//! Goodfellow et al. 2014's GAN and Radford, Metz & Chintala 2016's DCGAN on MNIST and
//! Fashion-MNIST: samples, the walk between prior draws (Radford et al.'s Fig. 4), latent
//! arithmetic (their Fig. 7), and the Fréchet distance of 10,000 samples to the test images in our
//! reference classifier's features, beside the test set's own distance to the training set.

use crate::command::strings;
use crate::target::{Budget, Metric, Step, Target};

/// Epochs of the reference classifier the distance is measured with.
const CLASSIFIER_EPOCHS: usize = 10;

/// Samples (and test images) the distance is measured over.
const FID_SAMPLES: usize = 10_000;

/// Train, measure, and draw: samples, walks, and 7 − 1 + 0 (or the data set's classes 7, 1, 0).
fn gan_steps(model: &'static str, budget: Budget, epochs: usize) -> Vec<Step> {
    vec![
        Step::Train {
            run: model,
            args: strings(&["--model", model]),
            epochs: budget.pick(1, epochs),
            shared: false,
        },
        Step::Classifier {
            epochs: budget.pick(1, CLASSIFIER_EPOCHS),
        },
        Step::Fid {
            run: model,
            samples: budget.pick(1000, FID_SAMPLES),
        },
        Step::Picture {
            command: "sample",
            run: model,
            args: strings(&["--n", "100", "--columns", "10"]),
            file: "samples.png".into(),
        },
        Step::Picture {
            command: "interpolate",
            run: model,
            args: strings(&["--steps", "10"]),
            file: "walks.png".into(),
        },
    ]
}

/// A GAN family target: no number in the paper to set ours beside (they report no likelihood
/// and no MNIST FID); ours is the Fréchet distance, with its floor in the result.
const fn gan_target(
    name: &'static str,
    paper: &'static str,
    dataset: &'static str,
    expected: (&'static str, &'static str),
    steps: fn(Budget) -> Vec<Step>,
) -> Target {
    Target {
        name,
        paper,
        measures: "the Fréchet distance of 10,000 samples to the test images in our reference classifier's features (vae fid; not Inception's FID), with the test set's own distance to the training set in the result",
        dataset,
        paper_value: None,
        paper_spread: None,
        why: "",
        metric: Metric::Frechet,
        expected,
        expected_3h: None,
        steps,
    }
}

/// Goodfellow et al. 2014's dense GAN on MNIST (Leaky ReLU in place of maxout), 50 epochs.
pub(crate) const GAN_MNIST: Target = gan_target(
    "goodfellow2014-gan",
    "Goodfellow et al. 2014, Fig. 2(a) (MNIST samples; the paper's number is a Parzen window estimate, not reproduced)",
    "mnist",
    ("1 min", "25 min"),
    |budget| gan_steps("gan", budget, 50),
);

/// Radford et al. 2016's DCGAN adapted to 28 x 28 MNIST, 25 epochs.
pub(crate) const DCGAN_MNIST: Target = gan_target(
    "radford2016-dcgan",
    "Radford, Metz & Chintala 2016, DCGAN (MNIST samples as their supplementary Fig. 11, walks as Fig. 4, latent arithmetic as Fig. 7)",
    "mnist",
    ("2 min", "25 min"),
    |budget| {
        let mut steps = gan_steps("dcgan", budget, 25);
        steps.push(Step::Picture {
            command: "arithmetic",
            run: "dcgan",
            args: strings(&["--classes", "7,1,0", "--classifier", "@classifier"]),
            file: "arithmetic.png".into(),
        });
        steps
    },
);

/// The same DCGAN on Fashion-MNIST, 25 epochs.
pub(crate) const DCGAN_FASHION: Target = gan_target(
    "radford2016-dcgan-fashion",
    "Radford, Metz & Chintala 2016's DCGAN on Fashion-MNIST (the paper has no Fashion-MNIST; samples and the Fréchet distance for comparison with our VAEs)",
    "fashion-mnist",
    ("2 min", "25 min"),
    |budget| gan_steps("dcgan", budget, 25),
);
