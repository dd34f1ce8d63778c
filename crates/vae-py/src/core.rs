//! `vae._vae.Core`: a model and the run directory it lives in, behind `vae.VAE`. Training is the
//! library's `Run` (created, or resumed from the directory); encoding, decoding and scoring are
//! its `Generative` model; all of it with the GIL released, on the model's own pool of workers.

use crate::arrays::{array, check_rows, finite, image_dims, images, labels, Images};
use crate::errors::{invalid, IntoPy};
use crate::observer::{epoch_dict, PyObserver};
use crate::options::run_options;
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::Duration;
use vae::checkpoint::{self, load_model};
use vae::collective::SingleProcess;
use vae::config::{BuildFor, DataDefaults, RunOptions, Spelling};
use vae::data::folder::FolderOptions;
use vae::data::{Dataset, DatasetSpec, Split};
use vae::kernels::rng::{stream, Purpose};
use vae::model::VaeWorkspace;
use vae::run::{ResumeOptions, Run};
use vae::run_dir::LOCK_FILE;
use vae::{Binarize, Generative, ImageShape, LikelihoodKind, Model, RunConfig};

/// Rows decoded or scored at once: bounds the workspace whatever the caller asks for.
const ROWS_AT_ONCE: usize = 1024;

/// What a data set without a name (arrays) records in `config.json`.
pub const ARRAYS: &str = "arrays";

/// A trained (or initialised, or loaded) model and where its run lives.
struct Fitted {
    config: RunConfig,
    model: Model<f32>,
    /// Epochs trained so far.
    epochs: usize,
    dir: PathBuf,
    /// Whether `dir` is a temporary directory of this object's, removed with it.
    temporary: Option<tempfile::TempDir>,
}

/// The compiled half of `vae.VAE`.
#[pyclass(module = "vae._vae")]
pub struct Core {
    options: RunOptions,
    threads: Option<usize>,
    pool: Option<Arc<rayon::ThreadPool>>,
    fitted: Option<Fitted>,
    /// Calls to `sample` without a seed so far: each draws from its own stream.
    draws: u64,
}

impl Core {
    fn pool(&mut self) -> PyResult<Arc<rayon::ThreadPool>> {
        if let Some(pool) = &self.pool {
            return Ok(pool.clone());
        }
        let pool = Arc::new(vae::kernels::denormals::thread_pool(self.threads).py()?);
        self.pool = Some(pool.clone());
        Ok(pool)
    }

    fn fitted(&self) -> PyResult<&Fitted> {
        self.fitted.as_ref().ok_or_else(crate::errors::not_fitted)
    }

    fn model(&self) -> PyResult<&Model<f32>> {
        Ok(&self.fitted()?.model)
    }

    /// Images for the model, read in place and checked against its image size, with one label
    /// per row when it is conditional.
    fn inputs<'a>(
        &self,
        images: &'a PyReadonlyArrayDyn<'_, f32>,
        labels: Option<Vec<i64>>,
    ) -> PyResult<(Images<'a>, Vec<u8>)> {
        let model = self.model()?;
        let x = self::images(images, "images")?;
        check_rows(&x, model.config().data_image(), "images")?;
        let labels = self::labels(labels, x.rows, model.classes(), "labels")?;
        Ok((x, labels))
    }
}

