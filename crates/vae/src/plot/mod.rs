//! Charts: training curves, the bound against samples seen, latent scatter plots and the KL of
//! each latent dimension, drawn into RGB images. Plotters draws them (`charts.rs`) with the
//! `charts` feature, on by default; a build without it (the explorer's WebAssembly module, where
//! plotters would need a browser canvas) has the same functions, each refusing with an error.

#[cfg(feature = "charts")]
mod charts;
#[cfg(feature = "charts")]
pub use charts::{bound_by_samples, curves, kl_per_dimension, scatter};
#[cfg(not(feature = "charts"))]
mod disabled;
#[cfg(not(feature = "charts"))]
pub use disabled::{bound_by_samples, curves, kl_per_dimension, scatter};

/// Matplotlib's `tab10` palette: ten colours told apart by most readers.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// One run's lower bound as training went: a panel title and, per epoch, the training samples
/// evaluated so far with the training and test bound per image.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundCurve {
    /// The panel's title.
    pub title: String,
    /// (samples evaluated, training bound, test bound).
    pub points: Vec<(f64, f64, f64)>,
}
