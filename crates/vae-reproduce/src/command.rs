//! `vae` commands as a reader types them, and running them as child processes.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// `word` with the home directory written as `~` when it starts with it.
pub(crate) fn home_relative(word: &str) -> String {
    match std::env::var("HOME") {
        Ok(home) if !home.is_empty() && home != "/" => match word.strip_prefix(home.as_str()) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("~{rest}"),
            _ => word.to_string(),
        },
        _ => word.to_string(),
    }
}

pub(crate) fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

pub(crate) fn display(command: &[String]) -> String {
    let mut line = String::from("vae");
    for arg in command {
        line.push(' ');
        line.push_str(&quoted(arg));
    }
    line
}

/// `arg` as a POSIX shell reads it back: quoted where it holds white space or a quote (a quote
/// inside is closed, escaped and reopened).
pub(crate) fn quoted(arg: &str) -> String {
    if arg.contains(|c: char| c.is_whitespace() || c == '\'') {
        format!("'{}'", arg.replace('\'', r"'\''"))
    } else {
        arg.to_string()
    }
}

/// Runs the `vae` binary `exe` with `command`, its output shown (or captured into `capture`).
pub(crate) fn run_vae(exe: &Path, command: &[String], capture: Option<&mut String>) -> Result<()> {
    println!("   $ {}", display(command));
    let mut child = Command::new(exe);
    child.args(command);
    ends_with_this_process(&mut child);
    if capture.is_some() {
        child.stdout(Stdio::piped());
    }
    let output = child
        .spawn()
        .with_context(|| format!("starting `{}`", display(command)))?
        .wait_with_output()
        .with_context(|| format!("running `{}`", display(command)))?;
    if !output.status.success() {
        bail!("`{}` failed ({})", display(command), output.status);
    }
    if let Some(capture) = capture {
        *capture = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    Ok(())
}

/// On Linux the child gets SIGTERM when this process ends, however it ends (Ctrl-C reaches both
/// already; a `kill PID`, a scheduler's time limit or the out-of-memory killer reach only this
/// one): otherwise the `vae train` of an interrupted target would train on, writing the run a
/// restarted `vae reproduce` resumes (which its lock then refuses).
#[cfg(target_os = "linux")]
pub(crate) fn ends_with_this_process(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec, makes only async-signal-safe
    // system calls and touches no memory shared with the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // This process may have ended before the request was in place.
            if libc::getppid() != parent {
                libc::raise(libc::SIGTERM);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn ends_with_this_process(_: &mut Command) {}

/// Owned copies of command-line words.
pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}
