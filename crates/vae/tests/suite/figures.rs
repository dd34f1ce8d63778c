//! Pictures are checked for what they show, not only for existing: the manifold's tiles sit where
//! the grid says, and a trained 2-D latent space separates the classes.

use vae::nn::spec::mlp;
use vae::Activation;
use vae::Generative;

use super::common;
use vae::config::{Binarize, ImageShape, ModelConfig, OptimizerConfig, OptimizerKind, TrainConfig};
use vae::data::Dataset;
use vae::latent::{grid_coordinates, manifold_points};
use vae::model::VaeWorkspace;
use vae::render::{tile, GridLayout};
use vae::train::TrainingData;
use vae::{Model, Result};

#[test]
fn manifold_tiles_decode_their_grid_points() -> Result<()> {
    let shape = ImageShape {
        height: 3,
        width: 4,
        channels: 1,
    };
    let config = ModelConfig {
        image: shape,
        encoder: mlp(&[8], Activation::Relu),
        decoder: mlp(&[8], Activation::Relu),
        latent: 3,
        ..ModelConfig::default()
    };
    let model = Model::<f32>::new(&config, 21)?;
    let side = 4;
    let z = manifold_points(side, 3, (2, 1))?;
    let mut ws = VaeWorkspace::default();
    let mut decoded = Vec::new();
    model.decode(&mut ws, &z, &[], side * side, &mut decoded)?;
    assert!(
        decoded.iter().all(|v| (0.0..=1.0).contains(v)),
        "means outside [0, 1]"
    );
    let scale = 2;
    let grid = tile(
        &decoded,
        shape,
        GridLayout {
            columns: side,
            scale,
            separator: 1,
        },
    )?
    .to_luma8();
    assert_eq!(grid.dimensions(), (4 * 8 + 5, 4 * 6 + 5));

    let coords = grid_coordinates(side)?;
    for row in 0..side {
        for col in 0..side {
            // Decode the expected point independently: dim 2 grows to the right, dim 1 upwards.
            let point = [0.0, coords[side - 1 - row] as f32, coords[col] as f32];
            let mut expected = Vec::new();
            model.decode(&mut ws, &point, &[], 1, &mut expected)?;
            for y in 0..3 {
                for x in 0..4 {
                    let px = 1 + col as u32 * (4 * scale + 1) + x * scale + 1;
                    let py = 1 + row as u32 * (3 * scale + 1) + y * scale + 1;
                    let want = (expected[(y * 4 + x) as usize] * 255.0).round() as u8;
                    assert_eq!(
                        grid.get_pixel(px, py)[0],
                        want,
                        "tile ({row}, {col}) pixel ({y}, {x})"
                    );
                }
            }
        }
    }
    Ok(())
}

#[test]
fn a_trained_2d_latent_space_separates_the_classes() -> Result<()> {
    let train_split = common::quadrants(800, 1);
    let test = common::quadrants(200, 2);
    let dataset = Dataset {
        name: "quadrants".into(),
        shape: train_split.shape,
        train: train_split,
        test: test.clone(),
        class_names: (0..4).map(|c| c.to_string()).collect(),
        attribute_names: Vec::new(),
    };
    let config = TrainConfig {
        epochs: 15,
        batch_size: 32,
        optimizer: OptimizerConfig::default_for(OptimizerKind::Adam),
        seed: 3,
        binarize: Binarize::None,
        samples: 1,
        ..TrainConfig::default()
    };
    let model_config = ModelConfig {
        image: dataset.shape,
        encoder: mlp(&[32], Activation::Relu),
        decoder: mlp(&[32], Activation::Relu),
        latent: 2,
        ..ModelConfig::default()
    };
    let mut model = Model::<f32>::new(&model_config, 3)?;
    let data = TrainingData::prepare(dataset, config.binarize, config.seed);
    common::train_reports(&mut model, &data, &config)?;

    let x: Vec<f32> = test.images.iter().map(|&v| v as f32 / 255.0).collect();
    let mut means = Vec::new();
    model.encode_means(
        &mut VaeWorkspace::default(),
        &x,
        &[],
        test.len(),
        &mut means,
    )?;
    let mut centre = [[0f64; 2]; 4];
    let mut count = [0usize; 4];
    for (m, &l) in means.chunks_exact(2).zip(&test.labels) {
        centre[l as usize][0] += m[0] as f64;
        centre[l as usize][1] += m[1] as f64;
        count[l as usize] += 1;
    }
    for (c, n) in centre.iter_mut().zip(count) {
        c[0] /= n as f64;
        c[1] /= n as f64;
    }
    // Spread: root-mean-square distance of a class's points from its mean.
    let mut spread = [0f64; 4];
    for (m, &l) in means.chunks_exact(2).zip(&test.labels) {
        let c = centre[l as usize];
        spread[l as usize] += ((m[0] as f64 - c[0]).powi(2) + (m[1] as f64 - c[1]).powi(2))
            / count[l as usize] as f64;
    }
    let spread = spread.map(f64::sqrt);
    let mut separated = 0;
    let mut pairs = 0;
    for a in 0..4 {
        for b in a + 1..4 {
            let distance = ((centre[a][0] - centre[b][0]).powi(2)
                + (centre[a][1] - centre[b][1]).powi(2))
            .sqrt();
            pairs += 1;
            if distance > spread[a] + spread[b] {
                separated += 1;
            }
        }
    }
    assert!(
        separated * 4 >= pairs * 3,
        "only {separated} of {pairs} class pairs apart: centres {centre:?}, spreads {spread:?}"
    );
    Ok(())
}
