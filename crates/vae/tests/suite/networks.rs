//! Networks built from layer lists: gradients of mixed lists against f64 central differences,
//! encoder and decoder that do not mirror each other, shape errors that name the layer, a
//! hand-written list through training and a checkpoint, and format-1 run directories loading.

use super::common;
use super::gradients::{all, check, check_model_gradient, uniform, weights};
use std::path::{Path, PathBuf};
use vae::checkpoint;
use vae::config::{ClassifierRunConfig, ImageShape, LikelihoodKind, ModelConfig, RunConfig};
use vae::data::Batch;
use vae::kernels::rng::{stream, Purpose};
use vae::nn::spec::mlp;
use vae::nn::{LayerSpec, Linear, Network, NetworkBuffers, ParamBuilder, Parameters};
use vae::objective::Elbo;
use vae::train::TrainingData;
use vae::{Activation, Model, ModelKind, Optimizer, Result, Trainable, Vae};

pub(crate) fn list(json: &str) -> Vec<LayerSpec> {
    serde_json::from_str(json).expect("a valid layer list")
}

/// A network's parameter and input gradients against central differences.
pub(crate) fn check_network(
    name: &str,
    in_shape: &[usize],
    layers: &[LayerSpec],
    head_width: usize,
) -> Result<()> {
    let rows = 5;
    let in_dim: usize = in_shape.iter().product();
    let mut params = Parameters::<f64>::default();
    let mut rng = stream(3, Purpose::Init, &[]);
    let mut b = ParamBuilder::new(&mut params, &mut rng);
    let mut head = |b: &mut ParamBuilder<'_, f64>, shape: &[usize]| {
        Some(Linear::heads(
            b,
            &["a", "b"],
            shape.iter().product(),
            head_width,
        ))
    };
    let net = Network::build(&mut b, name, in_shape, layers, Some(&mut head))?;
    assert_eq!(net.out_dim(), 2 * head_width);
    let x = uniform(&mut rng, rows * in_dim, -1.0, 1.0);
    let c = weights(rows * net.out_dim(), 4);
    let loss = |p: &[f64], x: &[f64]| -> f64 {
        let mut buffers = NetworkBuffers::default();
        net.forward(p, x, rows, &mut buffers).expect("shapes match");
        buffers.output().iter().zip(&c).map(|(a, b)| a * b).sum()
    };
    let mut buffers = NetworkBuffers::default();
    net.forward(params.values(), &x, rows, &mut buffers)?;
    let mut dx = vec![0.0; rows * in_dim];
    let (values, grads) = params.split_mut();
    net.backward(values, grads, &x, rows, &mut buffers, &c, Some(&mut dx))?;
    let p0 = params.values().to_vec();
    check(
        &format!("{name} dparams"),
        &mut |p| loss(p, &x),
        &p0,
        params.grads(),
        &all(p0.len()),
    );
    check(
        &format!("{name} dx"),
        &mut |x| loss(&p0, x),
        &x,
        &dx,
        &all(x.len()),
    );
    Ok(())
}

/// Layers of different widths and every activation, fused after a product or standing alone
/// (first in the list, or after another activation), with a reshape and a flatten between.
#[test]
fn networks_of_mixed_layers() -> Result<()> {
    for activation in [Activation::Relu, Activation::Tanh, Activation::Softplus] {
        check_network("mlp", &[5], &mlp(&[7, 6], activation), 2)?;
    }
    check_network(
        "mixed",
        &[5],
        &list(
            r#"[{"type": "tanh"},
                {"type": "linear", "name": "a", "out": 7}, {"type": "softplus"}, {"type": "tanh"},
                {"type": "reshape", "shape": [7, 1]}, {"type": "flatten"},
                {"type": "linear", "out": 3}, {"type": "relu"},
                {"type": "linear", "out": 6}]"#,
        ),
        2,
    )?;
    // Activations in a row, at the start and after a product: chains, their backward pass the
    // product of the derivatives kept from the forward pass.
    check_network(
        "chains",
        &[5],
        &list(
            r#"[{"type": "tanh"}, {"type": "softplus"}, {"type": "tanh"},
                {"type": "linear", "out": 7}, {"type": "tanh"}, {"type": "relu"},
                {"type": "softplus"}, {"type": "tanh"}, {"type": "tanh"},
                {"type": "linear", "out": 4}]"#,
        ),
        2,
    )
}

