//! Convolution and transposed convolution: forward results against a direct convolution written
//! here from PyTorch's definitions, gradients against f64 central differences at odd sizes, whole
//! convolutional VAEs (plain and conditional) against central differences, checkpoint names and
//! layouts, and shape errors that name the layer.

use super::gradients::{check_model_gradient, uniform};
use super::networks::{build_error, check_network, list, tiny_config};
use vae::config::{ImageShape, LikelihoodKind, ModelConfig};
use vae::data::Batch;
use vae::kernels::rng::{stream, Purpose};
use vae::nn::{LayerSpec, Network, NetworkBuffers, ParamBuilder, Parameters};
use vae::objective::{Elbo, Iwae};
use vae::scalar::Scalar;
use vae::{Model, ModelKind, Result, Trainable, Vae};

/// PyTorch's `Conv2d` on channel-last images, directly from its definition.
#[allow(clippy::too_many_arguments)]
fn direct_conv(
    x: &[f64],
    (n, h, w, c): (usize, usize, usize, usize),
    weight: &[f64],
    bias: &[f64],
    out: usize,
    (k, s, p): (usize, usize, usize),
) -> (Vec<f64>, (usize, usize)) {
    let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
    let mut y = vec![0.0; n * oh * ow * out];
    for i in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..out {
                    let mut sum = bias[co];
                    for ci in 0..c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = (oy * s + ky, ox * s + kx);
                                if iy < p || ix < p || iy - p >= h || ix - p >= w {
                                    continue;
                                }
                                let v = x[((i * h + iy - p) * w + ix - p) * c + ci];
                                sum += v * weight[((co * c + ci) * k + ky) * k + kx];
                            }
                        }
                    }
                    y[((i * oh + oy) * ow + ox) * out + co] = sum;
                }
            }
        }
    }
    (y, (oh, ow))
}

/// PyTorch's `ConvTranspose2d` on channel-last images: every input pixel spreads its weighted
/// kernel over the output, `out = (in − 1) stride − 2 padding + kernel + output_padding`.
#[allow(clippy::too_many_arguments)]
fn direct_conv_transpose(
    x: &[f64],
    (n, h, w, c): (usize, usize, usize, usize),
    weight: &[f64],
    bias: &[f64],
    out: usize,
    (k, s, p, op): (usize, usize, usize, usize),
) -> (Vec<f64>, (usize, usize)) {
    let (oh, ow) = ((h - 1) * s + k + op - 2 * p, (w - 1) * s + k + op - 2 * p);
    let mut y = vec![0.0; n * oh * ow * out];
    for i in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..out {
                    y[((i * oh + oy) * ow + ox) * out + co] = bias[co];
                }
            }
        }
        for iy in 0..h {
            for ix in 0..w {
                for ci in 0..c {
                    let v = x[((i * h + iy) * w + ix) * c + ci];
                    for ky in 0..k {
                        for kx in 0..k {
                            let (oy, ox) = (iy * s + ky, ix * s + kx);
                            if oy < p || ox < p || oy - p >= oh || ox - p >= ow {
                                continue;
                            }
                            for co in 0..out {
                                y[((i * oh + oy - p) * ow + ox - p) * out + co] +=
                                    v * weight[((ci * out + co) * k + ky) * k + kx];
                            }
                        }
                    }
                }
            }
        }
    }
    (y, (oh, ow))
}

/// One layer built alone, its forward output, and its weight and bias as stored.
fn run_layer(spec: &LayerSpec, in_shape: [usize; 3], n: usize) -> Result<LayerRun> {
    let mut params = Parameters::<f64>::default();
    let mut rng = stream(5, Purpose::Init, &[]);
    let mut b = ParamBuilder::new(&mut params, &mut rng);
    let net = Network::build(&mut b, "test", &in_shape, std::slice::from_ref(spec), None)?;
    let x = uniform(&mut rng, n * in_shape.iter().product::<usize>(), -1.0, 1.0);
    let mut buffers = NetworkBuffers::default();
    net.forward(params.values(), &x, n, &mut buffers)?;
    let tensor = |name: &str| {
        let entry = params
            .entries()
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no {name}"));
        (
            entry.shape.clone(),
            params.values()[entry.range.clone()].to_vec(),
        )
    };
    Ok(LayerRun {
        out_shape: net.out_shape().to_vec(),
        y: buffers.output().to_vec(),
        x,
        weight: tensor("hidden.0.weight"),
        bias: tensor("hidden.0.bias").1,
    })
}

