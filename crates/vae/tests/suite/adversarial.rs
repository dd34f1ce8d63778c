//! Batch normalization, Leaky ReLU and the GAN family: gradients against f64 central differences
//! (batch normalization in training mode, through the batch statistics, and in evaluation mode;
//! each network's loss with the other held fixed), running estimates against PyTorch's formulas,
//! the optimizer's groups, and a tiny DCGAN's and VAE-GAN's training steps.

use super::gradients::{all, check, uniform, weights};
use super::networks::list;
use vae::config::{
    DecoderStatistics, ImageShape, ModelConfig, ModelKind, OptimizerConfig, OptimizerKind,
};
use vae::data::Batch;
use vae::kernels::rng::{stream, Purpose};
use vae::model::{Gan, VaeGan, VaeWorkspace};
use vae::nn::{LayerSpec, Linear, Mode, Network, NetworkBuffers, ParamBuilder, Parameters};
use vae::objective::{Adversarial, LearnedSimilarity, Objective, Step};
use vae::{Optimizer, Result, Trainable};

/// A network with batch normalization: parameter and input gradients in `mode` against central
/// differences. In evaluation mode the running estimates are first moved off their initial
/// values by one committed training pass.
fn check_normalised(
    name: &str,
    in_shape: &[usize],
    layers: &[LayerSpec],
    mode: Mode,
) -> Result<()> {
    let rows = 6;
    let in_dim: usize = in_shape.iter().product();
    let mut params = Parameters::<f64>::default();
    let mut rng = stream(5, Purpose::Init, &[]);
    let mut b = ParamBuilder::new(&mut params, &mut rng);
    let mut head = |b: &mut ParamBuilder<'_, f64>, shape: &[usize]| {
        Some(Linear::new(&mut b.pp("output"), shape.iter().product(), 3))
    };
    let net = Network::build(&mut b, name, in_shape, layers, Some(&mut head))?;
    assert!(net.has_modes());
    let x = uniform(&mut rng, rows * in_dim, -1.0, 1.0);
    if mode == Mode::Eval {
        let mut buffers = NetworkBuffers::default();
        let shifted: Vec<f64> = x.iter().map(|v| 0.7 * v + 0.3).collect();
        net.forward_in(Mode::Train, params.values(), &shifted, rows, &mut buffers)?;
        net.commit_statistics(params.values_mut(), &mut buffers)?;
    }
    let c = weights(rows * net.out_dim(), 7);
    let loss = |p: &[f64], x: &[f64]| -> f64 {
        let mut buffers = NetworkBuffers::default();
        net.forward_in(mode, p, x, rows, &mut buffers)
            .expect("shapes match");
        buffers.output().iter().zip(&c).map(|(a, b)| a * b).sum()
    };
    let mut buffers = NetworkBuffers::default();
    net.forward_in(mode, params.values(), &x, rows, &mut buffers)?;
    let mut dx = vec![0.0; rows * in_dim];
    let (values, grads) = params.split_mut();
    net.backward(values, grads, &x, rows, &mut buffers, &c, Some(&mut dx))?;
    let p0 = params.values().to_vec();
    // The running estimates are read in evaluation mode but never learned: no gradient.
    let learned: Vec<usize> = params
        .entries()
        .iter()
        .filter(|e| !vae::nn::batch_norm::is_estimate(&e.name))
        .flat_map(|e| e.range.clone())
        .collect();
    check(
        &format!("{name} {mode:?} dparams"),
        &mut |p| loss(p, &x),
        &p0,
        params.grads(),
        &learned,
    );
    check(
        &format!("{name} {mode:?} dx"),
        &mut |x| loss(&p0, x),
        &x,
        &dx,
        &all(x.len()),
    );
    Ok(())
}

#[test]
fn batch_norm_and_leaky_relu_gradients() -> Result<()> {
    let dense = list(
        r#"[{"type": "linear", "out": 5}, {"type": "batch_norm"}, {"type": "leaky_relu", "slope": 0.2},
            {"type": "linear", "out": 4}, {"type": "batch_norm", "name": "norm"}, {"type": "tanh"}]"#,
    );
    let conv = list(
        r#"[{"type": "conv2d", "out": 3, "kernel": 3, "stride": 2, "padding": 1},
            {"type": "batch_norm"}, {"type": "leaky_relu", "slope": 0.1},
            {"type": "conv_transpose2d", "out": 2, "kernel": 4, "stride": 2, "padding": 1},
            {"type": "batch_norm"}, {"type": "flatten"}]"#,
    );
    for mode in [Mode::Train, Mode::Eval] {
        check_normalised("dense", &[7], &dense, mode)?;
        check_normalised("conv", &[6, 6, 2], &conv, mode)?;
    }
    Ok(())
}

