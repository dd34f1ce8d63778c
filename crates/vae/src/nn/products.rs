//! The matrix products of dense and convolutional layers as `[m, k] · [k, n]` shapes, for
//! benchmarks (`vae bench --shapes`, `cargo bench`): which of a layer's three products, its shape,
//! and the storage layout the layer runs it in.

use super::linear::forward_transposes_weight;
use super::spec::LayerSpec;
use crate::error::{Error, Result};
use crate::kernels::matmul::MatRef;

/// The four storage layouts of a product's operands: whether `a` and `b` are stored transposed.
pub const LAYOUTS: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

/// `nn`, `nt`, `tn` or `tt`: which of `a` and `b` are stored transposed.
pub fn layout_name((a_t, b_t): (bool, bool)) -> &'static str {
    match (a_t, b_t) {
        (false, false) => "nn",
        (false, true) => "nt",
        (true, false) => "tn",
        (true, true) => "tt",
    }
}

/// Which of a dense layer's three products a shape is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// `y = x · Wᵀ`, W stored `[out, in]`.
    Forward,
    /// `dW += dyᵀ · x`.
    WeightGrad,
    /// `dx = dy · W`.
    InputGrad,
}

/// Which layer a product belongs to, which decides the layouts its operands are stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// `nn::Linear`: rows are images.
    Dense,
    /// `nn::Conv2d`, a dense layer from a receptive field to the output channels: rows are field
    /// positions.
    Conv,
    /// `nn::ConvTranspose2d`, the adjoint: each input pixel's channels to the field it spreads
    /// over, so its forward is a convolution's input gradient and the other way round.
    ConvTranspose,
}

/// One product of a layer `inputs -> outputs` over `rows` rows, as `[m, k] · [k, n]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductShape {
    /// The layer and product, as benchmarks print it.
    pub name: String,
    /// Which of the layer's products.
    pub product: Product,
    /// Which kind of layer.
    pub layer: LayerKind,
    /// Rows of the left operand.
    pub m: usize,
    /// The shared dimension.
    pub k: usize,
    /// Columns of the right operand.
    pub n: usize,
}

impl ProductShape {
    /// The `product` of a layer `inputs -> outputs` over `rows` rows, named after `stage`.
    pub fn new(
        stage: &str,
        product: Product,
        rows: usize,
        (inputs, outputs): (usize, usize),
    ) -> Self {
        let (m, k, n, what) = match product {
            Product::Forward => (rows, inputs, outputs, "forward"),
            Product::WeightGrad => (outputs, rows, inputs, "weight grad"),
            Product::InputGrad => (rows, outputs, inputs, "input grad"),
        };
        ProductShape {
            name: format!("{stage} {what} {inputs}->{outputs}"),
            product,
            layer: LayerKind::Dense,
            m,
            k,
            n,
        }
    }

    /// One product of a convolution (`LayerKind::Conv`) or transposed convolution over `rows`
    /// field positions, each field `field` values, `channels` the channels on the other side (a
    /// convolution's outputs, a transposed convolution's inputs); `label` names the layer.
    pub fn conv(
        stage: &str,
        product: Product,
        layer: LayerKind,
        rows: usize,
        (field, channels): (usize, usize),
        label: &str,
    ) -> Self {
        // A convolution multiplies like a dense layer field -> channels; the transposed one like
        // that layer's adjoint, channels -> field, with forward and input gradient swapped.
        let dense = |product| ProductShape::new(stage, product, rows, (field, channels));
        let shape = match (layer, product) {
            (LayerKind::ConvTranspose, Product::Forward) => dense(Product::InputGrad),
            (LayerKind::ConvTranspose, Product::InputGrad) => dense(Product::Forward),
            _ => dense(product),
        };
        let what = match product {
            Product::Forward => "forward",
            Product::WeightGrad => "weight grad",
            Product::InputGrad => "input grad",
        };
        ProductShape {
            name: format!("{stage} {what} {label}"),
            product,
            layer,
            ..shape
        }
    }

