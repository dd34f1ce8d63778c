//! M1 + M2 from the command line: M2 trained on a VAE's codes, scored and drawn through both
//! decoders, and refused when its M1 is gone or has changed.

use crate::common::{fails, fixture, ok, path, train_args, Server};
use crate::serve::{get, post};
use serde_json::Value;

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn m1_plus_m2_trains_draws_and_refuses_a_changed_m1() {
    let f = fixture();
    let m1 = f.root.join("m1");
    ok(&train_args(&f, path(&m1), "2"));
    let m2 = f.root.join("m2");
    // M2 on M1's codes, with the recipe's options.
    let m2_args = |out: &std::path::Path, epochs: &'static str| {
        let mut args: Vec<String> = train_args(&f, path(out), epochs)
            .into_iter()
            .map(String::from)
            .collect();
        args.extend(
            [
                "--model",
                "m2",
                "--labels",
                "4",
                "--features",
                path(&m1),
                "--active-threshold",
                "0",
                "--labelled-per-batch",
                "2",
                "--init-std",
                "0.01",
            ]
            .map(String::from),
        );
        args
    };
    let out = ok(&strs(&m2_args(&m2, "2")));
    assert!(out.contains("stacked m1 + m2"), "{out}");
    assert!(out.contains("2 labelled per batch"), "{out}");
    assert!(out.contains("reading 2 of M1's 2 codes"), "{out}");
    assert!(out.contains("test error"), "{out}");
    let config = std::fs::read_to_string(m2.join("config.json")).expect("config");
    assert!(config.contains("\"features\""), "{config}");

    let eval = ok(&["eval", "--model", path(&m2), "--iw-samples", "2"]);
    assert!(eval.contains("classification error"), "{eval}");
    // Pictures are images of the data set's shape, drawn through M1's decoder.
    let grid = f.root.join("analogy.png");
    ok(&[
        "analogy",
        "--model",
        path(&m2),
        "--images",
        "0,1",
        "--scale",
        "1",
        "--out",
        path(&grid),
    ]);
    let picture = image::open(&grid).expect("png");
    let samples = f.root.join("samples.png");
    ok(&[
        "sample",
        "--model",
        path(&m2),
        "--label",
        "1",
        "--n",
        "4",
        "--columns",
        "4",
        "--scale",
        "1",
        "--out",
        path(&samples),
    ]);
    let sampled = image::open(&samples).expect("png");
    // Images of M1's shape: the same grid as M1's own samples.
    let m1_samples = f.root.join("m1-samples.png");
    ok(&[
        "sample",
        "--model",
        path(&m1),
        "--n",
        "4",
        "--columns",
        "4",
        "--scale",
        "1",
        "--out",
        path(&m1_samples),
    ]);
    let m1_sampled = image::open(&m1_samples).expect("png");
    assert_eq!(
        (sampled.width(), sampled.height()),
        (m1_sampled.width(), m1_sampled.height())
    );
    assert!(picture.width() > 5);

    // The explorer shows images of the data set's shape, decoded through both decoders.
    let server = Server::start(&["--model", path(&m2)]);
    let (code, body) = get(&format!("{}/api/model", server.url));
    assert_eq!(code, 200);
    let info: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        (&info["image"]["height"], &info["image"]["width"]),
        (&7.into(), &5.into())
    );
    let (code, png, _) = post(
        &format!("{}/api/decode", server.url),
        r#"{"z": [0.1, 0.2], "label": 1}"#,
    );
    assert_eq!(code, 200);
    let decoded = image::load_from_memory(&png).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (5, 7));
    drop(server);

    // Resuming continues on the same codes, with the same draws: three epochs in two sittings
    // give the same weights as three in one.
    ok(&["train", "--resume", path(&m2), "--epochs", "3"]);
    let whole = f.root.join("m2-whole");
    ok(&strs(&m2_args(&whole, "3")));
    let weights_of =
        |run: &std::path::Path| std::fs::read(run.join("model.safetensors")).expect("weights");
    assert!(
        weights_of(&m2) == weights_of(&whole),
        "resumed and whole runs differ"
    );

    // M1's configuration edited, its weights left alone (its activation changed): the codes
    // would differ, so it is refused, for evaluation and for resuming alike.
    let config_file = m1.join("config.json");
    let original = std::fs::read_to_string(&config_file).expect("config");
    assert!(original.contains("\"relu\""), "{original}");
    std::fs::write(&config_file, original.replace("\"relu\"", "\"tanh\"")).expect("write");
    fails(
        &["eval", "--model", path(&m2)],
        "M1's configuration has changed",
    );
    fails(
        &["train", "--resume", path(&m2), "--epochs", "4"],
        "M1's configuration has changed",
    );
    std::fs::write(&config_file, &original).expect("write");
    ok(&["eval", "--model", path(&m2), "--iw-samples", "2"]);

    // A changed M1 is refused, naming its weights file.
    let weights = m1.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).expect("weights");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&weights, &bytes).expect("write");
    fails(&["eval", "--model", path(&m2)], "M1 has changed");
    fails(&["eval", "--model", path(&m2)], path(&weights));
    // A missing one too, naming its directory.
    std::fs::remove_dir_all(&m1).expect("remove");
    fails(&["sample", "--model", path(&m2)], "is missing there");
    fails(&["sample", "--model", path(&m2)], path(&m1));

    let vae = f.root.join("vae");
    let mut args = train_args(&f, path(&vae), "1");
    args.extend(["--features", path(&m1)]);
    fails(&args, "--features applies to --model m2 only");
}
