//! Convolutional models from the command line: a hand-written conv list on 7 x 5 digits-like
//! images trained, resumed bitwise, evaluated, drawn by every picture command and served; the
//! conditional VAE with the label as planes; the `--arch conv` preset on a folder of RGB images.

use super::common::*;
use serde_json::Value;
use std::path::Path;

/// Encoder: a stride-2 convolution 7 x 5 -> 4 x 3; decoder: dense to 4 x 3 x 4, then a transposed
/// convolution back to the image's 7 x 5 x 1, which gives the logits (no dense head).
pub(super) const CONV_LAYERS: &str = r#"{
  "encoder": [{"type": "conv2d", "name": "conv.0", "out": 4, "kernel": 3, "stride": 2, "padding": 1},
              {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out": 16}, {"type": "relu"}],
  "decoder": [{"type": "linear", "out": 16}, {"type": "relu"}, {"type": "linear", "out": 48}, {"type": "relu"},
              {"type": "reshape", "shape": [4, 3, 4]},
              {"type": "conv_transpose2d", "name": "deconv.0", "out": 1, "kernel": 3, "stride": 2, "padding": 1}]
}"#;

pub(super) fn conv_train_args(f: &Fixture, layers: &Path, out: &Path, epochs: &str) -> Vec<String> {
    let mut args: Vec<String> = train_args(f, path(out), epochs)
        .into_iter()
        .map(String::from)
        .collect();
    let at = args.iter().position(|a| a == "--hidden").expect("--hidden");
    args.drain(at..at + 2);
    args.extend(["--layers".into(), path(layers).into()]);
    args
}

pub(super) fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The tensors of a safetensors file: name -> shape.
fn tensor_shapes(file: &Path) -> serde_json::Map<String, Value> {
    let bytes = std::fs::read(file).expect("weights");
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes[8..8 + len]).expect("header");
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, v)| (name, v["shape"].clone()))
        .collect()
}