struct LayerRun {
    out_shape: Vec<usize>,
    y: Vec<f64>,
    x: Vec<f64>,
    weight: (Vec<usize>, Vec<f64>),
    bias: Vec<f64>,
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 1e-12, "{what}[{i}]: {x} vs {y}");
    }
}

/// Non-square inputs, stride 1 and 2, padding 0 and 1, several channels, a batch of 3.
#[test]
fn forward_equals_the_direct_convolution() -> Result<()> {
    let n = 3;
    for (h, w, c, out, k, s, p) in [
        (7, 5, 3, 4, 3, 1, 0),
        (7, 6, 2, 3, 3, 2, 1),
        (5, 8, 1, 2, 4, 2, 1),
        (6, 6, 2, 5, 2, 2, 0),
        (4, 9, 3, 2, 1, 1, 0),
    ] {
        let spec = LayerSpec::Conv2d {
            name: None,
            out,
            kernel: k,
            stride: s,
            padding: p,
        };
        let run = run_layer(&spec, [h, w, c], n)?;
        assert_eq!(run.weight.0, [out, c, k, k], "Conv2d.weight layout");
        let (expected, (oh, ow)) = direct_conv(
            &run.x,
            (n, h, w, c),
            &run.weight.1,
            &run.bias,
            out,
            (k, s, p),
        );
        assert_eq!(run.out_shape, [oh, ow, out]);
        assert_close(
            &run.y,
            &expected,
            &format!("conv {h}x{w}x{c} k{k} s{s} p{p}"),
        );
    }
    for (h, w, c, out, k, s, p, op) in [
        (3, 4, 3, 2, 3, 2, 1, 1),
        (4, 3, 2, 3, 4, 2, 1, 0),
        (3, 3, 2, 2, 3, 1, 0, 0),
        (2, 5, 1, 4, 2, 2, 0, 0),
        (5, 2, 2, 1, 3, 2, 1, 0),
    ] {
        let spec = LayerSpec::ConvTranspose2d {
            name: None,
            out,
            kernel: k,
            stride: s,
            padding: p,
            output_padding: op,
        };
        let run = run_layer(&spec, [h, w, c], n)?;
        assert_eq!(
            run.weight.0,
            [c, out, k, k],
            "ConvTranspose2d.weight layout"
        );
        let (expected, (oh, ow)) = direct_conv_transpose(
            &run.x,
            (n, h, w, c),
            &run.weight.1,
            &run.bias,
            out,
            (k, s, p, op),
        );
        assert_eq!(run.out_shape, [oh, ow, out]);
        assert_close(
            &run.y,
            &expected,
            &format!("conv_transpose {h}x{w}x{c} k{k} s{s} p{p} op{op}"),
        );
    }
    Ok(())
}

/// Parameter and input gradients of convolution stacks against central differences: stride 1
/// and 2, padding 0 and 1, fused and standalone activations, a dense-to-image decoder shape.
#[test]
fn gradients_match_central_differences() -> Result<()> {
    check_network(
        "conv stack",
        &[7, 6, 2],
        &list(
            r#"[{"type": "conv2d", "out": 3, "kernel": 3, "stride": 2, "padding": 1}, {"type": "relu"},
                {"type": "conv2d", "out": 2, "kernel": 2}, {"type": "tanh"}, {"type": "softplus"}]"#,
        ),
        2,
    )?;
    check_network(
        "transposed stack",
        &[3, 4, 3],
        &list(
            r#"[{"type": "conv_transpose2d", "out": 2, "kernel": 4, "stride": 2, "padding": 1}, {"type": "softplus"},
                {"type": "conv2d", "out": 2, "kernel": 3, "stride": 2}]"#,
        ),
        2,
    )?;
    check_network(
        "dense to image",
        &[5],
        &list(
            r#"[{"type": "linear", "out": 12}, {"type": "tanh"}, {"type": "reshape", "shape": [2, 3, 2]},
                {"type": "conv_transpose2d", "out": 2, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1},
                {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out": 3}]"#,
        ),
        2,
    )
}

