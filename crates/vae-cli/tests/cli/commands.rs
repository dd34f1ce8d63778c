//! The core commands end to end: train, eval, sample, reconstruct, resume, and their errors.

use super::common::*;
use std::path::Path;
use vae::data::idx::write_idx;

#[test]
fn train_eval_sample_reconstruct() {
    let f = fixture();
    let run = f.root.join("run");
    let stdout = ok(&train_args(&f, path(&run), "2"));
    assert!(stdout.contains("epoch   2/2"), "{stdout}");
    for file in [
        "config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "state.json",
        "samples.png",
        "reconstructions.png",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics");
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    for key in ["train_elbo", "test_elbo", "test_reconstruction", "test_kl"] {
        assert!(lines[1][key].as_f64().is_some_and(f64::is_finite), "{key}");
    }

    let json = ok(&[
        "eval",
        "--model",
        path(&run),
        "--iw-samples",
        "20",
        "--json",
    ]);
    let eval: serde_json::Value = serde_json::from_str(json.trim()).expect("eval prints JSON");
    for key in [
        "elbo",
        "reconstruction",
        "kl",
        "log_likelihood",
        "log_likelihood_stderr",
    ] {
        assert!(
            eval[key].as_f64().is_some_and(f64::is_finite),
            "{key} in {eval}"
        );
    }
    assert_eq!(eval["iw_samples"], 20);
    assert_eq!(eval["images"], 40);
    let elbo = eval["elbo"].as_f64().unwrap_or(f64::NAN);
    let log_px = eval["log_likelihood"].as_f64().unwrap_or(f64::NAN);
    assert!(
        log_px > elbo,
        "log p(x) {log_px} should exceed the ELBO {elbo}"
    );
    let text = ok(&[
        "eval",
        "--model",
        path(&run),
        "--iw-samples",
        "5",
        "--split",
        "train",
        "--limit",
        "10",
    ]);
    assert!(
        text.contains("10 images") && text.contains("log p(x)"),
        "{text}"
    );
    assert!(text.contains("active units"), "{text}");
    let kl_plot = f.root.join("kl.png");
    ok(&[
        "eval",
        "--model",
        path(&run),
        "--iw-samples",
        "2",
        "--limit",
        "10",
        "--kl-plot",
        path(&kl_plot),
    ]);
    let plot = image::open(&kl_plot).expect("kl plot png").to_rgb8();
    assert_eq!(plot.dimensions(), (900, 420));
    // Bars of the active units in the palette's blue.
    assert!(
        plot.pixels().any(|p| p.0 == [31, 119, 180]),
        "no active bar drawn"
    );

    let samples = f.root.join("s.png");
    ok(&[
        "sample",
        "--model",
        path(&run),
        "--n",
        "10",
        "--columns",
        "4",
        "--scale",
        "3",
        "--out",
        path(&samples),
    ]);
    let img = image::open(&samples).expect("a PNG");
    // 4 columns of 5·3 pixels and 3 rows of 7·3 pixels, 1-pixel separators around every tile.
    assert_eq!((img.width(), img.height()), (4 * 15 + 5, 3 * 21 + 4));

    let recon = f.root.join("r.png");
    ok(&[
        "reconstruct",
        "--model",
        path(&run),
        "--n",
        "8",
        "--columns",
        "4",
        "--scale",
        "1",
        "--out",
        path(&recon),
    ]);
    let img = image::open(&recon).expect("a PNG");
    assert_eq!((img.width(), img.height()), (4 * 5 + 5, 4 * 7 + 5));
}

#[test]
fn resuming_from_the_command_line_equals_a_straight_run() {
    let f = fixture();
    let straight = f.root.join("straight");
    ok(&train_args(&f, path(&straight), "3"));
    let resumed = f.root.join("resumed");
    ok(&train_args(&f, path(&resumed), "1"));
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
    assert!(read(&straight, "model.safetensors") == read(&resumed, "model.safetensors"));
    assert!(read(&straight, "optimizer.safetensors") == read(&resumed, "optimizer.safetensors"));
    let metrics = String::from_utf8(read(&resumed, "metrics.jsonl")).expect("utf-8");
    assert_eq!(metrics.lines().count(), 3);
    // Nothing left to do.
    let out = ok(&["train", "--resume", path(&resumed), "--epochs", "3"]);
    assert!(
        out.contains("already completed 3 epochs, 3 asked for"),
        "{out}"
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let f = fixture();
    let run = f.root.join("run");
    ok(&train_args(&f, path(&run), "1"));

    fails(
        &["eval", "--model", path(&f.root)],
        "config.json is missing",
    );
    fails(
        &["eval", "--model", path(&run), "--iw-samples", "0"],
        "--iw-samples must be at least 1",
    );
    fails(
        &["sample", "--model", path(&run), "--n", "0"],
        "--n must be at least 1",
    );
    fails(
        &[
            "sample",
            "--model",
            path(&run),
            "--out",
            "/proc/no-such-dir/x.png",
        ],
        "x.png",
    );
    fails(
        &["reconstruct", "--model", path(&run), "--n", "1000"],
        "more than the 40 test images",
    );
    fails(&train_args(&f, path(&run), "1"), "already holds a run");
    fails(
        &["train", "--resume", path(&run), "--latent", "3"],
        "--latent cannot change when resuming",
    );
    fails(&["train", "--dataset", "cifar"], "unknown data set `cifar`");
    fails(
        &[
            "train",
            "--dataset",
            &f.dataset,
            "--latent",
            "0",
            "--out",
            path(&f.root.join("x")),
        ],
        "latent size must be at least 1",
    );
    fails(
        &[
            "train",
            "--dataset",
            &f.dataset,
            "--lr",
            "nan",
            "--out",
            path(&f.root.join("y")),
        ],
        "learning rate NaN",
    );
    fails(
        &["train", "--activation", "sigmoid"],
        "invalid value 'sigmoid'",
    );
    fails(&["data", "fetch", "cifar"], "unknown data set");
    fails(
        &["bench", "--size", "64", "--epoch-products", "0"],
        "--epoch-products must be a minibatch size",
    );
    fails(
        &["bench", "--size", "64", "--score-products", "0"],
        "--score-products must be a sample count",
    );

    // A truncated image file in the data set.
    let data = f.root.join("data");
    let images = data.join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&images).expect("read");
    std::fs::write(&images, &bytes[..bytes.len() - 10]).expect("truncate");
    fails(&["eval", "--model", path(&run)], "truncated");
    // Labels that do not match the images.
    synthetic_idx(&data, 256, 40);
    write_idx(&data.join("t10k-labels-idx1-ubyte"), &[39], &[0; 39]).expect("write");
    fails(&["eval", "--model", path(&run)], "39 labels for 40 images");
}

#[test]
fn bench_times_the_peak_and_the_products_alone() {
    let out = ok(&[
        "bench",
        "--size",
        "64",
        "--repeats",
        "2",
        "--threads",
        "1",
        "--score-products",
        "3",
    ]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("bench prints JSON");
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    // The best of the repeats is at least their median.
    let (median, best) = (
        number(&report["median_gflops"]),
        number(&report["best_gflops"]),
    );
    assert!(median > 0.0 && best >= median, "{out}");
    // The decoder's products for 3 samples of each of 10,000 test images, 20->400->784: the rate
    // printed is those FLOPs over the seconds printed.
    let score = &report["score_products"];
    assert_eq!(score["samples"], 3, "{out}");
    let flops = 2.0 * 3.0 * 10_000.0 * (20.0 * 400.0 + 400.0 * 784.0);
    let (seconds, gflops) = (number(&score["seconds"]), number(&score["gflops"]));
    assert!(seconds > 0.0, "{out}");
    assert!(
        (flops / seconds / 1e9 - gflops).abs() <= 1e-6 * gflops,
        "{gflops} GFLOP/s printed, {} computed: {out}",
        flops / seconds / 1e9
    );
    // The record names where, with how many threads and when it was measured.
    let provenance = &report["provenance"];
    assert_eq!(provenance["threads"], 1, "{out}");
    assert!(
        provenance["date"].as_str().is_some_and(|d| d.len() == 20),
        "{out}"
    );
    assert!(report.get("epoch_products").is_none(), "{out}");
    assert!(report.get("shapes").is_none(), "{out}");
}

#[test]
fn bench_times_every_product_shape_in_every_layout() {
    let out = ok(&[
        "bench",
        "--size",
        "64",
        "--repeats",
        "1",
        "--threads",
        "1",
        "--shapes",
    ]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("bench prints JSON");
    let shapes = report["shapes"].as_array().expect("a list of shapes");
    assert_eq!(shapes.len(), 13, "{out}");
    for shape in shapes {
        let name = shape["name"].as_str().unwrap_or_default();
        assert!(
            shape["as_run_gflops"].as_f64().is_some_and(|v| v > 0.0),
            "{name}"
        );
        // Each shape is a product of the default VAE: every side one of its widths, or the
        // minibatch (128) or a scoring block's rows (2,048).
        for side in ["m", "k", "n"] {
            let size = shape[side].as_u64().unwrap_or(0);
            assert!(
                [20, 40, 128, 400, 784, 2048].contains(&size),
                "{name}: {side} = {size}"
            );
        }
        for layout in ["nn", "nt", "tn", "tt"] {
            assert!(
                shape["gflops"][layout].as_f64().is_some_and(|v| v > 0.0),
                "{name} {layout}"
            );
        }
        let as_run = shape["as_run"].as_str().unwrap_or_default();
        if name.contains("forward 400->784") {
            assert_eq!(as_run, "transposed copy + nn", "{name}");
        } else if name.contains("weight grad") {
            assert_eq!(as_run, "tn", "{name}");
        }
    }
}

/// The conv preset's step: 4 convolutions' and 4 dense layers' forwards and weight gradients, and
/// the input gradients of all but the first, each as the layer stores its operands.
#[test]
fn bench_times_the_conv_step_shapes() {
    let out = ok(&[
        "bench",
        "--size",
        "64",
        "--repeats",
        "1",
        "--threads",
        "1",
        "--shapes",
        "--arch",
        "conv",
    ]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("bench prints JSON");
    assert_eq!(report["arch"], "conv");
    let shapes = report["shapes"].as_array().expect("a list of shapes");
    assert_eq!(shapes.len(), 23, "{out}");
    let find = |name: &str| {
        shapes
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    let forward = find("train forward conv2d 14x14x32->7x7x64");
    assert_eq!(
        (forward["m"].as_u64(), forward["k"].as_u64()),
        (Some(6272), Some(512))
    );
    assert_eq!(forward["as_run"], "nt");
    assert_eq!(
        find("train forward conv_transpose2d 7x7x64->14x14x32")["as_run"],
        "nn"
    );
    assert_eq!(
        find("train input grad conv_transpose2d 14x14x32->28x28x1")["as_run"],
        "nt"
    );
    assert!(shapes
        .iter()
        .all(|s| s["as_run_gflops"].as_f64().is_some_and(|v| v > 0.0)));
}

#[test]
fn checkpoint_with_nan_weights_is_refused() {
    let f = fixture();
    let run = f.root.join("run");
    ok(&train_args(&f, path(&run), "1"));
    let model = run.join("model.safetensors");
    let mut bytes = std::fs::read(&model).expect("read");
    // The last four bytes are the last f32 of the last tensor: make it NaN.
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&model, &bytes).expect("write");
    fails(&["sample", "--model", path(&run)], "NaN");
}

#[test]
fn conditional_model_from_the_command_line() {
    let f = fixture();
    let run = f.root.join("cvae");
    let mut args = train_args(&f, path(&run), "2");
    args.extend(["--model", "cvae"]);
    let out = ok(&args);
    assert!(out.contains("conditional vae (2 classes)"), "{out}");
    let config = std::fs::read_to_string(run.join("config.json")).expect("config");
    assert!(config.contains("\"classes\": 2"), "{config}");
    let samples = f.root.join("ones.png");
    ok(&[
        "sample",
        "--model",
        path(&run),
        "--label",
        "1",
        "--n",
        "4",
        "--out",
        path(&samples),
    ]);
    assert!(image::open(&samples).is_ok());
    ok(&["eval", "--model", path(&run), "--iw-samples", "5"]);
    ok(&[
        "manifold",
        "--model",
        path(&run),
        "--label",
        "1",
        "--grid",
        "3",
        "--out",
        path(&f.root.join("m.png")),
    ]);
    fails(
        &["sample", "--model", path(&run), "--label", "2"],
        "--label 2: invalid argument: label 2 is out of range",
    );
    fails(
        &["train", "--resume", path(&run), "--model", "vae"],
        "--model cannot change when resuming",
    );

    let plain = f.root.join("vae");
    ok(&train_args(&f, path(&plain), "1"));
    fails(
        &["sample", "--model", path(&plain), "--label", "1"],
        "--label needs a model with classes",
    );
}

/// `--layers FILE` trains networks written by hand, which `config.json` keeps and a resume and
/// the pictures rebuild; a bad list is refused with the layer named, and the shorthand flags
/// cannot be mixed in.
#[test]
fn hand_written_layer_lists_from_the_command_line() {
    let f = fixture();
    let layers = f.root.join("layers.json");
    std::fs::write(
        &layers,
        r#"{"encoder": [{"type": "linear", "name": "wide", "out": 24}, {"type": "tanh"},
                        {"type": "linear", "out": 12}, {"type": "softplus"}],
            "decoder": [{"type": "linear", "out": 16}, {"type": "relu"}]}"#,
    )
    .expect("write layers");
    let run = f.root.join("run");
    let without_hidden = |out: &Path, file: &Path| -> Vec<String> {
        let mut args: Vec<String> = train_args(&f, path(out), "1")
            .into_iter()
            .map(String::from)
            .collect();
        let at = args.iter().position(|a| a == "--hidden").expect("--hidden");
        args.drain(at..at + 2);
        args.extend(["--layers".into(), path(file).into()]);
        args
    };
    let out = ok(&strs(&without_hidden(&run, &layers)));
    assert!(
        out.contains("encoder [linear 24, tanh, linear 12, softplus]"),
        "{out}"
    );
    let config = std::fs::read_to_string(run.join("config.json")).expect("config");
    assert!(config.contains("\"name\": \"wide\""), "{config}");
    ok(&["sample", "--model", path(&run), "--n", "4"]);
    let resumed = ok(&["train", "--resume", path(&run), "--epochs", "2"]);
    assert!(resumed.contains("epoch   2/2"), "{resumed}");

    let mut mixed = without_hidden(&f.root.join("mixed"), &layers);
    mixed.extend(["--hidden".into(), "8".into()]);
    fails(&strs(&mixed), "--hidden cannot be combined with --layers");
    let bad = f.root.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"encoder": [{"type": "reshape", "shape": [2, 3]}], "decoder": []}"#,
    )
    .expect("write bad layers");
    let refused = without_hidden(&f.root.join("refused"), &bad);
    fails(&strs(&refused), "encoder layer 0 (reshape)");
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The objective family from the command line: the IWAE bound with K samples, and β with a KL
/// warm-up and free bits, each printing its objective beside the true ELBO and recording both in
/// metrics.jsonl; the flags are refused for the models they do not train, and fixed on resume.
#[test]
fn objective_family_from_the_command_line() {
    let f = fixture();
    let iwae = f.root.join("iwae");
    let mut args = train_args(&f, path(&iwae), "2");
    args.extend(["--objective", "iwae", "--k", "5"]);
    let out = ok(&args);
    assert!(out.contains("objective"), "{out}");
    let config = std::fs::read_to_string(iwae.join("config.json")).expect("config");
    assert!(config.contains("\"objective\": \"iwae\"") && config.contains("\"samples\": 5"));
    let metrics = std::fs::read_to_string(iwae.join("metrics.jsonl")).expect("metrics");
    for line in metrics.lines() {
        let m: serde_json::Value = serde_json::from_str(line).expect("json");
        let (objective, elbo) = (m["train_objective"].as_f64(), m["train_elbo"].as_f64());
        // The IWAE bound is at least the ELBO: its negative at most the negative ELBO.
        assert!(objective.zip(elbo).is_some_and(|(o, e)| o <= -e), "{line}");
    }
    fails(
        &[
            "train",
            "--resume",
            path(&iwae),
            "--epochs",
            "3",
            "--beta",
            "2",
        ],
        "--beta",
    );

    let beta = f.root.join("beta");
    let mut args = train_args(&f, path(&beta), "2");
    args.extend(["--beta", "4", "--kl-warmup", "1", "--free-bits", "0.1"]);
    let out = ok(&args);
    assert!(out.contains("objective"), "{out}");

    let ae_dir = f.root.join("ae");
    let mut ae = train_args(&f, path(&ae_dir), "1");
    ae.extend(["--model", "ae", "--beta", "2"]);
    fails(&ae, "train the vae and cvae models");
    let burda = f.root.join("burda");
    let mut args = train_args(&f, path(&burda), "2");
    args.extend(["--lr-schedule", "burda"]);
    ok(&args);
    let config = std::fs::read_to_string(burda.join("config.json")).expect("config");
    assert!(
        config.contains("\"kind\": \"burda\"") && config.contains("\"eps\": 0.0001"),
        "{config}"
    );
    let gamma_dir = f.root.join("gamma");
    let mut gamma = train_args(&f, path(&gamma_dir), "1");
    gamma.extend(["--lr-gamma", "0.5"]);
    fails(
        &gamma,
        "--lr-gamma applies to --lr-schedule exponential only",
    );

    let negative_dir = f.root.join("negative");
    let mut negative = train_args(&f, path(&negative_dir), "1");
    negative.push("--free-bits=-1");
    fails(&negative, "free_bits -1.0 must be non-negative");
}

/// Resuming into a directory that holds another run is
/// refused; NaN in a saved optimizer state is refused on resume; absurd sample counts are
/// refused before anything is allocated; `eval` prints its results before it saves them.
#[test]
fn runs_are_not_replaced_and_sizes_are_checked() {
    let f = fixture();
    let (a, b) = (f.root.join("a"), f.root.join("b"));
    ok(&train_args(&f, path(&a), "1"));
    ok(&train_args(&f, path(&b), "1"));
    let before = std::fs::read(b.join("model.safetensors")).expect("weights");
    fails(
        &[
            "train",
            "--resume",
            path(&a),
            "--epochs",
            "2",
            "--out",
            path(&b),
        ],
        "already holds a run",
    );
    assert_eq!(
        std::fs::read(b.join("model.safetensors")).expect("weights"),
        before
    );

    // A NaN written into the first value of `adam.exp_avg`.
    let file = a.join("optimizer.safetensors");
    let mut bytes = std::fs::read(&file).expect("optimizer state");
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + header_len]).expect("header");
    let start = header["adam.exp_avg"]["data_offsets"][0]
        .as_u64()
        .expect("offsets") as usize;
    let at = 8 + header_len + start;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&file, &bytes).expect("write");
    fails(
        &["train", "--resume", path(&a), "--epochs", "2"],
        "optimizer state `adam.exp_avg` holds NaN",
    );

    fails(
        &[
            "eval",
            "--model",
            path(&b),
            "--limit",
            "1",
            "--iw-samples",
            "9223372036854775807",
        ],
        "more than the 1000000",
    );
    let many_dir = f.root.join("many");
    let mut many = train_args(&f, path(&many_dir), "1");
    many.extend(["--samples", "1000000000"]);
    fails(&many, "more than the 100000");

    // Thousands of threads are refused before any is started.
    fails(
        &["eval", "--model", path(&b), "--threads", "100000"],
        "--threads 100000 is more than 8 per core",
    );

    // eval.json cannot be written (a directory stands in its place): the numbers still print.
    std::fs::create_dir(b.join("eval.json")).expect("mkdir");
    let out = vae(&["eval", "--model", path(&b), "--iw-samples", "2"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("log p(x)"), "{stdout}");
    assert!(stderr.contains("could not be saved"), "{stderr}");
}

