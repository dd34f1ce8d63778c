//! `vae reproduce`: every target end to end at the quick budget on the synthetic data set (the
//! command's logic, file layout and `result.json`), its listing, an unknown name, and a target
//! interrupted after part of its training picking up where it stopped.

use super::common::*;
use serde_json::Value;

const TARGETS: [&str; 22] = [
    "kingma2013-fig4-mnist",
    "kingma2013-fig4-frey",
    "kingma2013-fig5",
    "doersch2016-fig6",
    "burda2015-vae-k1",
    "burda2015-vae-k50",
    "burda2015-iwae-k50",
    "burda2015-vae2-k1",
    "burda2015-iwae2-k50",
    "kingma2013-fig2-mnist",
    "kingma2013-fig2-frey",
    "pytorch-examples-vae",
    "kingma2014-m2-100",
    "kingma2014-m2-600",
    "kingma2014-m2-1000",
    "kingma2014-m2-3000",
    "kingma2014-m1m2-100",
    "kingma2014-m1m2-600",
    "kingma2014-m1m2-1000",
    "kingma2014-m1m2-3000",
    "gregor2015-draw",
    "gregor2015-draw-noattn",
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
        // Every result names the machine, threads, date and version it was measured with.
        let machine = &result["machine"];
        assert_eq!(machine["threads"], 2, "{machine}");
        assert_eq!(machine["version"], env!("CARGO_PKG_VERSION"), "{machine}");
        assert!(
            machine["date"].as_str().is_some_and(|d| d.len() == 20),
            "{machine}"
        );
        let commands = result["commands"].as_array().expect("commands");
        // Our commands, and the PyTorch reference's where it ran.
        assert!(commands.iter().all(|c| c
            .as_str()
            .is_some_and(|c| c.starts_with("vae ") || c.starts_with("python3 "))));
        for figure in result["figures"].as_array().expect("figures") {
            let file = dir.join(figure.as_str().expect("a name"));
            image::open(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        if name.starts_with("gregor2015-") {
            // The canvas over the steps comes as a picture and as its animation.
            assert!(result["figures"]
                .as_array()
                .expect("figures")
                .iter()
                .any(|f| f == "draw-steps.gif"));
        }
        if name.starts_with("kingma2014-") {
            test_error_agrees_with_its_evaluation(&result);
        }
        // Every row with a number says whether it agrees with the paper's, and why not.
        if result["paper_value"].is_number() {
            let misses = result["misses"].as_bool().expect("a verdict");
            assert_eq!(result["why"].is_string(), misses, "{result}");
        }
        if name.starts_with("kingma2014-m1m2-") {
            // One M1 serves every row: trained by the first, found finished by the others,
            // each recording the command that made it.
            let m1 = commands[0].as_str().expect("a command");
            assert!(
                m1.starts_with("vae train --dataset") && m1.contains("/shared/quick/"),
                "{m1}"
            );
            assert_eq!(
                printed.contains("m1: already trained"),
                name != "kingma2014-m1m2-100",
                "{printed}"
            );
            assert_eq!(result["unit"], "% test error");
            assert!(commands
                .iter()
                .any(|c| c.as_str().is_some_and(|c| c.contains("--features /"))));
        }
        if name == "kingma2013-fig2-mnist" {
            // Fig. 5's N_z = 5, 10 and 20 serve Fig. 2 too (the same setup): found finished.
            for run in ["latent5", "latent10", "latent20"] {
                assert!(
                    printed.contains(&format!("{run}: already trained")),
                    "{printed}"
                );
            }
            assert!(commands
                .iter()
                .filter_map(|c| c.as_str())
                .filter(|c| c.starts_with("vae train"))
                .all(|c| c.contains("/shared/quick/")));
        }
        if let Some(paper) = burda_value(name) {
            let ours = result["ours"].as_f64().expect("a log-likelihood");
            assert!(ours < 0.0 && result["standard_error"].as_f64().is_some());
            assert_eq!(result["paper_value"].as_f64(), Some(paper));
            let difference = result["difference"].as_f64().expect("difference");
            assert!((difference - (ours - paper)).abs() < 1e-9);
            let train = commands[0].as_str().expect("a command");
            assert_eq!(
                train.contains("--top-latent 50"),
                name.contains("vae2") || name.contains("iwae2"),
                "{train}"
            );
            assert_eq!(train.contains("--objective iwae"), name.contains("iwae"));
        } else if name == "pytorch-examples-vae" {
            let ours = result["ours"].as_f64().expect("a test loss");
            assert!(ours > 0.0 && result["standard_error"].is_null());
            assert_eq!(result["unit"], "nats test loss");
            let source = result["paper_value_source"].as_str().expect("a source");
            // The PyTorch script ran beside ours, or the row has no reference: no value
            // measured elsewhere stands in for it.
            let ran = commands
                .iter()
                .any(|c| c.as_str().is_some_and(|c| c.starts_with("python3 ")));
            if ran {
                assert!(source.starts_with("measured in this command"), "{source}");
                let reference = result["paper_value"].as_f64().expect("a reference");
                assert!(
                    (result["difference"].as_f64().expect("difference") - (ours - reference)).abs()
                        < 1e-9
                );
            } else {
                assert!(source.starts_with("not measured"), "{source}");
                assert!(result["paper_value"].is_null(), "{result}");
                assert!(result["difference"].is_null(), "{result}");
                assert!(result["misses"].is_null(), "{result}");
            }
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
    // A trained target's time cell adds its epochs' training time.
    assert!(table.contains(" s<br>epochs: "), "{table}");
    // Figures are copied beside the report and linked relatively.
    assert!(
        table.contains("[manifold.png](reproductions/kingma2013-fig4-mnist-manifold.png)"),
        "{table}"
    );
    image::open(
        f.root
            .join("reproductions/kingma2013-fig2-frey-bound-by-samples.png"),
    )
    .expect("a copied figure");
    assert!(table.contains("| 3.33 % test error |"), "{table}");
}

/// The paper's log p(x) of a row of Burda et al. 2015's Table 1.
fn burda_value(target: &str) -> Option<f64> {
    match target {
        "burda2015-vae-k1" => Some(-86.76),
        "burda2015-vae-k50" => Some(-86.35),
        "burda2015-iwae-k50" => Some(-84.78),
        "burda2015-vae2-k1" => Some(-85.33),
        "burda2015-iwae2-k50" => Some(-82.90),
        _ => None,
    }
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
    // The finished run keeps the command that trained it in result.json.
    let result: Value = serde_json::from_slice(
        &std::fs::read(out.join("kingma2013-fig4-mnist/quick/result.json")).expect("result.json"),
    )
    .expect("JSON");
    let first = result["commands"][0].as_str().expect("a command");
    assert!(first.starts_with("vae train --resume "), "{first}");
    // Its training time counts both epochs, the one trained before the interruption too.
    let epochs: f64 = metrics
        .lines()
        .map(|l| {
            let m: Value = serde_json::from_str(l).expect("a metrics line");
            m["train_seconds"].as_f64().expect("train_seconds")
        })
        .sum();
    let training = result["training_seconds"]
        .as_f64()
        .expect("training_seconds");
    assert!((training - epochs).abs() < 1e-9, "{training} vs {epochs}");

    // Without its metrics the training time is unknown: null, and the result still written.
    std::fs::remove_file(run.join("metrics.jsonl")).expect("remove the metrics");
    let printed = ok(&args);
    assert!(
        printed.contains("already trained for 2 epochs"),
        "{printed}"
    );
    let result: Value = serde_json::from_slice(
        &std::fs::read(out.join("kingma2013-fig4-mnist/quick/result.json")).expect("result.json"),
    )
    .expect("JSON");
    assert!(result["training_seconds"].is_null(), "{result}");
    assert!(result["seconds"].as_f64().is_some());
}

/// A paper-budget report shows a target's 3-hour result where it has no paper result, labelled;
/// it keeps each result beside its figures and still prints the row once the run directories
/// are gone (another machine); a kept result that is not valid is named in a one-line error.
#[test]
fn a_report_falls_back_on_the_3h_budget_and_keeps_its_rows() {
    let f = fixture();
    let out = f.root.join("reproduce");
    let listing = ok(&["reproduce", "--list"]);
    assert!(listing.contains("3h 2 h, paper about 4 days"), "{listing}");
    let printed = ok(&[
        "reproduce",
        "doersch2016-fig6",
        "--budget",
        "3h",
        "--dataset",
        &f.dataset,
        "--out",
        path(&out),
        "--threads",
        "2",
    ]);
    assert!(printed.contains("on another data set"), "{printed}");
    let report = f.root.join("docs").join("reproductions.md");
    let args = [
        "reproduce",
        "--report",
        path(&report),
        "--budget",
        "paper",
        "--out",
        path(&out),
    ];
    ok(&args);
    let table = std::fs::read_to_string(&report).expect("the report");
    let row = |table: &str, name: &str| -> String {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
            .to_string()
    };
    let doersch = row(&table, "doersch2016-fig6");
    assert!(doersch.contains("(3-hour budget)"), "{doersch}");
    assert!(doersch.contains("`vae reproduce doersch2016-fig6 --budget 3h`, which ran:"));
    assert!(row(&table, "kingma2013-fig5").contains("not run"));
    // The row links the record it was written from and names the machine that measured it.
    assert!(
        doersch.contains("[doersch2016-fig6.3h.json](reproductions/doersch2016-fig6.3h.json)"),
        "{doersch}"
    );
    assert!(doersch.contains(", 2 threads, "), "{doersch}");
    let kept = f.root.join("docs/reproductions/doersch2016-fig6.3h.json");
    let record: Value = serde_json::from_slice(&std::fs::read(&kept).expect("kept")).expect("JSON");
    assert_eq!(record["budget"], "3h");

    // On a machine without the run directories the row is the same.
    std::fs::remove_dir_all(&out).expect("remove the runs");
    ok(&args);
    assert_eq!(std::fs::read_to_string(&report).expect("the report"), table);

    // A target begun and not finished says how far it got; a record rebuilt by hand is no
    // result, so its target shows as not run.
    let begun = out.join("burda2015-vae-k1/paper/vae");
    std::fs::create_dir_all(&begun).expect("a run directory");
    std::fs::write(begun.join("state.json"), b"{\"epoch\": 7}").expect("write");
    std::fs::write(
        f.root.join("docs/reproductions/kingma2013-fig4-frey.paper.json"),
        b"{\"target\": \"kingma2013-fig4-frey\", \"budget\": \"paper\", \"restored_from\": \"a table\"}",
    )
    .expect("write");
    ok(&args);
    let with_progress = std::fs::read_to_string(&report).expect("the report");
    let burda = row(&with_progress, "burda2015-vae-k1");
    assert!(
        burda.contains("in progress (vae: 7 of 3280 epochs trained); no result yet"),
        "{burda}"
    );
    assert!(row(&with_progress, "kingma2013-fig4-frey").contains("| not run |"));
    std::fs::remove_dir_all(&out).expect("remove the runs");
    std::fs::remove_file(
        f.root
            .join("docs/reproductions/kingma2013-fig4-frey.paper.json"),
    )
    .expect("remove");
    ok(&args);
    assert_eq!(std::fs::read_to_string(&report).expect("the report"), table);

    // A kept result that is not one: named, and nothing written over the report.
    std::fs::write(
        &kept,
        b"{\"target\": \"kingma2013-fig5\", \"budget\": \"3h\"}",
    )
    .expect("write");
    fails(&args, "not the result of doersch2016-fig6 at the 3h budget");
    std::fs::write(&kept, b"{\"tar").expect("write");
    fails(&args, "doersch2016-fig6.3h.json");
    assert_eq!(std::fs::read_to_string(&report).expect("the report"), table);
}

/// Where `vae reproduce` keeps a run that targets share: `OUT/shared/BUDGET/DATASET/RUN`, the data
/// set's path with every character but ASCII letters and digits made a `-` (`shared_dir`).
fn shared_run(out: &std::path::Path, budget: &str, dataset: &str, run: &str) -> std::path::PathBuf {
    let slug: String = dataset
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.join("shared").join(budget).join(slug).join(run)
}

/// A `vae reproduce` killed by its process id (not Ctrl-C, which reaches its child too) takes the
/// `vae train` it started with it, so nothing trains on into the run a rerun resumes.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_reproduce_takes_its_training_child_with_it() {
    let f = fixture();
    let out = f.root.join("reproduce");
    // At the paper's budget Fig. 4's MNIST manifold trains Fig. 5's N_z = 2 model, a shared run.
    let run = shared_run(&out, "paper", &f.dataset, "latent2");
    let mut parent = std::process::Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(["reproduce", "kingma2013-fig4-mnist", "--budget", "paper"])
        .args([
            "--dataset",
            &f.dataset,
            "--out",
            path(&out),
            "--threads",
            "1",
        ])
        .env("VAE_DATA_DIR", std::env::temp_dir().join("vae-cli-tests"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the vae binary runs");
    // The child writes its id into the run's lock once it holds it; it is killed mid-run, after
    // its first checkpoint.
    let started = std::time::Instant::now();
    let child = loop {
        if let Some(pid) = lock_holder(&run).filter(|&pid| pid != parent.id()) {
            if run.join("state.json").exists() {
                break pid;
            }
        }
        assert!(started.elapsed().as_secs() < 60, "no training child");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    parent.kill().expect("kill");
    parent.wait().expect("wait");
    // Gone within seconds, or a zombie waiting for a reaper that never comes, with every thread
    // ended: the run's lock is free then. (Its main thread shows as a zombie while the others are
    // still exiting, holding the lock, so the main thread's state alone is not enough.)
    let ended = || {
        let zombie_or_gone =
            std::fs::read_to_string(format!("/proc/{child}/stat")).map_or(true, |stat| {
                stat.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
        zombie_or_gone && vae::run_dir::RunLock::acquire(&run).is_ok()
    };
    let killed = std::time::Instant::now();
    while !ended() {
        assert!(
            killed.elapsed().as_secs() < 20,
            "the training child {child} outlived its vae reproduce"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // It was stopped, not finished: the run has fewer than its 1,667 epochs, and resumes.
    let state = std::fs::read_to_string(run.join("state.json")).unwrap_or_default();
    assert!(!state.contains("\"epoch\": 1667"), "{state}");
    ok(&["train", "--resume", path(&run), "--epochs", "1"]);
}

#[test]
fn a_shared_run_another_process_trains_is_waited_for() {
    use std::io::BufRead;
    let f = fixture();
    let out = f.root.join("reproduce");
    // Fig. 5's first model, shared with Fig. 2: held here as a `vae train` of another target
    // would hold it.
    let run = shared_run(&out, "quick", &f.dataset, "latent2");
    std::fs::create_dir_all(&run).expect("mkdir");
    let held = vae::run_dir::RunLock::acquire(&run).expect("the lock");
    let mut reproduce = std::process::Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(["reproduce", "kingma2013-fig5", "--dataset", &f.dataset])
        .args(["--out", path(&out), "--threads", "1"])
        .env("VAE_DATA_DIR", std::env::temp_dir().join("vae-cli-tests"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the vae binary runs");
    let (lines, printed) = std::sync::mpsc::channel();
    let stdout = reproduce.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let timeout = std::time::Duration::from_secs(30);
    let waiting = loop {
        let line = printed.recv_timeout(timeout).expect("a line within 30 s");
        if line.contains("latent2") {
            break line;
        }
    };
    assert!(
        waiting.contains(&format!("another process (pid {})", std::process::id()))
            && waiting.contains("waiting for it"),
        "{waiting}"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        reproduce.try_wait().expect("try_wait").is_none(),
        "did not wait"
    );
    drop(held);
    assert!(reproduce.wait().expect("wait").success());
    let rest: Vec<String> = printed.try_iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("kingma2013-fig5")),
        "{rest:?}"
    );
    assert!(run.join("state.json").exists(), "latent2 was not trained");
}

/// A run a target began in its own directory before it became shared (an earlier `vae
/// reproduce` kept M1 under each M1 + M2 row) moves to the shared place instead of being trained
/// again, its kept command following it; one made by another command stays where it is.
#[test]
fn a_run_that_became_shared_moves_to_the_shared_place() {
    let f = fixture();
    let out = f.root.join("reproduce");
    let args = [
        "reproduce",
        "kingma2014-m1m2-100",
        "--dataset",
        &f.dataset,
        "--out",
        path(&out),
        "--threads",
        "1",
    ];
    ok(&args);
    let shared = shared_run(&out, "quick", &f.dataset, "m1");
    let private = out.join("kingma2014-m1m2-100").join("quick").join("m1");
    let command_file = |run: &std::path::Path| {
        let mut name = run.as_os_str().to_owned();
        name.push(".command");
        std::path::PathBuf::from(name)
    };
    let made = std::fs::read_to_string(command_file(&shared)).expect("the kept command");
    let weights = std::fs::read(shared.join("model.safetensors")).expect("the weights");
    // The layout an earlier version left: M1 in the row's own directory.
    let move_private = |command: &str| {
        std::fs::rename(&shared, &private).expect("move the run");
        std::fs::remove_file(command_file(&shared)).expect("remove its command");
        std::fs::write(command_file(&private), command).expect("write its command");
    };
    let by_us = made.replace(path(&shared), path(&private));
    assert_ne!(by_us, made);
    move_private(&by_us);
    let printed = ok(&args);
    assert!(
        printed.contains("m1: moved") && printed.contains("m1: already trained"),
        "{printed}"
    );
    assert!(!private.exists() && !command_file(&private).exists());
    assert_eq!(
        std::fs::read_to_string(command_file(&shared)).expect("moved"),
        made
    );
    assert_eq!(
        std::fs::read(shared.join("model.safetensors")).expect("the weights"),
        weights
    );

    // Made with another latent size: not the shared run, so left where it is.
    let other = by_us.replace("--latent 50", "--latent 40");
    assert_ne!(other, by_us);
    move_private(&other);
    let printed = ok(&args);
    assert!(printed.contains("left there"), "{printed}");
    assert!(!printed.contains("m1: already trained"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(command_file(&private)).expect("kept"),
        other
    );
    assert!(
        shared.join("state.json").exists(),
        "the shared m1 was not trained"
    );
}

/// A test-error row's number is its evaluation's, as a percentage, with the binomial standard
/// error over the images scored, and its verdict is the rule's: more than the paper's spread
/// (widened by our standard error) from the paper's value.
fn test_error_agrees_with_its_evaluation(result: &Value) {
    let error = result["evaluation"]["classification_error"]
        .as_f64()
        .expect("an evaluated test error");
    let images = result["evaluation"]["images"].as_f64().expect("images");
    let ours = result["ours"].as_f64().expect("ours");
    assert!((ours - 100.0 * error).abs() < 1e-9, "{result}");
    let se = 100.0 * (error * (1.0 - error) / images).sqrt();
    let recorded_se = result["standard_error"].as_f64().expect("a standard error");
    assert!((recorded_se - se).abs() < 1e-9, "{result}");
    let paper = result["paper_value"].as_f64().expect("the paper's value");
    let spread = result["paper_spread"].as_f64().expect("the paper's spread");
    assert_eq!(
        result["misses"].as_bool(),
        Some((ours - paper).abs() > spread + se),
        "{result}"
    );
}

/// A result that cannot be saved is still printed: the number is not lost with the file.
#[test]
fn a_result_that_cannot_be_saved_is_printed_first() {
    let f = fixture();
    let out = f.root.join("reproduce");
    // A directory where result.json goes: writing it fails, as a read-only or full disk would.
    std::fs::create_dir_all(out.join("kingma2014-m2-100/quick/result.json")).expect("mkdir");
    let output = vae(&[
        "reproduce",
        "kingma2014-m2-100",
        "--dataset",
        &f.dataset,
        "--out",
        path(&out),
        "--threads",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("   ours ") && stdout.contains("% test error"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the result above could not be saved"),
        "{stderr}"
    );
}
