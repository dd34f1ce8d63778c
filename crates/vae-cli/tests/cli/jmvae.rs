//! The JMVAE from the command line: trains, resumes bit for bit, scores the image with and
//! without its label, generates from labels, edits along a label, and refuses what it cannot do.

use crate::common::{fails, fixture, ok, path, train_args};
use std::path::Path;

#[test]
fn jmvae_trains_resumes_scores_generates_and_edits() {
    let f = fixture();
    let jmvae = |out: &str, epochs: &str| -> Vec<String> {
        let mut args: Vec<String> = train_args(&f, out, epochs)
            .into_iter()
            .map(String::from)
            .collect();
        args.extend(["--model", "jmvae", "--alpha", "0.5", "--kl-warmup", "1"].map(String::from));
        args
    };
    let strs = |args: &[String]| -> Vec<String> { args.to_vec() };
    let run_ok = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&refs)
    };
    let straight = f.root.join("straight");
    let out = run_ok(strs(&jmvae(path(&straight), "3")));
    assert!(out.contains("jmvae (image and label, 2 classes"), "{out}");
    assert!(out.contains("test error"), "{out}");
    let resumed = f.root.join("resumed");
    run_ok(jmvae(path(&resumed), "1"));
    ok(&[
        "train",
        "--resume",
        path(&resumed),
        "--epochs",
        "3",
        "--threads",
        "2",
    ]);
    let read = |dir: &Path, file: &str| std::fs::read(dir.join(file)).expect("file");
    for file in ["model.safetensors", "optimizer.safetensors"] {
        assert!(
            read(&straight, file) == read(&resumed, file),
            "{file} differs"
        );
    }
    let config = String::from_utf8(read(&straight, "config.json")).expect("utf-8");
    assert!(
        config.contains("\"modality\"") && config.contains("\"alpha\": 0.5"),
        "{config}"
    );

    let eval = ok(&["eval", "--model", path(&straight), "--iw-samples", "4"]);
    for needle in [
        "log p(x)",
        "log p(x, y)",
        "log p(x | y)",
        "classification error",
    ] {
        assert!(eval.contains(needle), "{needle} missing: {eval}");
    }
    let json = ok(&[
        "eval",
        "--model",
        path(&straight),
        "--iw-samples",
        "4",
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let joint = value["joint_log_likelihood"].as_f64().expect("log p(x, y)");
    let conditional = value["conditional_log_likelihood"]
        .as_f64()
        .expect("log p(x | y)");
    assert!(joint < conditional && conditional < 0.0, "{json}");

    for (command, extra, file) in [
        ("sample", vec!["--label", "1", "--n", "4"], "s.png"),
        (
            "edit",
            vec!["--image", "0", "--add", "0", "--steps", "5"],
            "e.png",
        ),
        ("analogy", vec!["--images", "0,1"], "a.png"),
        ("infer", vec!["--images", "0,1,2"], "i.png"),
        ("reconstruct", vec![], "r.png"),
    ] {
        let out_file = f.root.join(file);
        let mut args = vec![
            command,
            "--model",
            path(&straight),
            "--out",
            path(&out_file),
        ];
        args.extend(extra);
        ok(&args);
        assert!(image::open(&out_file).is_ok(), "{command}");
    }
    // The original and 5 steps of 7 x 5 images with 1-pixel gaps.
    let edit = image::open(f.root.join("e.png")).expect("png");
    assert_eq!((edit.width(), edit.height()), (6 * 5 + 7, 7 + 2));

    // Three rows of a test image beside the label it is read as, drawn by the model.
    let inferred = image::open(f.root.join("i.png")).expect("png");
    assert_eq!(
        (inferred.width(), inferred.height()),
        (2 * 5 + 3, 3 * 7 + 4)
    );
    let out = ok(&[
        "infer",
        "--model",
        path(&straight),
        "--images",
        "0,1",
        "--out",
        path(&f.root.join("i2.png")),
    ]);
    assert!(out.contains("test image 1: read as"), "{out}");
    fails(
        &["infer", "--model", path(&straight), "--images", "40"],
        "--images 40 is beyond the 40 test images",
    );
    fails(
        &["edit", "--model", path(&straight), "--add", "2"],
        "label 2 is out of range",
    );
    fails(
        &["sample", "--model", path(&straight), "--label", "5"],
        "--label 5",
    );
    let plain = f.root.join("vae");
    ok(&train_args(&f, path(&plain), "1"));
    fails(
        &["edit", "--model", path(&plain), "--add", "1"],
        "not a jmvae model",
    );
    let mut args = train_args(&f, "unused", "1");
    args.extend(["--alpha", "0.1"]);
    fails(
        &args,
        "--alpha applies to --model m2 and --model jmvae only",
    );
    let mut args = jmvae(path(&f.root.join("iwae")), "1");
    args.extend(["--objective", "iwae"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    fails(&refs, "trains with JMVAE-kl");
}