    /// Whether the left (`a`) and right (`b`) operands are stored transposed as the layer holds
    /// them (`[k, m]`, `[n, k]`): a dense layer's or convolution's forward `Wᵀ`, every weight
    /// gradient's `dyᵀ` (or `xᵀ`), a transposed convolution's input gradient `Wᵀ`.
    pub fn stored_transposed(&self) -> (bool, bool) {
        match (self.layer, self.product) {
            (LayerKind::ConvTranspose, Product::Forward) => (false, false),
            (LayerKind::ConvTranspose, Product::InputGrad) => (false, true),
            (_, Product::Forward) => (false, true),
            (_, Product::WeightGrad) => (true, false),
            (_, Product::InputGrad) => (false, false),
        }
    }

    /// Whether `Linear` copies the weight transposed first and multiplies in the `nn` layout
    /// (convolutions never do).
    pub fn runs_on_transposed_copy(&self) -> bool {
        self.layer == LayerKind::Dense
            && self.product == Product::Forward
            && forward_transposes_weight(self.m, self.k * self.n)
    }

    /// How `Linear` runs it: `nn`, `nt`, `tn` (which operands are read transposed), or
    /// `transposed copy + nn`.
    pub fn as_run(&self) -> &'static str {
        if self.runs_on_transposed_copy() {
            return "transposed copy + nn";
        }
        layout_name(self.stored_transposed())
    }

    /// `a [m, k]` and `b [k, n]` read from buffers stored in `layout` (see `LAYOUTS`).
    pub fn operands<'a, T>(
        &self,
        a: &'a [T],
        b: &'a [T],
        (a_t, b_t): (bool, bool),
    ) -> (MatRef<'a, T>, MatRef<'a, T>) {
        let lhs = if a_t {
            MatRef::new(a, self.k, self.m).t()
        } else {
            MatRef::new(a, self.m, self.k)
        };
        let rhs = if b_t {
            MatRef::new(b, self.n, self.k).t()
        } else {
            MatRef::new(b, self.k, self.n)
        };
        (lhs, rhs)
    }
}

/// The products of one training step through dense layers `(inputs, outputs)` at `rows` rows (every
/// forward and weight gradient, and every input gradient but the first layer's, whose input is the
/// data), then the forward products of the `scoring` layers at `score_rows` rows.
pub fn step_and_scoring(
    layers: &[(usize, usize)],
    rows: usize,
    scoring: &[(usize, usize)],
    score_rows: usize,
) -> Vec<ProductShape> {
    let mut shapes = Vec::new();
    for product in [Product::Forward, Product::WeightGrad, Product::InputGrad] {
        let skip = usize::from(product == Product::InputGrad);
        for &layer in layers.iter().skip(skip) {
            shapes.push(ProductShape::new("train", product, rows, layer));
        }
    }
    for &layer in scoring {
        shapes.push(ProductShape::new(
            "score",
            Product::Forward,
            score_rows,
            layer,
        ));
    }
    shapes
}