/// The data set `fit` was handed, as the library holds it.
fn dataset(
    spec: &str,
    (train, train_labels): (&Images<'_>, &[u8]),
    test: Option<(&Images<'_>, &[u8])>,
    class_names: Vec<String>,
) -> vae::Result<Dataset> {
    let train_split = Split::from_floats(train.shape, train.values, train_labels)?;
    let test_split = match test {
        Some((test, labels)) => Split::from_floats(test.shape, test.values, labels)?,
        // Without held-out images the first training images stand in for them.
        None => train_split.truncated(1000),
    };
    Dataset::from_splits(spec, train_split, test_split, class_names)
}

/// How a data set trains when the options say nothing: a named one as the command line trains
/// it, arrays as given (grey levels, a Bernoulli decoder, no binarization).
fn data_defaults(spec: &str) -> DataDefaults {
    // `ARRAYS` names no data set, so it takes the arrays' defaults.
    match DatasetSpec::parse(spec) {
        Ok(parsed) => parsed.defaults(),
        Err(_) => DataDefaults {
            likelihood: LikelihoodKind::Bernoulli,
            binarize: Binarize::None,
        },
    }
}

fn labels_of(given: Option<Vec<i64>>, rows: usize, what: &str) -> PyResult<Vec<u8>> {
    match given {
        None => Ok(Vec::new()),
        Some(given) => labels(Some(given), rows, 256, what),
    }
}

#[pymethods]
impl Core {
    /// A model of the options given (keyword → value), its workers `threads` (all cores when
    /// `None`). The options are checked now against a stand-in data set of 28 x 28 images in 10
    /// classes, and again for the data `fit` is given.
    #[new]
    #[pyo3(signature = (options, threads=None))]
    fn new(options: &Bound<'_, PyDict>, threads: Option<usize>) -> PyResult<Self> {
        let options = run_options(options)?;
        if threads == Some(0) {
            return Err(invalid("threads must be at least 1"));
        }
        let stand_in = BuildFor {
            image: ImageShape::MNIST,
            classes: 10,
            defaults: data_defaults(ARRAYS),
            features: None,
            attributes: Vec::new(),
        };
        options.build(&stand_in, Spelling::Keywords).py()?;
        Ok(Core {
            options,
            threads,
            pool: None,
            fitted: None,
            draws: 0,
        })
    }

    /// The run in `dir`, as `vae train` or `fit(out=...)` wrote it.
    #[staticmethod]
    #[pyo3(signature = (dir, threads=None))]
    fn load(py: Python<'_>, dir: PathBuf, threads: Option<usize>) -> PyResult<Self> {
        if !dir.exists() {
            return Err(crate::errors::not_found(format!(
                "{}: no such run directory",
                dir.display()
            )));
        }
        let (config, model, epochs) = py.detach(|| load_model(&dir)).py()?;
        Ok(Core {
            options: RunOptions::default(),
            threads,
            pool: None,
            fitted: Some(Fitted {
                config,
                model,
                epochs,
                dir,
                temporary: None,
            }),
            draws: 0,
        })
    }

    /// Trains to `epochs` epochs in all (a model that has trained some continues from them),
    /// writing its run to `out` or else to its own directory; returns every new epoch's numbers.
    #[pyo3(signature = (images, labels, test_images, test_labels, spec, class_names, epochs, batch_size, out, callback, pictures, folder))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArrayDyn<'py, f32>,
        labels: Option<Vec<i64>>,
        test_images: Option<PyReadonlyArrayDyn<'py, f32>>,
        test_labels: Option<Vec<i64>>,
        spec: String,
        class_names: Vec<String>,
        epochs: usize,
        batch_size: Option<usize>,
        out: Option<PathBuf>,
        callback: Option<Py<PyAny>>,
        pictures: bool,
        folder: Option<(usize, usize, usize, u64)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let train = self::images(&images, "images")?;
        let train_labels = labels_of(labels, train.rows, "labels")?;
        let test = match &test_images {
            Some(array) => {
                let test = self::images(array, "validation images")?;
                if test.shape != train.shape {
                    return Err(invalid(format!(
                        "validation images are {} but training images are {}",
                        test.shape, train.shape
                    )));
                }
                let labels = labels_of(test_labels, test.rows, "validation labels")?;
                Some((test, labels))
            }
            None => None,
        };
        let classes = class_names.len();
        let test = test
            .as_ref()
            .map(|(images, labels)| (images, labels.as_slice()));
        let dataset = dataset(&spec, (&train, &train_labels), test, class_names).py()?;
        let pool = self.pool()?;
        let continuing = self
            .fitted
            .as_ref()
            .map(|f| (f.config.clone(), f.epochs, f.dir.clone()));
        let (mut run, mut temporary) = match continuing {
            None => {
                let target = BuildFor {
                    image: dataset.shape,
                    classes,
                    defaults: data_defaults(&spec),
                    features: None,
                    attributes: dataset.attribute_names.clone(),
                };
                let mut options = self.options.clone();
                options.epochs = Some(epochs);
                options.batch_size = batch_size.or(options.batch_size);
                let (model, train) = options.build(&target, Spelling::Keywords).py()?;
                let mut config = RunConfig::new(spec.clone(), model, train);
                if let Some((channels, height, width, split_seed)) = folder {
                    config.folder = FolderOptions {
                        channels,
                        height,
                        width,
                        split_seed,
                    };
                }
                let (dir, temporary) = match &out {
                    Some(out) => (out.clone(), None),
                    None => {
                        let temporary = tempfile::Builder::new()
                            .prefix("vae-run-")
                            .tempdir()
                            .map_err(|e| invalid(format!("a temporary run directory: {e}")))?;
                        (temporary.path().join("run"), Some(temporary))
                    }
                };
                if dir.join(checkpoint::CONFIG_FILE).exists() {
                    return Err(invalid(format!(
                        "{} already holds a run; load it with vae.load, or choose another out",
                        dir.display()
                    )));
                }
                let run = py
                    .detach(|| Run::create(config, dir.clone(), None, None))
                    .py()?;
                (run, temporary)
            }
            Some((config, trained, dir)) => {
                let expected = config.model.data_image();
                if dataset.shape.len() != expected.len() {
                    return Err(invalid(format!(
                        "this model reads {expected} images; these are {}",
                        dataset.shape
                    )));
                }
                if let Some(b) = batch_size.filter(|&b| b != config.train.batch_size) {
                    return Err(invalid(format!(
                        "batch_size is the run's own, {}, once it has trained; got {b}",
                        config.train.batch_size
                    )));
                }
                if epochs <= trained {
                    return Err(invalid(format!(
                        "the model has trained {} epochs; epochs counts them all, so ask for more than {} to train further",
                        trained, trained
                    )));
                }
                let options = ResumeOptions {
                    epochs: Some(epochs),
                    out: out.clone(),
                    max_memory: None,
                };
                let mut quiet = vae::run::Quiet;
                let run = py
                    .detach(|| Run::resume(&dir, &options, &SingleProcess, &mut quiet))
                    .py()?;
                let temporary = match out {
                    Some(_) => None,
                    None => self.fitted.as_mut().and_then(|f| f.temporary.take()),
                };
                (run, temporary)
            }
        };
        // Rows of the model's size read as its images.
        let dataset = reshaped(dataset, run.config().model.data_image());
        let interrupted = Arc::new(AtomicBool::new(false));
        let mut observer = PyObserver::new(callback, epochs, interrupted.clone());
        let class_names = dataset.class_names.clone();
        let train = || {
            pool.install(|| {
                let data = run.prepare(dataset, &mut observer)?;
                run.train(&data, &SingleProcess, &mut observer)?;
                if pictures {
                    run.write_pictures(&data.test, &class_names)?;
                }
                Ok::<(), vae::Error>(())
            })
        };
        // Training runs on a thread of its own; this one, the interpreter's, waits and looks for
        // Ctrl-C (only the main thread sees signals), which stops training at the next batch.
        let (outcome, signal) = py.detach(|| {
            std::thread::scope(|scope| {
                let (done_tx, done) = std::sync::mpsc::channel();
                let trainer = scope.spawn(move || {
                    let outcome = train();
                    let _ = done_tx.send(());
                    outcome
                });
                let mut signal = None;
                // Done, or the trainer gone (a panic drops its sender): stop waiting.
                while let Err(RecvTimeoutError::Timeout) =
                    done.recv_timeout(Duration::from_millis(20))
                {
                    if signal.is_none() {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            interrupted.store(true, Ordering::SeqCst);
                            signal = Some(e);
                        }
                    }
                }
                let outcome = trainer.join().unwrap_or_else(|_| {
                    Err(vae::Error::InvalidArgument("training panicked".into()))
                });
                (outcome, signal)
            })
        });
        let dir = run.dir().to_path_buf();
        let history = PyList::empty(py);
        for report in &observer.history {
            history.append(epoch_dict(py, report, epochs)?)?;
        }
        match outcome {
            Ok(()) => {
                self.fitted = Some(Fitted {
                    config: run.config().clone(),
                    model: run.model().clone(),
                    epochs: run.start_epoch(),
                    dir,
                    temporary: temporary.take(),
                });
                Ok(history)
            }
            Err(error) => {
                // The model is the last epoch saved, if any was.
                let temporary = temporary.take();
                let saved = dir.join(checkpoint::MODEL_FILE).exists();
                self.fitted = match saved {
                    true => {
                        let (config, model, epochs) = py.detach(|| load_model(&dir)).py()?;
                        Some(Fitted {
                            config,
                            model,
                            epochs,
                            dir,
                            temporary,
                        })
                    }
                    false => None,
                };
                match (error, signal.or(observer.raised.take())) {
                    (_, Some(raised)) => Err(raised),
                    (error, None) => Err(crate::errors::from_vae(error)),
                }
            }
        }
    }

    /// q(z | x): the means and log-variances, `[n, latent]` each.
    #[pyo3(signature = (images, labels=None))]
    fn encode<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArrayDyn<'py, f32>,
        labels: Option<Vec<i64>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let pool = self.pool()?;
        let (x, labels) = self.inputs(&images, labels)?;
        let model = self.model()?;
        let latent = model.latent();
        let encoded = py
            .detach(|| {
                pool.install(|| {
                    let mut ws = VaeWorkspace::default();
                    let (mut all, mut out) = (Vec::with_capacity(x.rows * 2 * latent), Vec::new());
                    in_blocks(x.values, x.shape.len(), &labels, |rows, chunk, labels| {
                        model.encode(&mut ws, chunk, labels, rows, &mut out)?;
                        all.extend_from_slice(&out);
                        Ok(())
                    })?;
                    Ok::<_, vae::Error>(all)
                })
            })
            .py()?;
        let (means, log_vars): (Vec<f32>, Vec<f32>) = encoded
            .chunks(2 * latent)
            .flat_map(|row| {
                row[..latent]
                    .iter()
                    .copied()
                    .zip(row[latent..].iter().copied())
            })
            .unzip();
        Ok((
            array(py, means, &[x.rows, latent])?,
            array(py, log_vars, &[x.rows, latent])?,
        ))
    }

    /// The means of p(x | z) for `z [n, latent]`, as images.
    #[pyo3(signature = (z, labels=None))]
    fn decode<'py>(
        &mut self,
        py: Python<'py>,
        z: PyReadonlyArrayDyn<'py, f32>,
        labels: Option<Vec<i64>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pool = self.pool()?;
        let model = self.model()?;
        let latent = model.latent();
        let dims = z.shape().to_vec();
        if dims.len() != 2 || dims[1] != latent || dims[0] == 0 {
            return Err(invalid(format!(
                "z must be [n, {latent}] with n ≥ 1; got shape {dims:?}"
            )));
        }
        let values = z.as_slice().map_err(|_| invalid("z must be C-ordered"))?;
        finite(values, "z")?;
        let labels = self::labels(labels, dims[0], model.classes(), "labels")?;
        let decoded = py
            .detach(|| pool.install(|| decode_rows(model, values, &labels, dims[0])))
            .py()?;
        array(
            py,
            decoded,
            &image_dims(dims[0], model.config().data_image()),
        )
    }

    /// `n` images decoded from draws of the prior, with the labels given (conditional models).
    #[pyo3(signature = (n, labels=None, seed=None))]
    fn sample<'py>(
        &mut self,
        py: Python<'py>,
        n: usize,
        labels: Option<Vec<i64>>,
        seed: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pool = self.pool()?;
        let draw = self.draws;
        let model = self.model()?;
        if n == 0 {
            return Err(invalid("n must be at least 1"));
        }
        // A JMVAE draws from q(z | y) when given labels and from the prior without.
        let labels = match (model, labels) {
            (Model::Jmvae(_), None) => Vec::new(),
            (model, labels) => self::labels(labels, n, model.classes(), "labels")?,
        };
        vae::memory::decoding(model.config(), n)
            .check_available()
            .py()?;
        let latent = model.latent();
        let mut rng = match seed {
            Some(seed) => stream(seed, Purpose::Sample, &[]),
            None => stream(
                self.fitted()?.config.train.seed,
                Purpose::Sample,
                &[1, draw],
            ),
        };
        let decoded = match model {
            // Its own draws: from q(z | y).
            Model::Jmvae(_) if !labels.is_empty() => py
                .detach(|| {
                    pool.install(|| {
                        let mut out = Vec::new();
                        model
                            .sample(&mut VaeWorkspace::default(), n, &labels, &mut rng, &mut out)
                            .map(|()| out)
                    })
                })
                .py()?,
            _ => {
                let mut z = vec![0f32; n * latent];
                vae::kernels::rng::fill_standard_normal(&mut rng, &mut z);
                py.detach(|| pool.install(|| decode_rows(model, &z, &labels, n)))
                    .py()?
            }
        };
        let dims = image_dims(n, model.config().data_image());
        if seed.is_none() {
            self.draws += 1;
        }
        array(py, decoded, &dims)
    }

    /// Per image: the ELBO (one latent sample), its reconstruction term and its KL, in nats.
    #[pyo3(signature = (images, labels=None, seed=0))]
    fn elbo<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArrayDyn<'py, f32>,
        labels: Option<Vec<i64>>,
        seed: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pool = self.pool()?;
        let (x, labels) = self.inputs(&images, labels)?;
        let model = self.model()?;
        let scores = py
            .detach(|| {
                pool.install(|| {
                    let mut ws = VaeWorkspace::default();
                    let mut rng = stream(seed, Purpose::Evaluate, &[]);
                    let mut scores = Vec::with_capacity(x.rows);
                    in_blocks(x.values, x.shape.len(), &labels, |rows, chunk, labels| {
                        model.score(&mut ws, chunk, labels, rows, 1, &mut rng, &mut scores)
                    })?;
                    Ok::<_, vae::Error>(scores)
                })
            })
            .py()?;
        let terms: Vec<f64> = scores
            .iter()
            .flat_map(|s| [-(s.reconstruction + s.kl), s.reconstruction, s.kl])
            .collect();
        Ok(PyArray1::from_vec(py, terms)
            .reshape(vec![x.rows, 3])?
            .into_any())
    }

    /// The importance-weighted estimate of log p(x) with `k` samples: its mean over the images
    /// and that mean's standard error, in nats.
    #[pyo3(signature = (images, labels=None, k=5000, seed=0))]
    fn log_likelihood(
        &mut self,
        py: Python<'_>,
        images: PyReadonlyArrayDyn<'_, f32>,
        labels: Option<Vec<i64>>,
        k: usize,
        seed: u64,
    ) -> PyResult<(f64, f64)> {
        let pool = self.pool()?;
        let (x, labels) = self.inputs(&images, labels)?;
        let model = self.model()?;
        let split = Split::from_floats(model.config().data_image(), x.values, &labels).py()?;
        let evaluation = py
            .detach(|| pool.install(|| vae::eval::evaluate(model, &split, k, seed, &mut |_, _| {})))
            .py()?;
        Ok((evaluation.log_likelihood, evaluation.log_likelihood_stderr))
    }

    /// M2's class for each image: argmax_y q(y | x).
    fn classify<'py>(
        &mut self,
        py: Python<'py>,
        images: PyReadonlyArrayDyn<'py, f32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let pool = self.pool()?;
        let model = self.model()?;
        let x = self::images(&images, "images")?;
        check_rows(&x, model.config().data_image(), "images")?;
        let classes = py
            .detach(|| {
                pool.install(|| {
                    let mut ws = VaeWorkspace::default();
                    let (mut all, mut out) = (Vec::with_capacity(x.rows), Vec::new());
                    in_blocks(x.values, x.shape.len(), &[], |rows, chunk, _| {
                        model.classify(&mut ws, chunk, rows, &mut out)?;
                        all.extend(out.iter().map(|&c| i64::from(c)));
                        Ok(())
                    })?;
                    Ok::<_, vae::Error>(all)
                })
            })
            .py()?;
        Ok(PyArray1::from_vec(py, classes).into_any())
    }

    /// Copies the run into `dir` (new, or empty): its checkpoint, metrics and pictures.
    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        let fitted = self.fitted()?;
        let from = fitted.dir.clone();
        py.detach(|| copy_run(&from, &dir))
    }

    /// The run's `config.json`, as text; `None` before the model is fitted or loaded.
    #[getter]
    fn config_json(&self) -> PyResult<Option<String>> {
        self.fitted
            .as_ref()
            .map(|f| serde_json::to_string_pretty(&f.config))
            .transpose()
            .map_err(|e| invalid(e.to_string()))
    }

    /// Epochs trained so far.
    #[getter]
    fn epochs_trained(&self) -> usize {
        self.fitted.as_ref().map_or(0, |f| f.epochs)
    }

    /// The run directory; `None` before the model is fitted or loaded.
    #[getter]
    fn run_dir(&self) -> Option<PathBuf> {
        self.fitted.as_ref().map(|f| f.dir.clone())
    }

    /// Whether the run directory is a temporary one of this model's, removed with it.
    #[getter]
    fn run_dir_is_temporary(&self) -> bool {
        self.fitted.as_ref().is_some_and(|f| f.temporary.is_some())
    }

    /// `(latent, image shape as (height, width, channels), classes)`.
    #[getter]
    fn dims(&self) -> Option<(usize, (usize, usize, usize), usize)> {
        self.fitted.as_ref().map(|f| {
            let image = f.config.model.data_image();
            (
                f.model.latent(),
                (image.height, image.width, image.channels),
                f.model.classes(),
            )
        })
    }
}

