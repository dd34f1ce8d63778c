//! An image data set in memory, and the checks every reader's result passes.

use super::split::Split;
use crate::config::ImageShape;
use crate::error::{Error, Result};

/// An image data set in memory: pixels as bytes, converted to floats one batch at a time.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Its name, as the run records it.
    pub name: String,
    /// Every image's shape.
    pub shape: ImageShape,
    /// The training images.
    pub train: Split,
    /// The held-out images.
    pub test: Split,
    /// The name of each label (empty for unlabelled images).
    pub class_names: Vec<String>,
    /// The name of each binary attribute (a folder's `attributes.csv`; empty for none).
    pub attribute_names: Vec<String>,
}

impl Dataset {
    /// A data set from splits the caller made (see `Split::from_floats`): `class_names` names
    /// each label, or is empty for unlabelled images. Refused when the splits' shapes differ, a
    /// split is empty, or a label has no name.
    pub fn from_splits(
        name: &str,
        train: Split,
        test: Split,
        class_names: Vec<String>,
    ) -> Result<Dataset> {
        let classes = class_names.len();
        if classes > 0 {
            let labels = train.labels.iter().chain(&test.labels);
            if let Some(&bad) = labels.into_iter().find(|&&l| usize::from(l) >= classes) {
                return Err(Error::Dataset {
                    name: name.into(),
                    reason: format!("label {bad} is not one of the {classes} classes named"),
                });
            }
        }
        finish(name.into(), train, test, class_names)
    }
}

pub(super) fn finish(
    name: String,
    train: Split,
    test: Split,
    class_names: Vec<String>,
) -> Result<Dataset> {
    if train.shape != test.shape {
        return Err(Error::Dataset {
            name,
            reason: format!(
                "train images are {} but test images are {}",
                train.shape, test.shape
            ),
        });
    }
    if train.is_empty() || test.is_empty() {
        return Err(Error::Dataset {
            name,
            reason: format!(
                "{} training and {} test images; both must be non-empty",
                train.len(),
                test.len()
            ),
        });
    }
    Ok(Dataset {
        name,
        shape: train.shape,
        train,
        test,
        class_names,
        attribute_names: Vec::new(),
    })
}
