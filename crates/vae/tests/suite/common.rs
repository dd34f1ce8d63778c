//! Fixtures shared by the integration tests: a tiny synthetic image data set in memory.

use vae::config::{ImageShape, TrainConfig};
use vae::data::{Dataset, Split};
use vae::kernels::rng::{stream, Purpose};
use vae::model::ReferenceClassifier;
use vae::objective::{CrossEntropy, VaeObjective};
use vae::train::{train, EpochReport, TrainingData};
use vae::{Model, Objective, Optimizer, Result, Trainable};

/// `n` images of 6 x 5 pixels in two classes: class 0 bright on the left, class 1 on the right,
/// with noisy grey levels.
pub fn split(n: usize, seed: u64) -> Split {
    use rand::Rng as _;
    let shape = ImageShape {
        height: 6,
        width: 5,
        channels: 1,
    };
    let mut rng = stream(seed, Purpose::Sample, &[]);
    let mut images = Vec::with_capacity(n * shape.len());
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i % 2) as u8;
        for _ in 0..shape.height {
            for x in 0..shape.width {
                let bright = (x < 2 && label == 0) || (x >= 3 && label == 1);
                let base: f64 = if bright { 0.85 } else { 0.1 };
                let v = (base + rng.gen_range(-0.1..0.1)).clamp(0.0, 1.0);
                images.push((v * 255.0).round() as u8);
            }
        }
        labels.push(label);
    }
    Split {
        shape,
        images,
        labels,
        attributes: Vec::new(),
    }
}

pub fn dataset() -> Dataset {
    let train = split(300, 1);
    let test = split(60, 2);
    Dataset {
        name: "synthetic".into(),
        shape: train.shape,
        train,
        test,
        class_names: vec!["left".into(), "right".into()],
        attribute_names: Vec::new(),
    }
}

/// `n` images of 8 x 8 pixels in four classes, each bright in its own quadrant.
pub fn quadrants(n: usize, seed: u64) -> Split {
    use rand::Rng as _;
    let shape = ImageShape {
        height: 8,
        width: 8,
        channels: 1,
    };
    let mut rng = stream(seed, Purpose::Sample, &[]);
    let mut images = Vec::with_capacity(n * shape.len());
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i % 4) as u8;
        for y in 0..8 {
            for x in 0..8 {
                let quadrant = (y / 4) * 2 + x / 4;
                let base: f64 = if quadrant == label as usize {
                    0.9
                } else {
                    0.05
                };
                let v = (base + rng.gen_range(-0.05..0.05)).clamp(0.0, 1.0);
                images.push((v * 255.0).round() as u8);
            }
        }
        labels.push(label);
    }
    Split {
        shape,
        images,
        labels,
        attributes: Vec::new(),
    }
}

/// Trains `model` from scratch with a fresh optimizer for `config.epochs`; every epoch's report.
pub fn train_reports<M: Trains>(
    model: &mut M,
    data: &TrainingData,
    config: &TrainConfig,
) -> Result<Vec<EpochReport>> {
    let mut optimizer = Optimizer::new(config.optimizer, model.parameters().len());
    let mut reports = Vec::new();
    let objective = model.objective(data, config);
    train(
        model,
        &objective,
        &mut optimizer,
        data,
        config,
        0,
        &mut |_| Ok(()),
        &mut |_, _, report| {
            reports.push(*report);
            Ok(())
        },
    )?;
    Ok(reports)
}

/// A model with the objective it trains with by default.
pub trait Trains: Trainable<f32> + Sized {
    type With: Objective<f32, Self>;
    fn objective(&self, data: &TrainingData, config: &TrainConfig) -> Self::With;
}

impl Trains for Model<f32> {
    type With = VaeObjective;
    fn objective(&self, data: &TrainingData, config: &TrainConfig) -> VaeObjective {
        VaeObjective::for_model(self.kind(), config, data.classification_weight())
    }
}

impl Trains for ReferenceClassifier<f32> {
    type With = CrossEntropy;
    fn objective(&self, _: &TrainingData, _: &TrainConfig) -> CrossEntropy {
        CrossEntropy
    }
}
