//! The VAE's relatives from the command line: autoencoder, M2, analogies and the reference
//! classifier that scores conditional samples.

use crate::common::{fails, fixture, ok, path, train_args};

#[test]
fn autoencoder_pictures_and_eval() {
    let f = fixture();
    let run = f.root.join("ae");
    let mut args = train_args(&f, path(&run), "2");
    args.extend(["--model", "ae"]);
    let out = ok(&args);
    assert!(out.contains("plain autoencoder"), "{out}");
    assert!(out.contains("kl  0.000"), "no KL term: {out}");
    for (command, file) in [
        ("sample", "s.png"),
        ("reconstruct", "r.png"),
        ("interpolate", "i.png"),
        ("manifold", "m.png"),
    ] {
        let out_file = f.root.join(file);
        ok(&[command, "--model", path(&run), "--out", path(&out_file)]);
        assert!(image::open(&out_file).is_ok(), "{command}");
    }
    let eval = ok(&["eval", "--model", path(&run), "--iw-samples", "3"]);
    assert!(eval.contains("has no ELBO or log p(x)"), "{eval}");
    fails(
        &["analogy", "--model", path(&run)],
        "analogies need a model with classes",
    );
    let ae2 = f.root.join("ae2");
    let mut args = train_args(&f, path(&ae2), "1");
    args.extend(["--model", "ae", "--labels", "10"]);
    fails(&args, "--labels applies to --model m2 only");
}

#[test]
fn m2_with_few_labels_analogy_and_reference_classifier() {
    let f = fixture();
    let run = f.root.join("m2");
    let mut args = train_args(&f, path(&run), "3");
    args.extend(["--model", "m2", "--labels", "4"]);
    let out = ok(&args);
    assert!(
        out.contains("4 labelled images (2 per class), 252 unlabelled"),
        "{out}"
    );
    assert!(out.contains("test error"), "{out}");

    let eval = ok(&["eval", "--model", path(&run), "--iw-samples", "4"]);
    assert!(eval.contains("classification error"), "{eval}");
    let grid = f.root.join("analogy.png");
    ok(&[
        "analogy",
        "--model",
        path(&run),
        "--images",
        "0,1,2",
        "--scale",
        "1",
        "--out",
        path(&grid),
    ]);
    // Three rows of the original and its two re-decodings, 7 x 5 images with 1-pixel gaps.
    let image = image::open(&grid).expect("png");
    assert_eq!((image.width(), image.height()), (3 * 5 + 4, 3 * 7 + 4));
    fails(
        &["analogy", "--model", path(&run), "--images", "0,40"],
        "--images 40 is beyond the 40 test images",
    );

    let classifier = f.root.join("classifier");
    let out = ok(&[
        "classifier",
        "train",
        "--dataset",
        &f.dataset,
        "--hidden",
        "8",
        "--epochs",
        "3",
        "--out",
        path(&classifier),
    ]);
    assert!(out.contains("test error"), "{out}");
    let scored = ok(&[
        "eval",
        "--model",
        path(&run),
        "--iw-samples",
        "2",
        "--classifier",
        path(&classifier),
        "--per-class",
        "20",
    ]);
    assert!(
        scored.contains("samples classified as their label"),
        "{scored}"
    );
    fails(
        &["sample", "--model", path(&classifier)],
        "this is a reference classifier",
    );
    let plain = f.root.join("vae");
    ok(&train_args(&f, path(&plain), "1"));
    fails(
        &[
            "eval",
            "--model",
            path(&plain),
            "--classifier",
            path(&classifier),
        ],
        "needs a conditional model",
    );

    for (labels, needle) in [
        ("5", "not a multiple of the 2 classes"),
        ("512", "between 1 and the 256 training images"),
    ] {
        let bad = f.root.join(format!("bad{labels}"));
        let mut args = train_args(&f, path(&bad), "1");
        args.extend(["--model", "m2", "--labels", labels]);
        fails(&args, needle);
        assert!(!bad.exists(), "a refused run left {} behind", bad.display());
    }
    fails(
        &["sample", "--model", path(&run), "--label", "10"],
        "--label 10: invalid argument: label 10 is out of range",
    );
}
