//! pytorch/examples' VAE, run beside ours.

use crate::command::strings;
use crate::target::{Budget, Step};

/// pytorch/examples' vae/main.py as `bench/pytorch_reference.py` runs it: 784-400-20, ReLU,
/// Adam 1e-3, batch 128, BCE on grey levels, 10 epochs.
pub(crate) fn pytorch_examples_steps(budget: Budget) -> Vec<Step> {
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
