//! Walking a convolution's receptive fields: the taps of each field position, and the gathers
//! and scatters `im2col` and `col2im` run (a value at a time, or 8 x 8 tiles through AVX).

use super::ConvGeometry;
use crate::kernels::scalar::Scalar;
#[cfg(target_arch = "x86_64")]
use crate::kernels::transpose::avx_available;

/// Side of the tiles fields are moved in, where a pixel has at least this many channels (fewer
/// move faster a value at a time).
pub(super) const TILE: usize = 8;

/// `taps[ky · k + kx] = place(offset)` for each tap `(ky, kx)` of field position `(oy, ox)`, where
/// `offset` is the channel offset in the image of the pixel under the tap, if inside the image.
#[inline(always)]
pub(super) fn taps_at<P>(
    g: &ConvGeometry,
    (oy, ox): (usize, usize),
    taps: &mut [P],
    place: impl Fn(Option<usize>) -> P,
) {
    let k = g.kernel;
    for ky in 0..k {
        for kx in 0..k {
            taps[ky * k + kx] = place(g.source(oy, ox, ky, kx).map(|pixel| pixel * g.channels));
        }
    }
}

/// The taps `kx_lo..kx_hi` of field column `ox` that fall inside the image, and the image column
/// under `kx_lo` (meaningful when the range is not empty).
#[inline(always)]
pub(super) fn columns_inside(g: &ConvGeometry, ox: usize) -> (usize, usize, usize) {
    // Tap kx lies over image column left + kx − padding.
    let left = ox * g.stride;
    let kx_lo = g.padding.saturating_sub(left).min(g.kernel);
    let kx_hi = (g.in_width + g.padding)
        .saturating_sub(left)
        .clamp(kx_lo, g.kernel);
    (kx_lo, kx_hi, (left + kx_lo).saturating_sub(g.padding))
}

/// The image row under kernel row `ky` of field row `oy`, if inside the image.
#[inline(always)]
pub(super) fn row_inside(g: &ConvGeometry, oy: usize, ky: usize) -> Option<usize> {
    (oy * g.stride + ky)
        .checked_sub(g.padding)
        .filter(|&y| y < g.in_height)
}

/// One-channel images (a grey-level input, the last transposed convolution's output): the taps of
/// a kernel row that lie inside the image read one contiguous run of an image row, so they are
/// copied as a run, zeros elsewhere.
// Inlined into `im2col`'s loop: measured 15% faster than as a call here.
#[inline(always)]
pub(super) fn gather_one_channel<T: Scalar>(g: &ConvGeometry, image: &[T], out: &mut [T]) {
    let k = g.kernel;
    for oy in 0..g.out_height {
        for ox in 0..g.out_width {
            let (kx_lo, kx_hi, x) = columns_inside(g, ox);
            let row = &mut out[(oy * g.out_width + ox) * k * k..][..k * k];
            for (ky, taps) in row.chunks_exact_mut(k).enumerate() {
                taps.fill(T::zero());
                if let Some(y) = row_inside(g, oy, ky).filter(|_| kx_hi > kx_lo) {
                    let run = &image[y * g.in_width + x..][..kx_hi - kx_lo];
                    for (v, &pixel) in taps[kx_lo..kx_hi].iter_mut().zip(run) {
                        *v = pixel;
                    }
                }
            }
        }
    }
}

/// The mirror of `gather_one_channel`: each kernel row's run added to its image row, one value per
/// pixel and position, in the positions' order.
pub(super) fn scatter_one_channel<T: Scalar>(g: &ConvGeometry, rows: &[T], image: &mut [T]) {
    let k = g.kernel;
    for oy in 0..g.out_height {
        for ox in 0..g.out_width {
            let (kx_lo, kx_hi, x) = columns_inside(g, ox);
            let row = &rows[(oy * g.out_width + ox) * k * k..][..k * k];
            for (ky, taps) in row.chunks_exact(k).enumerate() {
                if let Some(y) = row_inside(g, oy, ky).filter(|_| kx_hi > kx_lo) {
                    let run = &mut image[y * g.in_width + x..][..kx_hi - kx_lo];
                    for (pixel, &v) in run.iter_mut().zip(&taps[kx_lo..kx_hi]) {
                        *pixel += v;
                    }
                }
            }
        }
    }
}