/// A convolutional VAE on 6 x 4 x 2 images: the encoder's convolutions, a decoder ending in a
/// transposed convolution of the image's shape (so no dense head), the whole negative ELBO and
/// IWAE bound against central differences; conditional, the label as constant planes.
#[test]
fn whole_convolutional_vaes() -> Result<()> {
    let encoder = list(
        r#"[{"type": "conv2d", "name": "conv.0", "out": 3, "kernel": 3, "stride": 2, "padding": 1}, {"type": "relu"},
            {"type": "flatten"}, {"type": "linear", "out": 5}, {"type": "tanh"}]"#,
    );
    let decoder = list(
        r#"[{"type": "linear", "out": 12}, {"type": "tanh"}, {"type": "reshape", "shape": [3, 2, 2]},
            {"type": "conv_transpose2d", "name": "deconv.0", "out": 2, "kernel": 4, "stride": 2, "padding": 1}]"#,
    );
    let image = ImageShape {
        height: 6,
        width: 4,
        channels: 2,
    };
    for (likelihood, classes) in [
        (LikelihoodKind::Gaussian, 0),
        (LikelihoodKind::Bernoulli, 0),
        (LikelihoodKind::Bernoulli, 3),
    ] {
        let config = ModelConfig {
            image,
            likelihood,
            classes,
            ..tiny_config(encoder.clone(), decoder.clone())
        };
        let mut model = Vae::<f64>::new(&config, 9)?;
        let shapes: Vec<(&str, &[usize])> = model
            .parameters()
            .entries()
            .iter()
            .map(|e| (e.name.as_str(), e.shape.as_slice()))
            .collect();
        assert!(shapes.contains(&("encoder.conv.0.weight", &[3, 2 + classes, 3, 3][..])));
        assert!(shapes.contains(&("decoder.deconv.0.weight", &[2, 2, 4, 4][..])));
        assert!(!shapes
            .iter()
            .any(|(name, _)| *name == "decoder.output.weight"));
        assert_eq!(config.parameter_count(), Some(model.parameters().len()));
        let rows = 3;
        let x = uniform(
            &mut stream(10, Purpose::Init, &[]),
            rows * image.len(),
            0.0,
            1.0,
        );
        let labels: &[u8] = if classes > 0 { &[2, 0, 1] } else { &[] };
        let batch = Batch::new(&x, labels, rows);
        let name = format!("conv vae {likelihood:?} classes {classes}");
        check_model_gradient(&name, &mut model, &Elbo::new(2), &batch, 11)?;
        check_model_gradient(
            &format!("{name} iwae"),
            &mut model,
            &Iwae::new(3),
            &batch,
            12,
        )?;
    }
    Ok(())
}

