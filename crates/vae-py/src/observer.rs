//! What a run reports, handed to Python: after every batch the callback is called with the
//! progress, after every epoch with its numbers. A callback that returns `False` ends training
//! once the epoch in hand is saved; one that raises stops it at once, as Ctrl-C does (the thread
//! that waits for training sees the signal and sets `interrupted`), the last saved epoch kept.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use vae::run::Observer;
use vae::train::{EpochReport, Progress};

/// The observer of one `fit`.
pub struct PyObserver {
    callback: Option<Py<PyAny>>,
    epochs: usize,
    /// The exception that stopped training (Ctrl-C's `KeyboardInterrupt`, the callback's own).
    pub raised: Option<PyErr>,
    /// The callback returned `False`: end training after this epoch, saved.
    pub stop_requested: bool,
    /// Set by the thread waiting on training when the interpreter was interrupted.
    pub interrupted: Arc<AtomicBool>,
    /// Every finished epoch's numbers.
    pub history: Vec<EpochReport>,
}

impl PyObserver {
    pub fn new(callback: Option<Py<PyAny>>, epochs: usize, interrupted: Arc<AtomicBool>) -> Self {
        PyObserver {
            callback,
            epochs,
            raised: None,
            stop_requested: false,
            interrupted,
            history: Vec::new(),
        }
    }

    /// Calls the callback with `event`; remembers an exception or a `False`. Whether training
    /// goes on.
    fn call(&mut self, py: Python<'_>, event: PyResult<Bound<'_, PyDict>>) -> bool {
        let result = event.and_then(|event| match &self.callback {
            Some(callback) => callback.call1(py, (event,)).map(Some),
            None => Ok(None),
        });
        match result {
            Ok(Some(returned)) => {
                let returned = returned.bind(py);
                if returned.is_instance_of::<pyo3::types::PyBool>()
                    && !returned.is_truthy().unwrap_or(true)
                {
                    self.stop_requested = true;
                }
                true
            }
            Ok(None) => true,
            Err(e) => {
                self.raised = Some(e);
                false
            }
        }
    }
}

fn stopped(epoch: usize, batch: usize, why: &str) -> vae::Error {
    vae::Error::Stopped {
        epoch,
        batch,
        why: why.into(),
    }
}

impl Observer for PyObserver {
    fn warning(&mut self, line: &str) {
        Python::attach(|py| {
            let message = std::ffi::CString::new(line).unwrap_or_default();
            let _ = PyErr::warn(
                py,
                &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                &message,
                1,
            );
        });
    }

    fn batch(&mut self, p: &Progress) -> vae::Result<()> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(stopped(p.epoch, p.batch, "interrupted"));
        }
        if self.callback.is_none() {
            return Ok(());
        }
        let epochs = self.epochs;
        let ok = Python::attach(|py| {
            let event = (|| {
                let d = PyDict::new(py);
                d.set_item("event", "batch")?;
                d.set_item("epoch", p.epoch)?;
                d.set_item("epochs", epochs)?;
                d.set_item("batch", p.batch)?;
                d.set_item("batches", p.batches)?;
                d.set_item("loss", p.loss_per_image)?;
                if let Some((discriminator, generator)) = p.adversarial {
                    d.set_item("discriminator", discriminator)?;
                    d.set_item("generator", generator)?;
                }
                d.set_item("images", p.images)?;
                Ok(d)
            })();
            self.call(py, event)
        });
        match ok {
            true => Ok(()),
            false => Err(stopped(p.epoch, p.batch, "interrupted")),
        }
    }

    fn epoch(&mut self, report: &EpochReport, _rank: usize) -> vae::Result<()> {
        self.history.push(*report);
        let epochs = self.epochs;
        let ok = Python::attach(|py| {
            let event = epoch_dict(py, report, epochs);
            if let Ok(d) = &event {
                let _ = d.set_item("event", "epoch");
            }
            self.call(py, event)
        });
        match ok {
            true => Ok(()),
            false => Err(stopped(report.epoch, 0, "the callback raised")),
        }
    }

    fn stop_after_epoch(&mut self) -> bool {
        self.stop_requested
    }
}

/// An epoch's numbers as a dict: the training and held-out ELBO per image and their terms (a
/// GAN's discriminator and generator losses besides).
pub fn epoch_dict<'py>(
    py: Python<'py>,
    report: &EpochReport,
    epochs: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("epoch", report.epoch)?;
    d.set_item("epochs", epochs)?;
    for (prefix, terms) in [("train", &report.train), ("test", &report.test)] {
        let n = terms.images.max(1) as f64;
        d.set_item(format!("{prefix}_loss"), terms.loss_per_image())?;
        d.set_item(format!("{prefix}_reconstruction"), terms.reconstruction / n)?;
        d.set_item(format!("{prefix}_kl"), terms.kl / n)?;
        if report.adversarial {
            let (discriminator, generator) = terms.adversarial_per_image();
            d.set_item(format!("{prefix}_discriminator"), discriminator)?;
            d.set_item(format!("{prefix}_generator"), generator)?;
        }
    }
    d.set_item("seconds", report.train_seconds)?;
    d.set_item("images_per_second", report.images_per_second)?;
    Ok(d)
}