/// The running estimates after two committed passes, against PyTorch's update written out:
/// `running = 0.9 running + 0.1 batch` with the unbiased variance, `num_batches_tracked` 2; and a
/// network with batch normalization refuses to run without a mode.
#[test]
fn running_estimates_follow_pytorch() -> Result<()> {
    let rows = 4;
    let mut params = Parameters::<f64>::default();
    let mut rng = stream(1, Purpose::Init, &[]);
    let mut b = ParamBuilder::new(&mut params, &mut rng);
    let net = Network::build(
        &mut b,
        "bn",
        &[3],
        &list(r#"[{"type": "batch_norm"}]"#),
        None,
    )?;
    let names: Vec<&str> = params.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "hidden.0.weight",
            "hidden.0.bias",
            "hidden.0.running_mean",
            "hidden.0.running_var",
            "hidden.0.num_batches_tracked"
        ]
    );
    assert!(
        params.entries()[4].shape.is_empty(),
        "a 0-d tensor, as PyTorch stores it"
    );
    let mut buffers = NetworkBuffers::default();
    let x = [
        [1.0, 2.0, -1.0, 0.5],
        [3.0, 2.0, 0.0, -0.5],
        [0.0, 4.0, 1.0, 2.5],
    ];
    let batch: Vec<f64> = (0..rows)
        .flat_map(|r| x.iter().map(move |c| c[r]))
        .collect();
    assert!(net
        .forward(params.values(), &batch, rows, &mut buffers)
        .is_err());
    let (mut mean, mut var) = (vec![0.0; 3], vec![1.0; 3]);
    for _ in 0..2 {
        net.forward_in(Mode::Train, params.values(), &batch, rows, &mut buffers)?;
        net.commit_statistics(params.values_mut(), &mut buffers)?;
        // A second commit of the same pass changes nothing.
        net.commit_statistics(params.values_mut(), &mut buffers)?;
        for (c, column) in x.iter().enumerate() {
            let m = column.iter().sum::<f64>() / rows as f64;
            let unbiased = column.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (rows - 1) as f64;
            mean[c] = 0.9 * mean[c] + 0.1 * m;
            var[c] = 0.9 * var[c] + 0.1 * unbiased;
        }
    }
    let v = params.values();
    for c in 0..3 {
        assert!((v[6 + c] - mean[c]).abs() < 1e-12, "running mean {c}");
        assert!((v[9 + c] - var[c]).abs() < 1e-12, "running var {c}");
    }
    assert_eq!(v[12], 2.0);
    // Evaluation mode reads the running estimates and leaves them alone.
    net.forward_in(Mode::Eval, params.values(), &batch, rows, &mut buffers)?;
    let out = buffers.output();
    for r in 0..rows {
        for c in 0..3 {
            let expected = (x[c][r] - mean[c]) / (var[c] + 1e-5).sqrt();
            assert!((out[r * 3 + c] - expected).abs() < 1e-12);
        }
    }
    Ok(())
}

fn tiny_gan(kind: ModelKind) -> ModelConfig {
    let (image, generator, discriminator) = match kind {
        ModelKind::Dcgan => (
            ImageShape {
                height: 8,
                width: 8,
                channels: 1,
            },
            list(
                r#"[{"type": "linear", "out": 32}, {"type": "reshape", "shape": [4, 4, 2]},
                    {"type": "batch_norm"}, {"type": "relu"},
                    {"type": "conv_transpose2d", "out": 1, "kernel": 4, "stride": 2, "padding": 1}]"#,
            ),
            list(
                r#"[{"type": "conv2d", "out": 3, "kernel": 4, "stride": 2, "padding": 1},
                    {"type": "leaky_relu", "slope": 0.2}, {"type": "conv2d", "out": 2, "kernel": 4, "stride": 2, "padding": 1},
                    {"type": "batch_norm"}, {"type": "leaky_relu", "slope": 0.2}, {"type": "flatten"}]"#,
            ),
        ),
        _ => (
            ImageShape {
                height: 3,
                width: 3,
                channels: 1,
            },
            list(r#"[{"type": "linear", "out": 6}, {"type": "relu"}]"#),
            list(r#"[{"type": "linear", "out": 5}, {"type": "leaky_relu", "slope": 0.2}]"#),
        ),
    };
    ModelConfig {
        kind,
        image,
        latent: 3,
        encoder: Vec::new(),
        decoder: generator,
        discriminator: Some(discriminator),
        ..ModelConfig::default()
    }
}

