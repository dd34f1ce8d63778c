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

/// DCGAN's discriminator slope (Radford et al. 2016, Sec. 3: "the slope of the leak was set to
/// 0.2 in all models").
pub const DCGAN_LEAK: f64 = 0.2;
/// Channels of DCGAN's full-resolution stage, doubled at each stage.
const DCGAN_CHANNELS: usize = 64;
/// At most this many stride-2 stages (64 x 64 -> 4 x 4).
const DCGAN_STAGES: u32 = 4;

/// DCGAN (Radford et al. 2016) adapted to `image`: `s` stride-2 stages, the most (up to 4) that
/// keep both sides whole and at least 4 (28 x 28 -> 7 x 7; Frey's 28 x 20 -> 7 x 5; 32 -> 4;
/// 64 -> 4). The generator projects z with a dense layer onto the last stage's shape (the
/// paper's "project and reshape"), then transposed convolutions (4 x 4, stride 2, padding 1)
/// halve the channels and double the sides, batch normalization and ReLU after each but the
/// last, which gives the image's logits (sigmoid where the paper has tanh: the images here are
/// in [0, 1]). The discriminator mirrors it with stride-2 convolutions and Leaky ReLU (0.2),
/// batch normalization after all but the first, then the flattened features into one logit.
/// Returns (generator, discriminator).
pub fn dcgan(image: ImageShape) -> Result<(Vec<LayerSpec>, Vec<LayerSpec>)> {
    let stages = (1..=DCGAN_STAGES)
        .rev()
        .find(|&s| {
            let f = 1usize << s;
            image.height.is_multiple_of(f) && image.width.is_multiple_of(f) && image.height.min(image.width) / f >= SMALLEST_SIDE
        })
        .ok_or_else(|| {
            Error::Config(format!(
                "the dcgan preset halves the image sides with stride-2 stages down to at least {SMALLEST_SIDE}; a {image} image allows none: resize the images or write the layers by hand"
            ))
        })? as usize;
    let (h, w) = (image.height >> stages, image.width >> stages);
    let channels = |stage: usize| DCGAN_CHANNELS << stage;
    let conv = |out: usize, transposed: bool| {
        if transposed {
            LayerSpec::ConvTranspose2d {
                name: None,
                out,
                kernel: 4,
                stride: 2,
                padding: 1,
                output_padding: 0,
            }
        } else {
            LayerSpec::Conv2d {
                name: None,
                out,
                kernel: 4,
                stride: 2,
                padding: 1,
            }
        }
    };
    let deepest = channels(stages - 1);
    let mut generator = vec![
        LayerSpec::Linear {
            name: None,
            out: h * w * deepest,
        },
        LayerSpec::Reshape {
            shape: vec![h, w, deepest],
        },
        LayerSpec::BatchNorm { name: None },
        LayerSpec::Relu,
    ];
    for stage in (0..stages - 1).rev() {
        generator.extend([
            conv(channels(stage), true),
            LayerSpec::BatchNorm { name: None },
            LayerSpec::Relu,
        ]);
    }
    generator.push(conv(image.channels, true));
    let leak = LayerSpec::LeakyRelu { slope: DCGAN_LEAK };
    let mut discriminator = vec![conv(channels(0), false), leak.clone()];
    for stage in 1..stages {
        discriminator.extend([
            conv(channels(stage), false),
            LayerSpec::BatchNorm { name: None },
            leak.clone(),
        ]);
    }
    discriminator.push(LayerSpec::Flatten);
    Ok((generator, discriminator))
}

/// The dense GAN of Goodfellow et al. 2014 for MNIST: a generator of ReLU layers of `hidden`
/// widths (1200-1200 in their code) and a discriminator of two 240-unit layers, with Leaky ReLU
/// (0.2) in place of their maxout units. Returns (generator, discriminator).
pub fn gan(hidden: &[usize]) -> (Vec<LayerSpec>, Vec<LayerSpec>) {
    let generator = spec::mlp(hidden, Activation::Relu);
    let mut discriminator = Vec::new();
    for (i, &out) in GAN_DISCRIMINATOR.iter().enumerate() {
        discriminator.push(LayerSpec::Linear {
            name: Some(format!("hidden.{i}")),
            out,
        });
        discriminator.push(LayerSpec::LeakyRelu { slope: DCGAN_LEAK });
    }
    (generator, discriminator)
}

/// The dense discriminator's widths.
pub const GAN_DISCRIMINATOR: [usize; 2] = [240, 240];
/// The dense generator's widths when none are given.
pub const GAN_GENERATOR: [usize; 2] = [1200, 1200];

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