/// `rows` latent points decoded a block at a time.
fn decode_rows(model: &Model<f32>, z: &[f32], labels: &[u8], rows: usize) -> vae::Result<Vec<f32>> {
    let mut ws = VaeWorkspace::default();
    let (mut all, mut out) = (Vec::with_capacity(rows * model.pixels()), Vec::new());
    in_blocks(z, model.latent(), labels, |n, block, labels| {
        model.decode(&mut ws, block, labels, n, &mut out)?;
        all.extend_from_slice(&out);
        Ok(())
    })?;
    Ok(all)
}

/// Calls `f(rows, values, labels)` on each block of at most `ROWS_AT_ONCE` rows of `values`
/// (`width` values a row), with the block's labels (none when `labels` is empty).
fn in_blocks(
    values: &[f32],
    width: usize,
    labels: &[u8],
    mut f: impl FnMut(usize, &[f32], &[u8]) -> vae::Result<()>,
) -> vae::Result<()> {
    let rows = values.len() / width.max(1);
    for start in (0..rows).step_by(ROWS_AT_ONCE) {
        let n = ROWS_AT_ONCE.min(rows - start);
        let block = &labels[if labels.is_empty() {
            0..0
        } else {
            start..start + n
        }];
        f(n, &values[start * width..(start + n) * width], block)?;
    }
    Ok(())
}

