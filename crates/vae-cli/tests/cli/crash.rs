//! Crash safety of the checkpoint: a training process killed, or refused disk space, at every file
//! operation in turn (the `VAE_FAULT_AT` hook), then resumed (or restarted, when not even the
//! first checkpoint was complete), ends with exactly the weights of an uninterrupted run.

use super::common::*;
use std::process::Command;

/// Runs `vae` with the fault hook armed at operation `at`.
fn vae_with_fault(args: &[&str], at: usize, mode: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .env("VAE_DATA_DIR", std::env::temp_dir().join("vae-cli-tests"))
        .env("VAE_FAULT_AT", at.to_string())
        .env("VAE_FAULT", mode)
        .output()
        .expect("the vae binary runs")
}

#[test]
fn a_crash_or_a_full_disk_at_any_step_of_a_save_loses_nothing() {
    let f = fixture();
    let straight = f.root.join("straight");
    ok(&train_args(&f, path(&straight), "3"));
    let expected = std::fs::read(straight.join("model.safetensors")).expect("weights");
    let expected_optimizer = std::fs::read(straight.join("optimizer.safetensors")).expect("state");
    // Two checkpoints (after epochs 1 and 3) of 17 operations each, the metrics before each, and
    // the pictures after: every operation of the run, and a few past its end.
    let mut faulted = 0;
    for mode in ["abort", "error"] {
        for at in 1..=44 {
            let dir = f.root.join(format!("{mode}-{at}"));
            let out = vae_with_fault(&train_args(&f, path(&dir), "3"), at, mode);
            faulted += usize::from(!out.status.success());
            if dir.join("config.json").exists() {
                // The directory holds a complete checkpoint: continue it.
                ok(&["train", "--resume", path(&dir), "--epochs", "3"]);
            } else {
                // Not even the first checkpoint was complete: the same command starts afresh.
                ok(&train_args(&f, path(&dir), "3"));
            }
            let weights = std::fs::read(dir.join("model.safetensors")).expect("weights");
            assert!(
                weights == expected,
                "{mode} at operation {at}: weights differ"
            );
            let state = std::fs::read(dir.join("optimizer.safetensors")).expect("state");
            assert!(
                state == expected_optimizer,
                "{mode} at operation {at}: state differs"
            );
            let leftovers = hidden_files(&dir);
            assert!(leftovers.is_empty(), "{mode} at {at}: left {leftovers:?}");
        }
    }
    // The hook did strike: most operations are inside a run.
    assert!(faulted > 60, "only {faulted} runs were interrupted");
}

/// Two processes training into one run directory (a resume started twice, or a `vae reproduce`
/// restarted while its first child still trains) would write the same checkpoint: the second is
/// refused, naming the first, and the lock goes with the process that held it.
#[test]
fn a_second_trainer_on_the_same_run_is_refused() {
    let f = fixture();
    let dir = f.root.join("run");
    ok(&train_args(&f, path(&dir), "1"));
    let mut first = Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(["train", "--resume", path(&dir), "--epochs", "1000000"])
        .args(["--threads", "1"])
        .env("VAE_DATA_DIR", std::env::temp_dir().join("vae-cli-tests"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the vae binary runs");
    let pid = first.id();
    let started = std::time::Instant::now();
    while lock_holder(&dir) != Some(pid) {
        assert!(
            started.elapsed().as_secs() < 60,
            "the first trainer never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    fails(
        &["train", "--resume", path(&dir), "--epochs", "1000001"],
        &format!("train.lock is held by another process (pid {pid}) training into the same run directory"),
    );
    first.kill().expect("kill");
    first.wait().expect("wait");
    // Killed mid-run, it leaves its lock file but not the lock.
    ok(&["train", "--resume", path(&dir), "--epochs", "2"]);
}
