//! One file per subcommand; `common` holds what several of them share.

mod analogy;
mod arithmetic;
mod bench;
mod built_in;
mod classifier;
mod common;
mod curves;
mod data;
mod draw_steps;
mod edit;
mod eval;
mod export_web;
mod fid;
mod figures;
mod infer;
mod interpolate;
mod manifold;
mod reconstruct;
mod report;
mod reproduce;
mod sample;
mod scatter;
mod serve;
mod train;
mod traverse;

use crate::cli::{Cli, Command};
use vae::collective::Collective;

pub fn run(cli: Cli, world: &dyn Collective) -> anyhow::Result<()> {
    if !matches!(cli.command, Command::Train(_) | Command::Eval(_)) {
        crate::world::single_process_only(world, cli.command.name())?;
    }
    match cli.command {
        Command::Train(args) => train::run(*args, world),
        Command::Eval(args) => eval::run(args, world),
        Command::Fid(args) => fid::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Reconstruct(args) => reconstruct::run(args),
        Command::Manifold(args) => manifold::run(args),
        Command::Scatter(args) => scatter::run(args),
        Command::Interpolate(args) => interpolate::run(args),
        Command::Analogy(args) => analogy::run(args),
        Command::Arithmetic(args) => arithmetic::run(args),
        Command::Edit(args) => edit::run(args),
        Command::Infer(args) => infer::run(args),
        Command::DrawSteps(args) => draw_steps::run(args),
        Command::Traverse(args) => traverse::run(args),
        Command::Curves(args) => curves::run(args),
        Command::Report(args) => report::run(args),
        Command::Serve(args) => serve::run(args),
        Command::ExportWeb(args) => export_web::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Data(command) => data::run(command),
        Command::Classifier(command) => classifier::run(command),
    }
}
