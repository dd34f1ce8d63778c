//! `mpirun -np 2 vae train` and `vae eval` (built with `--features mpi`; Open MPI's `mpirun` on
//! the PATH): two ranks against one process, determinism, resume across world sizes, a failing
//! rank, and sharded evaluation.

use crate::common::{fixture, hidden_files, ok, path, train_args};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use vae::Trainable;

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

/// Every parameter of the run in `run`, in the model's order.
fn parameters(run: &std::path::Path) -> Vec<f32> {
    let (_, model, _) = vae::checkpoint::load_model(run).expect("a model");
    model.parameters().values().to_vec()
}

/// The largest difference between two runs' parameters, and the largest parameter of `one`
/// (the scale it is judged against).
fn largest_difference(ranks: &[f32], one: &[f32]) -> (f32, f32) {
    let scale = one.iter().fold(0f32, |m, v| m.max(v.abs()));
    let differs = ranks
        .iter()
        .zip(one)
        .fold(0f32, |m, (r, o)| m.max((r - o).abs()));
    (differs, scale)
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

    // One process with the same global batch: the same training (every rank keeps its rows of
    // the minibatch's noise), the gradient sums apart, so the weights agree to float rounding.
    ok(&refs(&args(&single, "2", "2")));
    let (ranks, one) = (parameters(&a), parameters(&single));
    let (differs, scale) = largest_difference(&ranks, &one);
    let (loss_ranks, loss_one) = (last_test_loss(&a), last_test_loss(&single));
    eprintln!(
        "2 ranks against one process after 2 epochs: weights differ by at most {differs:e} \
         (largest weight {scale}); test loss {loss_ranks} against {loss_one}"
    );
    assert!(differs <= 1e-5 * scale, "weights differ by {differs}");
    assert!(
        ((loss_ranks - loss_one) / loss_one).abs() < 1e-6,
        "2 ranks {loss_ranks}, one process {loss_one}"
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

    // M2 splits its unlabelled and its labelled rows among the ranks, and trains as one process
    // does.
    let (m2, m2_single) = (run("m2"), run("m2-single"));
    let m2_args = |out: &std::path::Path, threads| {
        let mut m2_args = args(out, "2", threads);
        m2_args.extend(["--model", "m2", "--labels", "4"].map(String::from));
        m2_args
    };
    let out = mpirun(&refs(&m2_args(&m2, "1")), &[], minute);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("test error"),
        "{}",
        text(&out.stdout)
    );
    ok(&refs(&m2_args(&m2_single, "2")));
    let (loss_ranks, loss_one) = (last_test_loss(&m2), last_test_loss(&m2_single));
    assert!(
        ((loss_ranks - loss_one) / loss_one).abs() < 1e-6,
        "M2: 2 ranks {loss_ranks}, one process {loss_one}"
    );

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
    // A two-layer model's too, with the active units of both layers gathered from the ranks.
    let two_layers = run("two-layers");
    let mut two_layer_args = args(&two_layers, "1", "2");
    two_layer_args.extend(["--top-latent", "2"].map(String::from));
    ok(&refs(&two_layer_args));
    let eval = [
        "eval",
        "--model",
        path(&two_layers),
        "--iw-samples",
        "5",
        "--json",
    ];
    let one: serde_json::Value = serde_json::from_str(ok(&eval).trim()).expect("JSON");
    let out = mpirun(&eval, &[], minute);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let two: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    assert!(one["lower_active_units"].is_u64(), "{one}");
    for key in [
        "log_likelihood",
        "elbo",
        "active_units",
        "lower_active_units",
    ] {
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

/// A run stopped in the middle of a save (its new files written and the journal naming them,
/// nothing renamed yet) resumes on two ranks as on one process: the writing rank alone finishes
/// the save, and the other reads the checkpoint after it has, so both start from the same epoch
/// and optimizer state.
#[test]
fn two_ranks_resume_a_run_stopped_mid_save() {
    let f = fixture();
    let minute = Duration::from_secs(60);
    let (two, three) = (f.root.join("two"), f.root.join("three"));
    ok(&train_args(&f, path(&two), "2"));
    ok(&train_args(&f, path(&three), "3"));
    // After epoch 2's checkpoint, epoch 3's save was journalled and then stopped.
    let copy = |from: &std::path::Path, to: &std::path::Path, name: &str, as_name: &str| {
        std::fs::copy(from.join(name), to.join(as_name)).expect("copy");
    };
    let (stopped, reference) = (f.root.join("stopped"), f.root.join("reference"));
    for dir in [&stopped, &reference] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let files = [
        "config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
    ];
    for name in files {
        copy(&two, &stopped, name, name);
        copy(&three, &stopped, name, &format!(".{name}.next"));
        copy(&three, &reference, name, name);
    }
    for dir in [&stopped, &reference] {
        copy(&three, dir, "metrics.jsonl", "metrics.jsonl");
    }
    std::fs::write(stopped.join(".checkpoint-commit"), files.join("\n")).expect("journal");

    ok(&[
        "train",
        "--resume",
        path(&reference),
        "--epochs",
        "4",
        "--threads",
        "2",
    ]);
    let out = mpirun(
        &[
            "train",
            "--resume",
            path(&stopped),
            "--epochs",
            "4",
            "--threads",
            "1",
        ],
        &[],
        minute,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("epoch   4/4") && !stdout.contains("epoch   3/4"),
        "{stdout}"
    );
    let (ranks, one) = (parameters(&stopped), parameters(&reference));
    let (differs, scale) = largest_difference(&ranks, &one);
    assert!(differs <= 1e-5 * scale, "weights differ by {differs}");
    let leftovers = hidden_files(&stopped);
    assert!(leftovers.is_empty(), "left {leftovers:?}");
}
