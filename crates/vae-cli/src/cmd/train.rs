//! `vae train`: a fresh run or a resumed one, checkpointed after every epoch.

use super::common::{check_shape, count, load_dataset, progress_bar, thread_pool};
use super::{figures, report};
use crate::cli::{
    ActivationArg, ArchArg, BinarizeArg, LikelihoodArg, ModelArg, ObjectiveArg, OptimizerArg,
    ScheduleArg, TrainArgs, VarianceArg,
};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use vae::checkpoint;
use vae::collective::Collective;
use vae::config::{Features, LrSchedule, ObjectiveKind, TopLayer};
use vae::data::folder::FolderOptions;
use vae::data::{Codes, Dataset, DatasetSpec, Split};
use vae::kernels::rng::{stream, Purpose};
use vae::model::stacked::{active_dimensions, encode_split, select_dimensions};
use vae::model::Vae;
use vae::nn::spec;
use vae::objective::VaeObjective;
use vae::render::save_png;
use vae::run_dir::{next_run_dir, run_name, RunLock, RunWriter, LOCK_FILE};
use vae::train::{train_across, EpochReport, TrainingData};
use vae::{
    Activation, Binarize, GaussianVariance, LayerLists, LikelihoodKind, Model, ModelConfig,
    ModelKind, Optimizer, OptimizerConfig, OptimizerKind, RunConfig, TrainConfig, Trainable,
};

/// M2's labelled images when --labels is not given: the paper's headline setting.
const DEFAULT_LABELS: usize = 100;

/// M1 + M2: code dimensions whose posterior mean varies less than this across the training set
/// are dropped (the threshold of Kingma et al.'s released code).
const DEFAULT_ACTIVE_THRESHOLD: f64 = 0.1;

