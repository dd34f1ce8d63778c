//! The layer list: how `config.json` writes a network, one entry per layer.
//!
//! ```json
//! [
//!   {"type": "linear", "name": "hidden.0", "out": 400},
//!   {"type": "relu"},
//!   {"type": "linear", "name": "hidden.1", "out": 200},
//!   {"type": "tanh"}
//! ]
//! ```
//!
//! A list is a network's body: the model adds the head its distribution needs (the encoder's
//! `mean`/`log_var`, the decoder's `output`, the classifier's `output`). `name` places a layer's
//! weights in the checkpoint (`encoder.hidden.0.weight`); without it the n-th layer with weights is
//! `hidden.n`, as `--hidden` writes it. Shapes are per image: `flatten` turns `[c, h, w]` into
//! `[c·h·w]`, `reshape` the other way; neither moves data.

use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use serde::{Deserialize, Serialize};

/// One entry of a layer list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerSpec {
    /// `y = x · Wᵀ + b`, weight `[out, in]` as `torch.nn.Linear`.
    Linear {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        out: usize,
    },
    Relu,
    Tanh,
    /// log(1 + e^x).
    Softplus,
    /// `[d0, d1, ...]` to `[d0 · d1 · ...]`.
    Flatten,
    /// A flat (or any) shape to `shape`, with the same number of values.
    Reshape {
        shape: Vec<usize>,
    },
}

impl LayerSpec {
    /// The activation this entry applies, if it is an activation layer.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            LayerSpec::Relu => Some(Activation::Relu),
            LayerSpec::Tanh => Some(Activation::Tanh),
            LayerSpec::Softplus => Some(Activation::Softplus),
            _ => None,
        }
    }

    pub fn of_activation(activation: Activation) -> Option<LayerSpec> {
        match activation {
            Activation::Relu => Some(LayerSpec::Relu),
            Activation::Tanh => Some(LayerSpec::Tanh),
            Activation::Softplus => Some(LayerSpec::Softplus),
            Activation::Identity => None,
        }
    }

    /// The kind as written in the list (`linear`, `relu`, ...), for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Relu => "relu",
            LayerSpec::Tanh => "tanh",
            LayerSpec::Softplus => "softplus",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Reshape { .. } => "reshape",
        }
    }
}

/// The `--hidden` shorthand: `linear hidden.i` of each width, each followed by `activation`.
pub fn mlp(hidden: &[usize], activation: Activation) -> Vec<LayerSpec> {
    let mut layers = Vec::with_capacity(2 * hidden.len());
    for (i, &out) in hidden.iter().enumerate() {
        layers.push(LayerSpec::Linear {
            name: Some(format!("hidden.{i}")),
            out,
        });
        layers.extend(LayerSpec::of_activation(activation));
    }
    layers
}

/// The widths of a list's linear layers when it is an MLP written by `mlp` (for descriptions and
/// FLOP counts of the familiar kind); `None` for any other list.
pub fn mlp_widths(layers: &[LayerSpec]) -> Option<(Vec<usize>, Option<Activation>)> {
    let mut widths = Vec::new();
    let mut activation = None;
    for pair in layers.chunks(2) {
        match pair {
            [LayerSpec::Linear { out, .. }, act] if act.activation().is_some() => {
                if activation.is_some_and(|a| Some(a) != act.activation()) {
                    return None;
                }
                activation = act.activation();
                widths.push(*out);
            }
            _ => return None,
        }
    }
    Some((widths, activation))
}

/// A short human description: `400 relu` for an MLP, else the kinds in order.
pub fn describe(layers: &[LayerSpec]) -> String {
    match mlp_widths(layers) {
        Some((widths, _)) if widths.is_empty() => "no hidden layers".into(),
        Some((widths, Some(activation))) => {
            let widths: Vec<String> = widths.iter().map(|w| w.to_string()).collect();
            format!("{} {activation:?}", widths.join("-")).to_lowercase()
        }
        _ => layers
            .iter()
            .map(|l| match l {
                LayerSpec::Linear { out, .. } => format!("linear {out}"),
                LayerSpec::Reshape { shape } => format!("reshape {shape:?}"),
                other => other.kind().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Checks what can be checked without shapes: widths, names unique and not taken by a head.
pub fn validate(layers: &[LayerSpec], network: &str, reserved: &[&str]) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    let mut linear = 0;
    for (i, layer) in layers.iter().enumerate() {
        let at = || format!("{network} layer {i} ({})", layer.kind());
        match layer {
            LayerSpec::Linear { name, out } => {
                if *out == 0 {
                    return Err(Error::Config(format!("{}: out must be at least 1", at())));
                }
                let name = name.clone().unwrap_or_else(|| format!("hidden.{linear}"));
                linear += 1;
                let valid = !name.is_empty()
                    && name.split('.').all(|part| {
                        !part.is_empty()
                            && part
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    });
                if !valid {
                    return Err(Error::Config(format!(
                        "{}: name {name:?} must be dot-separated words of letters, digits, _ or -",
                        at()
                    )));
                }
                if reserved.contains(&name.as_str()) || names.contains(&name) {
                    return Err(Error::Config(format!(
                        "{}: name {name:?} is already taken in the {network}",
                        at()
                    )));
                }
                names.push(name);
            }
            LayerSpec::Reshape { shape } if shape.is_empty() || shape.contains(&0) => {
                return Err(Error::Config(format!(
                    "{}: shape {shape:?} must be non-empty with no zero dimension",
                    at()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mlp_shorthand_round_trips_through_json() {
        let layers = mlp(&[400, 200], Activation::Tanh);
        let json = serde_json::to_string(&layers).unwrap();
        assert_eq!(
            json,
            r#"[{"type":"linear","name":"hidden.0","out":400},{"type":"tanh"},{"type":"linear","name":"hidden.1","out":200},{"type":"tanh"}]"#
        );
        let back: Vec<LayerSpec> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, layers);
        assert_eq!(
            mlp_widths(&back),
            Some((vec![400, 200], Some(Activation::Tanh)))
        );
        assert_eq!(describe(&back), "400-200 tanh");
    }

    #[test]
    fn unknown_kinds_and_fields_are_refused() {
        assert!(serde_json::from_str::<LayerSpec>(r#"{"type":"conv9"}"#).is_err());
        assert!(serde_json::from_str::<LayerSpec>(r#"{"type":"linear","out":3,"x":1}"#).is_err());
    }

    #[test]
    fn duplicate_and_reserved_names_are_refused() {
        let twice = vec![
            LayerSpec::Linear {
                name: Some("a".into()),
                out: 3,
            },
            LayerSpec::Linear {
                name: Some("a".into()),
                out: 3,
            },
        ];
        let err = validate(&twice, "encoder", &[]).unwrap_err().to_string();
        assert!(err.contains("encoder layer 1 (linear)"), "{err}");
        let head = vec![LayerSpec::Linear {
            name: Some("mean".into()),
            out: 3,
        }];
        assert!(validate(&head, "encoder", &["mean", "log_var"]).is_err());
        let zero = vec![LayerSpec::Linear { name: None, out: 0 }];
        assert!(validate(&zero, "decoder", &[]).is_err());
    }
}
