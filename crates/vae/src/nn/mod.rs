//! Layers with an explicit forward and an analytic backward over one flat parameter store, and the
//! sequential network a layer list in `config.json` builds from them.

pub mod batch_norm;
pub mod conv;
pub mod labelled_rows;
pub mod layer;
pub mod linear;
mod lists;
pub mod lstm;
pub mod network;
pub mod params;
pub mod products;
mod scratch;
pub mod spec;

pub use batch_norm::{BatchNorm, Mode};
pub use conv::{Conv2d, ConvTranspose2d};
pub use labelled_rows::LabelledRows;
pub use layer::NetworkInput;
pub use linear::Linear;
pub use lstm::{LstmCell, LstmWeights};
pub use network::{Network, NetworkBuffers};
pub use params::{Init, ParamBuilder, ParamEntry, ParamGroup, Parameters};
pub use spec::LayerSpec;
