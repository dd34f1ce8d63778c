//! `vae train`: a fresh run or a resumed one, checkpointed after every epoch.

use super::common::{check_shape, count, load_dataset, progress_bar, thread_pool, Heartbeat};
use super::{figures, report};
use crate::cli::{
    ActivationArg, ArchArg, BinarizeArg, LikelihoodArg, ModelArg, ObjectiveArg, OptimizerArg,
    ScheduleArg, TrainArgs, VarianceArg,
};
use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vae::checkpoint;
use vae::collective::Collective;
use vae::config::{
    Features, LrSchedule, ObjectiveKind, TopLayer, BURDA_ADAM_EPS, DEFAULT_ACTIVE_THRESHOLD,
    DEFAULT_HIDDEN, DEFAULT_LABELS, DEFAULT_LR_GAMMA, DEFAULT_TOP_HIDDEN,
};
use vae::data::folder::FolderOptions;
use vae::data::{Dataset, DatasetSpec, Split};
use vae::nn::spec;
use vae::render::save_png;
use vae::run::{MemoryLimit, Observer, ResumeOptions, Run, M1};
use vae::run_dir::{next_run_dir, run_name};
use vae::train::{EpochReport, Progress};
use vae::{
    Activation, Binarize, GaussianVariance, LayerLists, LikelihoodKind, ModelConfig, ModelKind,
    OptimizerConfig, OptimizerKind, RunConfig, TrainConfig,
};

/// `println!` on the rank that writes (every rank runs this command under MPI).
macro_rules! say {
    ($root:expr, $($arg:tt)*) => {
        if $root {
            println!($($arg)*);
        }
    };
}

/// A test hook: `VAE_FAULT_RANK=R` makes rank R fail after its second epoch (the first has been
/// saved by then), as a rank whose node lost its data would.
const FAULT_RANK: &str = "VAE_FAULT_RANK";

pub fn run(args: TrainArgs, world: &dyn Collective) -> Result<()> {
    let root = world.is_root();
    let pool = thread_pool(args.threads)?;
    let data_dir = args.data.data_dir.as_deref();
    let max_memory = max_memory(args.max_memory.as_deref())?;
    let mut printer = Printer::new(root, world.rank());
    let (mut run, dataset) = match args.resume.clone() {
        Some(dir) => {
            let run = resume(&args, &dir, max_memory, world, &mut printer)?;
            let data_dir = data_dir.or(run.config().data_dir.as_deref());
            let dataset = load_dataset(&run.config().dataset, data_dir, &run.config().folder)?;
            check_shape(&dataset, run.config().model.data_image())?;
            (run, dataset)
        }
        None => {
            if args.features.is_some() && args.kind != Some(ModelArg::M2) {
                bail!("--features applies to --model m2 only");
            }
            let m1 =
                match &args.features {
                    Some(m1_dir) => Some(M1::load(m1_dir).with_context(|| {
                        format!("loading M1 from --features {}", m1_dir.display())
                    })?),
                    None => None,
                };
            let spec = match (&args.data.dataset, &m1) {
                (Some(spec), _) => spec.clone(),
                (None, Some(m1)) => m1.config.dataset.clone(),
                (None, None) => "mnist".into(),
            };
            let dir = fresh_dir(&args, &spec)?;
            let folder = match &m1 {
                Some(m1) if args.data.dataset.is_none() => m1.config.folder,
                _ => folder_options(&args, &spec)?,
            };
            let dataset = load_dataset(&spec, data_dir, &folder)?;
            (
                fresh(&args, spec, folder, &dataset, m1, dir, max_memory)?,
                dataset,
            )
        }
    };
    let epochs = run.config().train.epochs;
    if run.is_complete() {
        say!(
            root,
            "{} has already completed {}, {} asked for; pass a larger --epochs to continue",
            run.dir().display(),
            count(run.start_epoch(), "epoch"),
            epochs
        );
        return Ok(());
    }
    say!(
        root,
        "training {} on {} ({} train / {} test images, {}) for epochs {}..={} on {}; writing {}",
        run.config().model.describe().to_lowercase(),
        dataset.name,
        dataset.train.len(),
        dataset.test.len(),
        dataset.shape,
        run.start_epoch() + 1,
        epochs,
        count(pool.current_num_threads(), "thread"),
        run.dir().display()
    );
    let memory = run.memory();
    if let Some((largest, bytes)) = memory.largest() {
        say!(
            root,
            "memory plan: about {} for a training step ({} bytes; largest: {largest}, {})",
            vae::memory::human(memory.total()),
            memory.total(),
            vae::memory::human(*bytes)
        );
    }
    let class_names = dataset.class_names.clone();
    let data = pool.install(|| run.prepare(dataset, &mut printer))?;
    let batches = data.batches_per_epoch(run.config().train.batch_size) as u64;
    printer.start(batches, epochs);
    pool.install(|| run.train(&data, world, &mut printer))
        .map_err(|e| match e {
            vae::Error::NonFinite { .. } => anyhow::anyhow!("{e}; try a lower --lr"),
            e => anyhow::Error::new(e),
        })
        .context("training failed")?;
    if root {
        write_pictures(&run, &data.test, &class_names)?;
        println!("done: {}", run.dir().display());
    }
    Ok(())
}

