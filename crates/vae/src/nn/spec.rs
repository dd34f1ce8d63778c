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
//! `hidden.n`, as `--hidden` writes it. Shapes are per image; an image is `[height, width,
//! channels]`, channel-last, as images are stored. `flatten` turns `[h, w, c]` into `[h·w·c]`,
//! `reshape` the other way; neither moves data. Convolutions read and write images:
//!
//! ```json
//! {"type": "conv2d", "out": 32, "kernel": 4, "stride": 2, "padding": 1}
//! {"type": "conv_transpose2d", "out": 1, "kernel": 4, "stride": 2, "padding": 1}
//! ```

use crate::kernels::conv::ConvGeometry;
use crate::kernels::elementwise::Activation;
use serde::{Deserialize, Serialize};

/// One entry of a layer list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerSpec {
    /// `y = x · Wᵀ + b`, weight `[out, in]` as `torch.nn.Linear`.
    Linear {
        /// The parameters' name in the checkpoint (`hidden.N` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Output units.
        out: usize,
    },
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
    /// log(1 + e^x).
    Softplus,
    /// `x` where `x > 0`, `slope · x` elsewhere (`torch.nn.LeakyReLU(slope)`); `slope` in [0, 1).
    #[serde(rename = "leaky_relu")]
    LeakyRelu {
        /// The negative side's slope (0.2 in DCGAN's discriminator).
        slope: f64,
    },
    /// Batch normalization over the last axis: `torch.nn.BatchNorm1d` on flat rows,
    /// `torch.nn.BatchNorm2d` on images (momentum 0.1, ε 1e-5, learned scale and shift).
    #[serde(rename = "batch_norm")]
    BatchNorm {
        /// The parameters' name in the checkpoint (`hidden.N` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// `[d0, d1, ...]` to `[d0 · d1 · ...]`.
    Flatten,
    /// A flat (or any) shape to `shape`, with the same number of values.
    Reshape {
        /// The shape, channel-last.
        shape: Vec<usize>,
    },
    /// `torch.nn.Conv2d(in, out, kernel, stride, padding)`: square kernel, weight `[out, in, k,
    /// k]`; the output is `⌊(in + 2 padding − kernel) / stride⌋ + 1` per side.
    Conv2d {
        /// The parameters' name in the checkpoint (`hidden.N` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Output channels.
        out: usize,
        /// The kernel's side.
        kernel: usize,
        /// The step between positions (1 by default).
        #[serde(default = "one")]
        stride: usize,
        /// Zeros added on each border (0 by default).
        #[serde(default)]
        padding: usize,
    },
    /// `torch.nn.ConvTranspose2d(in, out, kernel, stride, padding, output_padding)`: weight `[in,
    /// out, k, k]`; the output is `(in − 1) stride − 2 padding + kernel + output_padding` per side.
    #[serde(rename = "conv_transpose2d")]
    ConvTranspose2d {
        /// The parameters' name in the checkpoint (`hidden.N` when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// Output channels.
        out: usize,
        /// The kernel's side.
        kernel: usize,
        /// The step between input positions on the output (1 by default).
        #[serde(default = "one")]
        stride: usize,
        /// Rows and columns taken off each border of the output (0 by default).
        #[serde(default)]
        padding: usize,
        /// Rows and columns added at the bottom and right of the output (0 by default), as
        /// PyTorch's `output_padding`.
        #[serde(default, skip_serializing_if = "is_zero")]
        output_padding: usize,
    },
}