/// A thousand activations in a row keep two batches of values, not a thousand: the network's
/// buffers after a forward and backward pass hold as much as those of a network with three.
#[test]
fn activations_in_a_row_keep_a_bounded_memory() -> Result<()> {
    let held = |n: usize| -> Result<usize> {
        let mut layers = list(r#"[{"type": "linear", "out": 64}]"#);
        layers.extend((0..n).map(|_| LayerSpec::Tanh));
        let mut params = Parameters::<f32>::default();
        let mut rng = stream(3, Purpose::Init, &[]);
        let mut b = ParamBuilder::new(&mut params, &mut rng);
        let net = Network::build(&mut b, "encoder", &[8], &layers, None)?;
        let rows = 32;
        let x = vec![0.5f32; rows * 8];
        let mut buffers = NetworkBuffers::default();
        net.forward(params.values(), &x, rows, &mut buffers)?;
        let mut dx = vec![0.0; x.len()];
        let d_out = vec![1.0; rows * net.out_dim()];
        let (values, grads) = params.split_mut();
        net.backward(values, grads, &x, rows, &mut buffers, &d_out, Some(&mut dx))?;
        assert!(dx.iter().all(|v| v.is_finite()) && dx.iter().any(|&v| v != 0.0));
        Ok(buffers.held_values())
    };
    let (three, thousand) = (held(3)?, held(1000)?);
    assert_eq!(
        three, thousand,
        "a chain of 1000 holds {thousand} values, of 3 {three}"
    );
    Ok(())
}

pub(crate) fn tiny_config(encoder: Vec<LayerSpec>, decoder: Vec<LayerSpec>) -> ModelConfig {
    ModelConfig {
        image: ImageShape {
            height: 2,
            width: 3,
            channels: 1,
        },
        latent: 3,
        encoder,
        decoder,
        likelihood: LikelihoodKind::Gaussian,
        min_log_var: -4.0,
        ..ModelConfig::default()
    }
}

/// An encoder and a decoder of different depths, widths and activations: the whole negative ELBO's
/// gradient, and the checkpoint names each layer by its list name.
#[test]
fn asymmetric_encoder_and_decoder() -> Result<()> {
    let config = tiny_config(
        mlp(&[7, 5], Activation::Tanh),
        list(
            r#"[{"type": "linear", "name": "wide", "out": 9}, {"type": "softplus"},
                {"type": "tanh"}]"#,
        ),
    );
    let mut model = Vae::<f64>::new(&config, 9)?;
    let names: Vec<&str> = model
        .parameters()
        .entries()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "encoder.hidden.0.weight",
            "encoder.hidden.0.bias",
            "encoder.hidden.1.weight",
            "encoder.hidden.1.bias",
            "encoder.mean.weight",
            "encoder.log_var.weight",
            "encoder.mean.bias",
            "encoder.log_var.bias",
            "decoder.wide.weight",
            "decoder.wide.bias",
            "decoder.output.weight",
            "decoder.output.bias",
            "decoder.log_var",
        ]
    );
    let rows = 4;
    let x = uniform(&mut stream(10, Purpose::Init, &[]), rows * 6, 0.0, 1.0);
    let batch = Batch::new(&x, &[], rows);
    check_model_gradient("asymmetric", &mut model, &Elbo::new(2), &batch, 11)?;
    Ok(())
}