/// A tiny VAE-GAN on 8 x 8 images: the DCGAN's decoder and discriminator, and an encoder with
/// batch normalization.
fn tiny_vae_gan() -> ModelConfig {
    ModelConfig {
        kind: ModelKind::VaeGan,
        encoder: list(
            r#"[{"type": "conv2d", "out": 2, "kernel": 4, "stride": 2, "padding": 1},
                {"type": "batch_norm"}, {"type": "relu"}, {"type": "flatten"}]"#,
        ),
        ..tiny_gan(ModelKind::Dcgan)
    }
}

fn step(phase: usize) -> Step {
    Step {
        phase,
        ..Step::default()
    }
}

/// Each phase's loss against central differences in its own network's weights, the other network
/// held fixed: the discriminator's −log D(x) − log(1 − D(G(z))) in D's weights, the generator's
/// −log D(G(z)) in G's.
#[test]
fn each_network_s_loss_has_its_gradient() -> Result<()> {
    for kind in [ModelKind::Gan, ModelKind::Dcgan] {
        let config = tiny_gan(kind);
        let base = Gan::<f64>::new(&config, 4)?;
        let rows = 5;
        let x = uniform(
            &mut stream(9, Purpose::Sample, &[]),
            rows * config.image.len(),
            0.0,
            1.0,
        );
        let groups = base.parameter_groups();
        let indices =
            |g: usize| -> Vec<usize> { groups[g].ranges.iter().flat_map(|r| r.clone()).collect() };
        for phase in [0usize, 1] {
            let run = |p: &[f64]| -> (f64, Vec<f64>) {
                let mut model = base.clone();
                model.parameters_mut().values_mut().copy_from_slice(p);
                model.parameters_mut().zero_grads();
                let mut ws = VaeWorkspace::default();
                let batch = Batch::new(&x, &[], rows);
                let mut noise = stream(2, Purpose::Noise, &[]);
                let d = Adversarial
                    .loss_and_grad(&mut model, &mut ws, &batch, &step(0), &mut noise)
                    .expect("discriminator phase");
                if phase == 0 {
                    return (d.discriminator, model.parameters().grads().to_vec());
                }
                model.parameters_mut().zero_grads();
                let g = Adversarial
                    .loss_and_grad(&mut model, &mut ws, &batch, &step(1), &mut noise)
                    .expect("generator phase");
                (g.generator, model.parameters().grads().to_vec())
            };
            let p0 = base.parameters().values().to_vec();
            let (_, analytic) = run(&p0);
            check(
                &format!("{kind:?} phase {phase}"),
                &mut |p| run(p).0,
                &p0,
                &analytic,
                &indices(phase),
            );
        }
    }
    Ok(())
}

/// The optimizer's groups: a DCGAN's discriminator and generator, batch normalization's running
/// estimates in neither; a step of one group leaves the other's values alone; their state is
/// named per group.
#[test]
fn the_optimizer_steps_one_group_at_a_time() -> Result<()> {
    let mut model = Gan::<f32>::new(&tiny_gan(ModelKind::Dcgan), 1)?;
    let groups = model.parameter_groups();
    assert_eq!(groups.len(), 2);
    let entries = model.parameters().entries().to_vec();
    let in_group = |g: usize, range: &std::ops::Range<usize>| {
        groups[g]
            .ranges
            .iter()
            .any(|r| r.start <= range.start && range.end <= r.end)
    };
    for entry in &entries {
        let estimate =
            entry.name.contains("running_") || entry.name.ends_with("num_batches_tracked");
        let d = in_group(0, &entry.range);
        let g = in_group(1, &entry.range);
        assert_eq!(
            (d, g),
            (
                !estimate && entry.name.starts_with("discriminator."),
                !estimate && entry.name.starts_with("generator.")
            ),
            "{}",
            entry.name
        );
    }
    let config = OptimizerConfig {
        betas: Some([0.5, 0.999]),
        ..OptimizerConfig::default_for(OptimizerKind::Adam)
    };
    let mut optimizer = Optimizer::with_groups(config, groups.clone());
    let before = model.parameters().values().to_vec();
    let (values, grads) = model.parameters_mut().update_view();
    grads.fill(0.5);
    optimizer.keep_only_group(0, grads);
    assert!(optimizer.step_group(0, values, grads, 1e-3)?);
    let after = model.parameters().values();
    for entry in &entries {
        let moved = after[entry.range.clone()] != before[entry.range.clone()];
        assert_eq!(moved, in_group(0, &entry.range), "{}", entry.name);
    }
    let names: Vec<String> = optimizer.state().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "discriminator.adam.exp_avg",
            "discriminator.adam.exp_avg_sq",
            "generator.adam.exp_avg",
            "generator.adam.exp_avg_sq"
        ]
    );
    Ok(())
}

