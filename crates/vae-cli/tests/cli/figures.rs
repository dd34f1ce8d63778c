//! The latent-space commands and the report on a trained synthetic run.

use super::common::*;

#[test]
fn latent_space_figures_and_report() {
    let f = fixture();
    let run = f.root.join("run");
    ok(&train_args(&f, path(&run), "2"));
    // Training leaves the report behind.
    let report = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    assert!(report.contains("data:image/png;base64,"));
    assert!(
        !report.contains("http://") && !report.contains("https://"),
        "the report must not load anything from the network"
    );

    let out = |name: &str| f.root.join(name);
    let dims = |img: &image::DynamicImage| (img.width(), img.height());

    ok(&[
        "manifold",
        "--model",
        path(&run),
        "--grid",
        "6",
        "--scale",
        "2",
        "--out",
        path(&out("m.png")),
    ]);
    // 6 tiles of 5·2 x 7·2 pixels per side, 1-pixel separators.
    assert_eq!(
        dims(&image::open(out("m.png")).expect("png")),
        (6 * 10 + 7, 6 * 14 + 7)
    );

    ok(&[
        "interpolate",
        "--model",
        path(&run),
        "--from",
        "3",
        "--to",
        "4",
        "--steps",
        "5",
        "--path",
        "slerp",
        "--out",
        path(&out("i.png")),
    ]);
    // Start image, 5 path points, end image: 7 tiles in one row at scale 1.
    assert_eq!(
        dims(&image::open(out("i.png")).expect("png")),
        (7 * 5 + 8, 7 + 2)
    );

    ok(&[
        "traverse",
        "--model",
        path(&run),
        "--image",
        "2",
        "--steps",
        "4",
        "--out",
        path(&out("t.png")),
    ]);
    // One row per latent dimension (2), 4 values each.
    assert_eq!(
        dims(&image::open(out("t.png")).expect("png")),
        (4 * 5 + 5, 2 * 7 + 3)
    );

    ok(&[
        "scatter",
        "--model",
        path(&run),
        "--out",
        path(&out("s.png")),
    ]);
    ok(&[
        "scatter",
        "--model",
        path(&run),
        "--dims",
        "1,0",
        "--limit",
        "10",
        "--out",
        path(&out("s2.png")),
    ]);
    ok(&[
        "curves",
        "--model",
        path(&run),
        "--out",
        path(&out("c.png")),
    ]);
    // Kingma & Welling's Fig. 2 axes: a panel per run (here the same run twice).
    ok(&[
        "curves",
        "--by-samples",
        "--model",
        path(&run),
        "--model",
        path(&run),
        "--out",
        path(&out("b.png")),
    ]);
    let (w, _) = dims(&image::open(out("b.png")).expect("png"));
    assert!(w >= 2 * 380, "two panels in {w} pixels");
    fails(
        &["curves", "--model", path(&run), "--model", path(&run)],
        "--by-samples",
    );
    for name in ["s.png", "s2.png", "c.png"] {
        let (w, h) = dims(&image::open(out(name)).expect("png"));
        assert!(w >= 800 && h >= 400, "{name} is {w}x{h}");
    }
    ok(&[
        "report",
        "--model",
        path(&run),
        "--out",
        path(&out("r.html")),
    ]);
    let page = std::fs::read_to_string(out("r.html")).expect("report");
    for section in [
        "Training curves",
        "Samples",
        "Reconstructions",
        "Manifold",
        "Latent scatter",
        "Interpolation",
    ] {
        assert!(page.contains(section), "report lacks {section}");
    }
    // After `vae eval` on the whole test set, the report shows log p(x).
    assert!(page.contains("not evaluated yet"));
    ok(&["eval", "--model", path(&run), "--iw-samples", "10"]);
    ok(&[
        "report",
        "--model",
        path(&run),
        "--out",
        path(&out("r.html")),
    ]);
    let page = std::fs::read_to_string(out("r.html")).expect("report");
    assert!(
        page.contains("importance-sampled, K = 10"),
        "no log p(x) in the report"
    );
}

