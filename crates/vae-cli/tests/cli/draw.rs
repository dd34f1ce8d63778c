//! DRAW from the command line: trains with and without attention, resumes bit for bit, scores,
//! draws its painting steps and windows, and refuses what does not fit it.

use crate::common::{fails, fixture, ok, path, Fixture};
use std::path::Path;

/// A tiny DRAW on the 7 x 5 fixture: 4 steps, LSTMs of 8 units, 2 latents per step; `extra`
/// adds flags or replaces these.
fn draw_args(f: &Fixture, out: &Path, epochs: &str, extra: &[&str]) -> Vec<String> {
    let defaults = [
        ("--dataset", f.dataset.as_str()),
        ("--model", "draw"),
        ("--steps", "4"),
        ("--lstm", "8"),
        ("--latent", "2"),
        ("--batch-size", "32"),
        ("--clip-norm", "5"),
        ("--threads", "2"),
        ("--epochs", epochs),
        ("--out", path(out)),
    ];
    let mut args = vec!["train".to_string()];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_ok(args: Vec<String>) -> String {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&refs)
}

#[test]
fn draw_trains_resumes_scores_and_paints() {
    let f = fixture();
    let grids = ["--read", "2", "--write", "3"];
    let straight = f.root.join("straight");
    let out = run_ok(draw_args(&f, &straight, "3", &grids));
    assert!(
        out.contains("draw (4 steps, read 2x2, write 3x3 attention)"),
        "{out}"
    );
    let resumed = f.root.join("resumed");
    run_ok(draw_args(&f, &resumed, "1", &grids));
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
        config.contains("\"draw\"") && config.contains("\"clip_norm\": 5.0"),
        "{config}"
    );
    // PyTorch's module paths: the LSTM cells' four tensors, the heads and the grids.
    let weights = read(&straight, "model.safetensors");
    let tensors = safetensors::SafeTensors::deserialize(&weights).expect("safetensors");
    let shape = |name: &str| tensors.tensor(name).expect(name).shape().to_vec();
    assert_eq!(shape("encoder.weight_ih"), [32, 8 + 8]);
    assert_eq!(shape("encoder.weight_hh"), [32, 8]);
    assert_eq!(shape("decoder.weight_ih"), [32, 2]);
    assert_eq!(shape("decoder.bias_hh"), [32]);
    assert_eq!(shape("write.weight"), [9, 8]);
    assert_eq!(shape("read_window.weight"), [5, 8]);

    let json = ok(&[
        "eval",
        "--model",
        path(&straight),
        "--iw-samples",
        "8",
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let log_p = value["log_likelihood"].as_f64().expect("log p(x)");
    let elbo = value["elbo"].as_f64().expect("elbo");
    assert!(log_p < 0.0 && elbo < log_p + 1.0, "{json}");

    for (command, extra, file) in [
        ("sample", vec!["--n", "4"], "s.png"),
        ("reconstruct", vec!["--n", "4"], "r.png"),
        ("interpolate", vec!["--steps", "4"], "i.png"),
        (
            "draw-steps",
            vec!["--n", "3", "--windows", "--gif"],
            "d.png",
        ),
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
    // Three draws, a column per step (1, 2, 3, 4 of 4), 7 x 5 tiles at scale 2, 1-pixel gaps;
    // the windows make it colour.
    let steps = image::open(f.root.join("d.png")).expect("png");
    assert_eq!((steps.width(), steps.height()), (4 * 10 + 5, 3 * 14 + 4));
    assert!(steps.as_rgb8().is_some());
    let gif = std::fs::read(f.root.join("d.gif")).expect("gif");
    assert_eq!(&gif[..6], b"GIF89a");
    ok(&["report", "--model", path(&straight)]);
    assert!(straight.join("report.html").exists());

    let plain = f.root.join("plain");
    let out = run_ok(draw_args(&f, &plain, "1", &["--no-attention"]));
    assert!(out.contains("no attention"), "{out}");
    fails(
        &["draw-steps", "--model", path(&plain), "--windows"],
        "no attention",
    );
    fails(
        &["draw-steps", "--model", path(&straight), "--steps", "5"],
        "step 5 is not one of the model's steps 1 to 4",
    );
}

#[test]
fn draw_refuses_what_does_not_fit_it() {
    let f = fixture();
    let out = f.root.join("refused");
    for (extra, needle) in [
        (
            vec!["--read", "6"],
            "read grid of 6x6 filters does not fit the 7x5x1 image",
        ),
        (
            vec!["--hidden", "16"],
            "--hidden does not apply to --model draw",
        ),
        (
            vec!["--objective", "iwae"],
            "--objective does not apply to --model draw",
        ),
        (
            vec!["--no-attention", "--write", "3"],
            "a model without attention",
        ),
        (vec!["--steps", "0"], "draw steps must be 1 to"),
    ] {
        let args = draw_args(&f, &out, "1", &extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&refs, needle);
        assert!(!out.exists(), "{extra:?} left a run directory");
    }
    fails(
        &[
            "train",
            "--dataset",
            &f.dataset,
            "--steps",
            "4",
            "--out",
            path(&out),
        ],
        "--steps applies to --model draw only",
    );
    fails(
        &[
            "train",
            "--dataset",
            &f.dataset,
            "--clip-norm=-1",
            "--out",
            path(&out),
        ],
        "gradient norm bound",
    );
}