fn gan_run(epochs: usize) -> vae::RunConfig {
    vae::RunConfig {
        format: vae::RunConfig::FORMAT,
        dataset: "quadrants".into(),
        folder: Default::default(),
        model: tiny_gan(ModelKind::Dcgan),
        train: vae::TrainConfig {
            epochs,
            batch_size: 16,
            optimizer: OptimizerConfig {
                lr: 2e-4,
                betas: Some([0.5, 0.999]),
                ..OptimizerConfig::default_for(OptimizerKind::Adam)
            },
            seed: 3,
            binarize: vae::Binarize::None,
            ..vae::TrainConfig::default()
        },
        data_dir: None,
    }
}

fn quadrant_data() -> vae::train::TrainingData {
    let train = super::common::quadrants(64, 1);
    let test = super::common::quadrants(32, 2);
    let names = (0..4).map(|c| c.to_string()).collect();
    let dataset = vae::data::Dataset::from_splits("quadrants", train, test, names).expect("splits");
    vae::train::TrainingData::prepare(dataset, vae::Binarize::None, 3)
}

/// Trains `config` from `start`, saving after every epoch; the reports' terms.
fn train_gan(
    config: &vae::RunConfig,
    model: &mut vae::Model<f32>,
    optimizer: &mut Optimizer<f32>,
    start: usize,
    dir: &std::path::Path,
) -> Result<Vec<vae::loss_terms::LossTerms>> {
    let mut terms = Vec::new();
    vae::train::train(
        model,
        &vae::objective::VaeObjective::for_model(config.model.kind, &config.train, 0.0),
        optimizer,
        &quadrant_data(),
        &config.train,
        start,
        &mut |_| Ok(()),
        &mut |m, o, report| {
            assert!(report.adversarial);
            terms.push(report.train);
            vae::checkpoint::save(dir, config, m, o, report.epoch)
        },
    )?;
    Ok(terms)
}

/// `run(3)` trained three epochs straight, and `run(1)` trained one epoch then resumed from its
/// checkpoint for two: the same losses and checkpoint files (weights, batch normalization's
/// running estimates, optimizer state), bit for bit. Returns the straight model with its losses,
/// and the resumed model.
fn straight_and_resumed(
    run: impl Fn(usize) -> vae::RunConfig,
) -> Result<(
    vae::Model<f32>,
    Vec<vae::loss_terms::LossTerms>,
    vae::Model<f32>,
)> {
    let fresh = |config: &vae::RunConfig| -> Result<(vae::Model<f32>, Optimizer<f32>)> {
        let model = vae::Model::<f32>::new(&config.model, config.train.seed)?;
        let optimizer = Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
        Ok((model, optimizer))
    };
    let straight_dir = tempfile::tempdir().expect("temp dir");
    let (mut straight, mut opt) = fresh(&run(3))?;
    let straight_terms = train_gan(&run(3), &mut straight, &mut opt, 0, straight_dir.path())?;

    let resumed_dir = tempfile::tempdir().expect("temp dir");
    let (mut first, mut opt) = fresh(&run(1))?;
    train_gan(&run(1), &mut first, &mut opt, 0, resumed_dir.path())?;
    let resume = vae::checkpoint::load_for_resume(resumed_dir.path())?;
    let (mut model, mut optimizer) = (resume.model, resume.optimizer);
    let resumed_terms = train_gan(&run(3), &mut model, &mut optimizer, 1, resumed_dir.path())?;
    assert_eq!(resumed_terms, straight_terms[1..]);
    let read =
        |dir: &std::path::Path, file| std::fs::read(dir.join(file)).expect("checkpoint file");
    for file in [
        vae::checkpoint::MODEL_FILE,
        vae::checkpoint::OPTIMIZER_FILE,
        vae::checkpoint::STATE_FILE,
    ] {
        assert!(
            read(straight_dir.path(), file) == read(resumed_dir.path(), file),
            "{file} differs"
        );
    }
    Ok((straight, straight_terms, model))
}

