//! What `vae train` prints while a run trains.

use crate::cmd::common::{progress_bar, Heartbeat};
use indicatif::ProgressBar;
use std::time::Instant;
use vae::run::Observer;
use vae::train::{EpochReport, Progress};

/// A test hook: `VAE_FAULT_RANK=R` makes rank R fail after its second epoch (the first has been
/// saved by then), as a rank whose node lost its data would.
const FAULT_RANK: &str = "VAE_FAULT_RANK";

/// What `vae train` shows of a run: its lines on the writing rank, a progress bar on a terminal
/// (a line every few seconds elsewhere), each epoch's losses; and the fault hook.
pub(super) struct Printer {
    root: bool,
    rank: usize,
    bar: Option<ProgressBar>,
    heartbeat: Heartbeat,
    batches: u64,
    epochs: usize,
    epoch_started: Instant,
    fault_rank: Option<usize>,
}

impl Printer {
    pub(super) fn new(root: bool, rank: usize) -> Self {
        Printer {
            root,
            rank,
            bar: None,
            heartbeat: Heartbeat::new(root),
            batches: 0,
            epochs: 0,
            epoch_started: Instant::now(),
            fault_rank: std::env::var(FAULT_RANK).ok().and_then(|r| r.parse().ok()),
        }
    }

    /// Training is about to start: `batches` per epoch, `epochs` in all.
    pub(super) fn start(&mut self, batches: u64, epochs: usize) {
        self.batches = batches;
        self.epochs = epochs;
        self.bar = progress_bar(
            batches,
            "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
        )
        .filter(|_| self.root);
        self.epoch_started = Instant::now();
    }
}

impl Observer for Printer {
    fn message(&mut self, line: &str) {
        if self.root {
            println!("{line}");
        }
    }

    fn warning(&mut self, line: &str) {
        eprintln!("note: {line}");
    }

    fn batch(&mut self, p: &Progress) -> vae::Result<()> {
        if let Some(bar) = &self.bar {
            if p.batch == 1 {
                bar.reset();
                bar.set_prefix(format!("{}/{}", p.epoch, self.epochs));
                self.epoch_started = Instant::now();
            }
            bar.set_position(p.batch as u64);
            let rate = p.images as f64 / self.epoch_started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{}  {:.0} img/s", progress_loss(p), rate));
        }
        let (epochs, batches) = (self.epochs, self.batches);
        self.heartbeat.tick(|| {
            format!(
                "epoch {}/{epochs}: batch {} of {batches}, {}",
                p.epoch,
                p.batch,
                progress_loss(p)
            )
        });
        Ok(())
    }

    fn epoch(&mut self, report: &EpochReport, rank: usize) -> vae::Result<()> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.fault_rank == Some(rank) && report.epoch >= 2 {
            return Err(vae::Error::InvalidArgument(format!(
                "{FAULT_RANK}: rank {} fails after epoch {}",
                self.rank, report.epoch
            )));
        }
        if self.root {
            print_epoch(report, self.epochs);
        }
        Ok(())
    }
}

/// The running loss: the negative ELBO, or a GAN's two losses.
fn progress_loss(p: &Progress) -> String {
    match p.adversarial {
        Some((d, g)) => format!("loss D {d:.3} G {g:.3}"),
        None => format!("loss {:.2}", p.loss_per_image),
    }
}

fn print_epoch(report: &EpochReport, epochs: usize) {
    if report.adversarial {
        let (train_d, train_g) = report.train.adversarial_per_image();
        let (test_d, test_g) = report.test.adversarial_per_image();
        let held = match report.train.held_back {
            [0, 0] => String::new(),
            [d, g] => format!("  sat out: D {d}, G {g} batches"),
        };
        println!(
            "epoch {:>3}/{epochs}  train loss D {train_d:6.3} G {train_g:6.3}  test loss D {test_d:6.3} G {test_g:6.3}  {:5.1} s  {:6.0} img/s{held}",
            report.epoch, report.train_seconds, report.images_per_second,
        );
        return;
    }
    let error = report
        .test
        .error_rate()
        .map(|e| format!("  test error {:5.2}%", 100.0 * e))
        .unwrap_or_default();
    // The objective, where it is not the negative ELBO itself (β, warm-up, free bits, IWAE).
    let (loss, objective) = (
        report.train.loss_per_image(),
        report.train.objective_per_image(),
    );
    let objective = if (objective - loss).abs() > 1e-9 * loss.abs().max(1.0) {
        format!("  objective {objective:8.3}")
    } else {
        String::new()
    };
    println!(
        "epoch {:>3}/{epochs}  train loss {:8.3} (rec {:7.3} + kl {:6.3}){objective}  test loss {:8.3} (rec {:7.3} + kl {:6.3}){error}  {:5.1} s  {:6.0} img/s",
        report.epoch,
        report.train.loss_per_image(),
        report.train.reconstruction_per_image(),
        report.train.kl_per_image(),
        report.test.loss_per_image(),
        report.test.reconstruction_per_image(),
        report.test.kl_per_image(),
        report.train_seconds,
        report.images_per_second,
    );
}