/// A second stochastic layer from the command line (Burda et al. 2015's two-layer VAE): trained
/// with either objective, resumed, scored and drawn through z2; refused where it does not apply.
#[test]
fn two_stochastic_layers_from_the_command_line() {
    let f = fixture();
    let run = f.root.join("two");
    let mut args = train_args(&f, path(&run), "1");
    args.extend(["--top-latent", "2", "--top-hidden", "6", "--latent", "4"]);
    let at = args
        .iter()
        .position(|a| *a == "--latent")
        .expect("--latent")
        + 1;
    args.remove(at); // the fixture's own --latent 2 ...
    args.remove(at - 1); // ... gives way to --latent 4
    let out = ok(&args);
    assert!(out.contains("two stochastic layers (z2 2"), "{out}");
    ok(&["train", "--resume", path(&run), "--epochs", "2"]);
    let eval = ok(&["eval", "--model", path(&run), "--iw-samples", "10"]);
    assert!(eval.contains("log p(x)"), "{eval}");
    ok(&[
        "manifold",
        "--model",
        path(&run),
        "--grid",
        "4",
        "--out",
        path(&f.root.join("m.png")),
    ]);
    ok(&[
        "sample",
        "--model",
        path(&run),
        "--n",
        "4",
        "--out",
        path(&f.root.join("s.png")),
    ]);

    let iwae_dir = f.root.join("iwae");
    let mut iwae = train_args(&f, path(&iwae_dir), "1");
    iwae.extend(["--top-latent", "2", "--objective", "iwae", "--k", "3"]);
    ok(&iwae);

    // KL warm-up and β reach both layers (the ELBO and the tempered IWAE bound); free bits do not.
    let warm_dir = f.root.join("warm");
    let mut warm = train_args(&f, path(&warm_dir), "1");
    warm.extend(["--top-latent", "2", "--kl-warmup", "2", "--beta", "0.5"]);
    let out = ok(&warm);
    assert!(out.contains("objective"), "{out}");
    let warm_iwae_dir = f.root.join("warm-iwae");
    let mut warm_iwae = train_args(&f, path(&warm_iwae_dir), "1");
    warm_iwae.extend([
        "--top-latent",
        "2",
        "--objective",
        "iwae",
        "--k",
        "3",
        "--kl-warmup",
        "2",
    ]);
    ok(&warm_iwae);
    let free_dir = f.root.join("free");
    let mut free = train_args(&f, path(&free_dir), "1");
    free.extend(["--top-latent", "2", "--free-bits", "0.1"]);
    fails(&free, "free bits apply to the one-layer VAE");
    let eval = ok(&["eval", "--model", path(&warm_dir), "--iw-samples", "2"]);
    assert!(eval.contains("in z2") && eval.contains("in z1"), "{eval}");

    let cvae_dir = f.root.join("cvae");
    let mut cvae = train_args(&f, path(&cvae_dir), "1");
    cvae.extend(["--model", "cvae", "--top-latent", "2"]);
    fails(
        &cvae,
        "--top-latent builds a second stochastic layer for --model vae only",
    );
    let lonely_dir = f.root.join("lonely");
    let mut lonely = train_args(&f, path(&lonely_dir), "1");
    lonely.extend(["--top-hidden", "3"]);
    fails(&lonely, "--top-hidden needs --top-latent");
    fails(
        &[
            "train",
            "--resume",
            path(&run),
            "--epochs",
            "3",
            "--top-latent",
            "3",
        ],
        "--top-latent cannot change when resuming",
    );
}