/// Shape errors are one line naming the layer: a kernel larger than its input, a convolution
/// reading a flat row, a reshape that does not divide, an output padding not below the stride.
#[test]
fn shape_errors_name_the_convolution() {
    let image = ImageShape {
        height: 6,
        width: 4,
        channels: 2,
    };
    let dense = list(r#"[{"type": "linear", "out": 4}, {"type": "relu"}]"#);
    let config = |encoder: &str, decoder: &str| ModelConfig {
        image,
        ..tiny_config(
            if encoder.is_empty() {
                dense.clone()
            } else {
                list(encoder)
            },
            if decoder.is_empty() {
                dense.clone()
            } else {
                list(decoder)
            },
        )
    };
    let cases = [
        (
            config(r#"[{"type": "conv2d", "out": 2, "kernel": 7}]"#, ""),
            "encoder layer 0 (conv2d): a 7x7 kernel does not fit a 6x4x2 input padded by 0",
        ),
        (
            config("", r#"[{"type": "conv2d", "out": 2, "kernel": 3}]"#),
            "decoder layer 0 (conv2d): needs an image input [height, width, channels], got [3]",
        ),
        (
            config(
                "",
                r#"[{"type": "linear", "out": 10}, {"type": "reshape", "shape": [3, 2, 2]}]"#,
            ),
            "decoder layer 1 (reshape): [10] (10 values) cannot be viewed as [3, 2, 2] (12 values)",
        ),
        (
            config(
                "",
                r#"[{"type": "linear", "out": 12}, {"type": "reshape", "shape": [3, 2, 2]},
                    {"type": "conv_transpose2d", "out": 2, "kernel": 4, "stride": 2, "output_padding": 2}]"#,
            ),
            "decoder layer 2 (conv_transpose2d): output_padding 2 must be below the stride 2",
        ),
        (
            config(
                r#"[{"type": "conv2d", "out": 2, "kernel": 3, "padding": 3}]"#,
                "",
            ),
            "encoder layer 0 (conv2d): padding 3 must be below the kernel size 3",
        ),
    ];
    for (config, expected) in cases {
        let err = build_error(&config);
        assert!(err.contains(expected), "{err}\nshould contain: {expected}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let m2 = ModelConfig {
        kind: ModelKind::M2,
        classes: 2,
        classifier: Some(dense.clone()),
        ..config(r#"[{"type": "conv2d", "out": 2, "kernel": 3}]"#, "")
    };
    assert!(build_error(&m2).contains("convolutional m2 encoder is not supported"));
    let _ = Model::<f32>::new(&config("", ""), 0).expect("the dense config builds");
}

/// Batches whose receptive fields exceed the layer's buffer budget run in blocks of images: the
/// forward results still equal the direct convolution, and the gradients of one call over 400
/// images equal those of two calls over its halves.
#[test]
fn large_batches_run_in_blocks() -> Result<()> {
    let n = 400;
    let conv = LayerSpec::Conv2d {
        name: None,
        out: 2,
        kernel: 4,
        stride: 1,
        padding: 0,
    };
    let run = run_layer(&conv, [16, 16, 8], n)?;
    let (expected, _) = direct_conv(
        &run.x,
        (n, 16, 16, 8),
        &run.weight.1,
        &run.bias,
        2,
        (4, 1, 0),
    );
    assert_close(&run.y, &expected, "blocked conv");
    let transposed = LayerSpec::ConvTranspose2d {
        name: None,
        out: 8,
        kernel: 4,
        stride: 1,
        padding: 0,
        output_padding: 0,
    };
    let run_t = run_layer(&transposed, [13, 13, 2], n)?;
    let (expected, _) = direct_conv_transpose(
        &run_t.x,
        (n, 13, 13, 2),
        &run_t.weight.1,
        &run_t.bias,
        8,
        (4, 1, 0, 0),
    );
    assert_close(&run_t.y, &expected, "blocked transposed conv");

    for (spec, in_shape) in [(conv, [16, 16, 8]), (transposed, [13, 13, 2])] {
        let mut params = Parameters::<f64>::default();
        let mut rng = stream(6, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let net = Network::build(&mut b, "test", &in_shape, std::slice::from_ref(&spec), None)?;
        let in_dim: usize = in_shape.iter().product();
        let x = uniform(&mut rng, n * in_dim, -1.0, 1.0);
        let dy = uniform(&mut rng, n * net.out_dim(), -1.0, 1.0);
        let gradients = |rows: std::ops::Range<usize>, params: &mut Parameters<f64>| {
            let x = &x[rows.start * in_dim..rows.end * in_dim];
            let dy = &dy[rows.start * net.out_dim()..rows.end * net.out_dim()];
            let mut buffers = NetworkBuffers::default();
            net.forward(params.values(), x, rows.len(), &mut buffers)
                .expect("forward");
            let mut dx = vec![0.0; x.len()];
            let (values, grads) = params.split_mut();
            net.backward(
                values,
                grads,
                x,
                rows.len(),
                &mut buffers,
                dy,
                Some(&mut dx),
            )
            .expect("backward");
            dx
        };
        params.zero_grads();
        let dx_whole = gradients(0..n, &mut params);
        let whole = params.grads().to_vec();
        params.zero_grads();
        let mut dx_halves = gradients(0..n / 2, &mut params);
        dx_halves.extend(gradients(n / 2..n, &mut params));
        for (a, b) in whole.iter().zip(params.grads()) {
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "{spec:?}: {a} vs {b}"
            );
        }
        assert_close(&dx_whole, &dx_halves, "input gradient in blocks");
    }
    Ok(())
}

/// The backward pass reads the fields a convolution kept from its forward pass, and uses them
/// up: a second backward after the same forward gathers them again and gives the same gradients.
#[test]
fn kept_fields_serve_one_backward_pass() -> Result<()> {
    let spec = list(
        r#"[{"type": "conv2d", "out": 3, "kernel": 3, "stride": 2, "padding": 1}, {"type": "tanh"},
            {"type": "conv2d", "out": 2, "kernel": 2}]"#,
    );
    let in_shape = [7, 6, 2];
    let n = 3;
    let mut params = Parameters::<f64>::default();
    let mut rng = stream(8, Purpose::Init, &[]);
    let net = Network::build(
        &mut ParamBuilder::new(&mut params, &mut rng),
        "test",
        &in_shape,
        &spec,
        None,
    )?;
    let x = uniform(&mut rng, n * 7 * 6 * 2, -1.0, 1.0);
    let dy = uniform(&mut rng, n * net.out_dim(), -1.0, 1.0);
    let grads_of_each = backward_twice(&net, &mut params, &x, &dy, n)?;
    assert_eq!(grads_of_each[0], grads_of_each[1]);
    assert!(grads_of_each[0].0.iter().any(|g| *g != 0.0));
    Ok(())
}

/// One forward pass, then two backward passes after it: the first reads the fields the forward
/// pass kept, the second gathers them again. The weights' and input's gradients of each.
fn backward_twice<T: Scalar>(
    net: &Network,
    params: &mut Parameters<T>,
    x: &[T],
    dy: &[T],
    n: usize,
) -> Result<Vec<(Vec<T>, Vec<T>)>> {
    let mut buffers = NetworkBuffers::default();
    net.forward(params.values(), x, n, &mut buffers)?;
    let mut grads_of_each = Vec::new();
    for _ in 0..2 {
        params.zero_grads();
        let mut dx = vec![T::zero(); x.len()];
        let (values, grads) = params.split_mut();
        net.backward(values, grads, x, n, &mut buffers, dy, Some(&mut dx))?;
        grads_of_each.push((params.grads().to_vec(), dx));
    }
    Ok(grads_of_each)
}

/// A batch whose fields take two blocks keeps both from the forward pass: the backward pass that
/// reads them gives the gradients, bit for bit, of one that gathers each block again.
#[test]
fn fields_kept_over_blocks_give_the_gathered_gradients() -> Result<()> {
    // 169 positions x 128 values per image: two blocks for 300 images, within the kept budget.
    let spec = LayerSpec::Conv2d {
        name: None,
        out: 2,
        kernel: 4,
        stride: 1,
        padding: 0,
    };
    let (in_shape, n) = ([16, 16, 8], 300);
    let mut params = Parameters::<f32>::default();
    let mut rng = stream(9, Purpose::Init, &[]);
    let net = Network::build(
        &mut ParamBuilder::new(&mut params, &mut rng),
        "test",
        &in_shape,
        std::slice::from_ref(&spec),
        None,
    )?;
    let x: Vec<f32> = uniform(&mut rng, n * 16 * 16 * 8, -1.0, 1.0)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let dy: Vec<f32> = uniform(&mut rng, n * net.out_dim(), -1.0, 1.0)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let bits = |v: &[f32]| v.iter().map(|g| g.to_bits()).collect::<Vec<_>>();
    let grads_of_each: Vec<_> = backward_twice(&net, &mut params, &x, &dy, n)?
        .iter()
        .map(|(grads, dx)| (bits(grads), bits(dx)))
        .collect();
    assert_eq!(grads_of_each[0], grads_of_each[1]);
    Ok(())
}
