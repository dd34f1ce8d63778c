//! Bytes to floats: grey levels v / 255, or a Bernoulli draw per pixel.

use super::rng::{next_u24_pair, Rng};
use super::scalar::Scalar;

/// Appends the grey levels of `bytes` in [0, 1] to `out`. Every path that turns pixels into model
/// inputs (training batches, evaluation, pictures, the explorer) goes through here, so the same
/// image is the same floats everywhere.
pub fn append_grey_levels(bytes: &[u8], out: &mut Vec<f32>) {
    out.extend(bytes.iter().map(|&v| v as f32 * (1.0 / 255.0)));
}

/// `values` in another precision, through f64.
pub fn cast<T: Scalar, U: Scalar>(values: &[T]) -> Vec<U> {
    values.iter().map(|v| U::of(v.as_f64())).collect()
}

/// Values in [0, 1] as bytes: each rounded to the nearest of the 256 grey levels (the inverse of
/// `append_grey_levels` on those levels).
pub fn quantize_unit(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

/// Appends one Bernoulli draw per pixel to `out`: `binarize_into` on new room at its end.
pub fn append_binarized<V: Copy>(
    bytes: &[u8],
    thresholds: &[u32; 256],
    rng: &mut Rng,
    (on, off): (V, V),
    out: &mut Vec<V>,
) {
    let start = out.len();
    out.resize(start + bytes.len(), off);
    binarize_into(bytes, thresholds, rng, (on, off), &mut out[start..]);
}

/// Writes one Bernoulli draw per pixel of `bytes` into `out` (the same length), `on` with
/// probability v / 255 and `off` otherwise: `on` where a uniform 24-bit draw falls below
/// `thresholds[v]` (`bernoulli_thresholds`), two draws per 48 random bits. Written in place a pair
/// at a time: pushing one value at a time cost a capacity check per pixel.
pub fn binarize_into<V: Copy>(
    bytes: &[u8],
    thresholds: &[u32; 256],
    rng: &mut Rng,
    (on, off): (V, V),
    out: &mut [V],
) {
    debug_assert_eq!(bytes.len(), out.len());
    let mut pairs = bytes.chunks_exact(2);
    let mut outs = out.chunks_exact_mut(2);
    for (pair, o) in (&mut pairs).zip(&mut outs) {
        let (a, b) = next_u24_pair(rng);
        o[0] = if a < thresholds[pair[0] as usize] {
            on
        } else {
            off
        };
        o[1] = if b < thresholds[pair[1] as usize] {
            on
        } else {
            off
        };
    }
    if let ([v], [o]) = (pairs.remainder(), outs.into_remainder()) {
        let (a, _) = next_u24_pair(rng);
        *o = if a < thresholds[*v as usize] { on } else { off };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::rng::{stream, Purpose};

    /// The draws of the pixel-at-a-time definition, odd lengths included.
    #[test]
    fn binarization_matches_one_draw_per_pixel_pair() {
        let mut thresholds = [0u32; 256];
        for (v, t) in thresholds.iter_mut().enumerate() {
            *t = ((v as f64 / 255.0) * (1u64 << 24) as f64).round() as u32;
        }
        for len in [0, 1, 2, 7, 784] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 53 % 256) as u8).collect();
            let mut expected = vec![9u8];
            let mut rng = stream(5, Purpose::Binarize, &[len as u64]);
            for pair in bytes.chunks(2) {
                let (a, b) = next_u24_pair(&mut rng);
                for (&v, u) in pair.iter().zip([a, b]) {
                    expected.push(if u < thresholds[v as usize] { 1 } else { 0 });
                }
            }
            let mut out = vec![9u8];
            let mut rng = stream(5, Purpose::Binarize, &[len as u64]);
            append_binarized(&bytes, &thresholds, &mut rng, (1, 0), &mut out);
            assert_eq!(out, expected, "length {len}");
        }
    }
}