/// A run ready to train: where it stands and where it writes.
struct Run {
    config: RunConfig,
    model: Model<f32>,
    optimizer: Optimizer<f32>,
    start_epoch: usize,
    dir: PathBuf,
    writer: RunWriter,
    /// M1 + M2: the VAE whose codes `model` (the M2) reads.
    m1: Option<Vae<f32>>,
    /// M1's codes of the training images, when choosing the dimensions already computed them.
    m1_train_codes: Option<Codes>,
    /// What a training step plans to hold (`vae::memory`).
    memory: vae::memory::MemoryPlan,
}

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
    // Run-directory locks, held until training ends (see `RunLock`). A resumed run's is taken
    // before its checkpoint is read: reading one finishes or clears an interrupted save, which
    // must not race a process still saving there.
    let mut locks: Vec<RunLock> = Vec::new();
    let (mut run, dataset) = match args.resume.clone() {
        Some(dir) => {
            if dir.is_dir() {
                locks.extend(lock_run(root, &dir)?);
            }
            let run = resume(&args, &dir, world)?;
            let data_dir = data_dir.or(run.config.data_dir.as_deref());
            let dataset = load_dataset(&run.config.dataset, data_dir, &run.config.folder)?;
            check_shape(&dataset, run.config.model.data_image())?;
            (run, dataset)
        }
        None => {
            if args.features.is_some() && args.kind != Some(ModelArg::M2) {
                bail!("--features applies to --model m2 only");
            }
            let m1 = match &args.features {
                Some(m1_dir) => Some(load_m1(m1_dir)?),
                None => None,
            };
            let spec = match (&args.data.dataset, &m1) {
                (Some(spec), _) => spec.clone(),
                (None, Some((_, m1_config, _))) => m1_config.dataset.clone(),
                (None, None) => "mnist".into(),
            };
            let dir = fresh_dir(&args, &spec)?;
            let folder = match &m1 {
                Some((_, m1_config, _)) if args.data.dataset.is_none() => m1_config.folder,
                _ => folder_options(&args, &spec)?,
            };
            let dataset = load_dataset(&spec, data_dir, &folder)?;
            (fresh(&args, spec, folder, &dataset, m1, dir)?, dataset)
        }
    };
    let train_config = run.config.train.clone();
    if run.start_epoch >= train_config.epochs {
        say!(
            root,
            "{} has already completed {}, {} asked for; pass a larger --epochs to continue",
            run.dir.display(),
            count(run.start_epoch, "epoch"),
            train_config.epochs
        );
        return Ok(());
    }
    say!(
        root,
        "training {} on {} ({} train / {} test images, {}) for epochs {}..={} on {}; writing {}",
        run.config.model.describe().to_lowercase(),
        dataset.name,
        dataset.train.len(),
        dataset.test.len(),
        dataset.shape,
        run.start_epoch + 1,
        train_config.epochs,
        count(pool.current_num_threads(), "thread"),
        run.dir.display()
    );
    if let Some((largest, bytes)) = run.memory.largest() {
        say!(
            root,
            "memory plan: about {} for a training step ({} bytes; largest: {largest}, {})",
            vae::memory::human(run.memory.total()),
            run.memory.total(),
            vae::memory::human(*bytes)
        );
    }
    let class_names = dataset.class_names.clone();
    let mut data = TrainingData::prepare(dataset, train_config.binarize, train_config.seed);
    if run.config.model.kind == ModelKind::M2 {
        let labels = train_config.labels.unwrap_or(DEFAULT_LABELS);
        data = data.semi_supervised(
            labels,
            run.config.model.classes,
            train_config.alpha,
            &train_config,
        )?;
        say!(
            root,
            "{labels} labelled images ({} per class), {} unlabelled, {} labelled per batch",
            labels / run.config.model.classes,
            data.train.len() - labels,
            train_config.labelled_per_batch(labels)
        );
    }
    if let (Some(m1), Some(features)) = (&run.m1, &run.config.model.features) {
        let started = Instant::now();
        let known = run.m1_train_codes.take();
        let (train_codes, test_codes) = pool.install(|| -> Result<_> {
            let train = match known {
                Some(codes) => codes,
                None => encode_split(m1, &data.train)?,
            };
            Ok((train, encode_split(m1, &data.test)?))
        })?;
        data = data.with_codes(
            select_dimensions(&train_codes, &features.active),
            select_dimensions(&test_codes, &features.active),
        )?;
        say!(
            root,
            "reading {} of M1's {} codes (posterior-mean s.d. > {}): dimensions {:?}; encoded in {:.1} s",
            features.active.len(),
            features.latent,
            features.threshold,
            features.active,
            started.elapsed().as_secs_f64()
        );
    }
    std::fs::create_dir_all(&run.dir).with_context(|| format!("creating {}", run.dir.display()))?;
    let same_dir = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !args
        .resume
        .as_deref()
        .is_some_and(|d| same_dir(d, &run.dir))
    {
        locks.extend(lock_run(root, &run.dir)?);
        // Checked again under the lock: another run may have started there meanwhile.
        if args.resume.is_none() && run.dir.join(checkpoint::CONFIG_FILE).exists() {
            bail!(
                "{} already holds a run (started while this one was loading); choose another --out",
                run.dir.display()
            );
        }
    }
    let batches = data.batches_per_epoch(train_config.batch_size) as u64;
    let bar = progress_bar(
        batches,
        "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
    )
    .filter(|_| root);
    let fault_rank: Option<usize> = std::env::var(FAULT_RANK).ok().and_then(|r| r.parse().ok());
    let mut epoch_started = Instant::now();
    let mut heartbeat = super::common::Heartbeat::new(root);
    let Run {
        config,
        model,
        optimizer,
        start_epoch,
        writer,
        ..
    } = &mut run;
    let objective = VaeObjective::for_model(
        config.model.kind,
        &train_config,
        data.classification_weight(),
    );
    if world.size() > 1 {
        say!(
            root,
            "{} MPI ranks share each batch of {} (data parallel); rank 0 writes the run",
            world.size(),
            train_config.batch_size
        );
    }
    pool.install(|| {
        train_across(
            world,
            model,
            &objective,
            optimizer,
            &data,
            &train_config,
            *start_epoch,
            &mut |p| {
                if let Some(bar) = &bar {
                    if p.batch == 1 {
                        bar.reset();
                        bar.set_prefix(format!("{}/{}", p.epoch, train_config.epochs));
                        epoch_started = Instant::now();
                    }
                    bar.set_position(p.batch as u64);
                    let rate = p.images as f64 / epoch_started.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("loss {:.2}  {:.0} img/s", p.loss_per_image, rate));
                }
                heartbeat.tick(|| {
                    format!(
                        "epoch {}/{}: batch {} of {batches}, loss {:.2}",
                        p.epoch, train_config.epochs, p.batch, p.loss_per_image
                    )
                });
            },
            &mut |model, optimizer, report| {
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                if fault_rank == Some(world.rank()) && report.epoch >= 2 {
                    return Err(vae::Error::InvalidArgument(format!(
                        "{FAULT_RANK}: rank {} fails after epoch {}",
                        world.rank(),
                        report.epoch
                    )));
                }
                if !root {
                    return Ok(());
                }
                print_epoch(report, train_config.epochs);
                writer.record(model, optimizer, report).map(|_| ())
            },
        )
    })
    .map_err(|e| match e {
        vae::Error::NonFinite { .. } => anyhow::anyhow!("{e}; try a lower --lr"),
        e => anyhow::Error::new(e),
    })
    .context("training failed")?;
    if let Some(m1) = run.m1.take() {
        // Pictures and the report draw through both decoders.
        let m2 = std::mem::replace(&mut run.model, Model::Vae(m1.clone()));
        run.model = m2.stack(Model::Vae(m1))?;
    }
    if root {
        write_pictures(&run, &data.test, &class_names)?;
        println!("done: {}", run.dir.display());
    }
    Ok(())
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

