//! GANs from the command line: a dense GAN trains in two phases, resumes bit for bit, keeps both
//! losses and one optimizer state per network, draws samples, walks and its report, and refuses
//! what a GAN has not (an encoder, a likelihood, the ELBO's options); DCGAN refuses an image too
//! small for its stride-2 stages. A VAE-GAN trains in three phases, reconstructs, and is measured
//! by `vae fid` with its reconstructions' accuracy.

use crate::common::{eight_by_eight_idx, fails, fixture, ok, path, Fixture};
use std::path::Path;

/// A tiny GAN on the 7 x 5 fixture: a 16-unit generator from z of 4.
fn gan_args(f: &Fixture, out: &Path, epochs: &str) -> Vec<String> {
    [
        "train",
        "--dataset",
        f.dataset.as_str(),
        "--model",
        "gan",
        "--hidden",
        "16",
        "--latent",
        "4",
        "--batch-size",
        "32",
        "--threads",
        "2",
        "--epochs",
        epochs,
        "--out",
        path(out),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_ok(args: Vec<String>) -> String {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&refs)
}

#[test]
fn a_gan_trains_resumes_and_draws() {
    let f = fixture();
    let straight = f.root.join("straight");
    let out = run_ok(gan_args(&f, &straight, "3"));
    assert!(out.contains("train loss D") && out.contains(" G "), "{out}");
    let resumed = f.root.join("resumed");
    run_ok(gan_args(&f, &resumed, "1"));
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
    let optimizer = read(&straight, "optimizer.safetensors");
    let state = safetensors::SafeTensors::deserialize(&optimizer).expect("safetensors");
    let mut names: Vec<String> = state.names().into_iter().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "discriminator.adam.exp_avg",
            "discriminator.adam.exp_avg_sq",
            "generator.adam.exp_avg",
            "generator.adam.exp_avg_sq"
        ]
    );
    let config = String::from_utf8(read(&straight, "config.json")).expect("utf-8");
    assert!(
        config.contains("\"kind\": \"gan\"")
            && config.contains("\"leaky_relu\"")
            && config.contains("\"betas\""),
        "{config}"
    );
    let metrics = String::from_utf8(read(&straight, "metrics.jsonl")).expect("utf-8");
    assert_eq!(metrics.lines().count(), 3);
    assert!(
        metrics.contains("train_discriminator") && !metrics.contains("elbo"),
        "{metrics}"
    );
    assert!(straight.join("samples.png").exists() && straight.join("report.html").exists());
    assert!(!straight.join("reconstructions.png").exists());
    for (command, extra) in [
        ("sample", vec!["--n", "4"]),
        ("manifold", vec!["--grid", "5"]),
        ("interpolate", vec!["--steps", "5"]),
    ] {
        let file = f.root.join(format!("{command}.png"));
        let mut args = vec![command, "--model", path(&straight), "--out", path(&file)];
        args.extend(extra);
        ok(&args);
        assert!(image::open(&file).is_ok(), "{command}");
    }
    // Eight walks of five steps, 7 x 5 tiles (at the default scale, 1) with 1-pixel gaps.
    let walks = image::open(f.root.join("interpolate.png")).expect("png");
    assert_eq!((walks.width(), walks.height()), (5 * 5 + 6, 8 * 7 + 9));
    fails(
        &["reconstruct", "--model", path(&straight)],
        "a GAN has no encoder",
    );
    fails(
        &[
            "arithmetic",
            "--model",
            path(&straight),
            "--classes",
            "1,0,1",
        ],
        "give --classifier DIR",
    );
    fails(
        &["eval", "--model", path(&straight), "--iw-samples", "2"],
        "no likelihood",
    );
}

#[test]
fn gans_refuse_what_they_have_not() {
    let f = fixture();
    let out = f.root.join("x");
    for (flag, value) in [("--beta", "2"), ("--arch", "conv"), ("--samples", "3")] {
        fails(
            &[
                "train",
                "--dataset",
                &f.dataset,
                "--model",
                "gan",
                flag,
                value,
                "--out",
                path(&out),
            ],
            &format!("{flag} does not apply to --model gan"),
        );
    }
    fails(
        &[
            "train",
            "--dataset",
            &f.dataset,
            "--model",
            "dcgan",
            "--out",
            path(&out),
        ],
        "the dcgan preset halves the image sides",
    );
}

