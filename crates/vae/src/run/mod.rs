//! A training run as a library object: [`Run::create`] a new one from a [`RunConfig`] or
//! [`Run::resume`] one from its directory, [`Run::train`] it on a data set, and read its model.
//!
//! The run owns its lifecycle: the memory plan checked before anything is allocated, the run
//! directory's lock (taken before a resumed checkpoint is read, and before a new run writes),
//! the recovery of an interrupted save, M2's labelled subset, M1's codes for M1 + M2 and the
//! stacking of M1 under M2 once trained, and a checkpoint with its metrics after every epoch.
//! What it has to say goes to an [`Observer`]: the command line prints it with a progress bar; a
//! program may ignore it or collect it.

mod m1;
mod observer;
mod pictures;

pub use m1::M1;
pub use observer::{Observer, Quiet};

use crate::checkpoint;
use crate::collective::{Collective, SingleProcess};
use crate::config::RunConfig;
use crate::data::{Codes, Dataset};
use crate::error::{Error, Result};
use crate::kernels::denormals::thread_pool;
use crate::kernels::rng::{stream, Purpose};
use crate::memory::{self, MemoryPlan};
use crate::model::stacked::{encode_split, select_dimensions};
use crate::model::{Model, Vae};
use crate::objective::{Trainable, VaeObjective};
use crate::optim::Optimizer;
use crate::run_dir::{RunLock, RunWriter, LOCK_FILE};
use crate::train::{train_across, TrainingData};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A run: its configuration, model and optimizer, the epochs done, and where it writes.
pub struct Run {
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
    memory: MemoryPlan,
    /// Whether the run is new (made by `create`): its directory is checked again under the lock.
    created: bool,
    /// Whether `dir` is the directory the run was resumed from (its lock is already held).
    resumed_in_place: bool,
    /// The run directories' locks, held until the run is dropped (see `RunLock`).
    locks: Vec<RunLock>,
}

