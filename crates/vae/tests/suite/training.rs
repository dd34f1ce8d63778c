//! The training loop end to end in the library: determinism, resume equivalence, checkpoint
//! round trips, divergence handling.

use vae::nn::spec::mlp;
use vae::Activation;
use vae::Generative;

use super::common;

use std::path::Path;
use vae::checkpoint::{self, load_for_resume, load_model};
use vae::config::{
    Binarize, LrSchedule, ModelConfig, OptimizerConfig, OptimizerKind, RunConfig, TrainConfig,
};
use vae::kernels::rng::{stream, Purpose};
use vae::model::VaeWorkspace;
use vae::objective::VaeObjective;
use vae::train::{train, TrainingData};
use vae::{Error, Model, Optimizer, Result, Trainable};

fn run_config(epochs: usize) -> RunConfig {
    let data = common::dataset();
    RunConfig {
        format: RunConfig::FORMAT,
        dataset: "synthetic".into(),
        folder: Default::default(),
        model: ModelConfig {
            image: data.shape,
            encoder: mlp(&[12], Activation::Relu),
            decoder: mlp(&[12], Activation::Relu),
            latent: 2,
            ..ModelConfig::default()
        },
        train: TrainConfig {
            epochs,
            batch_size: 32,
            optimizer: OptimizerConfig::default_for(OptimizerKind::Adam),
            seed: 5,
            binarize: Binarize::Dynamic,
            samples: 2,
            ..TrainConfig::default()
        },
        data_dir: None,
    }
}

fn data(config: &RunConfig) -> TrainingData {
    TrainingData::prepare(common::dataset(), config.train.binarize, config.train.seed)
}

/// Trains from `start` to `config.train.epochs`, saving a checkpoint into `dir` after every epoch.
fn train_from(
    config: &RunConfig,
    model: &mut Model<f32>,
    optimizer: &mut Optimizer<f32>,
    start: usize,
    dir: &Path,
) -> Result<Vec<f64>> {
    let mut losses = Vec::new();
    train(
        model,
        &VaeObjective::for_model(config.model.kind, &config.train, 0.0),
        optimizer,
        &data(config),
        &config.train,
        start,
        &mut |_| Ok(()),
        &mut |m, o, report| {
            losses.push(report.train.loss_per_image());
            checkpoint::save(dir, config, m, o, report.epoch)
        },
    )?;
    Ok(losses)
}

