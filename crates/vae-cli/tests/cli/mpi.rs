//! `mpirun -np 2 vae train` and `vae eval` (built with `--features mpi`; Open MPI's `mpirun` on
//! the PATH): two ranks against one process, determinism, resume across world sizes, a failing
//! rank, and sharded evaluation.

use crate::common::{fixture, ok, path, train_args};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mpirun -np 2 vae ARGS` with `env` passed to both ranks; fails the test after `limit`.
fn mpirun(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let data_dir = std::env::temp_dir().join("vae-cli-tests");
    let mut command = Command::new("mpirun");
    // As root (CI containers) Open MPI wants to be told; two ranks may exceed the cores.
    command.args(["--allow-run-as-root", "--oversubscribe", "-np", "2"]);
    command.env("VAE_DATA_DIR", &data_dir);
    command.args(["-x", "VAE_DATA_DIR"]);
    for (name, value) in env {
        command.env(name, value);
        command.args(["-x", name]);
    }
    command.arg(env!("CARGO_BIN_EXE_vae")).args(args);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun starts (install openmpi-bin)");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("mpirun {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn weights(run: &std::path::Path) -> Vec<u8> {
    std::fs::read(run.join("model.safetensors")).expect("weights")
}

fn last_test_loss(run: &std::path::Path) -> f64 {
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics");
    let last: serde_json::Value =
        serde_json::from_str(metrics.lines().last().expect("a line")).expect("JSON");
    -last["test_elbo"].as_f64().expect("test_elbo")
}

#[test]
fn two_ranks_train_deterministically_resume_across_sizes_and_stop_together() {
    let f = fixture();
    let minute = Duration::from_secs(60);
    let run = |name: &str| f.root.join(name);
    let (a, b, single) = (run("ranks-a"), run("ranks-b"), run("single"));
    let args = |out: &std::path::Path, epochs: &'static str, threads: &'static str| {
        let mut args: Vec<String> = train_args(&f, path(out), epochs)
            .into_iter()
            .map(String::from)
            .collect();
        let at = args
            .iter()
            .position(|a| a == "--threads")
            .expect("--threads");
        args[at + 1] = threads.into();
        args
    };

    // Two 2-rank runs with the same seed: the same weights, bit for bit.
    for out in [&a, &b] {
        let out = mpirun(&refs(&args(out, "2", "1")), &[], minute);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("2 MPI ranks share each batch"), "{stdout}");
        // Rank 0 alone prints.
        assert_eq!(stdout.matches("epoch   2/2").count(), 1, "{stdout}");
    }
    assert!(weights(&a) == weights(&b), "two 2-rank runs differ");

    // One process with the same global batch: another draw of the same training (each rank has
    // its own noise stream), so the test losses agree to a few percent, not to rounding.
    ok(&refs(&args(&single, "2", "2")));
    let (ranks, one) = (last_test_loss(&a), last_test_loss(&single));
    assert!(
        ((ranks - one) / one).abs() < 0.05,
        "2 ranks {ranks}, one process {one}"
    );

    // Resume across world sizes: a 2-rank run continued by one process, and the reverse.
    ok(&[
        "train",
        "--resume",
        path(&a),
        "--epochs",
        "3",
        "--threads",
        "2",
    ]);
    let out = mpirun(
        &[
            "train",
            "--resume",
            path(&single),
            "--epochs",
            "3",
            "--threads",
            "1",
        ],
        &[],
        minute,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(last_test_loss(&single).is_finite());

    // A rank that fails stops every rank: a non-zero exit within seconds, naming the rank, and
    // the checkpoint on disk resumes.
    let failing = run("failing");
    let started = Instant::now();
    let out = mpirun(
        &refs(&args(&failing, "6", "1")),
        &[("VAE_FAULT_RANK", "1")],
        minute,
    );
    assert!(!out.status.success(), "a failing rank must fail the job");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: rank 1: ") && stderr.contains("VAE_FAULT_RANK"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    ok(&[
        "train",
        "--resume",
        path(&failing),
        "--epochs",
        "3",
        "--threads",
        "2",
    ]);

    // M2 splits its unlabelled and its labelled rows among the ranks.
    let m2 = run("m2");
    let mut m2_args = args(&m2, "2", "1");
    m2_args.extend(["--model", "m2", "--labels", "4"].map(String::from));
    let out = mpirun(&refs(&m2_args), &[], minute);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("test error"),
        "{}",
        text(&out.stdout)
    );
    assert!(last_test_loss(&m2).is_finite());

    // Evaluation shared among two ranks scores every image as one process does: the same
    // log p(x) and standard error, bit for bit.
    let eval = ["eval", "--model", path(&a), "--iw-samples", "5", "--json"];
    let one: serde_json::Value = serde_json::from_str(ok(&eval).trim()).expect("JSON");
    let out = mpirun(&eval, &[], minute);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let two: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    for key in ["log_likelihood", "log_likelihood_stderr", "elbo", "images"] {
        assert_eq!(one[key], two[key], "{key}");
    }

    // The other commands run on one process and say so.
    let picture = run("s.png");
    let out = mpirun(
        &["sample", "--model", path(&a), "--out", path(&picture)],
        &[],
        minute,
    );
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("runs on one process"),
        "{}",
        text(&out.stderr)
    );
}