/// What `vae train` shows of a run: its lines on the writing rank, a progress bar on a terminal
/// (a line every few seconds elsewhere), each epoch's losses; and the fault hook.
struct Printer {
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
    fn new(root: bool, rank: usize) -> Self {
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
    fn start(&mut self, batches: u64, epochs: usize) {
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
        say!(self.root, "{line}");
    }

    fn warning(&mut self, line: &str) {
        eprintln!("note: {line}");
    }

    fn batch(&mut self, p: &Progress) {
        if let Some(bar) = &self.bar {
            if p.batch == 1 {
                bar.reset();
                bar.set_prefix(format!("{}/{}", p.epoch, self.epochs));
                self.epoch_started = Instant::now();
            }
            bar.set_position(p.batch as u64);
            let rate = p.images as f64 / self.epoch_started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("loss {:.2}  {:.0} img/s", p.loss_per_image, rate));
        }
        let (epochs, batches) = (self.epochs, self.batches);
        self.heartbeat.tick(|| {
            format!(
                "epoch {}/{epochs}: batch {} of {batches}, loss {:.2}",
                p.epoch, p.batch, p.loss_per_image
            )
        });
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

fn print_epoch(report: &EpochReport, epochs: usize) {
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

/// The directory a new run writes to; refuses one that already holds a run.
fn fresh_dir(args: &TrainArgs, spec: &str) -> Result<PathBuf> {
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => next_run_dir(Path::new("runs"), &run_name(&DatasetSpec::parse(spec)?)),
    };
    if dir.join(checkpoint::CONFIG_FILE).exists() {
        bail!(
            "{} already holds a run; pass --resume {} to continue it, or choose another --out",
            dir.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// `--channels` and `--size` for a `folder:` data set (refused for the others); the split uses
/// the run's seed.
fn folder_options(args: &TrainArgs, spec: &str) -> Result<FolderOptions> {
    let is_folder = matches!(DatasetSpec::parse(spec)?, DatasetSpec::Folder(_));
    if !is_folder && (args.channels.is_some() || args.size.is_some()) {
        bail!(
            "--channels and --size apply to folder: data sets only; {spec} has a fixed image shape"
        );
    }
    let defaults = FolderOptions::default();
    let (height, width) = args.size.unwrap_or((defaults.height, defaults.width));
    Ok(FolderOptions {
        channels: args.channels.unwrap_or(defaults.channels),
        height,
        width,
        split_seed: args.seed.unwrap_or(0),
    })
}

/// A new run from the command-line options, for the images of `dataset`; with `m1`, an M2 on
/// M1's codes.
fn fresh(
    args: &TrainArgs,
    spec: String,
    folder: FolderOptions,
    dataset: &Dataset,
    m1: Option<M1>,
    dir: PathBuf,
    max_memory: Option<MemoryLimit>,
) -> Result<Run> {
    let parsed = DatasetSpec::parse(&spec)?;
    let classes = dataset.class_names.len();
    let (features, m1) = match m1 {
        Some(m1) => {
            let threshold = args.active_threshold.unwrap_or(DEFAULT_ACTIVE_THRESHOLD);
            if !(threshold.is_finite() && threshold >= 0.0) {
                bail!("--active-threshold {threshold} must be a finite value >= 0");
            }
            check_shape(dataset, m1.vae.config().image)?;
            let (features, codes) = m1.features(dataset, threshold).map_err(|e| {
                anyhow::anyhow!(e
                    .to_string()
                    .replace("the active threshold", "--active-threshold"))
            })?;
            (Some(features), Some((m1, Some(codes))))
        }
        None => (None, None),
    };
    if features.is_some() {
        let refused = [
            ("--binarize", args.binarize.is_some()),
            ("--likelihood", args.likelihood.is_some()),
            ("--arch", args.arch.is_some()),
            ("--gaussian-variance", args.gaussian_variance.is_some()),
            ("--top-latent", args.top_latent.is_some()),
        ];
        if let Some((flag, _)) = refused.iter().find(|(_, g)| *g) {
            bail!("{flag} does not apply with --features: M2 reads M1's codes (grey-level images in, a Gaussian on the codes out)");
        }
    } else if args.active_threshold.is_some() {
        bail!("--active-threshold applies with --features only");
    }
    let image = features
        .as_ref()
        .map_or(dataset.shape, Features::code_shape);
    let optimizer_kind = match args.optimizer.unwrap_or(OptimizerArg::Adam) {
        OptimizerArg::Adam => OptimizerKind::Adam,
        OptimizerArg::Adagrad => OptimizerKind::Adagrad,
    };
    let kind = args.kind.unwrap_or(ModelArg::Vae);
    let mut optimizer = OptimizerConfig::default_for(optimizer_kind);
    optimizer.lr = args.lr.unwrap_or(optimizer.lr);
    optimizer.weight_decay = args.weight_decay.unwrap_or(0.0);
    if args.lr_gamma.is_some() && args.lr_schedule != Some(ScheduleArg::Exponential) {
        bail!("--lr-gamma applies to --lr-schedule exponential only");
    }
    optimizer.schedule = match args.lr_schedule.unwrap_or(ScheduleArg::Constant) {
        ScheduleArg::Constant => LrSchedule::Constant,
        ScheduleArg::Burda => LrSchedule::Burda,
        ScheduleArg::Cosine => LrSchedule::Cosine,
        ScheduleArg::Exponential => LrSchedule::Exponential {
            gamma: args.lr_gamma.unwrap_or(DEFAULT_LR_GAMMA),
        },
    };
    optimizer.eps = match (args.eps, optimizer.schedule) {
        (Some(eps), _) => Some(eps),
        // Burda et al. 2015, Sec. 5: Adam with ε = 1e-4.
        (None, LrSchedule::Burda) => Some(BURDA_ADAM_EPS),
        (None, _) => None,
    };
    let defaults = TrainConfig::default();
    let train = TrainConfig {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        batch_size: args.batch_size.unwrap_or(defaults.batch_size),
        optimizer,
        seed: args.seed.unwrap_or(defaults.seed),
        binarize: match args.binarize {
            // M1's codes are read from the grey levels.
            None if features.is_some() => Binarize::None,
            None => parsed.default_binarize(),
            Some(BinarizeArg::Dynamic) => Binarize::Dynamic,
            Some(BinarizeArg::Static) => Binarize::Static,
            Some(BinarizeArg::None) => Binarize::None,
        },
        samples: args.samples.unwrap_or(defaults.samples),
        objective: match args.objective {
            None | Some(ObjectiveArg::Elbo) => ObjectiveKind::Elbo,
            Some(ObjectiveArg::Iwae) => ObjectiveKind::Iwae,
        },
        beta: args.beta.unwrap_or(defaults.beta),
        kl_warmup: args.kl_warmup.unwrap_or(defaults.kl_warmup),
        free_bits: args.free_bits.unwrap_or(defaults.free_bits),
        labels: (kind == ModelArg::M2).then(|| args.labels.unwrap_or(DEFAULT_LABELS)),
        alpha: args.alpha,
        labelled_per_batch: args.labelled_per_batch,
        init_std: args.init_std,
    };
    if kind != ModelArg::M2 {
        let given = [
            ("--labels", args.labels.is_some()),
            ("--alpha", args.alpha.is_some()),
            ("--classifier-hidden", args.classifier_hidden.is_some()),
            ("--features", args.features.is_some()),
            ("--labelled-per-batch", args.labelled_per_batch.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            bail!("{flag} applies to --model m2 only");
        }
    }
    if classes == 0 && matches!(kind, ModelArg::Cvae | ModelArg::M2) {
        bail!("--model {kind:?} needs labelled classes, and this data set has none");
    }
    let model_defaults = ModelConfig::default();
    let hidden = args.hidden.clone().unwrap_or(DEFAULT_HIDDEN.to_vec());
    let activation = match args.activation.unwrap_or(ActivationArg::Relu) {
        ActivationArg::Relu => Activation::Relu,
        ActivationArg::Tanh => Activation::Tanh,
        ActivationArg::Softplus => Activation::Softplus,
    };
    let model = ModelConfig {
        kind: match kind {
            ModelArg::Vae | ModelArg::Cvae => ModelKind::Vae,
            ModelArg::Ae => ModelKind::Ae,
            ModelArg::M2 => ModelKind::M2,
        },
        image,
        classifier: match kind {
            ModelArg::M2 => Some(spec::mlp(
                args.classifier_hidden.as_deref().unwrap_or(&hidden),
                activation,
            )),
            _ => None,
        },
        latent: args.latent.unwrap_or(model_defaults.latent),
        classes: match kind {
            ModelArg::Vae | ModelArg::Ae => 0,
            ModelArg::Cvae | ModelArg::M2 => classes,
        },
        likelihood: match args.likelihood {
            None if features.is_some() => LikelihoodKind::GaussianIdentity,
            None => parsed.default_likelihood(),
            Some(LikelihoodArg::Bernoulli) => LikelihoodKind::Bernoulli,
            Some(LikelihoodArg::Gaussian) => LikelihoodKind::Gaussian,
        },
        gaussian_variance: match args.gaussian_variance.unwrap_or(VarianceArg::Pixel) {
            VarianceArg::Pixel => GaussianVariance::Pixel,
            VarianceArg::Image => GaussianVariance::Image,
        },
        features,
        ..model_defaults
    };
    let model = match (&args.layers, args.arch.unwrap_or(ArchArg::Mlp)) {
        (Some(_), _) if args.arch.is_some() => {
            bail!("--arch cannot be combined with --layers: the file gives every network")
        }
        (Some(path), _) => with_layer_lists(model, path, args)?,
        (None, ArchArg::Mlp) => model.with_mlp(&hidden, activation),
        (None, ArchArg::Conv) if kind == ModelArg::M2 => {
            bail!(
                "--arch conv builds vae, cvae and ae models; m2 needs a dense first encoder layer"
            )
        }
        (None, ArchArg::Conv) => model.with_conv(&hidden, activation)?,
    };
    let model = match (args.top_latent, &args.top_hidden) {
        (None, None) => model,
        (None, Some(_)) => bail!("--top-hidden needs --top-latent"),
        (Some(_), _) if kind != ModelArg::Vae => {
            bail!("--top-latent builds a second stochastic layer for --model vae only")
        }
        (Some(top_latent), top_hidden) => {
            let widths = top_hidden.clone().unwrap_or(DEFAULT_TOP_HIDDEN.to_vec());
            let reversed: Vec<usize> = widths.iter().rev().copied().collect();
            ModelConfig {
                top: Some(TopLayer {
                    latent: top_latent,
                    encoder: spec::mlp(&widths, activation),
                    prior: spec::mlp(&reversed, activation),
                }),
                ..model
            }
        }
    };
    let config = RunConfig {
        format: RunConfig::FORMAT,
        dataset: spec,
        folder,
        model,
        train,
        // Remembered, so `vae eval`, the pictures and `--resume` find the data again.
        data_dir: match &args.data.data_dir {
            Some(dir) => Some(
                std::fs::canonicalize(dir)
                    .with_context(|| format!("resolving --data-dir {}", dir.display()))?,
            ),
            None => None,
        },
    };
    Ok(Run::create(config, dir, m1, max_memory)?)
}

/// The networks of `--layers FILE` in place of the `--hidden` shorthand.
fn with_layer_lists(model: ModelConfig, path: &Path, args: &TrainArgs) -> Result<ModelConfig> {
    let given = [
        ("--hidden", args.hidden.is_some()),
        ("--activation", args.activation.is_some()),
        ("--classifier-hidden", args.classifier_hidden.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
        bail!("{flag} cannot be combined with --layers: the file gives every network");
    }
    let bytes = vae::fs::read_bounded(path, vae::fs::JSON_LIMIT)?;
    let lists = LayerLists::from_json(&bytes).with_context(|| format!("{}", path.display()))?;
    let classifier = match model.kind {
        ModelKind::M2 => Some(lists.classifier.unwrap_or_else(|| lists.encoder.clone())),
        _ => lists.classifier,
    };
    Ok(ModelConfig {
        encoder: lists.encoder,
        decoder: lists.decoder,
        classifier,
        ..model
    })
}

fn resume(
    args: &TrainArgs,
    dir: &Path,
    max_memory: Option<MemoryLimit>,
    world: &dyn Collective,
    observer: &mut dyn Observer,
) -> Result<Run> {
    let fixed = [
        ("--dataset", args.data.dataset.is_some()),
        ("--model", args.kind.is_some()),
        ("--labels", args.labels.is_some()),
        ("--alpha", args.alpha.is_some()),
        ("--classifier-hidden", args.classifier_hidden.is_some()),
        ("--layers", args.layers.is_some()),
        ("--channels", args.channels.is_some()),
        ("--size", args.size.is_some()),
        ("--gaussian-variance", args.gaussian_variance.is_some()),
        ("--batch-size", args.batch_size.is_some()),
        ("--lr", args.lr.is_some()),
        ("--optimizer", args.optimizer.is_some()),
        ("--weight-decay", args.weight_decay.is_some()),
        ("--lr-schedule", args.lr_schedule.is_some()),
        ("--lr-gamma", args.lr_gamma.is_some()),
        ("--eps", args.eps.is_some()),
        ("--arch", args.arch.is_some()),
        ("--hidden", args.hidden.is_some()),
        ("--latent", args.latent.is_some()),
        ("--top-latent", args.top_latent.is_some()),
        ("--top-hidden", args.top_hidden.is_some()),
        ("--activation", args.activation.is_some()),
        ("--likelihood", args.likelihood.is_some()),
        ("--binarize", args.binarize.is_some()),
        ("--samples", args.samples.is_some()),
        ("--objective", args.objective.is_some()),
        ("--beta", args.beta.is_some()),
        ("--kl-warmup", args.kl_warmup.is_some()),
        ("--free-bits", args.free_bits.is_some()),
        ("--seed", args.seed.is_some()),
        ("--features", args.features.is_some()),
        ("--active-threshold", args.active_threshold.is_some()),
        ("--labelled-per-batch", args.labelled_per_batch.is_some()),
        ("--init-std", args.init_std.is_some()),
    ];
    let given: Vec<&str> = fixed.iter().filter(|(_, g)| *g).map(|(f, _)| *f).collect();
    if !given.is_empty() {
        bail!(
            "{} cannot change when resuming: the run's config.json fixes them (only --epochs, --threads, --data-dir and --out may be given)",
            given.join(", ")
        );
    }
    let options = ResumeOptions {
        epochs: args.epochs,
        out: args.out.clone(),
        max_memory,
    };
    Run::resume(dir, &options, world, observer)
        .with_context(|| format!("resuming {}", dir.display()))
}

/// `samples.png` (64 prior draws), `reconstructions.png` (32 test images over their
/// reconstructions) and `report.html` in the run directory.
fn write_pictures(run: &Run, test: &Split, class_names: &[String]) -> Result<()> {
    let (model, dir) = (run.model(), run.dir());
    let samples = figures::samples(model, 64, None, run.config().train.seed, 8, 2)?;
    save_png(&samples, &dir.join("samples.png"))?;
    let first: Vec<usize> = (0..32.min(test.len())).collect();
    save_png(
        &figures::reconstructions(model, test, &first, 8, 2)?,
        &dir.join("reconstructions.png"),
    )?;
    let epoch = run.config().train.epochs;
    report::write(
        dir,
        &dir.join("report.html"),
        run.config(),
        model,
        epoch,
        test,
        class_names,
    )?;
    println!(
        "wrote {}, {} and {}",
        dir.join("samples.png").display(),
        dir.join("reconstructions.png").display(),
        dir.join("report.html").display()
    );
    Ok(())
}

/// The bound `--max-memory` sets on a training step's memory, when given.
fn max_memory(text: Option<&str>) -> Result<Option<MemoryLimit>> {
    Ok(match text {
        Some(text) => Some((vae::memory::parse_size(text)?, "set by --max-memory")),
        None => None,
    })
}