/// A bound on a training step's memory, and where it comes from, as a refusal names it: `(4 <<
/// 30, "set by --max-memory")`.
pub type MemoryLimit = (u64, &'static str);

/// How a run is resumed.
#[derive(Clone, Debug, Default)]
pub struct ResumeOptions {
    /// Train to this many epochs in all, in place of the run's own.
    pub epochs: Option<usize>,
    /// Continue into this directory (empty, or the run's own) instead of the run's.
    pub out: Option<PathBuf>,
    /// Refuse a step planned above this bound, in place of the machine's available memory.
    pub max_memory: Option<MemoryLimit>,
}

impl Run {
    /// A new run of `config` writing to `dir` (created when training starts; refused if it
    /// already holds a run), its model initialised from the seed. An M2 on M1's codes is given
    /// `m1` and, when already computed, M1's codes of the training images. The step's memory
    /// plan is checked against `max_memory`, or else the memory the machine has available.
    pub fn create(
        config: RunConfig,
        dir: PathBuf,
        m1: Option<(M1, Option<Codes>)>,
        max_memory: Option<MemoryLimit>,
    ) -> Result<Run> {
        config.validate()?;
        let memory = check_memory(&config, max_memory)?;
        let mut model = Model::new(&config.model, config.train.seed)?;
        if let Some(std) = config.train.init_std {
            let mut rng = stream(config.train.seed, Purpose::Init, &[1]);
            model.parameters_mut().init_normal(std, &mut rng);
        }
        let optimizer = Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
        let writer = RunWriter::new(dir.clone(), config.clone());
        let (m1, m1_train_codes) = match m1 {
            Some((m1, codes)) => (Some(m1.vae), codes),
            None => (None, None),
        };
        Ok(Run {
            config,
            model,
            optimizer,
            start_epoch: 0,
            dir,
            writer,
            m1,
            m1_train_codes,
            memory,
            created: true,
            resumed_in_place: false,
            locks: Vec::new(),
        })
    }

    /// The run in `dir`, to be trained on: its lock taken, an interrupted save finished or
    /// cleared (by the writing rank, the others waiting at a barrier), the memory plan checked
    /// from `config.json` before the checkpoint's model is built, then the model, optimizer and
    /// epochs done read back.
    pub fn resume(
        dir: &Path,
        options: &ResumeOptions,
        world: &dyn Collective,
        observer: &mut dyn Observer,
    ) -> Result<Run> {
        let writes = world.is_root();
        let mut locks = Vec::new();
        // Taken before the checkpoint is read: reading one finishes or clears an interrupted
        // save, which must not race a process still saving there.
        if dir.is_dir() && writes {
            locks.extend(lock(dir, observer)?);
        }
        // The writing rank alone finishes or clears an interrupted save; the others read the
        // checkpoint once it has, so every rank starts from the same epoch and optimizer state.
        if writes {
            checkpoint::recover(dir)?;
        }
        world.barrier()?;
        // Checked from config.json before the checkpoint's model is built.
        let mut planned = checkpoint::load_config(dir)?;
        if let Some(epochs) = options.epochs {
            planned.train.epochs = epochs;
        }
        let memory = check_memory(&planned, options.max_memory)?;
        let resumed = checkpoint::read_for_resume(dir)?;
        let mut config = resumed.config;
        if let Some(epochs) = options.epochs {
            config.train.epochs = epochs;
        }
        config.validate()?;
        let start_epoch = resumed.state.epoch;
        let out = options.out.clone().unwrap_or_else(|| dir.to_path_buf());
        // Continuing into another directory must not replace a run that lives there.
        if out != dir && out.join(checkpoint::CONFIG_FILE).exists() {
            return Err(Error::InvalidArgument(format!(
                "{} already holds a run; continue into an empty directory, or resume that run itself",
                out.display()
            )));
        }
        let writer = RunWriter::resuming(out.clone(), config.clone(), dir, start_epoch)?;
        // A stacked M2 trains on its own; M1 supplies the codes.
        let (model, m1) = match resumed.model {
            Model::Stacked(stacked) => {
                let (m1, m2) = (*stacked).into_parts();
                (Model::M2(m2), Some(m1))
            }
            model => (model, None),
        };
        let resumed_in_place = same_dir(dir, &out);
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
            created: false,
            resumed_in_place,
            locks,
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The model: M2 alone while an M1 + M2 run trains, M1 under M2 once [`Run::train`] ends.
    pub fn model(&self) -> &Model<f32> {
        &self.model
    }

    /// The optimizer, with its moments.
    pub fn optimizer(&self) -> &Optimizer<f32> {
        &self.optimizer
    }

    /// Where the run writes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Epochs trained before this process took the run up.
    pub fn start_epoch(&self) -> usize {
        self.start_epoch
    }

    /// Whether the run has trained every epoch its configuration asks for.
    pub fn is_complete(&self) -> bool {
        self.start_epoch >= self.config.train.epochs
    }

    /// What a training step plans to hold.
    pub fn memory(&self) -> &MemoryPlan {
        &self.memory
    }

    /// The data `train` reads: `dataset` binarized as configured, M2's labelled subset chosen,
    /// and, for M1 + M2, M1's codes of its images in place of the pixels.
    pub fn prepare(
        &mut self,
        dataset: Dataset,
        observer: &mut dyn Observer,
    ) -> Result<TrainingData> {
        let train = &self.config.train;
        let model = &self.config.model;
        let mut data = TrainingData::prepare(dataset, train.binarize, train.seed);
        if model.kind == crate::config::ModelKind::M2 {
            let labels = train.labels.unwrap_or(crate::config::DEFAULT_LABELS);
            data = data.semi_supervised(labels, model.classes, train.alpha, train)?;
            observer.message(&format!(
                "{labels} labelled images ({} per class), {} unlabelled, {} labelled per batch",
                labels / model.classes,
                data.train.len() - labels,
                train.labelled_per_batch(labels)
            ));
        }
        if let (Some(m1), Some(features)) = (&self.m1, &model.features) {
            let started = Instant::now();
            let train_codes = match self.m1_train_codes.take() {
                Some(codes) => codes,
                None => encode_split(m1, &data.train)?,
            };
            let test_codes = encode_split(m1, &data.test)?;
            data = data.with_codes(
                select_dimensions(&train_codes, &features.active),
                select_dimensions(&test_codes, &features.active),
            )?;
            observer.message(&format!(
                "reading {} of M1's {} codes (posterior-mean s.d. > {}): dimensions {:?}; encoded in {:.1} s",
                features.active.len(),
                features.latent,
                features.threshold,
                features.active,
                started.elapsed().as_secs_f64()
            ));
        }
        Ok(data)
    }

    /// Trains on `data` (from [`Run::prepare`]) from the epochs done to the configured number (or
    /// to the epoch after which the observer ends it; [`Run::start_epoch`] then says how far),
    /// saving the model, the optimizer and the metrics after every epoch; `world` shares each
    /// batch among processes (one, or MPI's ranks). The run directory is created and locked
    /// first. For M1 + M2, M1 is stacked under the trained M2 at the end.
    pub fn train(
        &mut self,
        data: &TrainingData,
        world: &dyn Collective,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        // The writing rank (the only one, without MPI) locks and saves; the others train beside it.
        let writes = world.is_root();
        if !self.resumed_in_place && writes {
            self.locks.extend(lock(&self.dir, observer)?);
            // Checked again under the lock: another run may have started there meanwhile.
            if self.created && self.dir.join(checkpoint::CONFIG_FILE).exists() {
                return Err(Error::InvalidArgument(format!(
                    "{} already holds a run (started while this one was loading); choose another directory",
                    self.dir.display()
                )));
            }
        }
        let train_config = self.config.train.clone();
        let objective = VaeObjective::for_model(
            self.config.model.kind,
            &train_config,
            data.classification_weight(),
        );
        if world.size() > 1 {
            observer.message(&format!(
                "{} MPI ranks share each batch of {} (data parallel); rank 0 writes the run",
                world.size(),
                train_config.batch_size
            ));
        }
        let rank = world.rank();
        let writer = &mut self.writer;
        let observer = std::cell::RefCell::new(observer);
        let mut ended_at = None;
        let trained = train_across(
            world,
            &mut self.model,
            &objective,
            &mut self.optimizer,
            data,
            &train_config,
            self.start_epoch,
            &mut |p| observer.borrow_mut().batch(p),
            &mut |model, optimizer, report| {
                observer.borrow_mut().epoch(report, rank)?;
                let stop = observer.borrow_mut().stop_after_epoch();
                if writes {
                    if stop {
                        writer.save_next();
                    }
                    writer.record(model, optimizer, report)?;
                }
                if stop {
                    ended_at = Some(report.epoch);
                    return Err(Error::Stopped {
                        epoch: report.epoch,
                        batch: 0,
                        why: "its observer ended it after this epoch".into(),
                    });
                }
                Ok(())
            },
        );
        match (trained, ended_at) {
            (Ok(()), _) => self.start_epoch = train_config.epochs,
            // Ended by the observer: a run like any other, with fewer epochs done.
            (Err(Error::Stopped { .. }), Some(epoch)) => self.start_epoch = epoch,
            (Err(e), _) => return Err(e),
        }
        if let Some(m1) = self.m1.take() {
            // Pictures and the report draw through both decoders.
            let m2 = std::mem::replace(&mut self.model, Model::Vae(m1.clone()));
            self.model = m2.stack(Model::Vae(m1))?;
        }
        Ok(())
    }

    /// Trains a run on one process with `threads` workers (all cores when `None`; see
    /// [`thread_pool`]): [`Run::prepare`] then [`Run::train`], reporting nothing.
    pub fn train_on(&mut self, dataset: Dataset, threads: Option<usize>) -> Result<()> {
        thread_pool(threads)?.install(|| {
            let data = self.prepare(dataset, &mut Quiet)?;
            self.train(&data, &SingleProcess, &mut Quiet)
        })
    }
}

/// Takes `dir`'s lock (see `RunLock`); where the file system cannot lock, warns and goes on.
fn lock(dir: &Path, observer: &mut dyn Observer) -> Result<Option<RunLock>> {
    match RunLock::acquire(dir)? {
        RunLock::Unavailable(e) => {
            observer.warning(&format!(
                "{} cannot be locked ({e}); make sure no other process trains into {}",
                dir.join(LOCK_FILE).display(),
                dir.display()
            ));
            Ok(None)
        }
        held => Ok(Some(held)),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The training step's memory plan, refused above `limit` or else the machine's available memory.
fn check_memory(config: &RunConfig, limit: Option<MemoryLimit>) -> Result<MemoryPlan> {
    let plan = memory::training(config);
    if let Some((bytes, what)) = limit.or_else(memory::default_limit) {
        plan.check(bytes, what)?;
    }
    Ok(plan)
}