/// Latent arithmetic through a VAE's encoder: rows for A, B and C (the mean, then the three
/// exemplars, padded with the mean) and the row of A − B + C with its eight variations.
#[test]
fn arithmetic_decodes_a_minus_b_plus_c() {
    let f = fixture();
    let run = f.root.join("vae");
    ok(&[
        "train",
        "--dataset",
        &f.dataset,
        "--latent",
        "2",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--out",
        path(&run),
    ]);
    let file = f.root.join("a.png");
    let out = ok(&[
        "arithmetic",
        "--model",
        path(&run),
        "--classes",
        "1,0,1",
        "--out",
        path(&file),
    ]);
    assert!(out.contains("last row 1 − 0 + 1"), "{out}");
    let picture = image::open(&file).expect("png");
    // 9 columns and 4 rows of 7 x 5 tiles with 1-pixel gaps.
    assert_eq!((picture.width(), picture.height()), (9 * 5 + 10, 4 * 7 + 5));
    fails(
        &["arithmetic", "--model", path(&run), "--classes", "1,0"],
        "--classes takes three classes",
    );
    fails(
        &[
            "arithmetic",
            "--model",
            path(&run),
            "--classes",
            "1,0,1",
            "--average",
            "9",
        ],
        "average between 1 and 8",
    );
}