fn one() -> usize {
    1
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

impl LayerSpec {
    /// The activation this entry applies, if it is an activation layer.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            LayerSpec::Relu => Some(Activation::Relu),
            LayerSpec::Tanh => Some(Activation::Tanh),
            LayerSpec::Softplus => Some(Activation::Softplus),
            LayerSpec::LeakyRelu { slope } => Some(Activation::LeakyRelu(*slope as f32)),
            _ => None,
        }
    }

    /// The list entry of an activation, `None` for the identity.
    pub fn of_activation(activation: Activation) -> Option<LayerSpec> {
        match activation {
            Activation::Relu => Some(LayerSpec::Relu),
            Activation::Tanh => Some(LayerSpec::Tanh),
            Activation::Softplus => Some(LayerSpec::Softplus),
            Activation::LeakyRelu(slope) => Some(LayerSpec::LeakyRelu {
                slope: f64::from(slope),
            }),
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
            LayerSpec::LeakyRelu { .. } => "leaky_relu",
            LayerSpec::BatchNorm { .. } => "batch_norm",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Reshape { .. } => "reshape",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::ConvTranspose2d { .. } => "conv_transpose2d",
        }
    }

    /// The name given to a layer with weights, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            LayerSpec::Linear { name, .. }
            | LayerSpec::Conv2d { name, .. }
            | LayerSpec::ConvTranspose2d { name, .. }
            | LayerSpec::BatchNorm { name } => name.as_deref(),
            _ => None,
        }
    }

    /// Whether this entry has weights.
    pub fn has_weights(&self) -> bool {
        matches!(
            self,
            LayerSpec::Linear { .. }
                | LayerSpec::Conv2d { .. }
                | LayerSpec::ConvTranspose2d { .. }
                | LayerSpec::BatchNorm { .. }
        )
    }

    /// Whether this entry reads an image `[height, width, channels]`.
    pub fn reads_image(&self) -> bool {
        matches!(
            self,
            LayerSpec::Conv2d { .. } | LayerSpec::ConvTranspose2d { .. }
        )
    }

    /// What this entry makes of an input of `shape`: the output shape and the parameters it holds,
    /// or why it cannot read that shape. Building a network and counting its parameters from the
    /// configuration both follow this.
    pub fn plan(&self, shape: &[usize]) -> std::result::Result<Plan, String> {
        let flat = || match shape {
            [width] => Ok(*width),
            _ => Err(format!(
                "needs a flat input, got {shape:?}: put a {{\"type\": \"flatten\"}} layer before it"
            )),
        };
        let image = || {
            match shape {
            [h, w, c] => Ok((*h, *w, *c)),
            _ => Err(format!(
                "needs an image input [height, width, channels], got {shape:?}: put a {{\"type\": \"reshape\", \"shape\": [h, w, c]}} layer before it"
            )),
        }
        };
        let overflow = || format!("{shape:?} makes sizes beyond 2^64");
        let linear_params = |fan_in: usize, out: usize, k: usize| {
            fan_in
                .checked_mul(out)
                .and_then(|p| p.checked_mul(k * k))
                .and_then(|p| p.checked_add(out))
                .ok_or_else(overflow)
        };
        Ok(match self {
            LayerSpec::Linear { out, .. } => Plan {
                shape: vec![*out],
                parameters: linear_params(flat()?, *out, 1)?,
                geometry: None,
            },
            LayerSpec::Relu | LayerSpec::Tanh | LayerSpec::Softplus => Plan::view(shape.to_vec()),
            LayerSpec::LeakyRelu { slope } => {
                if !(0.0..1.0).contains(slope) {
                    return Err(format!("the slope must lie in [0, 1), got {slope}"));
                }
                Plan::view(shape.to_vec())
            }
            LayerSpec::BatchNorm { .. } => {
                let channels = *shape.last().unwrap_or(&0);
                Plan {
                    shape: shape.to_vec(),
                    // weight, bias, running_mean, running_var and num_batches_tracked.
                    parameters: channels
                        .checked_mul(4)
                        .and_then(|p| p.checked_add(1))
                        .ok_or_else(overflow)?,
                    geometry: None,
                }
            }
            LayerSpec::Flatten => Plan::view(vec![shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(overflow)?]),
            LayerSpec::Reshape { shape: to } => {
                let count = |s: &[usize]| s.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                let (from, into) = (count(shape), count(to));
                if from.is_none() || from != into {
                    return Err(format!(
                        "{shape:?} ({} values) cannot be viewed as {to:?} ({} values)",
                        from.map_or("too many".into(), |n| n.to_string()),
                        into.map_or("too many".into(), |n| n.to_string())
                    ));
                }
                Plan::view(to.clone())
            }
            LayerSpec::Conv2d {
                out,
                kernel,
                stride,
                padding,
                ..
            } => {
                let (h, w, c) = image()?;
                let g = ConvGeometry::new((h, w, c), *kernel, *stride, *padding)
                    .map_err(|e| e.to_string().replace("invalid argument: ", ""))?;
                Plan {
                    shape: vec![g.out_height, g.out_width, *out],
                    parameters: linear_params(c, *out, *kernel)?,
                    geometry: Some(g),
                }
            }
            LayerSpec::ConvTranspose2d {
                out,
                kernel,
                stride,
                padding,
                output_padding,
                ..
            } => {
                let (h, w, c) = image()?;
                let side = |n: usize| {
                    n.checked_sub(1)?
                        .checked_mul(*stride)?
                        .checked_add(*kernel)?
                        .checked_add(*output_padding)?
                        .checked_sub(padding.checked_mul(2)?)
                        .filter(|&s| s > 0)
                };
                let (Some(oh), Some(ow)) = (side(h), side(w)) else {
                    return Err(format!(
                        "a {h}x{w} input with kernel {kernel}, stride {stride} and padding {padding} has no output"
                    ));
                };
                // The geometry of the convolution this layer is the adjoint of, over the output.
                let g = ConvGeometry::new((oh, ow, *out), *kernel, *stride, *padding)
                    .map_err(|e| e.to_string().replace("invalid argument: ", ""))?;
                if (g.out_height, g.out_width) != (h, w) {
                    return Err(format!(
                        "output_padding {output_padding} must be below the stride {stride}"
                    ));
                }
                Plan {
                    shape: vec![oh, ow, *out],
                    parameters: linear_params(*out, c, *kernel)?,
                    geometry: Some(g),
                }
            }
        })
    }
}

/// What a layer-list entry makes of its input shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The output shape per image.
    pub shape: Vec<usize>,
    /// Weights and biases it holds.
    pub parameters: usize,
    /// For a convolution, the field over its input (over its output, for a transposed one).
    pub geometry: Option<ConvGeometry>,
}

impl Plan {
    fn view(shape: Vec<usize>) -> Self {
        Plan {
            shape,
            parameters: 0,
            geometry: None,
        }
    }
}

pub use super::lists::{describe, mlp, mlp_widths, validate};

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
