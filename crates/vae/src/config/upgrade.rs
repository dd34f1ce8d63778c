//! Older `config.json` formats rewritten as the current one before parsing, so every run directory
//! ever written keeps loading.
//!
//! Format 1 described every network as an MLP: `hidden` widths and one `activation` for the encoder
//! (the decoder mirrored them), `classifier_hidden` for M2's classifier. Format 2 writes layer
//! lists; the same `--hidden` shorthand produces the same parameter names and shapes, so format-1
//! weights load unchanged.

use super::RunConfig;
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use crate::nn::spec::mlp;
use serde_json::{Map, Value};

fn field<T: serde::de::DeserializeOwned>(
    object: &Map<String, Value>,
    key: &str,
    default: Option<T>,
) -> Result<T> {
    match (object.get(key), default) {
        (Some(v), _) => serde_json::from_value(v.clone())
            .map_err(|e| Error::Config(format!("format 1 `{key}`: {e}"))),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(Error::Config(format!("format 1 config has no `{key}`"))),
    }
}

fn to_value(layers: Vec<crate::nn::LayerSpec>) -> Result<Value> {
    serde_json::to_value(layers).map_err(|e| Error::Config(e.to_string()))
}

fn format_of(value: &Value) -> Option<u64> {
    value.get("format").and_then(Value::as_u64)
}

/// A model's `config.json` in the current format (unchanged when it already is, or when its
/// format is unknown: validation names that).
pub fn run_config(mut value: Value) -> Result<Value> {
    if format_of(&value) != Some(1) {
        return Ok(value);
    }
    let Some(model) = value.get_mut("model").and_then(Value::as_object_mut) else {
        return Err(Error::Config("format 1 config has no `model`".into()));
    };
    let hidden: Vec<usize> = field(model, "hidden", None)?;
    let activation: Activation = field(model, "activation", None)?;
    let classifier_hidden: Vec<usize> = field(model, "classifier_hidden", Some(Vec::new()))?;
    let is_m2 = model.get("kind").and_then(Value::as_str) == Some("m2");
    let reversed: Vec<usize> = hidden.iter().rev().copied().collect();
    for key in ["hidden", "activation", "classifier_hidden"] {
        model.remove(key);
    }
    model.insert("encoder".into(), to_value(mlp(&hidden, activation))?);
    model.insert("decoder".into(), to_value(mlp(&reversed, activation))?);
    if is_m2 {
        model.insert(
            "classifier".into(),
            to_value(mlp(&classifier_hidden, activation))?,
        );
    }
    value["format"] = Value::from(RunConfig::FORMAT);
    Ok(value)
}

/// A reference classifier's `config.json` in the current format.
pub fn classifier_run_config(mut value: Value) -> Result<Value> {
    if format_of(&value) != Some(1) {
        return Ok(value);
    }
    let Some(classifier) = value.get_mut("classifier").and_then(Value::as_object_mut) else {
        return Err(Error::Config("format 1 config has no `classifier`".into()));
    };
    let hidden: Vec<usize> = field(classifier, "hidden", None)?;
    let activation: Activation = field(classifier, "activation", None)?;
    classifier.remove("hidden");
    classifier.remove("activation");
    classifier.insert("layers".into(), to_value(mlp(&hidden, activation))?);
    value["format"] = Value::from(RunConfig::FORMAT);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, ModelKind};

    #[test]
    fn a_format_1_m2_config_becomes_layer_lists() -> Result<()> {
        let old = serde_json::json!({
            "format": 1,
            "dataset": "mnist",
            "model": {
                "kind": "m2", "image": {"height": 28, "width": 28, "channels": 1},
                "hidden": [500, 300], "latent": 50, "classes": 10,
                "classifier_hidden": [100], "activation": "softplus",
                "likelihood": "bernoulli"
            },
            "train": {"epochs": 1, "batch_size": 100,
                      "optimizer": {"kind": "adam", "lr": 0.001, "weight_decay": 0.0},
                      "seed": 0, "binarize": "dynamic", "samples": 1}
        });
        let config = RunConfig::from_json(old.to_string().as_bytes())?;
        config.validate()?;
        assert_eq!(config.format, RunConfig::FORMAT);
        let expected = ModelConfig {
            kind: ModelKind::M2,
            latent: 50,
            classes: 10,
            classifier: Some(mlp(&[100], Activation::Softplus)),
            ..ModelConfig::default()
        }
        .with_mlp(&[500, 300], Activation::Softplus);
        assert_eq!(config.model, expected);
        Ok(())
    }

    #[test]
    fn a_format_1_config_without_hidden_is_an_error() {
        let old = serde_json::json!({"format": 1, "model": {"activation": "relu"}});
        let err = run_config(old).unwrap_err().to_string();
        assert!(err.contains("hidden"), "{err}");
    }
}
