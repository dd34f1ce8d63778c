//! A first layer whose rows pair an image with a one-hot label, `[x_j | onehot(y_r)]`, where many
//! rows share one image: M2 repeats every unlabelled image once per class.
//!
//! With `W = [W_x | W_y]`, row r's product is `x_j · W_xᵀ + W_y[:, y_r]`, so the large product
//! `x · W_xᵀ` runs once per image instead of once per row, and the weight gradient
//! `dW_x = Σ_r dy_rᵀ x_j(r) = (Σ_{r → j} dy_r)ᵀ · x_j` sums each image's row gradients first.

use super::linear::Linear;
use super::scratch::grown;
use crate::batch::check_label_range;
use crate::error::{Error, Result};
use crate::kernels::elementwise::{bias_activation, Activation};
use crate::kernels::matmul::{matmul, MatRef};
use crate::kernels::reduce::add_column_sums;
use crate::kernels::rows;
use crate::kernels::transpose::transpose;
use crate::scalar::Scalar;

/// Rows `[images[image_of_row[r]] | onehot(labels[r])]`, the images stored once.
#[derive(Clone, Copy, Debug)]
pub struct LabelledRows<'a, T> {
    /// `[images, in_dim − classes]`.
    pub images: &'a [T],
    /// For each row, the image it reads.
    pub image_of_row: &'a [usize],
    /// A label per row.
    pub labels: &'a [u8],
    /// How many classes the one-hot label has.
    pub classes: usize,
}

/// Buffers of the shared-image products, reused from batch to batch.
#[derive(Clone, Debug, Default)]
pub struct LabelledScratch<T> {
    /// `Wᵀ` copied `[in_x + classes, out]` for the forward product, then `W_x`'s gradient.
    w_x: Vec<T>,
    /// `W_yᵀ`'s gradient `[classes, out]`.
    w_y: Vec<T>,
    /// Per image: `x_j · W_xᵀ`, then the summed row gradients, `[images, out]`.
    per_image: Vec<T>,
}

impl<T> LabelledScratch<T> {
    /// The values held.
    pub fn len(&self) -> usize {
        self.w_x.len() + self.w_y.len() + self.per_image.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Scalar> LabelledRows<'_, T> {
    fn image_width(&self, layer: &Linear) -> Result<usize> {
        let width = layer
            .in_dim
            .checked_sub(self.classes)
            .ok_or_else(|| Error::shape("labelled input classes", layer.in_dim, self.classes))?;
        let rows = self.image_of_row.len();
        if self.labels.len() != rows {
            return Err(Error::shape(
                "labelled input labels",
                rows,
                self.labels.len(),
            ));
        }
        if width == 0 || !self.images.len().is_multiple_of(width) {
            return Err(Error::shape(
                "labelled input images",
                format!("a multiple of {width}"),
                self.images.len(),
            ));
        }
        let images = self.images.len() / width;
        if let Some(&j) = self.image_of_row.iter().find(|&&j| j >= images) {
            return Err(Error::shape("labelled input image index", images, j));
        }
        check_label_range(self.labels, self.classes)?;
        Ok(width)
    }
}

impl Linear {
    /// `y[rows, out] = activation([x_j | onehot(y_r)] · Wᵀ + b)` for the rows of `input`.
    pub fn forward_labelled<T: Scalar>(
        &self,
        params: &[T],
        input: &LabelledRows<'_, T>,
        activation: Activation,
        scratch: &mut LabelledScratch<T>,
        y: &mut [T],
    ) -> Result<()> {
        let width = input.image_width(self)?;
        let (rows, out) = (input.image_of_row.len(), self.out_dim);
        if y.len() != rows * out {
            return Err(Error::shape("labelled layer output", rows * out, y.len()));
        }
        let images = input.images.len() / width;
        let w = &params[self.weight.clone()];
        // `Wᵀ [in_x + classes, out]` holds `W_xᵀ [in_x, out]` and then `W_yᵀ [classes, out]`,
        // each contiguous: one transposed copy splits the weight and puts `W_x` in the layout the
        // product runs fastest in (see `Linear::forward`).
        let w_t = grown(&mut scratch.w_x, w.len());
        transpose(w, out, self.in_dim, w_t)?;
        let (w_x_t, w_y) = w_t.split_at(width * out);
        scratch.per_image.resize(images * out, T::zero());
        matmul(
            &mut scratch.per_image,
            MatRef::new(input.images, images, width),
            MatRef::new(w_x_t, width, out),
            false,
        )?;
        rows::gather_image_and_label(
            &scratch.per_image,
            w_y,
            input.image_of_row,
            input.labels,
            out,
            y,
        );
        bias_activation(y, &params[self.bias.clone()], activation);
        Ok(())
    }