/// One image's fields, a value at a time. Writes run along each row; the k² source pixels of a
/// position are found once, then read for every channel.
pub(super) fn gather_values<T: Scalar>(g: &ConvGeometry, image: &[T], out: &mut [T]) {
    let taps = g.kernel * g.kernel;
    let field = g.field_len();
    let mut sources = vec![None; taps];
    for oy in 0..g.out_height {
        for ox in 0..g.out_width {
            taps_at(g, (oy, ox), &mut sources, |offset| offset);
            let row = &mut out[(oy * g.out_width + ox) * field..][..field];
            for (ch, plane) in row.chunks_exact_mut(taps).enumerate() {
                for (v, source) in plane.iter_mut().zip(&sources) {
                    *v = source.map_or(T::zero(), |at| image[at + ch]);
                }
            }
        }
    }
}

/// The mirror of `gather_values`, a value at a time. (Finding each tap's pixel inline, rather than
/// through `taps_at`, measured 20-30% faster here on a 32x32x3 layer.)
pub(super) fn scatter_values<T: Scalar>(g: &ConvGeometry, rows: &[T], image: &mut [T]) {
    let (k, c) = (g.kernel, g.channels);
    let field = g.field_len();
    for oy in 0..g.out_height {
        for ox in 0..g.out_width {
            let row = &rows[(oy * g.out_width + ox) * field..][..field];
            for ky in 0..k {
                for kx in 0..k {
                    if let Some(pixel) = g.source(oy, ox, ky, kx) {
                        let at = ky * k + kx;
                        let dst = &mut image[pixel * c..][..c];
                        for (ch, v) in dst.iter_mut().enumerate() {
                            *v += row[ch * k * k + at];
                        }
                    }
                }
            }
        }
    }
}

/// One image's fields in 8 x 8 tiles, where the CPU has AVX: a tile reads 8 channels of 8 taps,
/// each a contiguous run of the channel-last image (or of zeros, over the padding), and writes
/// them transposed into the row's `(channel, ky, kx)` order, in registers. Taps and channels
/// beyond the last whole tile move a value at a time. Without AVX, all of them do.
pub(super) fn gather_tiles(g: &ConvGeometry, image: &[f32], out: &mut [f32]) {
    assert!(image.len() == g.image_len() && out.len() == g.positions() * g.field_len());
    #[cfg(target_arch = "x86_64")]
    if avx_available() {
        // SAFETY: AVX is available, and the lengths are the geometry's.
        unsafe { avx::gather_image(g, image, out) };
        return;
    }
    gather_values(g, image, out)
}

