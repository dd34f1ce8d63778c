//! The matrix products of dense layers as `[m, k] · [k, n]` shapes, for benchmarks (`vae bench
//! --shapes`, `cargo bench`): which of a layer's three products, its shape, and the storage layout
//! `Linear` runs it in.

use super::linear::forward_transposes_weight;
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

/// One product of a layer `inputs -> outputs` over `rows` rows, as `[m, k] · [k, n]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductShape {
    pub name: String,
    pub product: Product,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl ProductShape {
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
            m,
            k,
            n,
        }
    }

    /// Whether the left (`a`) and right (`b`) operands are stored transposed as `Linear` holds
    /// them (`[k, m]`, `[n, k]`): the forward's `Wᵀ`, the weight gradient's `dyᵀ`.
    pub fn stored_transposed(&self) -> (bool, bool) {
        match self.product {
            Product::Forward => (false, true),
            Product::WeightGrad => (true, false),
            Product::InputGrad => (false, false),
        }
    }

    /// Whether `Linear` copies the weight transposed first and multiplies in the `nn` layout.
    pub fn runs_on_transposed_copy(&self) -> bool {
        self.product == Product::Forward && forward_transposes_weight(self.m, self.k * self.n)
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
}