/// The value of the batch normalization counter `name` in `model`.
fn batches_tracked(model: &vae::Model<f32>, name: &str) -> f32 {
    let start = model
        .parameters()
        .entry(name)
        .expect("a batch normalization")
        .range
        .start;
    model.parameters().values()[start]
}

/// A tiny DCGAN trained three epochs straight, and one epoch then resumed from its checkpoint
/// for two: the same weights (batch normalization's running estimates included), optimizer state
/// and losses, bit for bit.
#[test]
fn a_dcgan_resumes_bit_for_bit() -> Result<()> {
    let (straight, straight_terms, _) = straight_and_resumed(gan_run)?;
    assert!(straight_terms
        .iter()
        .all(|t| t.discriminator > 0.0 && t.generator > 0.0));
    // Three epochs of 4 batches; the generator runs once per batch in training mode.
    assert_eq!(
        batches_tracked(&straight, "generator.hidden.1.num_batches_tracked"),
        12.0
    );
    Ok(())
}

/// VAE-GAN's three losses against central differences, each in its own network's weights with
/// the others held fixed and the noise the same (Larsen et al. 2015, Algorithm 1): the
/// discriminator's −log D(x) − log(1 − D(x̃)) − log(1 − D(x_p)); the decoder's γ · feature error
/// − log D(x̃) − log D(x_p); the encoder's β · KL + feature error, ½ ‖Dis_l(x̃) − Dis_l(x)‖². The
/// later phases hand over exactly the gradients the first computed, and nothing else.
#[test]
fn each_vae_gan_loss_has_its_gradient() -> Result<()> {
    check_vae_gan_gradients(None)
}

/// As above with the real images weighed w = 0.3 in the discriminator's loss, as Larsen et
/// al.'s code weighs them: w · (−log D(x)) + (1 − w)/2 · (−log(1 − D(x̃)) − log(1 − D(x_p))),
/// the decoder's and encoder's losses unchanged.
#[test]
fn a_weighted_discriminator_loss_has_its_gradient() -> Result<()> {
    check_vae_gan_gradients(Some(0.3))
}

