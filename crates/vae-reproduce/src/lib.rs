//! Published results as data, remade by the `vae` command: one target per paper figure or table
//! row. Each target is a list of `vae` commands (train, evaluate, draw), run as child processes
//! so that the commands recorded in `result.json` are exactly what a reader would type. A target
//! interrupted part-way picks up from its finished runs: a training run whose `state.json` has
//! reached its epochs is skipped, one that has not is resumed.
//!
//! - [`target`]: what a target is ([`Target`], its [`Step`]s, its [`Metric`]) and the
//!   [`Budget`]s it runs at; [`registry`]: every target ([`TARGETS`]).
//! - [`run_target`] runs one; [`report`] writes the Markdown table of their results.
//!
//! ```no_run
//! use vae_reproduce::{find, run_target, Budget, Options};
//! let target = find("burda2015-vae-k1")?;
//! let options = Options::new("runs/reproduce", "target/release/vae");
//! run_target(target, Budget::Quick, &options)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

#![warn(missing_docs)]

mod command;
mod reference;
pub mod registry;
mod report;
mod runner;
mod shared;
pub mod target;

pub use registry::TARGETS;
pub use report::report;
pub use runner::run_target;
pub use target::{Budget, Metric, Step, Target};

use anyhow::{bail, Result};
use std::path::PathBuf;

/// Where and how targets run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the run directories, figures and `result.json` go (under `TARGET/BUDGET/`).
    pub out: PathBuf,
    /// A data set in place of each paper's (for trying the pipeline; labelled as such).
    pub dataset: Option<String>,
    /// A directory searched first for data files.
    pub data_dir: Option<PathBuf>,
    /// Worker threads for training and evaluation (all cores when `None`).
    pub threads: Option<usize>,
    /// The `vae` binary the steps run.
    pub vae: PathBuf,
}

impl Options {
    /// Targets written under `out`, their steps run by the `vae` binary at `vae`, on the papers'
    /// data sets with every core.
    pub fn new(out: impl Into<PathBuf>, vae: impl Into<PathBuf>) -> Self {
        Options {
            out: out.into(),
            dataset: None,
            data_dir: None,
            threads: None,
            vae: vae.into(),
        }
    }
}

/// The target named `name`.
pub fn find(name: &str) -> Result<&'static Target> {
    match TARGETS.iter().find(|t| t.name == name) {
        Some(t) => Ok(t),
        None => bail!("no target `{name}`; the targets are {}", names()),
    }
}

/// Every target's name, comma-separated.
pub fn names() -> String {
    TARGETS
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The listing `vae reproduce --list` prints: each target's name, paper, what it measures, the
/// paper's value and data set, and its expected time at each budget on 2 cores.
pub fn listing() -> String {
    let mut out = String::new();
    for t in TARGETS {
        out.push_str(&format!("{}\n", t.name));
        out.push_str(&format!("    {}: {}\n", t.paper, t.measures));
        out.push_str(&format!(
            "    paper: {}; data set {}; expected time on 2 cores: quick {}, 3h {}, paper {}\n",
            t.reference_value(),
            t.dataset,
            t.expected.0,
            t.expected_3h.unwrap_or("as paper"),
            t.expected.1
        ));
    }
    out
}

#[cfg(test)]
mod tests;
