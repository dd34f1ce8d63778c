//! Helpers shared by the subcommands: threads, data sets (fetched when missing), models, progress.

use crate::cli::DataArgs;
use anyhow::{bail, Context, Result};
use image::DynamicImage;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use vae::data::folder::FolderOptions;
use vae::data::{Dataset, Split};
use vae::kernels::denormals::MAX_THREADS_PER_CORE;
use vae::render::save_png;
use vae::{ImageShape, Model, RunConfig};

/// The library's pool of workers that flush subnormal floats to zero
/// (`vae::kernels::denormals::thread_pool`), its refusals naming `--threads`.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    if threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(n) = threads.filter(|&n| n > MAX_THREADS_PER_CORE * cores) {
        bail!(
            "--threads {n} is more than {MAX_THREADS_PER_CORE} per core on this machine's {cores} cores"
        );
    }
    Ok(vae::kernels::denormals::thread_pool(threads)?)
}

/// Loads a data set; a named one that is missing is downloaded first, and a folder's skipped
/// files are reported by name.
pub fn load_dataset(
    spec: &str,
    data_dir: Option<&Path>,
    folder: &FolderOptions,
) -> Result<Dataset> {
    let (dataset, report) =
        vae::data::obtain(spec, data_dir, folder, &mut |line| eprintln!("{line}"))
            .with_context(|| format!("loading data set {spec}"))?;
    if let Some(report) = report {
        for (path, why) in &report.skipped {
            eprintln!("skipped {}: {why}", path.display());
        }
        eprintln!(
            "{}: {} images in {} classes ({} train, {} test){}{}",
            spec,
            dataset.train.len() + dataset.test.len(),
            dataset.class_names.len(),
            dataset.train.len(),
            dataset.test.len(),
            if report.skipped.is_empty() {
                String::new()
            } else {
                format!(", {} files skipped", report.skipped.len())
            },
            if report.from_cache {
                ", read from the cache"
            } else {
                ""
            },
        );
    }
    Ok(dataset)
}

/// The data set a model was trained on (or the one `--dataset` names), checked against the
/// model's image shape.
pub fn dataset_for_model(args: &DataArgs, config: &RunConfig) -> Result<Dataset> {
    let spec = args.dataset.as_deref().unwrap_or(&config.dataset);
    // The run's own data directory unless another is given.
    let data_dir = args.data_dir.as_deref().or(config.data_dir.as_deref());
    let dataset = load_dataset(spec, data_dir, &config.folder)?;
    check_shape(&dataset, config.model.data_image())?;
    Ok(dataset)
}

/// The model's test split as it is scored (binarized as in training), with the class names.
pub fn test_split_for_model(args: &DataArgs, config: &RunConfig) -> Result<(Split, Vec<String>)> {
    let dataset = dataset_for_model(args, config)?;
    let test = vae::train::evaluation_split(dataset.test, config.train.binarize);
    Ok((test, dataset.class_names))
}

pub fn check_shape(dataset: &Dataset, expected: ImageShape) -> Result<()> {
    if dataset.shape != expected {
        bail!(
            "data set {} has {} images but the model expects {}",
            dataset.name,
            dataset.shape,
            expected
        );
    }
    Ok(())
}

/// Loads a trained model from its run directory.
pub fn open_model(dir: &Path) -> Result<(RunConfig, Model<f32>, usize)> {
    vae::checkpoint::load_model(dir).with_context(|| format!("opening model {}", dir.display()))
}

/// The last epoch's numbers of the run in `dir`, if its metrics.jsonl can be read.
pub fn last_epoch(dir: &Path) -> Option<vae::metrics::EpochMetrics> {
    vae::metrics::read_metrics(&dir.join(vae::checkpoint::METRICS_FILE))
        .ok()
        .and_then(|m| m.last().copied())
}

/// A progress bar on stderr when it is a terminal; `None` otherwise (logs stay clean).
pub fn progress_bar(len: u64, template: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// Where stderr is not a terminal (a log, a script, CI) there is no progress bar: a plain line
/// every `EVERY` instead, so a long step does not look like a hang.
pub struct Heartbeat {
    enabled: bool,
    last: std::time::Instant,
}

impl Heartbeat {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(10);

    /// Beats only where stderr is not a terminal (and `enabled`, e.g. on MPI rank 0).
    pub fn new(enabled: bool) -> Self {
        Heartbeat {
            enabled: enabled && !std::io::stderr().is_terminal(),
            last: std::time::Instant::now(),
        }
    }

    /// Prints `message()` if the last line is `EVERY` old.
    pub fn tick(&mut self, message: impl FnOnce() -> String) {
        if self.enabled && self.last.elapsed() >= Self::EVERY {
            self.last = std::time::Instant::now();
            eprintln!("{}", message());
        }
    }
}

/// Saves a figure to `out`, or to `dir/default_name` when no `--out` was given.
pub fn save_figure(
    image: &DynamicImage,
    out: Option<&Path>,
    dir: &Path,
    default_name: &str,
) -> Result<PathBuf> {
    let path = out.map_or_else(|| dir.join(default_name), Path::to_path_buf);
    save_png(image, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// `n` things, in the singular for one: "1 thread", "2 threads".
pub fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