/// M1 of `--features`: an unconditional one-layer VAE, with its run's configuration and the
/// SHA-256 of the weights it was loaded from.
fn load_m1(dir: &Path) -> Result<(Vae<f32>, RunConfig, [String; 2])> {
    let loaded = checkpoint::load_model_hashed(dir)
        .with_context(|| format!("loading M1 from --features {}", dir.display()))?;
    let hashes = [loaded.sha256, loaded.config_sha256];
    match loaded.model {
        Model::Vae(m1) if m1.classes() == 0 => Ok((m1, loaded.config, hashes)),
        model => bail!(
            "--features {}: M1 must be an unconditional one-layer VAE (--model vae), not a {}",
            dir.display(),
            model.config().kind_name()
        ),
    }
}

/// A stacked M2's `features`: M1's run, the checksum of the weights loaded, and the code dimensions it uses on the
/// training images of `dataset`; with M1's codes of those images, which training reads.
fn features_of(
    args: &TrainArgs,
    m1_dir: &Path,
    m1: &Vae<f32>,
    [sha256, config_sha256]: &[String; 2],
    dataset: &Dataset,
) -> Result<(Features, Codes)> {
    let threshold = args.active_threshold.unwrap_or(DEFAULT_ACTIVE_THRESHOLD);
    if !(threshold.is_finite() && threshold >= 0.0) {
        bail!("--active-threshold {threshold} must be a finite value >= 0");
    }
    check_shape(dataset, m1.config().image)?;
    let codes = encode_split(m1, &dataset.train)?;
    let (active, fill) = active_dimensions(&codes, threshold);
    if active.is_empty() {
        bail!(
            "no code dimension of M1 ({}) varies with s.d. above --active-threshold {threshold}: M1 has collapsed, or the threshold is too high",
            m1_dir.display()
        );
    }
    let run = std::fs::canonicalize(m1_dir)
        .with_context(|| format!("resolving --features {}", m1_dir.display()))?;
    let features = Features {
        sha256: sha256.clone(),
        config_sha256: Some(config_sha256.clone()),
        run,
        image: m1.config().image,
        latent: m1.latent(),
        active,
        threshold,
        fill,
    };
    Ok((features, codes))
}

