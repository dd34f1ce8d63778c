//! Data: the IDX reader, named data sets with checksums, downloads, and minibatches.

pub mod attributes;
pub mod batches;
pub mod codes;
mod dataset;
pub mod datasets;
pub mod fetch;
pub mod folder;
pub mod frey;
mod http;
pub mod idx;
pub mod labelled;
mod obtain;
mod roots;
pub mod split;

pub use crate::batch::Batch;
pub use batches::BatchLoader;
pub use codes::Codes;
pub use datasets::{load, Dataset, DatasetSpec, NamedDataset, FASHION_MNIST, MNIST};
pub use labelled::LabelledSubset;
pub use obtain::obtain;
pub use split::Split;