fn fresh(config: &RunConfig) -> Result<(Model<f32>, Optimizer<f32>)> {
    let model = Model::<f32>::new(&config.model, config.train.seed)?;
    let optimizer = Optimizer::new(config.train.optimizer, model.parameters().len());
    Ok((model, optimizer))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

#[test]
fn training_lowers_the_loss_and_is_deterministic() -> Result<()> {
    let config = run_config(4);
    let dir = tempdir();
    let (mut a, mut opt_a) = fresh(&config)?;
    let losses = train_from(&config, &mut a, &mut opt_a, 0, dir.path())?;
    assert!(losses[3] < losses[0], "loss did not fall: {losses:?}");
    let (mut b, mut opt_b) = fresh(&config)?;
    train_from(&config, &mut b, &mut opt_b, 0, dir.path())?;
    assert_eq!(a.parameters().values(), b.parameters().values());
    Ok(())
}

#[test]
fn resuming_equals_training_straight_through() -> Result<()> {
    let straight_dir = tempdir();
    let config = run_config(3);
    let (mut straight, mut opt) = fresh(&config)?;
    train_from(&config, &mut straight, &mut opt, 0, straight_dir.path())?;

    let resumed_dir = tempdir();
    let (mut first, mut opt) = fresh(&run_config(1))?;
    train_from(&run_config(1), &mut first, &mut opt, 0, resumed_dir.path())?;
    let resume = load_for_resume(resumed_dir.path())?;
    assert_eq!(resume.state.epoch, 1);
    let (mut model, mut optimizer) = (resume.model, resume.optimizer);
    train_from(
        &config,
        &mut model,
        &mut optimizer,
        resume.state.epoch,
        resumed_dir.path(),
    )?;

    assert_eq!(model.parameters().values(), straight.parameters().values());
    let read = |dir: &Path, file| std::fs::read(dir.join(file)).expect("checkpoint file");
    for file in [
        checkpoint::MODEL_FILE,
        checkpoint::OPTIMIZER_FILE,
        checkpoint::STATE_FILE,
    ] {
        assert!(
            read(straight_dir.path(), file) == read(resumed_dir.path(), file),
            "{file} differs"
        );
    }
    Ok(())
}

#[test]
fn checkpoint_round_trip_is_bitwise() -> Result<()> {
    let config = run_config(1);
    let dir = tempdir();
    let (mut model, mut opt) = fresh(&config)?;
    train_from(&config, &mut model, &mut opt, 0, dir.path())?;
    let (loaded_config, loaded, epoch) = load_model(dir.path())?;
    assert_eq!(loaded_config, config);
    assert_eq!(epoch, 1);
    assert_eq!(loaded.parameters().values(), model.parameters().values());
    // Same weights, same noise: the same images, bit for bit.
    let decode = |m: &Model<f32>| -> Result<Vec<f32>> {
        let mut out = Vec::new();
        m.sample(
            &mut VaeWorkspace::default(),
            16,
            &[],
            &mut stream(3, Purpose::Sample, &[]),
            &mut out,
        )?;
        Ok(out)
    };
    assert_eq!(decode(&model)?, decode(&loaded)?);
    // The weights are stored under their module paths with PyTorch's [out, in] layout.
    let bytes = std::fs::read(dir.path().join(checkpoint::MODEL_FILE)).expect("model file");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let shape = |name: &str| st.tensor(name).expect("tensor present").shape().to_vec();
    assert_eq!(shape("encoder.hidden.0.weight"), vec![12, 30]);
    assert_eq!(shape("encoder.mean.weight"), vec![2, 12]);
    assert_eq!(shape("encoder.log_var.bias"), vec![2]);
    assert_eq!(shape("decoder.hidden.0.weight"), vec![12, 2]);
    assert_eq!(shape("decoder.output.weight"), vec![30, 12]);
    Ok(())
}

#[test]
fn divergence_stops_training_and_keeps_the_last_checkpoint() -> Result<()> {
    let config = run_config(1);
    let dir = tempdir();
    let (mut model, mut opt) = fresh(&config)?;
    train_from(&config, &mut model, &mut opt, 0, dir.path())?;
    let before = std::fs::read(dir.path().join(checkpoint::MODEL_FILE)).expect("model file");

    let mut wild = run_config(3);
    wild.train.optimizer.lr = 1e30;
    let mut optimizer = Optimizer::new(wild.train.optimizer, model.parameters().len());
    let result = train_from(&wild, &mut model, &mut optimizer, 1, dir.path());
    match result {
        Err(Error::NonFinite {
            epoch: 2, batch, ..
        }) => assert!(batch >= 1),
        other => panic!("expected divergence in epoch 2, got {other:?}"),
    }
    let after = std::fs::read(dir.path().join(checkpoint::MODEL_FILE)).expect("model file");
    assert!(before == after, "the checkpoint changed");
    assert_eq!(load_for_resume(dir.path())?.state.epoch, 1);
    Ok(())
}

#[test]
fn inconsistent_checkpoint_files_are_refused() -> Result<()> {
    let config = run_config(2);
    let dir = tempdir();
    let (mut model, mut opt) = fresh(&config)?;
    train_from(&config, &mut model, &mut opt, 0, dir.path())?;
    // Simulate a save interrupted after the weights: state.json still says epoch 1.
    let state = std::fs::read_to_string(dir.path().join(checkpoint::STATE_FILE)).expect("state");
    std::fs::write(
        dir.path().join(checkpoint::STATE_FILE),
        state.replace("\"epoch\": 2", "\"epoch\": 1"),
    )
    .expect("write");
    let err = load_for_resume(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("different epochs"), "{err}");
    Ok(())
}

#[test]
fn corrupt_or_mismatched_weights_are_refused() -> Result<()> {
    let config = run_config(1);
    let dir = tempdir();
    let (mut model, mut opt) = fresh(&config)?;
    train_from(&config, &mut model, &mut opt, 0, dir.path())?;
    let model_path = dir.path().join(checkpoint::MODEL_FILE);
    let bytes = std::fs::read(&model_path).expect("model file");
    std::fs::write(&model_path, &bytes[..bytes.len() / 2]).expect("truncate");
    assert!(load_model(dir.path()).is_err());
    std::fs::write(&model_path, &bytes).expect("restore");
    // A config that asks for another architecture than the weights hold.
    let mut other = config.clone();
    other.model.latent = 3;
    std::fs::write(
        dir.path().join(checkpoint::CONFIG_FILE),
        serde_json::to_vec(&other).expect("json"),
    )
    .expect("write");
    let err = load_model(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("shape"), "{err}");

    // A save never writes non-finite weights, and the checkpoint on disk stays as it was.
    let before = std::fs::read(&model_path).expect("model file");
    model.parameters_mut().values_mut()[3] = f32::NAN;
    let err = checkpoint::save(dir.path(), &config, &model, &opt, 2)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("holds NaN"), "{err}");
    assert_eq!(std::fs::read(&model_path).expect("model file"), before);
    Ok(())
}