fn check_vae_gan_gradients(real_weight: Option<f64>) -> Result<()> {
    let config = tiny_vae_gan();
    let base = VaeGan::<f64>::new(&config, 4)?;
    let rows = 5;
    let x = uniform(
        &mut stream(9, Purpose::Sample, &[]),
        rows * config.image.len(),
        0.0,
        1.0,
    );
    let objective = LearnedSimilarity {
        feature_weight: 0.3,
        kl_weight: 1.7,
        equilibrium_margin: None,
        decoder_statistics: DecoderStatistics::Both,
        real_weight,
    };
    let groups = base.parameter_groups();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["discriminator", "decoder", "encoder"]);
    let indices =
        |g: usize| -> Vec<usize> { groups[g].ranges.iter().flat_map(|r| r.clone()).collect() };
    let run = |p: &[f64]| -> (
        vae::loss_terms::LossTerms,
        Vec<f64>,
        VaeGan<f64>,
        VaeWorkspace<f64>,
    ) {
        let mut model = base.clone();
        model.parameters_mut().values_mut().copy_from_slice(p);
        model.parameters_mut().zero_grads();
        let mut ws = VaeWorkspace::default();
        let batch = Batch::new(&x, &[], rows);
        let mut noise = stream(2, Purpose::Noise, &[]);
        let terms = objective
            .loss_and_grad(&mut model, &mut ws, &batch, &step(0), &mut noise)
            .expect("first phase");
        let grads = model.parameters().grads().to_vec();
        (terms, grads, model, ws)
    };
    let p0 = base.parameters().values().to_vec();
    let (terms, analytic, mut model, mut ws) = run(&p0);
    assert!(terms.reconstruction > 0.0 && terms.kl > 0.0);
    assert!(terms.discriminator > 0.0 && terms.generator > 0.0);
    // The reported losses are unweighted; the discriminator's gradient follows its weights.
    let (w_real, w_fake) = real_weight.map_or((1.0, 1.0), |w| (w, 0.5 * (1.0 - w)));
    let discriminator = move |t: &vae::loss_terms::LossTerms| {
        w_real * t.discriminator_real + w_fake * (t.discriminator - t.discriminator_real)
    };
    type Loss<'a> = Box<dyn Fn(&vae::loss_terms::LossTerms) -> f64 + 'a>;
    let losses: [(&str, Loss); 3] = [
        ("discriminator", Box::new(discriminator)),
        (
            "decoder",
            Box::new(|t| 0.3 * t.reconstruction + t.generator),
        ),
        ("encoder", Box::new(|t| 1.7 * t.kl + t.reconstruction)),
    ];
    for (g, (name, loss)) in losses.iter().enumerate() {
        check(
            &format!("vae-gan {name}"),
            &mut |p| loss(&run(p).0),
            &p0,
            &analytic,
            &indices(g),
        );
    }
    // The decoder's and encoder's phases take the first phase's gradients, once each.
    let batch = Batch::new(&x, &[], rows);
    let mut noise = stream(2, Purpose::Noise, &[]);
    for phase in [1, 2] {
        model.parameters_mut().zero_grads();
        let terms =
            objective.loss_and_grad(&mut model, &mut ws, &batch, &step(phase), &mut noise)?;
        assert_eq!(terms.images, rows);
        assert_eq!(model.parameters().grads(), &analytic[..]);
    }
    assert!(objective
        .loss_and_grad(&mut model, &mut ws, &batch, &step(1), &mut noise)
        .is_err());
    Ok(())
}

/// A tiny VAE-GAN trained three epochs straight, and one epoch then resumed for two: the same
/// checkpoint files bit for bit; and it encodes, decodes and refuses to score.
#[test]
fn a_vae_gan_resumes_bit_for_bit() -> Result<()> {
    let (straight, straight_terms, model) =
        straight_and_resumed(|epochs| vae_gan_run(epochs, None))?;
    assert!(straight_terms.iter().all(|t| t.discriminator > 0.0
        && t.generator > 0.0
        && t.kl > 0.0
        && t.reconstruction > 0.0));
    // Three epochs of 4 batches: the encoder runs once per batch in training mode, the decoder
    // twice (z and z_p), the discriminator three times (x, x̃, x_p).
    let tracked = |name| batches_tracked(&straight, name);
    assert_eq!(tracked("encoder.hidden.1.num_batches_tracked"), 12.0);
    assert_eq!(tracked("decoder.hidden.1.num_batches_tracked"), 24.0);
    assert_eq!(tracked("discriminator.hidden.2.num_batches_tracked"), 36.0);

    use vae::Generative;
    let mut ws = VaeWorkspace::default();
    let split = super::common::quadrants(3, 4);
    let images: Vec<f32> = split.images.iter().map(|&v| f32::from(v) / 255.0).collect();
    let mut codes = Vec::new();
    model.encode_means(&mut ws, &images, &[], 3, &mut codes)?;
    assert_eq!(codes.len(), 3 * 3);
    let mut decoded = Vec::new();
    model.decode(&mut ws, &codes, &[], 3, &mut decoded)?;
    assert_eq!(decoded.len(), 3 * 64);
    assert!(decoded.iter().all(|p| (0.0..=1.0).contains(p)));
    let mut scores = Vec::new();
    let error = model
        .score(
            &mut ws,
            &images,
            &[],
            3,
            2,
            &mut stream(1, Purpose::Evaluate, &[]),
            &mut scores,
        )
        .expect_err("no likelihood");
    assert!(error.to_string().contains("no likelihood"), "{error}");
    Ok(())
}