    /// Accumulates `dW += dyᵀ · [x_j | onehot(y_r)]` and `db += Σ_rows dy`; the input is data, so
    /// it gets no gradient.
    pub fn backward_labelled<T: Scalar>(
        &self,
        grads: &mut [T],
        input: &LabelledRows<'_, T>,
        dy: &[T],
        scratch: &mut LabelledScratch<T>,
    ) -> Result<()> {
        let width = input.image_width(self)?;
        let (rows, out) = (input.image_of_row.len(), self.out_dim);
        if dy.len() != rows * out {
            return Err(Error::shape(
                "labelled layer gradient",
                rows * out,
                dy.len(),
            ));
        }
        let images = input.images.len() / width;
        scratch.per_image.clear();
        scratch.per_image.resize(images * out, T::zero());
        scratch.w_y.clear();
        scratch.w_y.resize(input.classes * out, T::zero());
        rows::scatter_image_and_label(
            dy,
            input.image_of_row,
            input.labels,
            out,
            &mut scratch.per_image,
            &mut scratch.w_y,
        );
        let d_w_x = grown(&mut scratch.w_x, out * width);
        matmul(
            d_w_x,
            MatRef::new(&scratch.per_image, images, out).t(),
            MatRef::new(input.images, images, width),
            false,
        )?;
        rows::merge_label_columns(
            &mut grads[self.weight.clone()],
            self.in_dim,
            width,
            out,
            d_w_x,
            &scratch.w_y,
        );
        add_column_sums(&mut grads[self.bias.clone()], dy);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::rng::{stream, Purpose};
    use crate::nn::{ParamBuilder, Parameters};

    /// The shared-image layer computes exactly what the dense layer computes on the rows written
    /// out in full: outputs and both gradients.
    #[test]
    fn matches_the_dense_layer_on_expanded_rows() -> Result<()> {
        let (width, classes, out, images) = (7, 3, 5, 4);
        let mut params = Parameters::<f64>::default();
        let mut rng = stream(5, Purpose::Init, &[]);
        let layer = Linear::new(
            &mut ParamBuilder::new(&mut params, &mut rng),
            width + classes,
            out,
        );
        let x: Vec<f64> = (0..images * width)
            .map(|i| ((i * 37) % 11) as f64 / 5.0 - 1.0)
            .collect();
        let image_of_row = [0, 0, 0, 1, 1, 1, 2, 3, 3];
        let labels = [0u8, 1, 2, 0, 1, 2, 1, 2, 0];
        let rows = image_of_row.len();
        let mut dense = Vec::new();
        for (&j, &label) in image_of_row.iter().zip(&labels) {
            dense.extend_from_slice(&x[j * width..(j + 1) * width]);
            dense.extend((0..classes).map(|c| if c == label as usize { 1.0 } else { 0.0 }));
        }
        let input = LabelledRows {
            images: &x,
            image_of_row: &image_of_row,
            labels: &labels,
            classes,
        };
        let mut scratch = LabelledScratch::default();
        let (mut y_dense, mut y_shared) = (vec![0.0; rows * out], vec![0.0; rows * out]);
        layer.forward(
            params.values(),
            &dense,
            rows,
            Activation::Tanh,
            &mut Vec::new(),
            &mut y_dense,
        )?;
        layer.forward_labelled(
            params.values(),
            &input,
            Activation::Tanh,
            &mut scratch,
            &mut y_shared,
        )?;
        for (a, b) in y_dense.iter().zip(&y_shared) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        let dy: Vec<f64> = (0..rows * out)
            .map(|i| ((i * 13) % 7) as f64 / 3.0 - 1.0)
            .collect();
        let values = params.values().to_vec();
        let mut g_dense = vec![0.0; values.len()];
        layer.backward(&values, &mut g_dense, &dense, &dy, rows, None)?;
        let mut g_shared = vec![0.0; values.len()];
        layer.backward_labelled(&mut g_shared, &input, &dy, &mut scratch)?;
        for (a, b) in g_dense.iter().zip(&g_shared) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        Ok(())
    }

    #[test]
    fn bad_indices_and_labels_are_errors() {
        let mut params = Parameters::<f32>::default();
        let mut rng = stream(5, Purpose::Init, &[]);
        let layer = Linear::new(&mut ParamBuilder::new(&mut params, &mut rng), 4, 2);
        let images = [0f32; 6];
        let mut scratch = LabelledScratch::default();
        let mut y = [0f32; 4];
        for (image_of_row, labels) in [([0, 3], [0u8, 1]), ([0, 1], [0, 2])] {
            let input = LabelledRows {
                images: &images,
                image_of_row: &image_of_row,
                labels: &labels,
                classes: 2,
            };
            let result = layer.forward_labelled(
                params.values(),
                &input,
                Activation::Relu,
                &mut scratch,
                &mut y,
            );
            assert!(result.is_err(), "{image_of_row:?} {labels:?}");
        }
    }
}
