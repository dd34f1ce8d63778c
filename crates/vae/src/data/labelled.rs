//! The labelled subset of semi-supervised training: a few images per class keep their labels, the
//! rest of the training set is used without them (Kingma et al. 2014, Sec. 4.1).

use crate::error::{Error, Result};
use crate::kernels::rng::{permutation, Rng};

/// The indices of a training split divided into a class-balanced labelled subset and the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledSubset {
    /// `n / classes` images of every class, in class order.
    pub labelled: Vec<usize>,
    /// Every other image, in index order.
    pub unlabelled: Vec<usize>,
}

impl LabelledSubset {
    /// Picks `n` images, `n / classes` of each class, uniformly at random with `rng`.
    pub fn balanced(labels: &[u8], n: usize, classes: usize, rng: &mut Rng) -> Result<Self> {
        if classes == 0 {
            return Err(Error::InvalidArgument(
                "a labelled subset needs classes".into(),
            ));
        }
        if n == 0 || n > labels.len() {
            return Err(Error::InvalidArgument(format!(
                "{n} labelled images: the number must be between 1 and the {} training images",
                labels.len()
            )));
        }
        if !n.is_multiple_of(classes) {
            return Err(Error::InvalidArgument(format!(
                "{n} labelled images is not a multiple of the {classes} classes, so the subset cannot be class-balanced"
            )));
        }
        let per_class = n / classes;
        // One shuffle of all images, then the first `per_class` of each class in that order.
        let order = permutation(rng, labels.len());
        let mut taken = vec![0usize; classes];
        let mut chosen = vec![false; labels.len()];
        for &i in &order {
            let c = labels[i] as usize;
            if c < classes && taken[c] < per_class {
                taken[c] += 1;
                chosen[i] = true;
            }
        }
        if let Some(c) = taken.iter().position(|&t| t < per_class) {
            return Err(Error::InvalidArgument(format!(
                "{n} labelled images need {per_class} images of class {c}, the training set has {}",
                taken[c]
            )));
        }
        let mut labelled: Vec<usize> = (0..labels.len()).filter(|&i| chosen[i]).collect();
        labelled.sort_by_key(|&i| labels[i]);
        let unlabelled = (0..labels.len()).filter(|&i| !chosen[i]).collect();
        Ok(LabelledSubset {
            labelled,
            unlabelled,
        })
    }
}