/// A VAE-GAN's decoder statistics choice changes its decoder's running estimates and nothing
/// else: trained from one seed with the estimates following both decoder passes and following
/// the pass on z_p alone, every weight, every other network's estimates and every loss are the
/// same bit for bit; the decoder counted 4 batches instead of 8, and its running mean and
/// variance, after one pass per batch in place of two, differ.
#[test]
fn the_decoder_statistics_follow_the_chosen_passes() -> Result<()> {
    let trained = |statistics| -> Result<(vae::Model<f32>, Vec<vae::loss_terms::LossTerms>)> {
        let config = vae_gan_with_statistics(Some(statistics));
        let mut model = vae::Model::<f32>::new(&config.model, config.train.seed)?;
        let mut optimizer =
            Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
        let dir = tempfile::tempdir().expect("temp dir");
        let terms = train_gan(&config, &mut model, &mut optimizer, 0, dir.path())?;
        Ok((model, terms))
    };
    let (both, both_terms) = trained(DecoderStatistics::Both)?;
    let (prior, prior_terms) = trained(DecoderStatistics::Prior)?;
    assert_eq!(both_terms, prior_terms);
    // One configuration: both models lay their tensors out alike.
    assert_eq!(both.parameters().entries(), prior.parameters().entries());
    let mut estimates = 0;
    for entry in both.parameters().entries() {
        let name = entry.name.as_str();
        let (a, b) = (
            &both.parameters().values()[entry.range.clone()],
            &prior.parameters().values()[entry.range.clone()],
        );
        let running = name.ends_with("running_mean")
            || name.ends_with("running_var")
            || name.ends_with("num_batches_tracked");
        if name.starts_with("decoder.") && running {
            assert_ne!(a, b, "{name}");
            estimates += 1;
        } else {
            assert_eq!(a, b, "{name}");
        }
    }
    assert_eq!(estimates, 3, "one batch normalization in the decoder");
    assert_eq!(
        batches_tracked(&prior, "decoder.hidden.1.num_batches_tracked"),
        4.0
    );
    assert_eq!(
        batches_tracked(&both, "decoder.hidden.1.num_batches_tracked"),
        8.0
    );
    Ok(())
}

