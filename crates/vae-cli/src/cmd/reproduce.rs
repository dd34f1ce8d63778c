//! `vae reproduce NAME`: one command per published result. The targets and how they run live in
//! the `vae-reproduce` crate; this command picks them from the flags, runs them with this binary
//! and writes the report.

use crate::cli::{BudgetArg, ReproduceArgs};
use anyhow::{bail, Context, Result};
use vae_reproduce::{find, names, run_target, Budget, Options, Target, TARGETS};

pub fn run(args: ReproduceArgs) -> Result<()> {
    if args.list {
        print!("{}", vae_reproduce::listing());
        return Ok(());
    }
    let targets: Vec<&Target> = match (&args.name, args.all) {
        (Some(_), true) => bail!("give a target name or --all, not both"),
        (None, false) if args.report.is_some() => Vec::new(),
        (None, false) => bail!("name a target (one of {}) or give --all", names()),
        (None, true) => TARGETS.iter().collect(),
        (Some(name), false) => vec![find(name)?],
    };
    let budget = match args.budget {
        BudgetArg::Quick => Budget::Quick,
        BudgetArg::ThreeHours => Budget::ThreeHours,
        BudgetArg::Paper => Budget::Paper,
    };
    let options = Options {
        out: args.out.clone(),
        dataset: args.dataset.clone(),
        data_dir: args.data_dir.clone(),
        threads: args.threads,
        vae: std::env::current_exe().context("finding the vae binary")?,
    };
    for target in targets {
        run_target(target, budget, &options)?;
    }
    if let Some(file) = &args.report {
        let table = vae_reproduce::report(&args.out, budget, file)?;
        vae::fs::atomic_write(file, table.as_bytes())?;
        println!("wrote {}", file.display());
    }
    Ok(())
}
