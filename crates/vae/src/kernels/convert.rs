//! Bytes to floats: grey levels v / 255, or a Bernoulli draw per pixel.

use super::rng::{next_u24_pair, Rng};

/// Appends the grey levels of `bytes` in [0, 1] to `out`. Every path that turns pixels into model
/// inputs (training batches, evaluation, pictures, the explorer) goes through here, so the same
/// image is the same floats everywhere.
pub fn append_grey_levels(bytes: &[u8], out: &mut Vec<f32>) {
    out.extend(bytes.iter().map(|&v| v as f32 * (1.0 / 255.0)));
}

/// Appends one Bernoulli draw per pixel to `out`, `on` with probability v / 255 and `off`
/// otherwise: `on` where a uniform 24-bit draw falls below `thresholds[v]`
/// (`bernoulli_thresholds`), two draws per 48 random bits.
pub fn append_binarized<V: Copy>(
    bytes: &[u8],
    thresholds: &[u32; 256],
    rng: &mut Rng,
    (on, off): (V, V),
    out: &mut Vec<V>,
) {
    for pair in bytes.chunks(2) {
        let (a, b) = next_u24_pair(rng);
        for (&v, u) in pair.iter().zip([a, b]) {
            out.push(if u < thresholds[v as usize] { on } else { off });
        }
    }
}
