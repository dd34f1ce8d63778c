//! `vae.VAE(...)`'s keywords as the library's `RunOptions`: the library holds the defaults and
//! the refusals, and names a refused option as Python spells it.

use crate::errors::{invalid, IntoPy};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use vae::config::options::{parse_choice, Choice};
use vae::config::{LayerLists, RunOptions, Spelling};

/// The options in `given` (keyword → value; `None` values are left to the defaults).
pub fn run_options(given: &Bound<'_, PyDict>) -> PyResult<RunOptions> {
    let mut o = RunOptions::default();
    for (key, value) in given.iter() {
        if value.is_none() {
            continue;
        }
        let key: String = key.extract()?;
        let k = key.as_str();
        match k {
            "model" => o.model = Some(choice(k, &value)?),
            "arch" => o.arch = Some(choice(k, &value)?),
            "activation" => o.activation = Some(choice(k, &value)?),
            "likelihood" => o.likelihood = Some(choice(k, &value)?),
            "gaussian_variance" => o.gaussian_variance = Some(choice(k, &value)?),
            "binarize" => o.binarize = Some(choice(k, &value)?),
            "objective" => o.objective = Some(choice(k, &value)?),
            "precision" => o.precision = Some(choice(k, &value)?),
            "optimizer" => o.optimizer = Some(choice(k, &value)?),
            "lr_schedule" => o.lr_schedule = Some(choice(k, &value)?),
            "latent" => o.latent = Some(whole(k, &value)?),
            "top_latent" => o.top_latent = Some(whole(k, &value)?),
            "labels" => o.labels = Some(whole(k, &value)?),
            "labelled_per_batch" => o.labelled_per_batch = Some(whole(k, &value)?),
            "samples" => o.samples = Some(whole(k, &value)?),
            "steps" => o.steps = Some(whole(k, &value)?),
            "lstm" => o.lstm = Some(whole(k, &value)?),
            "read" => o.read = Some(whole(k, &value)?),
            "write" => o.write = Some(whole(k, &value)?),
            "attention" => {
                o.attention = Some(
                    value
                        .extract()
                        .map_err(|_| invalid("attention must be True or False"))?,
                )
            }
            "clip_norm" => o.clip_norm = Some(real(k, &value)?),
            "epochs" => o.epochs = Some(whole(k, &value)?),
            "batch_size" => o.batch_size = Some(whole(k, &value)?),
            "seed" => o.seed = Some(whole(k, &value)? as u64),
            "hidden" => o.hidden = Some(widths(k, &value)?),
            "top_hidden" => o.top_hidden = Some(widths(k, &value)?),
            "classifier_hidden" => o.classifier_hidden = Some(widths(k, &value)?),
            "alpha" => o.alpha = Some(real(k, &value)?),
            "feature_weight" => o.feature_weight = Some(real(k, &value)?),
            "equilibrium_margin" => o.equilibrium_margin = Some(real(k, &value)?),
            "real_weight" => o.real_weight = Some(real(k, &value)?),
            "active_threshold" => o.active_threshold = Some(real(k, &value)?),
            "init_std" => o.init_std = Some(real(k, &value)?),
            "lr" => o.lr = Some(real(k, &value)?),
            "weight_decay" => o.weight_decay = Some(real(k, &value)?),
            "lr_gamma" => o.lr_gamma = Some(real(k, &value)?),
            "eps" => o.eps = Some(real(k, &value)?),
            "beta" => o.beta = Some(real(k, &value)?),
            "kl_warmup" => o.kl_warmup = Some(real(k, &value)?),
            "free_bits" => o.free_bits = Some(real(k, &value)?),
            "layers" => {
                let json: String = value
                    .extract()
                    .map_err(|_| invalid("layers must be the layer lists as JSON text"))?;
                o.layers = Some(LayerLists::from_json(json.as_bytes()).py()?);
            }
            _ => return Err(invalid(format!("unknown option {key}"))),
        }
    }
    Ok(o)
}

fn choice<T: Choice>(option: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let text: String = value.extract().map_err(|_| {
        invalid(format!(
            "{option} must be a string: one of {}",
            T::NAMES.join(", ")
        ))
    })?;
    parse_choice(option, &text, Spelling::Keywords).py()
}

fn whole(option: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(format!(
            "{option} must be a whole number; got a bool"
        )));
    }
    value
        .extract()
        .map_err(|_| invalid(format!("{option} must be a whole number ≥ 0; got {value}")))
}

fn real(option: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    let v: f64 = value
        .extract()
        .map_err(|_| invalid(format!("{option} must be a number; got {value}")))?;
    if !v.is_finite() {
        return Err(invalid(format!("{option} must be finite; got {v}")));
    }
    Ok(v)
}

fn widths(option: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    if value.is_instance_of::<pyo3::types::PyString>() {
        return Err(invalid(format!(
            "{option} must be a list of widths, like [400]"
        )));
    }
    value.extract().map_err(|_| {
        invalid(format!(
            "{option} must be a list of whole numbers, like [400]; got {value}"
        ))
    })
}