/// With Burda et al.'s schedule (stages change after epochs 1 and 4), KL warm-up over 3 epochs
/// and β = 2, a run stopped after epoch 2 and resumed reaches exactly the weights of a run
/// straight through 5 epochs: the rate and the KL weight come from the step alone.
#[test]
fn resuming_mid_schedule_equals_training_straight_through() -> Result<()> {
    let scheduled = |epochs| {
        let mut config = run_config(epochs);
        config.train.optimizer.schedule = LrSchedule::Burda;
        config.train.optimizer.eps = Some(1e-4);
        config.train.beta = 2.0;
        config.train.kl_warmup = 3.0;
        config
    };
    let config = scheduled(5);
    let straight_dir = tempdir();
    let (mut straight, mut opt) = fresh(&config)?;
    let straight_losses = train_from(&config, &mut straight, &mut opt, 0, straight_dir.path())?;

    let resumed_dir = tempdir();
    let (mut first, mut opt) = fresh(&scheduled(2))?;
    train_from(&scheduled(2), &mut first, &mut opt, 0, resumed_dir.path())?;
    let resume = load_for_resume(resumed_dir.path())?;
    assert_eq!(resume.config, scheduled(2));
    let (mut model, mut optimizer) = (resume.model, resume.optimizer);
    let resumed_losses = train_from(&config, &mut model, &mut optimizer, 2, resumed_dir.path())?;
    assert_eq!(resumed_losses, straight_losses[2..]);
    assert_eq!(model.parameters().values(), straight.parameters().values());
    Ok(())
}

/// Stops training after a given batch, as an interrupt does.
struct StopAt {
    epoch: usize,
    batch: usize,
}

impl vae::run::Observer for StopAt {
    fn batch(&mut self, progress: &vae::train::Progress) -> Result<()> {
        if (progress.epoch, progress.batch) == (self.epoch, self.batch) {
            return Err(Error::Stopped {
                epoch: progress.epoch,
                batch: progress.batch,
                why: "asked to".into(),
            });
        }
        Ok(())
    }
}

#[test]
fn a_run_its_observer_stops_keeps_the_last_epoch_and_resumes_to_the_same_weights() {
    use vae::collective::SingleProcess;
    use vae::run::{Quiet, ResumeOptions, Run};
    let config = run_config(3);
    let (whole, stopped) = (tempdir(), tempdir());
    let whole_dir = whole.path().join("run");
    let mut run = Run::create(config.clone(), whole_dir.clone(), None, None).expect("run");
    run.train_on(common::dataset(), Some(1)).expect("training");

    let stopped_dir = stopped.path().join("run");
    let mut run = Run::create(config.clone(), stopped_dir.clone(), None, None).expect("run");
    let data = run.prepare(common::dataset(), &mut Quiet).expect("data");
    let pool = vae::kernels::denormals::thread_pool(Some(1)).expect("pool");
    let err = pool
        .install(|| run.train(&data, &SingleProcess, &mut StopAt { epoch: 2, batch: 3 }))
        .expect_err("stopped");
    assert!(
        matches!(
            err,
            Error::Stopped {
                epoch: 2,
                batch: 3,
                ..
            }
        ),
        "{err}"
    );
    drop(run);
    let resumed = load_for_resume(&stopped_dir).expect("checkpoint");
    assert_eq!(resumed.state.epoch, 1, "the last finished epoch is kept");

    let mut run = Run::resume(
        &stopped_dir,
        &ResumeOptions::default(),
        &SingleProcess,
        &mut Quiet,
    )
    .expect("resume");
    run.train_on(common::dataset(), Some(1)).expect("training");
    let read = |dir: &Path| {
        load_model(dir)
            .expect("model")
            .1
            .parameters()
            .values()
            .to_vec()
    };
    assert_eq!(read(&whole_dir), read(&stopped_dir), "bit for bit");
}

