//! Running the binary and building the synthetic data set the tests train on.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vae::data::idx::write_idx;

pub fn vae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        // Keep the tests off the user's data directories: downloads and caches go to a scratch
        // directory (the tests use only local data sets, so nothing is downloaded).
        .env("VAE_DATA_DIR", std::env::temp_dir().join("vae-cli-tests"))
        .output()
        .expect("the vae binary runs")
}

pub fn ok(args: &[&str]) -> String {
    let out = vae(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "vae {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a command that must fail with a one-line error containing `needle`.
pub fn fails(args: &[&str], needle: &str) {
    let out = vae(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "vae {args:?} succeeded");
    assert!(
        stderr.contains(needle),
        "vae {args:?}: expected `{needle}` in:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "vae {args:?} panicked:\n{stderr}"
    );
}

/// Four IDX files in MNIST's names: 7 x 5 images of two classes (bright left / bright right).
pub fn synthetic_idx(dir: &Path, train: usize, test: usize) {
    let make = |n: usize, offset: usize| -> (Vec<u8>, Vec<u8>) {
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let label = ((i + offset) % 2) as u8;
            for y in 0..7 {
                for x in 0..5 {
                    let bright = if label == 0 { x < 2 } else { x > 2 };
                    let jitter = ((i * 31 + y * 7 + x * 3) % 40) as u8;
                    images.push(if bright { 200 + jitter / 2 } else { jitter });
                }
            }
            labels.push(label);
        }
        (images, labels)
    };
    let (train_images, train_labels) = make(train, 0);
    let (test_images, test_labels) = make(test, 1);
    write_idx(
        &dir.join("train-images-idx3-ubyte"),
        &[train, 7, 5],
        &train_images,
    )
    .expect("write");
    write_idx(
        &dir.join("train-labels-idx1-ubyte"),
        &[train],
        &train_labels,
    )
    .expect("write");
    write_idx(
        &dir.join("t10k-images-idx3-ubyte"),
        &[test, 7, 5],
        &test_images,
    )
    .expect("write");
    write_idx(&dir.join("t10k-labels-idx1-ubyte"), &[test], &test_labels).expect("write");
}

/// Four IDX files of 8 x 8 images, two classes (bright left half / bright right half): the
/// smallest the DCGAN preset's one stride-2 stage takes (8 -> 4).
pub fn eight_by_eight_idx(dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("mkdir");
    for (name, count, offset) in [("train", 128usize, 0usize), ("t10k", 32, 1)] {
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for i in 0..count {
            let label = (i % 2) as u8;
            for y in 0..8 {
                for x in 0..8 {
                    let bright = (x < 4) == (label == 0);
                    let jitter = ((i * 31 + y * 7 + x * 3 + offset) % 40) as u8;
                    images.push(if bright { 200 + jitter / 2 } else { jitter });
                }
            }
            labels.push(label);
        }
        vae::data::idx::write_idx(
            &dir.join(format!("{name}-images-idx3-ubyte")),
            &[count, 8, 8],
            &images,
        )
        .expect("write");
        vae::data::idx::write_idx(
            &dir.join(format!("{name}-labels-idx1-ubyte")),
            &[count],
            &labels,
        )
        .expect("write");
    }
    format!("idx:{}", dir.display())
}

pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub dataset: String,
}

pub fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().to_path_buf();
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    synthetic_idx(&data, 256, 40);
    Fixture {
        dataset: format!("idx:{}", data.display()),
        root,
        _tmp: tmp,
    }
}

/// The process id a `vae train` wrote into the lock file of the run directory `run`, once it
/// holds the lock.
pub fn lock_holder(run: &Path) -> Option<u32> {
    std::fs::read_to_string(run.join(vae::run_dir::LOCK_FILE))
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// The hidden files left in the run directory `dir` (a save's `.next` files, its journal,
/// temporary files): none once a save has finished or been recovered.
pub fn hidden_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

pub fn train_args<'a>(f: &'a Fixture, out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dataset",
        &f.dataset,
        "--epochs",
        epochs,
        "--hidden",
        "16",
        "--latent",
        "2",
        "--batch-size",
        "32",
        "--threads",
        "2",
        "--out",
        out,
    ]
}

/// A `vae serve` child process on a free port, stopped when dropped.
pub struct Server {
    child: std::process::Child,
    pub url: String,
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_vae"))
            .args(["serve", "--port", "0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("vae serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut first)
            .expect("vae serve prints its address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in `{first}`"))
            .trim_end_matches('/')
            .to_string();
        Server { child, url }
    }

    /// Sends SIGINT (Ctrl-C) and returns whether the server exited cleanly.
    pub fn interrupt(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let status = self.child.wait().expect("the server exits");
        sent && status.success()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
