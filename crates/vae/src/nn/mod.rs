//! Layers with an explicit forward and an analytic backward, over one flat parameter store.

pub mod labelled_rows;
pub mod linear;
pub mod mlp;
pub mod params;

pub use labelled_rows::{LabelledRows, MlpInput};
pub use linear::Linear;
pub use mlp::{Mlp, MlpBuffers};
pub use params::{Init, ParamBuilder, ParamEntry, Parameters};