/// The decoder's statistics are VAE-GAN's alone: a DCGAN's configuration naming them is refused
/// in one line, and VAE-GAN's takes either choice or none (the runs before the choice existed).
#[test]
fn only_vae_gan_takes_a_decoder_statistics_choice() {
    let dcgan = gan_run(1);
    dcgan.validate().expect("a DCGAN without the choice");
    let named = vae::RunConfig {
        train: vae::TrainConfig {
            decoder_statistics: Some(DecoderStatistics::Prior),
            ..dcgan.train
        },
        ..dcgan
    };
    let message = named.validate().expect_err("refused").to_string();
    assert!(
        message.contains("decoder_statistics applies to the vae-gan model, not DCGAN"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    for statistics in [
        None,
        Some(DecoderStatistics::Both),
        Some(DecoderStatistics::Prior),
    ] {
        vae_gan_with_statistics(statistics)
            .validate()
            .expect("a VAE-GAN with any choice");
    }
}

/// The real images' weight in the discriminator's loss: a VAE-GAN's alone, strictly between 0
/// and 1, and kept in config.json only when given (older runs load as the three terms summed).
#[test]
fn a_real_weight_is_a_vae_gan_share() {
    let with = |config: &vae::RunConfig, weight| vae::RunConfig {
        train: vae::TrainConfig {
            real_weight: weight,
            ..config.train.clone()
        },
        ..config.clone()
    };
    let message = with(&gan_run(1), Some(0.5))
        .validate()
        .expect_err("refused")
        .to_string();
    assert!(
        message.contains("real_weight applies to the vae-gan model, not DCGAN"),
        "{message}"
    );
    let vae_gan = vae_gan_run(1, None);
    with(&vae_gan, Some(0.5)).validate().expect("w = 0.5");
    for weight in [0.0, 1.0, -0.5, f64::NAN, f64::INFINITY] {
        let message = with(&vae_gan, Some(weight))
            .validate()
            .expect_err("refused")
            .to_string();
        assert!(message.contains("strictly between 0 and 1"), "{message}");
    }
    let unset = serde_json::to_string(&vae_gan.train).expect("json");
    assert!(!unset.contains("real_weight"), "{unset}");
    let set = serde_json::to_string(&with(&vae_gan, Some(0.5)).train).expect("json");
    assert!(set.contains("\"real_weight\":0.5"), "{set}");
}

/// The tiny VAE-GAN of `vae_gan_run`, one epoch, its decoder keeping the chosen statistics.
fn vae_gan_with_statistics(statistics: Option<DecoderStatistics>) -> vae::RunConfig {
    let base = vae_gan_run(1, None);
    vae::RunConfig {
        train: vae::TrainConfig {
            decoder_statistics: statistics,
            ..base.train
        },
        ..base
    }
}

fn vae_gan_run(epochs: usize, margin: Option<f64>) -> vae::RunConfig {
    let base = gan_run(epochs);
    vae::RunConfig {
        model: tiny_vae_gan(),
        train: vae::TrainConfig {
            feature_weight: Some(0.01),
            equilibrium_margin: margin,
            ..base.train
        },
        ..base
    }
}

/// The equilibrium rule on one batch (the whole training set): the groups the rule holds back,
/// by the first phase's losses the epoch reports, keep their initial weights and an untouched
/// optimizer state; the others move. With this seed the untrained discriminator's mean loss is
/// about 0.48 on real images and 1.09 on fakes: with a margin of 0.3 it is losing, not winning,
/// so the decoder sits the batch out.
#[test]
fn the_equilibrium_rule_holds_a_network_back() -> Result<()> {
    let base = vae_gan_run(1, Some(0.3));
    let config = vae::RunConfig {
        train: vae::TrainConfig {
            batch_size: 64,
            ..base.train
        },
        ..base
    };
    let initial = vae::Model::<f32>::new(&config.model, config.train.seed)?;
    let mut model = initial.clone();
    let mut optimizer = Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
    let dir = tempfile::tempdir().expect("temp dir");
    let terms = train_gan(&config, &mut model, &mut optimizer, 0, dir.path())?;
    assert_eq!(terms[0].images, 64, "one batch");
    let rule = LearnedSimilarity {
        feature_weight: 0.01,
        kl_weight: 1.0,
        equilibrium_margin: Some(0.3),
        decoder_statistics: DecoderStatistics::Prior,
        real_weight: None,
    };
    let steps: Vec<bool> = (0..3).map(|phase| rule.updates(phase, &terms[0])).collect();
    assert_eq!(
        steps,
        [true, false, true],
        "the decoder sits out: {terms:?}"
    );
    assert_eq!(optimizer.group_steps(), [1, 0, 1]);
    assert_eq!(terms[0].held_back, [0, 1]);
    let groups = model.parameter_groups();
    let moments = optimizer.state();
    for (g, group) in groups.iter().enumerate() {
        for range in &group.ranges {
            let moved = model.parameters().values()[range.clone()]
                != initial.parameters().values()[range.clone()];
            assert_eq!(moved, steps[g], "group {}", group.name);
        }
        let touched = moments[2 * g].1.iter().any(|&m| m != 0.0);
        assert_eq!(touched, steps[g], "{}", moments[2 * g].0);
    }
    // The counts travel in the checkpoint's state, where they differ.
    let state =
        std::fs::read_to_string(dir.path().join(vae::checkpoint::STATE_FILE)).expect("state file");
    assert!(
        state.contains("\"group_steps\": [\n    1,\n    0,\n    1\n  ]"),
        "{state}"
    );
    let resume = vae::checkpoint::load_for_resume(dir.path())?;
    assert_eq!(resume.optimizer.group_steps(), [1, 0, 1]);
    Ok(())
}

/// Under the equilibrium rule a VAE-GAN still resumes bit for bit, the groups' update counts
/// included; with a margin no loss reaches, the rule changes nothing.
#[test]
fn a_vae_gan_under_the_equilibrium_rule_resumes_bit_for_bit() -> Result<()> {
    let (straight, _, _) = straight_and_resumed(|epochs| vae_gan_run(epochs, Some(0.3)))?;
    let plain = vae_gan_run(3, None);
    let wide = vae_gan_run(3, Some(1e9));
    let mut trained = Vec::new();
    for config in [&plain, &wide] {
        let mut model = vae::Model::<f32>::new(&config.model, config.train.seed)?;
        let mut optimizer =
            Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
        let dir = tempfile::tempdir().expect("temp dir");
        let terms = train_gan(config, &mut model, &mut optimizer, 0, dir.path())?;
        assert_eq!(optimizer.group_steps(), [12, 12, 12]);
        trained.push((model.parameters().values().to_vec(), terms));
    }
    assert!(
        trained[0] == trained[1],
        "a margin never reached changes nothing"
    );
    assert!(
        straight.parameters().values() != trained[0].0.as_slice(),
        "the margin of 0.3 held something back"
    );
    Ok(())
}