#[test]
fn a_conv_model_trains_resumes_and_draws() {
    let f = fixture();
    let layers = f.root.join("layers.json");
    std::fs::write(&layers, CONV_LAYERS).expect("write layers");
    let straight = f.root.join("straight");
    let out = ok(&strs(&conv_train_args(&f, &layers, &straight, "3")));
    assert!(out.contains("conv 4x3/2"), "{out}");
    let shapes = tensor_shapes(&straight.join("model.safetensors"));
    assert_eq!(
        shapes["encoder.conv.0.weight"],
        serde_json::json!([4, 1, 3, 3])
    );
    assert_eq!(
        shapes["decoder.deconv.0.weight"],
        serde_json::json!([4, 1, 3, 3])
    );
    assert!(!shapes.contains_key("decoder.output.weight"));

    // One epoch, then a resume to three: the same bytes as three straight.
    let resumed = f.root.join("resumed");
    ok(&strs(&conv_train_args(&f, &layers, &resumed, "1")));
    ok(&["train", "--resume", path(&resumed), "--epochs", "3"]);
    for file in ["model.safetensors", "optimizer.safetensors"] {
        let read = |dir: &Path| std::fs::read(dir.join(file)).expect("file");
        assert!(
            read(&straight) == read(&resumed),
            "{file} differs after resume"
        );
    }

    let run = path(&straight);
    let eval = ok(&["eval", "--model", run, "--iw-samples", "20"]);
    assert!(eval.contains("log p(x)"), "{eval}");
    let picture = |args: &[&str], name: &str| {
        let file = f.root.join(name);
        let mut all = args.to_vec();
        all.extend(["--model", run, "--out", path(&file)]);
        ok(&all);
        image::open(&file).expect("a PNG");
    };
    picture(&["sample", "--n", "6"], "samples.png");
    picture(&["reconstruct", "--n", "4"], "recon.png");
    picture(&["manifold", "--grid", "5"], "manifold.png");
    picture(&["interpolate", "--steps", "4"], "path.png");
    picture(&["traverse", "--steps", "3"], "traverse.png");
    assert!(straight.join("report.html").is_file());

    let server = Server::start(&["--model", run]);
    let response = ureq::post(&format!("{}/api/decode", server.url))
        .set("Content-Type", "application/json")
        .send_string(r#"{"z": [0.5, -0.5]}"#)
        .expect("decode");
    assert_eq!(response.status(), 200);
    assert!(server.interrupt(), "Ctrl-C did not stop the server cleanly");
}

/// The conditional VAE with a convolutional encoder reads the label as constant planes: its
/// first convolution has one input channel per class more than the image. The autoencoder trains
/// with the same networks; m2 is refused.
#[test]
fn a_conditional_conv_model_reads_the_label_as_planes() {
    let f = fixture();
    let layers = f.root.join("layers.json");
    std::fs::write(&layers, CONV_LAYERS).expect("write layers");
    let run = f.root.join("cvae");
    let mut args = conv_train_args(&f, &layers, &run, "1");
    args.extend(["--model".into(), "cvae".into()]);
    ok(&strs(&args));
    let shapes = tensor_shapes(&run.join("model.safetensors"));
    assert_eq!(
        shapes["encoder.conv.0.weight"],
        serde_json::json!([4, 3, 3, 3])
    );
    ok(&[
        "analogy",
        "--model",
        path(&run),
        "--images",
        "0,1",
        "--out",
        path(&f.root.join("analogy.png")),
    ]);
    // The plain autoencoder with the same convolutional networks: a deterministic code.
    let ae = f.root.join("ae");
    let mut args = conv_train_args(&f, &layers, &ae, "2");
    args.extend(["--model".into(), "ae".into()]);
    ok(&strs(&args));
    let shapes = tensor_shapes(&ae.join("model.safetensors"));
    assert_eq!(
        shapes["encoder.conv.0.weight"],
        serde_json::json!([4, 1, 3, 3])
    );
    assert!(shapes.contains_key("encoder.code.weight"));
    ok(&[
        "sample",
        "--model",
        path(&ae),
        "--out",
        path(&f.root.join("ae.png")),
    ]);

    let mut m2 = conv_train_args(&f, &layers, &f.root.join("m2"), "1");
    m2.extend([
        "--model".into(),
        "m2".into(),
        "--labels".into(),
        "20".into(),
    ]);
    fails(&strs(&m2), "convolutional m2 encoder is not supported");
}

/// `--arch conv` builds the preset for the data's image shape: on 8 x 8 RGB images one stride-2
/// stage, mirrored by a transposed convolution to 8 x 8 x 3; on 7 x 5 images, a clear error.
#[test]
fn the_conv_preset_from_the_command_line() {
    let f = fixture();
    let images = f.root.join("squares");
    for (class, rgb) in [("red", [220u8, 30, 30]), ("blue", [30u8, 30, 220])] {
        let dir = images.join(class);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for i in 0..10u32 {
            image::RgbImage::from_fn(8, 8, |x, y| {
                image::Rgb([rgb[0], (x * 20 + y * 3 + i) as u8, rgb[2]])
            })
            .save(dir.join(format!("{i}.png")))
            .expect("write PNG");
        }
    }
    let run = f.root.join("run");
    let spec = format!("folder:{}", images.display());
    let out = ok(&[
        "train",
        "--dataset",
        &spec,
        "--size",
        "8x8",
        "--arch",
        "conv",
        "--hidden",
        "16",
        "--latent",
        "2",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--out",
        path(&run),
    ]);
    assert!(out.contains("deconv 3x4/2"), "{out}");
    let shapes = tensor_shapes(&run.join("model.safetensors"));
    assert_eq!(
        shapes["encoder.conv.0.weight"],
        serde_json::json!([32, 3, 4, 4])
    );
    assert_eq!(
        shapes["decoder.deconv.0.weight"],
        serde_json::json!([32, 3, 4, 4])
    );
    fails(
        &[
            "train",
            "--resume",
            path(&run),
            "--epochs",
            "2",
            "--arch",
            "mlp",
        ],
        "--arch cannot change when resuming",
    );
    let odd_dir = f.root.join("odd");
    let mut odd = train_args(&f, path(&odd_dir), "1");
    odd.extend(["--arch", "conv"]);
    fails(&odd, "a 7x5x1 image has none to halve");
}