fn vae_gan_args(dataset: &str, out: &Path, epochs: &str) -> Vec<String> {
    [
        "train",
        "--dataset",
        dataset,
        "--model",
        "vae-gan",
        "--latent",
        "4",
        "--feature-weight",
        "0.1",
        "--equilibrium-margin",
        "0.4",
        "--batch-size",
        "32",
        "--threads",
        "2",
        "--epochs",
        epochs,
        "--out",
        path(out),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// VAE-GAN from the command line: three phases with an optimizer state each, bit-for-bit
/// resume, the feature error and KL beside both GAN losses, reconstructions and the pictures an
/// encoder allows, arithmetic on encoded images, no likelihood, and the fraction of
/// reconstructions the reference classifier reads as their label in `vae fid`.
#[test]
fn a_vae_gan_trains_resumes_reconstructs_and_is_measured() {
    let f = fixture();
    let dataset = eight_by_eight_idx(&f.root.join("eight"));
    let straight = f.root.join("straight");
    let out = run_ok(vae_gan_args(&dataset, &straight, "2"));
    assert!(out.contains("training vae-gan encoder ["), "{out}");
    let resumed = f.root.join("resumed");
    run_ok(vae_gan_args(&dataset, &resumed, "1"));
    ok(&[
        "train",
        "--resume",
        path(&resumed),
        "--epochs",
        "2",
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
    let optimizer = read(&straight, "optimizer.safetensors");
    let state = safetensors::SafeTensors::deserialize(&optimizer).expect("safetensors");
    let mut names: Vec<String> = state.names().into_iter().cloned().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "decoder.adam.exp_avg",
            "decoder.adam.exp_avg_sq",
            "discriminator.adam.exp_avg",
            "discriminator.adam.exp_avg_sq",
            "encoder.adam.exp_avg",
            "encoder.adam.exp_avg_sq"
        ]
    );
    let config = String::from_utf8(read(&straight, "config.json")).expect("utf-8");
    assert!(
        config.contains("\"kind\": \"vae-gan\"")
            && config.contains("\"feature_weight\": 0.1")
            && config.contains("\"equilibrium_margin\": 0.4"),
        "{config}"
    );
    let metrics = String::from_utf8(read(&straight, "metrics.jsonl")).expect("utf-8");
    assert!(
        metrics.contains("train_discriminator")
            && metrics.contains("test_reconstruction")
            && metrics.contains("test_kl")
            && !metrics.contains("elbo"),
        "{metrics}"
    );
    assert!(straight.join("reconstructions.png").exists());
    let report = String::from_utf8(read(&straight, "report.html")).expect("utf-8");
    assert!(report.contains("test feature error"), "report");
    for (command, extra) in [
        ("reconstruct", vec!["--n", "4"]),
        ("interpolate", vec!["--steps", "4"]),
        ("arithmetic", vec!["--classes", "1,0,1"]),
    ] {
        let file = f.root.join(format!("{command}.png"));
        let mut args = vec![command, "--model", path(&straight), "--out", path(&file)];
        args.extend(extra);
        ok(&args);
        assert!(image::open(&file).is_ok(), "{command}");
    }
    fails(
        &["eval", "--model", path(&straight), "--iw-samples", "2"],
        "no likelihood",
    );
    let classifier = f.root.join("classifier");
    ok(&[
        "classifier",
        "train",
        "--dataset",
        &dataset,
        "--hidden",
        "16",
        "--epochs",
        "2",
        "--out",
        path(&classifier),
    ]);
    let out = ok(&[
        "fid",
        "--model",
        path(&straight),
        "--classifier",
        path(&classifier),
        "--samples",
        "32",
    ]);
    assert!(out.contains("reconstructions read as their label"), "{out}");
    let record: serde_json::Value =
        serde_json::from_slice(&read(&straight, "fid.json")).expect("fid.json");
    let accuracy = record["reconstruction_accuracy"]
        .as_f64()
        .expect("accuracy");
    assert!((0.0..=1.0).contains(&accuracy), "{record}");
    assert!(record["test_accuracy"].as_f64().is_some(), "{record}");
    assert!(
        record["note"].as_str().expect("note").contains("an MLP"),
        "{record}"
    );

    // A convolutional classifier's last hidden layer serves as the feature space the same way.
    let conv = f.root.join("conv-classifier");
    let out = ok(&[
        "classifier",
        "train",
        "--dataset",
        &dataset,
        "--arch",
        "conv",
        "--hidden",
        "12",
        "--epochs",
        "1",
        "--out",
        path(&conv),
    ]);
    assert!(out.contains("-conv-12-"), "{out}");
    let config: serde_json::Value =
        serde_json::from_slice(&read(&conv, "config.json")).expect("config.json");
    let layers = config["classifier"]["layers"].as_array().expect("layers");
    assert_eq!(layers[0]["type"], "conv2d", "{config}");
    ok(&[
        "fid",
        "--model",
        path(&straight),
        "--classifier",
        path(&conv),
        "--samples",
        "32",
    ]);
    let record: serde_json::Value =
        serde_json::from_slice(&read(&straight, "fid.json")).expect("fid.json");
    assert_eq!(record["features"], 12, "{record}");
    let note = record["note"].as_str().expect("note");
    assert!(note.contains("a convolutional network"), "{note}");
}

#[test]
fn vae_gan_options_apply_to_it_alone() {
    let f = fixture();
    let out = f.root.join("x");
    for (flag, value) in [
        ("--feature-weight", "0.5"),
        ("--equilibrium-margin", "0.4"),
        ("--real-weight", "0.5"),
    ] {
        fails(
            &[
                "train",
                "--dataset",
                &f.dataset,
                flag,
                value,
                "--out",
                path(&out),
            ],
            &format!("{flag} applies to --model vae-gan only"),
        );
    }
    let eight = eight_by_eight_idx(&f.root.join("eight"));
    for (value, message) in [
        (
            "--equilibrium-margin=-1",
            "equilibrium_margin -1.0 must be non-negative and finite",
        ),
        ("--real-weight=0", "must lie strictly between 0 and 1"),
        ("--real-weight=1", "must lie strictly between 0 and 1"),
        ("--real-weight=NaN", "must lie strictly between 0 and 1"),
    ] {
        fails(
            &[
                "train",
                "--dataset",
                &eight,
                "--model",
                "vae-gan",
                value,
                "--out",
                path(&out),
            ],
            message,
        );
    }
    for (flag, value) in [("--hidden", "8"), ("--kl-warmup", "2"), ("--samples", "2")] {
        fails(
            &[
                "train",
                "--dataset",
                &f.dataset,
                "--model",
                "vae-gan",
                flag,
                value,
                "--out",
                path(&out),
            ],
            &format!("{flag} does not apply to --model vae-gan"),
        );
    }
}
