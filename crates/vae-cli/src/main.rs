//! `vae`: train, evaluate and sample variational autoencoders.

mod cli;
mod cmd;
mod world;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Every thread that runs kernels flushes subnormal floats to zero: this one, rayon's global
    // pool (commands that do not build their own) and each command's pool.
    vae::kernels::denormals::flush_to_zero();
    let _ = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| vae::kernels::denormals::flush_to_zero())
        .build_global();
    let cli = cli::Cli::parse();
    let world = match world::World::join() {
        Ok(world) => world,
        Err(e) => {
            eprintln!("error: {}", printable(&format!("{e:#}")));
            return ExitCode::FAILURE;
        }
    };
    match cmd::run(cli, world.collective()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let rank = world.collective().rank();
            let from = if world.collective().size() > 1 {
                format!("rank {rank}: ")
            } else {
                String::new()
            };
            eprintln!("error: {from}{}", printable(&format!("{e:#}")));
            world.stop_others();
            ExitCode::FAILURE
        }
    }
}

/// The message with control characters escaped: a file name holding a terminal escape sequence
/// is shown as `\u{1b}[31m...`, not obeyed by the terminal, and the error stays on one line.
fn printable(message: &str) -> String {
    let mut shown = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_control() {
            shown.extend(c.escape_unicode());
        } else {
            shown.push(c);
        }
    }
    shown
}