pub(crate) fn build_error(config: &ModelConfig) -> String {
    match Model::<f32>::new(config, 0) {
        Ok(_) => panic!("{config:?} should not build"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shape_errors_name_the_layer() {
    let image = mlp(&[4], Activation::Relu);
    let cases = [
        (
            tiny_config(
                list(r#"[{"type": "reshape", "shape": [1, 2, 3]}, {"type": "linear", "out": 4}]"#),
                image.clone(),
            ),
            "encoder layer 1 (linear): needs a flat input, got [1, 2, 3]",
        ),
        (
            tiny_config(
                image.clone(),
                list(r#"[{"type": "reshape", "shape": [2, 2]}]"#),
            ),
            "decoder layer 0 (reshape): [3] (3 values) cannot be viewed as [2, 2] (4 values)",
        ),
        (
            tiny_config(
                image.clone(),
                list(r#"[{"type": "linear", "name": "output", "out": 4}]"#),
            ),
            "decoder layer 0 (linear): name \"output\" is already taken",
        ),
    ];
    for (config, expected) in cases {
        let err = build_error(&config);
        assert!(err.contains(expected), "{err}\nshould contain: {expected}");
    }
}

/// A layer list written by hand in `config.json` (unnamed layers, an activation after another,
/// a reshape and a flatten) trains, is saved, and reloads to the same weights and numbers.
#[test]
fn a_hand_written_layer_list_trains_saves_and_reloads() -> Result<()> {
    let json = r#"{
      "format": 2,
      "dataset": "synthetic",
      "model": {
        "image": {"height": 6, "width": 5, "channels": 1},
        "latent": 2,
        "encoder": [
          {"type": "linear", "out": 12}, {"type": "tanh"},
          {"type": "reshape", "shape": [3, 4]}, {"type": "flatten"},
          {"type": "linear", "name": "second", "out": 8}, {"type": "softplus"}
        ],
        "decoder": [{"type": "linear", "out": 16}, {"type": "relu"}, {"type": "tanh"}],
        "likelihood": "bernoulli"
      },
      "train": {"epochs": 3, "batch_size": 20,
                "optimizer": {"kind": "adam", "lr": 0.01, "weight_decay": 0.0},
                "seed": 5, "binarize": "dynamic", "samples": 1}
    }"#;
    let config = RunConfig::from_json(json.as_bytes())?;
    config.validate()?;
    let mut model = Model::<f32>::new(&config.model, config.train.seed)?;
    let data = TrainingData::prepare(common::dataset(), config.train.binarize, 5);
    let reports = common::train_reports(&mut model, &data, &config.train)?;
    let (first, last) = (reports[0].test, reports[reports.len() - 1].test);
    assert!(
        last.loss_per_image() < first.loss_per_image(),
        "{first:?} -> {last:?}"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let optimizer = Optimizer::new(config.train.optimizer, model.parameters().len());
    checkpoint::save(dir.path(), &config, &model, &optimizer, 3)?;
    let (reloaded_config, reloaded, epoch) = checkpoint::load_model(dir.path())?;
    assert_eq!(epoch, 3);
    assert_eq!(reloaded_config, config);
    assert_eq!(
        reloaded.parameters().entries(),
        model.parameters().entries()
    );
    assert_eq!(reloaded.parameters().values(), model.parameters().values());
    assert!(reloaded
        .parameters()
        .entry("encoder.second.weight")
        .is_some_and(|e| e.shape == [8, 12]));
    Ok(())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Run directories written in format 1 (`hidden` + `activation`; see tests/fixtures/README.md)
/// load as the same networks in layer lists, weights unchanged, and save again as format 2.
#[test]
fn format_1_run_directories_load() -> Result<()> {
    let dir = fixture("format1-m2");
    let (config, model, epoch) = checkpoint::load_model(&dir)?;
    assert_eq!((config.format, epoch), (RunConfig::FORMAT, 1));
    assert_eq!(config.model.kind, ModelKind::M2);
    assert_eq!(config.model.encoder, mlp(&[8], Activation::Softplus));
    assert_eq!(config.model.decoder, mlp(&[8], Activation::Softplus));
    assert_eq!(
        config.model.classifier,
        Some(mlp(&[6], Activation::Softplus))
    );
    assert!(model
        .parameters()
        .entry("classifier.hidden.0.weight")
        .is_some_and(|e| e.shape == [6, 784]));

    let copy = tempfile::tempdir().expect("a temporary directory");
    checkpoint::save_model(copy.path(), &config, &model, epoch)?;
    let written = std::fs::read_to_string(copy.path().join(checkpoint::CONFIG_FILE))
        .expect("config.json written");
    assert!(written.contains("\"format\": 2"), "{written}");
    let (_, again, _) = checkpoint::load_model(copy.path())?;
    assert_eq!(again.parameters().values(), model.parameters().values());

    let (classifier_config, classifier) =
        checkpoint::load_classifier(&fixture("format1-classifier"))?;
    assert_eq!(classifier_config.format, RunConfig::FORMAT);
    assert_eq!(classifier_config.kind, ClassifierRunConfig::KIND);
    assert_eq!(
        classifier_config.classifier.layers,
        mlp(&[8], Activation::Relu)
    );
    assert!(classifier
        .parameters()
        .entry("classifier.hidden.0.weight")
        .is_some_and(|e| e.shape == [8, 784]));
    Ok(())
}

/// The benchmarks' FLOP count comes from the built networks: 784-400-(20+20) encoder and
/// 20-400-784 decoder, 2 · (313600 + 16000 + 8000 + 313600).
#[test]
fn forward_flops_of_the_default_model() -> Result<()> {
    let model = Model::<f32>::new(&ModelConfig::default(), 0)?;
    assert_eq!(model.forward_flops_per_image(), 1_302_400.0);
    Ok(())
}

/// The parameter count computed from the configuration alone equals the built model's, for every
/// kind and likelihood; an absurd size is refused by it before anything is allocated.
#[test]
fn parameter_count_before_building() -> Result<()> {
    use vae::config::GaussianVariance;
    let gaussian = ModelConfig {
        likelihood: LikelihoodKind::Gaussian,
        ..tiny_config(
            mlp(&[7, 5], Activation::Tanh),
            list(
                r#"[{"type": "linear", "out": 9}, {"type": "reshape", "shape": [3, 3]}, {"type": "flatten"}]"#,
            ),
        )
    };
    let configs = [
        ModelConfig::default(),
        gaussian.clone(),
        ModelConfig {
            gaussian_variance: GaussianVariance::Image,
            ..gaussian
        },
        ModelConfig {
            kind: ModelKind::Ae,
            ..ModelConfig::default()
        },
        ModelConfig {
            kind: ModelKind::M2,
            classes: 10,
            classifier: Some(mlp(&[30], Activation::Softplus)),
            ..ModelConfig::default()
        },
    ];
    for config in configs {
        let model = Model::<f32>::new(&config, 0)?;
        assert_eq!(
            config.parameter_count(),
            Some(model.parameters().len()),
            "{config:?}"
        );
    }
    let absurd = ModelConfig::default().with_mlp(&[100_000_000], Activation::Relu);
    let err = build_error(&absurd);
    assert!(err.contains("parameters, more than"), "{err}");
    let overflowing = ModelConfig {
        latent: usize::MAX / 2,
        ..ModelConfig::default()
    };
    assert!(build_error(&overflowing).contains("more than 2^64"));
    Ok(())
}
