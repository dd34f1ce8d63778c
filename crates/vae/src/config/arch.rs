//! Named architectures a user can ask for by name (`--arch mlp|conv`), written out as the layer
//! lists stored in `config.json`: after that, a preset is a list like any hand-written one.

use super::image::ImageShape;
use crate::error::{Error, Result};
use crate::kernels::elementwise::Activation;
use crate::nn::spec::{self, LayerSpec};

/// Stride-2 stages stop once the smaller side is at most this.
const SMALLEST_SIDE: usize = 4;
/// Channels of the first stage, doubled at each stage up to `MAX_CHANNELS`.
const FIRST_CHANNELS: usize = 32;
const MAX_CHANNELS: usize = 256;

/// The convolutional preset for `image`: stride-2 convolutions (4 x 4 kernels, padding 1, which
/// halve each side exactly) with 32, 64, 128, 256 channels while both sides are even and the
/// smaller above 4 (28 x 28 -> 14 -> 7; Frey's 20 x 28 -> 10 x 14 -> 5 x 7; 32 -> 16 -> 8 -> 4;
/// 64 -> ... -> 4), then dense layers of `hidden` widths to the latent. The decoder mirrors it:
/// dense layers from the latent to the last stage's shape, then transposed convolutions that
/// double each side, the last one to the image's channels, giving the logits directly (no dense
/// head). Every product but the last is followed by `activation`.
pub fn conv(
    image: ImageShape,
    hidden: &[usize],
    activation: Activation,
) -> Result<(Vec<LayerSpec>, Vec<LayerSpec>)> {
    let (mut height, mut width) = (image.height, image.width);
    let mut channels = Vec::new();
    while height % 2 == 0 && width % 2 == 0 && height.min(width) > SMALLEST_SIDE {
        channels.push((FIRST_CHANNELS << channels.len()).min(MAX_CHANNELS));
        height /= 2;
        width /= 2;
    }
    let Some(&last) = channels.last() else {
        return Err(Error::Config(format!(
            "the conv preset halves even image sides down to {SMALLEST_SIDE}; a {image} image has none to halve: resize the images (a folder data set's --size, size= in Python) or write the layers by hand (--layers, layers= in Python)"
        )));
    };
    let act = LayerSpec::of_activation(activation);
    let stage = |name: String, out: usize, transposed: bool| {
        if transposed {
            LayerSpec::ConvTranspose2d {
                name: Some(name),
                out,
                kernel: 4,
                stride: 2,
                padding: 1,
                output_padding: 0,
            }
        } else {
            LayerSpec::Conv2d {
                name: Some(name),
                out,
                kernel: 4,
                stride: 2,
                padding: 1,
            }
        }
    };

    let mut encoder = Vec::new();
    for (i, &out) in channels.iter().enumerate() {
        encoder.push(stage(format!("conv.{i}"), out, false));
        encoder.extend(act.clone());
    }
    encoder.push(LayerSpec::Flatten);
    encoder.extend(spec::mlp(hidden, activation));

    let reversed: Vec<usize> = hidden.iter().rev().copied().collect();
    let mut decoder = spec::mlp(&reversed, activation);
    decoder.push(LayerSpec::Linear {
        name: Some(format!("hidden.{}", hidden.len())),
        out: height * width * last,
    });
    decoder.extend(act.clone());
    decoder.push(LayerSpec::Reshape {
        shape: vec![height, width, last],
    });
    for i in (0..channels.len()).rev() {
        let out = if i == 0 {
            image.channels
        } else {
            channels[i - 1]
        };
        decoder.push(stage(
            format!("deconv.{}", channels.len() - 1 - i),
            out,
            true,
        ));
        if i > 0 {
            decoder.extend(act.clone());
        }
    }
    Ok((encoder, decoder))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(height: usize, width: usize, channels: usize) -> ImageShape {
        ImageShape {
            height,
            width,
            channels,
        }
    }

    /// Follows `list` from `shape` with PyTorch's output-size rules, written out here.
    fn torch_shapes(list: &[LayerSpec], mut shape: Vec<usize>) -> Vec<Vec<usize>> {
        let mut shapes = Vec::new();
        for layer in list {
            shape = match layer {
                LayerSpec::Conv2d {
                    out,
                    kernel,
                    stride,
                    padding,
                    ..
                } => {
                    let side = |n: usize| (n + 2 * padding - kernel) / stride + 1;
                    vec![side(shape[0]), side(shape[1]), *out]
                }
                LayerSpec::ConvTranspose2d {
                    out,
                    kernel,
                    stride,
                    padding,
                    output_padding,
                    ..
                } => {
                    let side = |n: usize| (n - 1) * stride - 2 * padding + kernel + output_padding;
                    vec![side(shape[0]), side(shape[1]), *out]
                }
                other => other.plan(&shape).expect("a valid list").shape,
            };
            shapes.push(shape.clone());
        }
        shapes
    }

    #[test]
    fn the_conv_preset_adapts_to_each_image_shape() -> Result<()> {
        for (img, stages, smallest) in [
            (image(28, 28, 1), 2, [7, 7, 64]),
            (image(20, 28, 1), 2, [5, 7, 64]),
            (image(32, 32, 3), 3, [4, 4, 128]),
            (image(64, 64, 3), 4, [4, 4, 256]),
        ] {
            let (encoder, decoder) = conv(img, &[300], Activation::Relu)?;
            let convs = encoder.iter().filter(|l| l.reads_image()).count();
            assert_eq!(convs, stages, "{img}");
            let input = vec![img.height, img.width, img.channels];
            let shapes = torch_shapes(&encoder, input.clone());
            assert!(shapes.contains(&smallest.to_vec()), "{img}: {shapes:?}");
            assert_eq!(shapes.last(), Some(&vec![300]));
            // The decoder ends on the image's own shape, so it needs no dense head.
            let shapes = torch_shapes(&decoder, vec![20]);
            assert_eq!(shapes.last(), Some(&input), "{img}");
            // Our planner agrees with PyTorch's rules at every layer.
            let mut shape = input;
            for (layer, expected) in encoder.iter().zip(torch_shapes(&encoder, shape.clone())) {
                shape = layer.plan(&shape).expect("plans").shape;
                assert_eq!(shape, expected);
            }
        }
        assert!(conv(image(27, 27, 1), &[300], Activation::Relu).is_err());
        Ok(())
    }
}
