//! One file per subcommand; `common` holds what several of them share.

mod common;
mod data;
mod eval;
mod reconstruct;
mod sample;
mod train;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Reconstruct(args) => reconstruct::run(args),
        Command::Data(command) => data::run(command),
    }
}
