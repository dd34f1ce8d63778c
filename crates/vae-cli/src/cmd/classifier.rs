//! `vae classifier train`: the reference classifier that `vae eval --classifier` scores
//! conditional samples with. It trains through the same loop as every model.

use super::common::{load_dataset, thread_pool};
use crate::cli::{ArchArg, ClassifierCommand, ClassifierTrainArgs};
use anyhow::{bail, Context, Result};
use std::path::Path;
use vae::checkpoint::{self, save_classifier};
use vae::config::{arch, ClassifierConfig, ClassifierRunConfig};
use vae::data::folder::FolderOptions;
use vae::data::DatasetSpec;
use vae::model::ReferenceClassifier;
use vae::nn::spec;
use vae::objective::CrossEntropy;
use vae::run_dir::{next_run_dir, run_name};
use vae::train::{train, TrainingData};
use vae::{
    Activation, Binarize, Optimizer, OptimizerConfig, OptimizerKind, RunConfig, TrainConfig,
    Trainable,
};

pub fn run(command: ClassifierCommand) -> Result<()> {
    match command {
        ClassifierCommand::Train(args) => train_classifier(args),
    }
}

fn train_classifier(args: ClassifierTrainArgs) -> Result<()> {
    let pool = thread_pool(args.threads)?;
    let spec = args.data.dataset.clone().unwrap_or_else(|| "mnist".into());
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => next_run_dir(
            Path::new("runs"),
            &format!("classifier-{}", run_name(&DatasetSpec::parse(&spec)?)),
        ),
    };
    if dir.join(checkpoint::CONFIG_FILE).exists() {
        bail!(
            "{} already holds a model; choose another --out",
            dir.display()
        );
    }
    let folder = FolderOptions::default();
    let dataset = load_dataset(&spec, args.data.data_dir.as_deref(), &folder)?;
    let classes = dataset.class_names.len();
    if classes < 2 {
        bail!("{spec} has {classes} class: a classifier needs at least 2");
    }
    let (layers, kind) = match args.arch {
        ArchArg::Mlp => (spec::mlp(&args.hidden, Activation::Relu), ""),
        ArchArg::Conv => (
            arch::conv(dataset.shape, &args.hidden, Activation::Relu)?.0,
            "-conv",
        ),
    };
    let config = ClassifierRunConfig {
        format: RunConfig::FORMAT,
        kind: ClassifierRunConfig::KIND.into(),
        dataset: spec,
        folder,
        classifier: ClassifierConfig {
            image: dataset.shape,
            layers,
            classes,
        },
        train: TrainConfig {
            epochs: args.epochs,
            batch_size: args.batch_size,
            optimizer: OptimizerConfig {
                lr: args.lr,
                ..OptimizerConfig::default_for(OptimizerKind::Adam)
            },
            seed: args.seed,
            // Generated images are grey levels (decoder means), so the classifier reads grey.
            binarize: Binarize::None,
            ..TrainConfig::default()
        },
    };
    config.validate()?;
    let mut model = ReferenceClassifier::<f32>::new(&config.classifier, args.seed)?;
    let mut optimizer = Optimizer::with_groups(config.train.optimizer, model.parameter_groups());
    println!(
        "training a reference classifier {}{}-{}-{} on {} ({} train / {} test images) for {} epochs; writing {}",
        dataset.shape.len(),
        kind,
        args.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join("-"),
        classes,
        dataset.name,
        dataset.train.len(),
        dataset.test.len(),
        args.epochs,
        dir.display()
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let data = TrainingData::prepare(dataset, Binarize::None, args.seed);
    pool.install(|| {
        train(
            &mut model,
            &CrossEntropy,
            &mut optimizer,
            &data,
            &config.train,
            0,
            &mut |_| Ok(()),
            &mut |model, _, report| {
                println!(
                    "epoch {:>3}/{}  train cross-entropy {:.4}  test error {:5.2}%  {:4.1} s",
                    report.epoch,
                    args.epochs,
                    report.train.classification / report.train.images as f64,
                    100.0 * report.test.error_rate().unwrap_or(f64::NAN),
                    report.train_seconds
                );
                save_classifier(&dir, &config, model, report.epoch)
            },
        )
    })
    .context("training failed")?;
    println!("done: {}", dir.display());
    Ok(())
}
