//! The VAE's relatives learn what they should: M2 classifies from a handful of labels, the
//! labelled subset is class-balanced and reproducible, and the autoencoder reconstructs.

use vae::nn::spec::mlp;
use vae::Generative;

use crate::common::{self, train_reports};
use vae::checkpoint;
use vae::config::{
    Binarize, ClassifierConfig, ClassifierRunConfig, ModelConfig, ModelKind, OptimizerConfig,
    OptimizerKind, TrainConfig,
};
use vae::data::{Dataset, LabelledSubset};
use vae::eval::conditional_accuracy;
use vae::kernels::rng::{stream, Purpose};
use vae::model::ReferenceClassifier;
use vae::model::VaeWorkspace;
use vae::train::TrainingData;
use vae::Activation;
use vae::{Error, Model, Result, Trainable};

fn quadrants() -> Dataset {
    let train = common::quadrants(800, 1);
    let test = common::quadrants(200, 2);
    Dataset {
        name: "quadrants".into(),
        shape: train.shape,
        train,
        test,
        class_names: (0..4).map(|c| c.to_string()).collect(),
        attribute_names: Vec::new(),
    }
}

fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        optimizer: OptimizerConfig::default_for(OptimizerKind::Adam),
        seed: 7,
        binarize: Binarize::None,
        samples: 1,
        ..TrainConfig::default()
    }
}

#[test]
fn labelled_subset_is_balanced_and_reproducible() -> Result<()> {
    let labels: Vec<u8> = (0..1000).map(|i| (i * 7 % 10) as u8).collect();
    let pick =
        |seed| LabelledSubset::balanced(&labels, 100, 10, &mut stream(seed, Purpose::Select, &[]));
    let a = pick(1)?;
    assert_eq!(a, pick(1)?, "same seed, same subset");
    assert_ne!(
        a.labelled,
        pick(2)?.labelled,
        "another seed, another subset"
    );
    for c in 0..10u8 {
        assert_eq!(a.labelled.iter().filter(|&&i| labels[i] == c).count(), 10);
    }
    assert_eq!(a.labelled.len() + a.unlabelled.len(), labels.len());
    assert!(a.unlabelled.iter().all(|i| !a.labelled.contains(i)));

    let mut rng = stream(1, Purpose::Select, &[]);
    for (n, needle) in [
        (105, "not a multiple"),
        (1010, "between 1 and"),
        (0, "between 1 and"),
    ] {
        match LabelledSubset::balanced(&labels, n, 10, &mut rng) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("--labels {n}: expected an error, got {other:?}"),
        }
    }
    // Class 9 with only 5 images cannot give 10.
    let scarce: Vec<u8> = (0..1000)
        .map(|i| {
            if i % 10 == 9 && i >= 50 {
                0
            } else {
                (i % 10) as u8
            }
        })
        .collect();
    match LabelledSubset::balanced(&scarce, 100, 10, &mut rng) {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("class"), "{m}"),
        other => panic!("expected an error, got {other:?}"),
    }
    Ok(())
}

/// Two labels per class out of 800 images: M2 must classify the held-out quadrants far better
/// than chance (75% error), the unlabelled images carrying the rest.
#[test]
fn m2_learns_to_classify_from_eight_labels() -> Result<()> {
    let config = train_config(20);
    let model_config = ModelConfig {
        kind: ModelKind::M2,
        image: quadrants().shape,
        encoder: mlp(&[32], Activation::Relu),
        decoder: mlp(&[32], Activation::Relu),
        latent: 2,
        classes: 4,
        classifier: Some(mlp(&[32], Activation::Relu)),
        ..ModelConfig::default()
    };
    let mut model = Model::<f32>::new(&model_config, 7)?;
    let data = TrainingData::prepare(quadrants(), config.binarize, config.seed)
        .semi_supervised(8, 4, None, &config)?;
    assert_eq!(data.batches_per_epoch(32), (792usize).div_ceil(32));
    let reports = train_reports(&mut model, &data, &config)?;
    let last = reports
        .last()
        .and_then(|r| r.test.error_rate())
        .expect("an error rate per epoch");
    assert!(
        last < 0.25,
        "test error {last} after 20 epochs (chance is 0.75)"
    );

    let mut predicted = Vec::new();
    let x: Vec<f32> = data.test.images.iter().map(|&v| v as f32 / 255.0).collect();
    model.classify(
        &mut VaeWorkspace::default(),
        &x,
        data.test.len(),
        &mut predicted,
    )?;
    let wrong = predicted
        .iter()
        .zip(&data.test.labels)
        .filter(|(p, l)| p != l)
        .count();
    assert_eq!(wrong as f64 / data.test.len() as f64, last);
    Ok(())
}

