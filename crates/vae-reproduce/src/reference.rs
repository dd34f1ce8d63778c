//! The PyTorch reference a target sets ours beside, measured in the same command when PyTorch
//! is here.

use crate::command::{home_relative, path_arg, strings};
use crate::Options;
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What `bench/pytorch_reference.py` measured.
pub(crate) struct Reference {
    pub(crate) test_loss: f64,
    pub(crate) framework: String,
    pub(crate) command: String,
}

/// Runs `bench/pytorch_reference.py` for `epochs` on `dataset`'s IDX files. `Ok(Err(why))`
/// when it cannot run here (no Python with PyTorch, no script, data that are not IDX files, or
/// a failure, printed): the caller then quotes the value measured elsewhere.
pub(crate) fn pytorch_reference(
    dataset: &str,
    epochs: usize,
    args: &Options,
) -> Result<std::result::Result<Reference, String>> {
    use vae::data::datasets::{locate, DatasetSpec};
    let script = [
        PathBuf::from("bench/pytorch_reference.py"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/pytorch_reference.py"),
    ]
    .into_iter()
    .find(|p| p.is_file());
    let Some(script) = script else {
        return Ok(Err("bench/pytorch_reference.py is not here".into()));
    };
    let data_dir = match DatasetSpec::parse(dataset)? {
        DatasetSpec::IdxDir(dir) => Some(dir),
        DatasetSpec::Named(named) => locate(named, &named.files[0], args.data_dir.as_deref())
            .and_then(|file| file.parent().map(Path::to_path_buf)),
        _ => None,
    };
    let Some(data_dir) = data_dir else {
        return Ok(Err(format!(
            "no IDX files of {dataset} for the PyTorch script"
        )));
    };
    let has_torch = Command::new("python3")
        .args(["-c", "import torch, numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_torch {
        return Ok(Err("PyTorch is not installed here".into()));
    }
    let mut command = vec![
        "python3".to_string(),
        path_arg(&script),
        "--data-dir".into(),
        path_arg(&data_dir),
        "--epochs".into(),
        epochs.to_string(),
    ];
    if let Some(threads) = args.threads {
        command.extend(strings(&["--threads", &threads.to_string()]));
    }
    let line = command.join(" ");
    // The command as recorded: the data directory under the home directory written with `~`,
    // so a kept record names no account of the machine it ran on.
    let recorded = command
        .iter()
        .map(|word| home_relative(word))
        .collect::<Vec<_>>()
        .join(" ");
    println!("   $ {recorded}");
    let output = Command::new(&command[0])
        .args(&command[1..])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running `{line}`"))?;
    if !output.status.success() {
        println!(
            "   the PyTorch reference failed ({}): quoting",
            output.status
        );
        return Ok(Err(format!(
            "the PyTorch reference failed: {}",
            output.status
        )));
    }
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let test_loss = lines
        .iter()
        .rev()
        .find_map(|l| l.get("test_loss").and_then(Value::as_f64));
    let framework = lines
        .iter()
        .rev()
        .find_map(|l| l.get("framework").and_then(Value::as_str))
        .unwrap_or("PyTorch");
    match test_loss {
        Some(test_loss) => Ok(Ok(Reference {
            test_loss,
            framework: framework.to_string(),
            command: recorded,
        })),
        None => Ok(Err("the PyTorch reference printed no test loss".into())),
    }
}