/// The mirror of `gather_tiles`: each tile of a row is transposed back and its 8 taps' channel
/// runs added to their pixels (one addition per pixel and position, in the positions' order).
pub(super) fn scatter_tiles(g: &ConvGeometry, rows: &[f32], image: &mut [f32]) {
    assert!(image.len() == g.image_len() && rows.len() == g.positions() * g.field_len());
    #[cfg(target_arch = "x86_64")]
    if avx_available() {
        // SAFETY: AVX is available, and the lengths are the geometry's.
        unsafe { avx::scatter_image(g, rows, image) };
        return;
    }
    scatter_values(g, rows, image)
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{taps_at, ConvGeometry, TILE};
    use crate::kernels::transpose::x86::transposed;
    use std::arch::x86_64::*;

    /// Where each tap of position `at` reads or adds: its pixel's first channel in `image`, or
    /// `padding` (a run of `channels` values standing for the padding).
    ///
    /// # Safety
    /// `image` holds `g.image_len()` values.
    #[inline(always)]
    unsafe fn tap_pointers(
        g: &ConvGeometry,
        at: (usize, usize),
        image: *mut f32,
        padding: *mut f32,
        taps: &mut [*mut f32],
    ) {
        taps_at(g, at, taps, |offset| match offset {
            // SAFETY: the offsets of pixels inside the image, whose values the caller holds.
            Some(offset) => unsafe { image.add(offset) },
            None => padding,
        });
    }

    /// # Safety
    /// AVX is available, `image` holds `g.image_len()` values and `out` `g.positions() ·
    /// g.field_len()`.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn gather_image(g: &ConvGeometry, image: &[f32], out: &mut [f32]) {
        let (taps, c, field) = (g.kernel * g.kernel, g.channels, g.field_len());
        let (tiled_taps, tiled_channels) = (taps / TILE * TILE, c / TILE * TILE);
        let mut zeros = vec![0f32; c];
        let mut sources = vec![std::ptr::null_mut(); taps];
        // Reads only: the pointers are mutable for `tap_pointers`, shared with the scatter.
        let image = image.as_ptr().cast_mut();
        for position in 0..g.positions() {
            let at = (position / g.out_width, position % g.out_width);
            // SAFETY (all below): the tap pointers address `c` values each (a pixel's channels or
            // `zeros`), `ch + 8 <= c`, and `row` holds `field = c · taps` values.
            unsafe {
                tap_pointers(g, at, image, zeros.as_mut_ptr(), &mut sources);
                let row = out.as_mut_ptr().add(position * field);
                for tap in (0..tiled_taps).step_by(TILE) {
                    let s = &sources[tap..tap + TILE];
                    for ch in (0..tiled_channels).step_by(TILE) {
                        let r = std::array::from_fn(|j| _mm256_loadu_ps(s[j].add(ch)));
                        for (i, v) in transposed(r).into_iter().enumerate() {
                            _mm256_storeu_ps(row.add((ch + i) * taps + tap), v);
                        }
                    }
                }
                for ch in 0..c {
                    let first = if ch < tiled_channels { tiled_taps } else { 0 };
                    for (tap, source) in sources.iter().enumerate().skip(first) {
                        *row.add(ch * taps + tap) = *source.add(ch);
                    }
                }
            }
        }
    }

    /// # Safety
    /// AVX is available, `image` holds `g.image_len()` values and `rows` `g.positions() ·
    /// g.field_len()`.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn scatter_image(g: &ConvGeometry, rows: &[f32], image: &mut [f32]) {
        let (taps, c, field) = (g.kernel * g.kernel, g.channels, g.field_len());
        let (tiled_taps, tiled_channels) = (taps / TILE * TILE, c / TILE * TILE);
        // The padding's share is added here and discarded.
        let mut discarded = vec![0f32; c];
        let mut targets = vec![std::ptr::null_mut(); taps];
        for position in 0..g.positions() {
            let at = (position / g.out_width, position % g.out_width);
            // SAFETY (all below): as in `gather_image`; within one position the taps' pixels
            // differ, so no two targets overlap, and `discarded` may receive several.
            unsafe {
                tap_pointers(
                    g,
                    at,
                    image.as_mut_ptr(),
                    discarded.as_mut_ptr(),
                    &mut targets,
                );
                let row = rows.as_ptr().add(position * field);
                for tap in (0..tiled_taps).step_by(TILE) {
                    let t = &targets[tap..tap + TILE];
                    for ch in (0..tiled_channels).step_by(TILE) {
                        let r = std::array::from_fn(|i| {
                            _mm256_loadu_ps(row.add((ch + i) * taps + tap))
                        });
                        for (target, v) in t.iter().zip(transposed(r)) {
                            let p = target.add(ch);
                            _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), v));
                        }
                    }
                }
                for ch in 0..c {
                    let first = if ch < tiled_channels { tiled_taps } else { 0 };
                    for (tap, target) in targets.iter().enumerate().skip(first) {
                        *target.add(ch) += *row.add(ch * taps + tap);
                    }
                }
            }
        }
    }
}