/// A new run from the command-line options, for the images of `dataset`; with `m1`, an M2 on
/// M1's codes.
fn fresh(
    args: &TrainArgs,
    spec: String,
    folder: FolderOptions,
    dataset: &Dataset,
    m1: Option<(Vae<f32>, RunConfig, [String; 2])>,
    dir: PathBuf,
) -> Result<Run> {
    let parsed = DatasetSpec::parse(&spec)?;
    let classes = dataset.class_names.len();
    let (features, m1_train_codes) = match (&args.features, &m1) {
        (Some(m1_dir), Some((m1, _, sha256))) => {
            let (features, codes) = features_of(args, m1_dir, m1, sha256, dataset)?;
            (Some(features), Some(codes))
        }
        _ => (None, None),
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
            gamma: args.lr_gamma.unwrap_or(0.99),
        },
    };
    optimizer.eps = match (args.eps, optimizer.schedule) {
        (Some(eps), _) => Some(eps),
        // Burda et al. 2015, Sec. 5: Adam with ε = 1e-4.
        (None, LrSchedule::Burda) => Some(1e-4),
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
    let hidden = args.hidden.clone().unwrap_or(vec![400]);
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
            let widths = top_hidden.clone().unwrap_or(vec![50, 50]);
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
    config.validate()?;
    let memory = check_memory(&config, args.max_memory.as_deref())?;
    let mut model = Model::new(&config.model, config.train.seed)?;
    if let Some(std) = config.train.init_std {
        let mut rng = stream(config.train.seed, Purpose::Init, &[1]);
        model.parameters_mut().init_normal(std, &mut rng);
    }
    let optimizer = Optimizer::new(config.train.optimizer, model.parameters().len());
    let writer = RunWriter::new(dir.clone(), config.clone());
    Ok(Run {
        config,
        model,
        optimizer,
        start_epoch: 0,
        dir,
        writer,
        m1: m1.map(|(m1, _, _)| m1),
        m1_train_codes,
        memory,
    })
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

fn resume(args: &TrainArgs, dir: &Path, world: &dyn Collective) -> Result<Run> {
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
    // The writing rank alone finishes or clears an interrupted save; the others read the
    // checkpoint once it has, so every rank starts from the same epoch and optimizer state.
    if world.is_root() {
        checkpoint::recover(dir).with_context(|| format!("resuming {}", dir.display()))?;
    }
    world.barrier()?;
    // Checked from config.json before the checkpoint's model is built.
    let mut planned =
        checkpoint::load_config(dir).with_context(|| format!("resuming {}", dir.display()))?;
    if let Some(epochs) = args.epochs {
        planned.train.epochs = epochs;
    }
    let memory = check_memory(&planned, args.max_memory.as_deref())?;
    let resumed =
        checkpoint::read_for_resume(dir).with_context(|| format!("resuming {}", dir.display()))?;
    let mut config = resumed.config;
    if let Some(epochs) = args.epochs {
        config.train.epochs = epochs;
    }
    config.validate()?;
    let start_epoch = resumed.state.epoch;
    let out = args.out.clone().unwrap_or_else(|| dir.to_path_buf());
    // Continuing into another directory must not replace a run that lives there.
    if out != dir && out.join(checkpoint::CONFIG_FILE).exists() {
        bail!(
            "--out {} already holds a run; continue into an empty directory, or resume that run itself",
            out.display()
        );
    }
    let writer = RunWriter::resuming(out.clone(), config.clone(), dir, start_epoch)
        .context("reading the run's metrics")?;
    // A stacked M2 trains on its own; M1 supplies the codes.
    let (model, m1) = match resumed.model {
        Model::Stacked(stacked) => {
            let (m1, m2) = (*stacked).into_parts();
            (Model::M2(m2), Some(m1))
        }
        model => (model, None),
    };
    Ok(Run {
        config,
        model,
        optimizer: resumed.optimizer,
        start_epoch,
        dir: out,
        writer,
        m1,
        m1_train_codes: None,
        memory,
    })
}

/// Takes the run directory's lock on the rank that writes the run (see `RunLock`); where the file
/// system cannot lock, says so and goes on.
fn lock_run(root: bool, dir: &Path) -> Result<Option<RunLock>> {
    if !root {
        return Ok(None);
    }
    match RunLock::acquire(dir)? {
        RunLock::Unavailable(e) => {
            eprintln!(
                "note: {} cannot be locked ({e}); make sure no other process trains into {}",
                dir.join(LOCK_FILE).display(),
                dir.display()
            );
            Ok(None)
        }
        held => Ok(Some(held)),
    }
}

/// `samples.png` (64 prior draws), `reconstructions.png` (32 test images over their
/// reconstructions) and `report.html` in the run directory.
fn write_pictures(run: &Run, test: &Split, class_names: &[String]) -> Result<()> {
    let (model, dir) = (&run.model, &run.dir);
    let samples = figures::samples(model, 64, None, run.config.train.seed, 8, 2)?;
    save_png(&samples, &dir.join("samples.png"))?;
    let first: Vec<usize> = (0..32.min(test.len())).collect();
    save_png(
        &figures::reconstructions(model, test, &first, 8, 2)?,
        &dir.join("reconstructions.png"),
    )?;
    let epoch = run.config.train.epochs;
    report::write(
        dir,
        &dir.join("report.html"),
        &run.config,
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

/// Refuses a model whose training step would not fit in memory: its plan (`vae::memory`) against
/// `--max-memory`, or else what the machine has available.
fn check_memory(config: &RunConfig, max_memory: Option<&str>) -> Result<vae::memory::MemoryPlan> {
    let plan = vae::memory::training(config);
    let bound = match max_memory {
        Some(text) => Some((vae::memory::parse_size(text)?, "set by --max-memory")),
        None => vae::memory::default_limit(),
    };
    if let Some((limit, what)) = bound {
        plan.check(limit, what)?;
    }
    Ok(plan)
}
