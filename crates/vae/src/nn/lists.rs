//! Whole layer lists: the `--hidden` shorthand and back, a list in words, and the checks a list
//! must pass before it is built.

use super::spec::LayerSpec;
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;

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
                LayerSpec::LeakyRelu { slope } => format!("leaky_relu {slope}"),
                LayerSpec::Conv2d {
                    out,
                    kernel,
                    stride,
                    ..
                } => format!("conv {out}x{kernel}/{stride}"),
                LayerSpec::ConvTranspose2d {
                    out,
                    kernel,
                    stride,
                    ..
                } => format!("deconv {out}x{kernel}/{stride}"),
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
        if layer.has_weights() {
            let (out, kernel, stride, output_padding) = match layer {
                LayerSpec::Conv2d {
                    out,
                    kernel,
                    stride,
                    ..
                } => (*out, *kernel, *stride, 0),
                LayerSpec::ConvTranspose2d {
                    out,
                    kernel,
                    stride,
                    output_padding,
                    ..
                } => (*out, *kernel, *stride, *output_padding),
                LayerSpec::Linear { out, .. } => (*out, 1, 1, 0),
                _ => (1, 1, 1, 0),
            };
            if out == 0 || kernel == 0 || stride == 0 {
                return Err(Error::Config(format!(
                    "{}: out, kernel and stride must be at least 1",
                    at()
                )));
            }
            if output_padding >= stride {
                return Err(Error::Config(format!(
                    "{}: output_padding {output_padding} must be below the stride {stride}",
                    at()
                )));
            }
            let name = layer
                .name()
                .map_or_else(|| format!("hidden.{linear}"), str::to_string);
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
        match layer {
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