#[test]
fn autoencoder_reconstructs_without_kl() -> Result<()> {
    let config = train_config(10);
    let model_config = ModelConfig {
        kind: ModelKind::Ae,
        image: quadrants().shape,
        encoder: mlp(&[32], Activation::Relu),
        decoder: mlp(&[32], Activation::Relu),
        latent: 2,
        ..ModelConfig::default()
    };
    let mut model = Model::<f32>::new(&model_config, 7)?;
    let data = TrainingData::prepare(quadrants(), config.binarize, config.seed);
    let reports = train_reports(&mut model, &data, &config)?;
    let (first, last) = (reports[0], reports[reports.len() - 1]);
    assert_eq!(last.test.kl, 0.0);
    assert!(last.test.reconstruction_per_image() < first.test.reconstruction_per_image());
    // The code is a point: encoding gives log-variance −∞ and decoding the mean reconstructs.
    let mut posterior = Vec::new();
    let x: Vec<f32> = data.test.images[..64]
        .iter()
        .map(|&v| v as f32 / 255.0)
        .collect();
    model.encode(&mut VaeWorkspace::default(), &x, &[], 1, &mut posterior)?;
    assert!(posterior[2..].iter().all(|v| *v == f32::NEG_INFINITY));
    assert!(model.parameters().entry("encoder.log_var.weight").is_none());
    assert!(model.parameters().entry("encoder.code.weight").is_some());
    Ok(())
}

/// A conditional VAE on the quadrants draws each requested class, as read by a reference
/// classifier trained on the real images; the classifier survives a checkpoint round trip.
#[test]
fn conditional_samples_are_read_as_their_label() -> Result<()> {
    let config = train_config(60);
    let data = TrainingData::prepare(quadrants(), config.binarize, config.seed);
    let mut cvae = Model::<f32>::new(
        &ModelConfig {
            image: data.train.shape,
            encoder: mlp(&[32], Activation::Relu),
            decoder: mlp(&[32], Activation::Relu),
            latent: 2,
            classes: 4,
            ..ModelConfig::default()
        },
        7,
    )?;
    let classifier_config = ClassifierConfig {
        image: data.train.shape,
        layers: mlp(&[16], Activation::Relu),
        classes: 4,
    };
    let mut classifier = ReferenceClassifier::<f32>::new(&classifier_config, 7)?;
    train_reports(&mut cvae, &data, &config)?;
    let test_error = train_reports(&mut classifier, &data, &config)?
        .last()
        .and_then(|r| r.test.error_rate());
    assert!(
        test_error.is_some_and(|e| e < 0.05),
        "classifier test error {test_error:?}"
    );

    let accuracy = conditional_accuracy(&cvae, &classifier, 50, 3)?;
    assert_eq!(accuracy.len(), 4);
    assert!(
        accuracy.iter().all(|&a| a >= 0.9),
        "per-class accuracy {accuracy:?}"
    );

    let dir = tempfile::tempdir().map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let run = ClassifierRunConfig {
        format: vae::RunConfig::FORMAT,
        kind: ClassifierRunConfig::KIND.into(),
        dataset: "quadrants".into(),
        folder: Default::default(),
        classifier: classifier_config,
        train: config,
    };
    checkpoint::save_classifier(dir.path(), &run, &classifier, 15)?;
    let (loaded_config, loaded) = checkpoint::load_classifier(dir.path())?;
    assert_eq!(loaded_config, run);
    assert_eq!(
        loaded.parameters().values(),
        classifier.parameters().values()
    );
    match checkpoint::load_model(dir.path()) {
        Err(e) => assert!(e.to_string().contains("reference classifier"), "{e}"),
        Ok(_) => panic!("a classifier directory loaded as a VAE"),
    }
    Ok(())
}

/// A conditional model of 256 classes (labels up to 255) draws analogies and scores every class:
/// `0..classes as u8` was the empty range 0..0 there.
#[test]
fn two_hundred_fifty_six_classes() -> Result<()> {
    use vae::config::{ImageShape, ModelConfig};
    use vae::data::Split;
    let shape = ImageShape {
        height: 2,
        width: 2,
        channels: 1,
    };
    let config = ModelConfig {
        image: shape,
        latent: 2,
        classes: 256,
        ..ModelConfig::default()
    }
    .with_mlp(&[4], Activation::Tanh);
    let model = Model::<f32>::new(&config, 1)?;
    let split = Split {
        shape,
        images: vec![0, 128, 255, 64],
        labels: vec![255],
        attributes: Vec::new(),
    };
    let grid = vae::figures::analogy(&model, &split, &[0], 1)?;
    // The image, then its style under each of the 256 labels: 257 tiles in a row.
    assert!(grid.width() >= 257 * 2 + 256, "{}", grid.width());
    let mut scores = Vec::new();
    let x = vae::figures::images(&split, &[0]);
    model.class_log_likelihoods(
        &mut VaeWorkspace::default(),
        &x,
        2,
        &mut vae::kernels::rng::stream(0, vae::kernels::rng::Purpose::Evaluate, &[]),
        &mut scores,
    )?;
    assert_eq!(scores.len(), 256);
    assert!(scores.iter().all(|s| s.is_finite()));
    Ok(())
}