/// The products of one training step at `images` images through `networks`, each a layer list
/// and the shape of one input row, in order (the encoder with its head, then the decoder): every
/// forward product, every weight gradient, and every input gradient but the first layer's, whose
/// input is the data.
pub fn network_step(
    networks: &[(&[LayerSpec], Vec<usize>)],
    images: usize,
) -> Result<Vec<ProductShape>> {
    let mut layers = Vec::new();
    for (list, shape) in networks {
        let mut shape = shape.clone();
        for spec in list.iter() {
            let plan = spec
                .plan(&shape)
                .map_err(|e| Error::Config(format!("{}: {e}", spec.kind())))?;
            let describe = |s: &[usize]| {
                s.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("x")
            };
            let label = format!(
                "{} {}->{}",
                spec.kind(),
                describe(&shape),
                describe(&plan.shape)
            );
            let flat = |s: &[usize]| s.iter().product::<usize>();
            match (spec, plan.geometry) {
                (LayerSpec::Linear { out, .. }, _) => {
                    layers.push((LayerKind::Dense, images, (flat(&shape), *out), label))
                }
                (LayerSpec::Conv2d { out, .. }, Some(g)) => layers.push((
                    LayerKind::Conv,
                    images * g.positions(),
                    (g.field_len(), *out),
                    label,
                )),
                (LayerSpec::ConvTranspose2d { .. }, Some(g)) => layers.push((
                    LayerKind::ConvTranspose,
                    images * g.positions(),
                    (g.field_len(), flat(&shape) / g.positions()),
                    label,
                )),
                _ => {}
            }
            shape = plan.shape;
        }
    }
    let mut shapes = Vec::new();
    for product in [Product::Forward, Product::WeightGrad, Product::InputGrad] {
        let skip = usize::from(product == Product::InputGrad);
        for (layer, rows, sizes, label) in layers.iter().skip(skip) {
            shapes.push(match layer {
                LayerKind::Dense => ProductShape::new("train", product, *rows, *sizes),
                _ => ProductShape::conv("train", product, *layer, *rows, *sizes, label),
            });
        }
    }
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_layer_products() {
        let shapes = step_and_scoring(&[(784, 400), (400, 40)], 128, &[(400, 784)], 2048);
        let names: Vec<_> = shapes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "train forward 784->400",
                "train forward 400->40",
                "train weight grad 784->400",
                "train weight grad 400->40",
                "train input grad 400->40",
                "score forward 400->784",
            ]
        );
        let grad = &shapes[3];
        assert_eq!((grad.m, grad.k, grad.n), (40, 128, 400));
        assert_eq!(grad.as_run(), "tn");
        let input_grad = &shapes[4];
        assert_eq!((input_grad.m, input_grad.k, input_grad.n), (128, 40, 400));
        assert_eq!(shapes[0].as_run(), "transposed copy + nn");
    }

    /// The MNIST conv preset's step: the shapes `nn::conv` multiplies, in the layouts it stores.
    #[test]
    fn conv_layers_multiply_as_their_fields() -> Result<()> {
        let conv = |out| LayerSpec::Conv2d {
            name: None,
            out,
            kernel: 4,
            stride: 2,
            padding: 1,
        };
        let deconv = |out| LayerSpec::ConvTranspose2d {
            name: None,
            out,
            kernel: 4,
            stride: 2,
            padding: 1,
            output_padding: 0,
        };
        let encoder = [conv(32), LayerSpec::Relu, conv(64), LayerSpec::Flatten];
        let decoder = [
            LayerSpec::Reshape {
                shape: vec![7, 7, 64],
            },
            deconv(32),
            deconv(1),
        ];
        let shapes = network_step(
            &[(&encoder, vec![28, 28, 1]), (&decoder, vec![7 * 7 * 64])],
            128,
        )?;
        let find = |name: &str| shapes.iter().find(|s| s.name == name);
        let shape = |name: &str| find(name).unwrap_or_else(|| panic!("no product {name}"));
        let forward = shape("train forward conv2d 14x14x32->7x7x64");
        assert_eq!((forward.m, forward.k, forward.n), (128 * 49, 512, 64));
        assert_eq!(forward.as_run(), "nt");
        let deconv_forward = shape("train forward conv_transpose2d 7x7x64->14x14x32");
        assert_eq!(
            (deconv_forward.m, deconv_forward.k, deconv_forward.n),
            (128 * 49, 64, 512)
        );
        assert_eq!(deconv_forward.as_run(), "nn");
        let deconv_grad = shape("train weight grad conv_transpose2d 14x14x32->28x28x1");
        assert_eq!(
            (deconv_grad.m, deconv_grad.k, deconv_grad.n),
            (32, 128 * 196, 16)
        );
        let deconv_input = shape("train input grad conv_transpose2d 14x14x32->28x28x1");
        assert_eq!(
            (deconv_input.m, deconv_input.k, deconv_input.n),
            (128 * 196, 16, 32)
        );
        assert_eq!(deconv_input.as_run(), "nt");
        // Four layers: four forwards, four weight gradients, three input gradients.
        assert_eq!(shapes.len(), 11);
        assert!(find("train input grad conv2d 28x28x1->14x14x32").is_none());
        Ok(())
    }
}
