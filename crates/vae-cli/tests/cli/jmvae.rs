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
    let run_ok = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&refs)
    };
    let straight = f.root.join("straight");
    let out = run_ok(jmvae(path(&straight), "3"));
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

/// A folder of images with an `attributes.csv`: 24 grey 6 x 4 images, each bright on its left
/// half or not and on its top half or not, those two facts its attributes.
pub(super) fn attribute_folder(root: &Path) -> std::path::PathBuf {
    let dir = root.join("faces");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut csv = String::from("file,left,top\n");
    for i in 0..24u32 {
        let (left, top) = (i % 2, (i / 2) % 2);
        image::GrayImage::from_fn(4, 6, |x, y| {
            let lit = (left == 1 && x < 2) || (top == 1 && y < 3);
            image::Luma([if lit { 230 } else { 20 + (i as u8) }])
        })
        .save(dir.join(format!("{i:02}.png")))
        .expect("write PNG");
        let minus = if top == 1 { "1" } else { "-1" };
        csv.push_str(&format!("{i:02}.png,{left},{minus}\n"));
    }
    std::fs::write(dir.join("attributes.csv"), csv).expect("write csv");
    dir
}

#[test]
fn jmvae_of_a_folders_attributes_trains_edits_and_samples() {
    let f = fixture();
    let dir = attribute_folder(&f.root);
    let spec = format!("folder:{}", dir.display());
    let run = f.root.join("attributes");
    let train = |out: &str, spec: &str| {
        vec![
            "train",
            "--dataset",
            spec,
            "--size",
            "6x4",
            "--model",
            "jmvae",
            "--epochs",
            "2",
            "--hidden",
            "16",
            "--latent",
            "2",
            "--batch-size",
            "8",
            "--out",
            out,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<String>>()
    };
    let args = train(path(&run), &spec);
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("image and 2 binary attributes"), "{out}");
    let config = std::fs::read_to_string(run.join("config.json")).expect("config");
    assert!(
        config.contains("\"attributes\": [") && config.contains("\"left\""),
        "{config}"
    );

    let eval = ok(&["eval", "--model", path(&run), "--iw-samples", "3"]);
    for needle in ["log p(x, y)", "log p(x | y)", "classification error"] {
        assert!(eval.contains(needle), "{needle} missing: {eval}");
    }
    let png = |name: &str| f.root.join(name);
    ok(&[
        "sample",
        "--model",
        path(&run),
        "--attributes",
        "left,top",
        "--n",
        "4",
        "--out",
        path(&png("s.png")),
    ]);
    ok(&[
        "sample",
        "--model",
        path(&run),
        "--n",
        "4",
        "--out",
        path(&png("prior.png")),
    ]);
    let edit = ok(&[
        "edit",
        "--model",
        path(&run),
        "--add",
        "top",
        "--amount",
        "-1",
        "--steps",
        "3",
        "--out",
        path(&png("e.png")),
    ]);
    assert!(edit.contains("toward having top"), "{edit}");
    let infer = ok(&[
        "infer",
        "--model",
        path(&run),
        "--images",
        "0,1",
        "--out",
        path(&png("i.png")),
    ]);
    assert!(infer.contains("test image 1: read as having"), "{infer}");
    for file in ["s.png", "prior.png", "e.png", "i.png"] {
        assert!(image::open(png(file)).is_ok(), "{file}");
    }
    fails(
        &["sample", "--model", path(&run), "--attributes", "smile"],
        "`smile` is not one of this JMVAE's attributes: left, top",
    );
    fails(
        &["edit", "--model", path(&run), "--add", "3"],
        "`3` is not one of this JMVAE's attributes",
    );
    fails(
        &["analogy", "--model", path(&run)],
        "analogies need a model with classes",
    );

    // A file that is not what it should be is refused with its line named.
    let csv = dir.join("attributes.csv");
    let good = std::fs::read_to_string(&csv).expect("csv");
    for (text, needle) in [
        (
            good.replace("03.png,1,1\n", ""),
            "no line for the image 03.png",
        ),
        (
            format!("{good}99.png,1,0\n"),
            "line 26: 99.png is not an image file of the folder",
        ),
        (
            good.replace("05.png,1,-1", "05.png,1,yes"),
            "line 7: `top` is \"yes\"",
        ),
        (
            good.replace("05.png,1,-1", "05.png,1"),
            "line 7: 1 values after the file name",
        ),
    ] {
        std::fs::write(&csv, text).expect("write csv");
        let out = f.root.join(format!("bad-{}", needle.len()));
        let args = train(path(&out), &spec);
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), needle);
        assert!(!out.exists(), "a refused run left {}", out.display());
    }
}

/// A convolutional JMVAE: its joint encoder reads the label as constant planes beside the
/// pixels, its q(z | x) the pixels alone; it trains, scores and edits.
#[test]
fn a_convolutional_jmvae_reads_the_label_as_planes() {
    use super::conv::{conv_train_args, strs, CONV_LAYERS};
    let f = fixture();
    let layers = f.root.join("layers.json");
    std::fs::write(&layers, CONV_LAYERS).expect("write layers");
    let run = f.root.join("conv-jmvae");
    let mut args = conv_train_args(&f, &layers, &run, "2");
    args.extend(["--model", "jmvae"].map(String::from));
    ok(&strs(&args));
    let weights = std::fs::read(run.join("model.safetensors")).expect("weights");
    let len = u64::from_le_bytes(weights[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value = serde_json::from_slice(&weights[8..8 + len]).expect("header");
    // 3 x 3 kernels over 1 + 2 channels (the pixels and the two label planes), and over the
    // pixels alone for q(z | x).
    assert_eq!(
        header["encoder.conv.0.weight"]["shape"],
        serde_json::json!([4, 3, 3, 3])
    );
    assert_eq!(
        header["image_encoder.conv.0.weight"]["shape"],
        serde_json::json!([4, 1, 3, 3])
    );
    let eval = ok(&["eval", "--model", path(&run), "--iw-samples", "3"]);
    assert!(eval.contains("log p(x | y)"), "{eval}");
    let out = f.root.join("edit.png");
    ok(&[
        "edit",
        "--model",
        path(&run),
        "--add",
        "1",
        "--out",
        path(&out),
    ]);
    assert!(image::open(&out).is_ok());
}