/// `dataset` with its images read as `shape` (the same number of values per image).
fn reshaped(mut dataset: Dataset, shape: ImageShape) -> Dataset {
    dataset.shape = shape;
    dataset.train.shape = shape;
    dataset.test.shape = shape;
    dataset
}

/// Copies the regular files of the run in `from` (not its lock) into `to`, which must not hold a
/// run already. Each file is written atomically and `config.json` last, so a save cut short
/// leaves no run behind (the directory does not hold one until its configuration is there) and
/// may simply be repeated.
fn copy_run(from: &Path, to: &Path) -> PyResult<()> {
    if to.join(checkpoint::CONFIG_FILE).exists() {
        return Err(invalid(format!(
            "{} already holds a run; choose another directory",
            to.display()
        )));
    }
    let io = |path: &Path, e: std::io::Error| {
        crate::errors::from_vae(vae::Error::Io {
            path: path.into(),
            cause: e,
        })
    };
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(from).map_err(|e| io(from, e))? {
        let entry = entry.map_err(|e| io(from, e))?;
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && entry.file_name() != LOCK_FILE {
            names.push(entry.file_name());
        }
    }
    // The configuration last: it is what makes the directory a run.
    names.sort_by_key(|name| name == checkpoint::CONFIG_FILE);
    for name in names {
        let bytes = vae::fs::read_regular(&from.join(&name)).py()?;
        vae::fs::atomic_write(&to.join(&name), &bytes).py()?;
    }
    vae::fs::sync_dir(to).py()
}