/// Ends training after a given epoch, as early stopping does.
struct EndAfter(usize, usize);

impl vae::run::Observer for EndAfter {
    fn epoch(&mut self, report: &vae::train::EpochReport, _rank: usize) -> Result<()> {
        self.1 = report.epoch;
        Ok(())
    }

    fn stop_after_epoch(&mut self) -> bool {
        self.1 == self.0
    }
}

#[test]
fn an_observer_ends_training_after_an_epoch_and_that_epoch_is_saved() {
    use vae::collective::SingleProcess;
    use vae::run::{Quiet, Run};
    let dir = tempdir();
    let run_dir = dir.path().join("run");
    let mut run = Run::create(run_config(4), run_dir.clone(), None, None).expect("run");
    let data = run.prepare(common::dataset(), &mut Quiet).expect("data");
    // Epochs this short are checkpointed at most every 30 s: only the first and the one the
    // observer ends at are written.
    run.train(&data, &SingleProcess, &mut EndAfter(3, 0))
        .expect("an ended run is not an error");
    assert_eq!(run.start_epoch(), 3);
    assert!(!run.is_complete());
    let (_, saved, epoch) = load_model(&run_dir).expect("checkpoint");
    assert_eq!(epoch, 3, "the epoch it ended at is saved");
    assert_eq!(
        saved.parameters().values(),
        run.model().parameters().values(),
        "the model in memory is the one saved"
    );
}

/// `precision: bf16` multiplies the step's products in bfloat16 (with fp32 sums): the losses
/// follow fp32's closely without being equal to them (the bf16 products ran), and config.json
/// records the choice, while an fp32 run's config.json stays as older versions wrote it.
#[test]
fn bf16_products_train_close_to_fp32_and_are_recorded() -> Result<()> {
    if !vae::kernels::bf16::available() {
        eprintln!("SKIPPED: this CPU has no AVX512-BF16");
        return Ok(());
    }
    let mut config = run_config(3);
    // Products large enough to run in bf16: 100 x 64 x 1000 multiply-adds.
    config.train.batch_size = 100;
    config.model.encoder = mlp(&[1000], Activation::Relu);
    config.model.decoder = mlp(&[1000], Activation::Relu);
    let fp32_dir = tempdir();
    let (mut model, mut optimizer) = fresh(&config)?;
    let fp32 = train_from(&config, &mut model, &mut optimizer, 0, fp32_dir.path())?;

    config.train.precision = vae::config::Precision::Bf16;
    let bf16_dir = tempdir();
    let (mut model, mut optimizer) = fresh(&config)?;
    let bf16 = train_from(&config, &mut model, &mut optimizer, 0, bf16_dir.path())?;

    assert_ne!(fp32, bf16, "the bf16 products did not run");
    for (a, b) in fp32.iter().zip(&bf16) {
        assert!((a - b).abs() <= 0.02 * a.abs(), "fp32 {a} vs bf16 {b}");
    }
    let text = |dir: &Path| std::fs::read_to_string(dir.join("config.json")).unwrap_or_default();
    assert!(text(bf16_dir.path()).contains("\"precision\": \"bf16\""));
    assert!(!text(fp32_dir.path()).contains("precision"));
    let (reloaded, _, _) = load_model(bf16_dir.path())?;
    assert_eq!(reloaded.train.precision, vae::config::Precision::Bf16);
    Ok(())
}