/// `vae data list` checks what it finds: a corrupt copy of a data set's file is not "present".
#[test]
fn data_list_names_a_corrupt_file_unusable() {
    let f = fixture();
    let dir = f.root.join("data");
    std::fs::create_dir_all(dir.join("mnist")).expect("mkdir");
    std::fs::write(
        dir.join("mnist/train-images-idx3-ubyte"),
        b"not an IDX file at all",
    )
    .expect("write");
    let out = ok(&["data", "list", "--data-dir", path(&dir)]);
    let line = out
        .lines()
        .find(|l| l.contains("train-images-idx3-ubyte"))
        .expect("a line for the file");
    assert!(line.contains("unusable"), "{out}");
}

/// A run remembers `--data-dir` (absolute), so later commands on it look there first; a
/// directory that does not exist is refused before a run is created.
#[test]
fn a_run_remembers_its_data_directory() {
    let f = fixture();
    let data_dir = f.root.join("data-dir");
    std::fs::create_dir_all(&data_dir).expect("mkdir");
    let run = f.root.join("run");
    let mut args = train_args(&f, path(&run), "1");
    args.extend(["--data-dir", path(&data_dir)]);
    ok(&args);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("config.json")).expect("config"))
            .expect("JSON");
    let recorded = config["data_dir"].as_str().expect("data_dir recorded");
    assert_eq!(
        Path::new(recorded),
        data_dir.canonicalize().expect("canonical")
    );
    ok(&["eval", "--model", path(&run), "--iw-samples", "2"]);

    let never = f.root.join("never");
    let mut args = train_args(&f, path(&never), "1");
    let missing = f.root.join("missing");
    args.extend(["--data-dir", path(&missing)]);
    fails(&args, "resolving --data-dir");
    assert!(!never.exists());
}
