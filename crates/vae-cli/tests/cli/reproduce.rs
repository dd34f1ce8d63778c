//! `vae reproduce`: every target end to end at the quick budget on the synthetic data set (the
//! command's logic, file layout and `result.json`), its listing, an unknown name, and a target
//! interrupted after part of its training picking up where it stopped.

use super::common::*;
use serde_json::Value;

const TARGETS: [&str; 9] = [
    "kingma2013-fig4-mnist",
    "kingma2013-fig4-frey",
    "kingma2013-fig5",
    "doersch2016-fig6",
    "burda2015-vae-k1",
    "kingma2014-m1m2-100",
    "kingma2014-m1m2-600",
    "kingma2014-m1m2-1000",
    "kingma2014-m1m2-3000",
];

#[test]
fn every_target_runs_at_the_quick_budget() {
    let f = fixture();
    let listing = ok(&["reproduce", "--list"]);
    for name in TARGETS {
        assert!(listing.contains(name), "{listing}");
    }
    fails(
        &["reproduce", "no-such-paper"],
        "the targets are kingma2013-fig4-mnist",
    );

    let out = f.root.join("reproduce");
    for name in TARGETS {
        let printed = ok(&[
            "reproduce",
            name,
            "--dataset",
            &f.dataset,
            "--out",
            path(&out),
            "--threads",
            "2",
        ]);
        assert!(printed.contains("quick budget"), "{printed}");
        let dir = out.join(name).join("quick");
        let result: Value =
            serde_json::from_slice(&std::fs::read(dir.join("result.json")).expect("result.json"))
                .expect("JSON");
        assert_eq!(result["target"], name);
        assert_eq!(result["budget"], "quick");
        assert_eq!(result["dataset"], f.dataset.as_str());
        assert!(result["seconds"].as_f64().is_some());
        let commands = result["commands"].as_array().expect("commands");
        assert!(commands
            .iter()
            .all(|c| c.as_str().is_some_and(|c| c.starts_with("vae "))));
        for figure in result["figures"].as_array().expect("figures") {
            let file = dir.join(figure.as_str().expect("a name"));
            image::open(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        if name.starts_with("kingma2014-m1m2-") {
            let ours = result["ours"].as_f64().expect("a test error");
            assert!((0.0..=100.0).contains(&ours), "{ours}");
            assert_eq!(result["unit"], "% test error");
            assert!(commands
                .iter()
                .any(|c| c.as_str().is_some_and(|c| c.contains("--features /"))));
        }
        if name == "burda2015-vae-k1" {
            let ours = result["ours"].as_f64().expect("a log-likelihood");
            assert!(ours < 0.0 && result["standard_error"].as_f64().is_some());
            assert_eq!(result["paper_value"].as_f64(), Some(-86.76));
            let difference = result["difference"].as_f64().expect("difference");
            assert!((difference - (ours + 86.76)).abs() < 1e-9);
        } else {
            assert!(!result["figures"].as_array().expect("figures").is_empty());
        }
    }
    let table = f.root.join("reproductions.md");
    ok(&["reproduce", "--report", path(&table), "--out", path(&out)]);
    let table = std::fs::read_to_string(&table).expect("the report");
    assert!(table.contains("quick budget"), "{table}");
    for name in TARGETS {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"));
        assert!(!row.contains("not run"), "{row}");
    }
    assert!(table.contains("| -86.76 nats |"), "{table}");
    assert!(table.contains("| 3.33 % test error |"), "{table}");
}

/// A target whose training stopped after one of its two epochs resumes that run instead of
/// starting over, and a finished one is not trained again.
#[test]
fn an_interrupted_target_resumes() {
    let f = fixture();
    let out = f.root.join("reproduce");
    let run = out
        .join("kingma2013-fig4-mnist")
        .join("quick")
        .join("latent2");
    ok(&[
        "train",
        "--dataset",
        &f.dataset,
        "--hidden",
        "500",
        "--activation",
        "tanh",
        "--optimizer",
        "adagrad",
        "--lr",
        "0.02",
        "--batch-size",
        "100",
        "--latent",
        "2",
        "--epochs",
        "1",
        "--out",
        path(&run),
    ]);
    let args = [
        "reproduce",
        "kingma2013-fig4-mnist",
        "--dataset",
        &f.dataset,
        "--out",
        path(&out),
    ];
    let printed = ok(&args);
    assert!(printed.contains("train --resume"), "{printed}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics");
    assert_eq!(metrics.lines().count(), 2);
    let again = ok(&args);
    assert!(again.contains("already trained for 2 epochs"), "{again}");
}