#[test]
fn latent_space_commands_reject_bad_input() {
    let f = fixture();
    let run = f.root.join("run");
    ok(&train_args(&f, path(&run), "1"));
    fails(
        &["manifold", "--model", path(&f.root)],
        "config.json is missing",
    );
    fails(
        &["manifold", "--model", path(&run), "--dims", "0,2"],
        "latent dimension 2 does not exist",
    );
    fails(
        &["manifold", "--model", path(&run), "--grid", "1"],
        "a grid of 1 points per side: it must be between 2 and 100",
    );
    fails(
        &["scatter", "--model", path(&run), "--dims", "0,5"],
        "latent dimension 5 does not exist",
    );
    fails(
        &["interpolate", "--model", path(&run), "--from", "40"],
        "--from 40 is beyond the 40 test images",
    );
    fails(
        &["interpolate", "--model", path(&run), "--steps", "1"],
        "an interpolation of 1 steps: it needs at least 2",
    );
    fails(
        &["traverse", "--model", path(&run), "--image", "99"],
        "--image 99 is beyond",
    );
    fails(
        &[
            "manifold",
            "--model",
            path(&run),
            "--out",
            "/proc/no-such-dir/m.png",
        ],
        "m.png",
    );
    fails(&["curves", "--model", path(&f.root)], "metrics.jsonl");
}

/// A folder of non-square RGB images goes through training and every picture command.
#[test]
fn rgb_folder_of_non_square_images() {
    let f = fixture();
    let images = f.root.join("colours");
    for (class, rgb) in [("red", [220u8, 30, 30]), ("blue", [30u8, 30, 220])] {
        let dir = images.join(class);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for i in 0..12u32 {
            image::RgbImage::from_fn(12, 8, |x, _| {
                image::Rgb([rgb[0], (x * 20 + i) as u8, rgb[2]])
            })
            .save(dir.join(format!("{i}.png")))
            .expect("write PNG");
        }
    }
    std::fs::write(images.join("red").join("corrupt.png"), b"not a png").expect("write");
    let spec = format!("folder:{}", images.display());
    let run = f.root.join("run");
    let out = vae(&[
        "train",
        "--dataset",
        &spec,
        "--size",
        "6x4",
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--latent",
        "2",
        "--batch-size",
        "8",
        "--out",
        path(&run),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("corrupt.png"),
        "the broken file is not reported: {stderr}"
    );
    assert!(stderr.contains("1 files skipped"), "{stderr}");
    let config = std::fs::read_to_string(run.join("config.json")).expect("config");
    assert!(
        config.contains("\"likelihood\": \"gaussian\""),
        "folders default to a Gaussian decoder: {config}"
    );
    assert!(config.contains("\"channels\": 3"));

    let out_png = |name: &str| f.root.join(name);
    let rgb = |name: &str| {
        let img = image::open(out_png(name)).expect("png");
        assert_eq!(img.color(), image::ColorType::Rgb8, "{name} is not RGB");
        (img.width(), img.height())
    };
    // Tiles are 4 wide and 6 high (x scale), with 1-pixel separators.
    ok(&[
        "sample",
        "--model",
        path(&run),
        "--n",
        "6",
        "--columns",
        "3",
        "--scale",
        "2",
        "--out",
        path(&out_png("s.png")),
    ]);
    assert_eq!(rgb("s.png"), (3 * 8 + 4, 2 * 12 + 3));
    ok(&[
        "reconstruct",
        "--model",
        path(&run),
        "--n",
        "2",
        "--columns",
        "2",
        "--scale",
        "1",
        "--out",
        path(&out_png("r.png")),
    ]);
    assert_eq!(rgb("r.png"), (2 * 4 + 3, 2 * 6 + 3));
    ok(&[
        "manifold",
        "--model",
        path(&run),
        "--grid",
        "3",
        "--out",
        path(&out_png("m.png")),
    ]);
    assert_eq!(rgb("m.png"), (3 * 4 + 4, 3 * 6 + 4));
    ok(&[
        "interpolate",
        "--model",
        path(&run),
        "--steps",
        "3",
        "--out",
        path(&out_png("i.png")),
    ]);
    assert_eq!(rgb("i.png"), (5 * 4 + 6, 6 + 2));
    ok(&[
        "traverse",
        "--model",
        path(&run),
        "--steps",
        "2",
        "--out",
        path(&out_png("t.png")),
    ]);
    assert_eq!(rgb("t.png"), (2 * 4 + 3, 2 * 6 + 3));
    ok(&[
        "report",
        "--model",
        path(&run),
        "--out",
        path(&out_png("report.html")),
    ]);
    // The second run reads the decoded images from the cache.
    let again = vae(&["eval", "--model", path(&run), "--iw-samples", "4"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("read from the cache"));

    fails(
        &["train", "--dataset", "mnist", "--size", "8x8"],
        "--channels and --size apply to folder: data sets only",
    );
    fails(
        &[
            "train",
            "--dataset",
            &format!("folder:{}", f.root.join("nowhere").display()),
            "--out",
            path(&f.root.join("x")),
        ],
        "is not a directory",
    );
}
