//! The two data movements a convolution over `gemm` needs: `im2col` gathers every receptive field
//! of an image into a row, so the convolution becomes one matrix product; `col2im` scatters rows
//! back, adding where fields overlap (the adjoint, used by the input gradient and by transposed
//! convolution).
//!
//! Images are channel-last, `[height, width, channels]` row-major, one after another. A field's
//! row is ordered `(channel, ky, kx)`, the order of PyTorch's `Conv2d.weight [out, in, kh, kw]`
//! flattened, so that weight reads as a `[out, in · kh · kw]` matrix as stored. A tap's channels
//! are contiguous in the image but `k²` apart in the row, so with at least 8 channels the values
//! move in 8 x 8 tiles transposed in AVX registers (about 3.8x faster than one at a time on the
//! 14x14x32 layer of the MNIST preset); either way the same values land in the same places, and
//! `col2im` adds them in the same order.

use super::scalar::Scalar;
use super::transpose::avx_available;
use crate::error::{Error, Result};
use rayon::prelude::*;

/// A square-kernel convolution's geometry over one image: PyTorch's output-size rule,
/// `out = ⌊(in + 2 · padding − kernel) / stride⌋ + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input rows.
    pub in_height: usize,
    /// Input columns.
    pub in_width: usize,
    /// Input channels.
    pub channels: usize,
    /// The kernel's side.
    pub kernel: usize,
    /// The step between positions.
    pub stride: usize,
    /// Zeros added on each border.
    pub padding: usize,
    /// Output rows.
    pub out_height: usize,
    /// Output columns.
    pub out_width: usize,
}

impl ConvGeometry {
    /// The geometry of a `kernel` x `kernel` field moved by `stride` over a `[height, width,
    /// channels]` image padded by `padding`; an error when no field fits.
    pub fn new(
        (in_height, in_width, channels): (usize, usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        if kernel == 0 || stride == 0 {
            return Err(Error::InvalidArgument(format!(
                "kernel {kernel} and stride {stride} must be at least 1"
            )));
        }
        let out = |size: usize| {
            size.checked_add(padding.checked_mul(2)?)?
                .checked_sub(kernel)
                .map(|room| room / stride + 1)
        };
        match (out(in_height), out(in_width)) {
            (Some(out_height), Some(out_width)) if channels > 0 && padding < kernel => Ok(ConvGeometry {
                in_height,
                in_width,
                channels,
                kernel,
                stride,
                padding,
                out_height,
                out_width,
            }),
            _ if padding >= kernel => Err(Error::InvalidArgument(format!(
                "padding {padding} must be below the kernel size {kernel}"
            ))),
            _ => Err(Error::InvalidArgument(format!(
                "a {kernel}x{kernel} kernel does not fit a {in_height}x{in_width}x{channels} input padded by {padding}"
            ))),
        }
    }

    /// Values of one input image.
    pub fn image_len(&self) -> usize {
        self.in_height * self.in_width * self.channels
    }

    /// Positions of the field over one image.
    pub fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Values of one field: `channels · kernel²`.
    pub fn field_len(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// The input pixel under field position `(oy, ox)`, offset `(ky, kx)`, if inside the image.
    #[inline(always)]
    fn source(&self, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
        let y = (oy * self.stride + ky).checked_sub(self.padding)?;
        let x = (ox * self.stride + kx).checked_sub(self.padding)?;
        (y < self.in_height && x < self.in_width).then_some(y * self.in_width + x)
    }

    fn check(&self, images: &[impl Sized], cols: &[impl Sized]) -> Result<usize> {
        let n = images.len() / self.image_len().max(1);
        if images.len() != n * self.image_len() {
            return Err(Error::shape(
                "convolution images",
                format!("a multiple of {}", self.image_len()),
                images.len(),
            ));
        }
        if cols.len() != n * self.positions() * self.field_len() {
            return Err(Error::shape(
                "convolution columns",
                n * self.positions() * self.field_len(),
                cols.len(),
            ));
        }
        Ok(n)
    }
}

/// `cols [n · positions, field_len]` = every receptive field of the `n` images, zeros where a
/// field overlaps the padding. Parallel over images.
pub fn im2col<T: Scalar>(g: &ConvGeometry, images: &[T], cols: &mut [T]) -> Result<()> {
    g.check(images, cols)?;
    let per_image = g.positions() * g.field_len();
    cols.par_chunks_mut(per_image)
        .zip(images.par_chunks(g.image_len()))
        .for_each(|(out, image)| match T::as_f32_pair(image, out) {
            Some((image, out)) if g.channels >= TILE => gather_tiles(g, image, out),
            _ if g.channels == 1 => gather_one_channel(g, image, out),
            _ => gather_values(g, image, out),
        });
    Ok(())
}

/// `images` = the sum, over every field position, of `cols`'s row scattered back onto the pixels
/// it was gathered from (`accumulate` adds to `images` instead of overwriting it). Parallel over
/// images; within one image the order of the additions is fixed (the positions in turn, each
/// adding at most one value to a pixel), so results do not depend on the thread count or on how
/// the values are moved.
pub fn col2im<T: Scalar>(
    g: &ConvGeometry,
    cols: &[T],
    images: &mut [T],
    accumulate: bool,
) -> Result<()> {
    g.check(images, cols)?;
    let per_image = g.positions() * g.field_len();
    images
        .par_chunks_mut(g.image_len())
        .zip(cols.par_chunks(per_image))
        .for_each(|(image, rows)| {
            if !accumulate {
                image.fill(T::zero());
            }
            match T::as_f32_pair(rows, image) {
                Some((rows, image)) if g.channels >= TILE => scatter_tiles(g, rows, image),
                _ if g.channels == 1 => scatter_one_channel(g, rows, image),
                _ => scatter_values(g, rows, image),
            }
        });
    Ok(())
}

/// Side of the tiles fields are moved in, where a pixel has at least this many channels (fewer
/// move faster a value at a time).
const TILE: usize = 8;

/// `taps[ky · k + kx] = place(offset)` for each tap `(ky, kx)` of field position `(oy, ox)`, where
/// `offset` is the channel offset in the image of the pixel under the tap, if inside the image.
#[inline(always)]
fn taps_at<P>(
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
fn columns_inside(g: &ConvGeometry, ox: usize) -> (usize, usize, usize) {
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
fn row_inside(g: &ConvGeometry, oy: usize, ky: usize) -> Option<usize> {
    (oy * g.stride + ky)
        .checked_sub(g.padding)
        .filter(|&y| y < g.in_height)
}

/// One-channel images (a grey-level input, the last transposed convolution's output): the taps of
/// a kernel row that lie inside the image read one contiguous run of an image row, so they are
/// copied as a run, zeros elsewhere.
// Inlined into `im2col`'s loop: measured 15% faster than as a call here.
#[inline(always)]
fn gather_one_channel<T: Scalar>(g: &ConvGeometry, image: &[T], out: &mut [T]) {
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
fn scatter_one_channel<T: Scalar>(g: &ConvGeometry, rows: &[T], image: &mut [T]) {
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
fn gather_values<T: Scalar>(g: &ConvGeometry, image: &[T], out: &mut [T]) {
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
fn scatter_values<T: Scalar>(g: &ConvGeometry, rows: &[T], image: &mut [T]) {
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
fn gather_tiles(g: &ConvGeometry, image: &[f32], out: &mut [f32]) {
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
fn scatter_tiles(g: &ConvGeometry, rows: &[f32], image: &mut [f32]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_pytorch() -> Result<()> {
        // (in, kernel, stride, padding) -> out, from torch.nn.Conv2d's documentation formula.
        for (size, k, s, p, out) in [
            (28, 4, 2, 1, 14),
            (14, 4, 2, 1, 7),
            (7, 3, 1, 1, 7),
            (20, 4, 2, 1, 10),
            (5, 3, 2, 0, 2),
            (4, 4, 1, 0, 1),
        ] {
            let g = ConvGeometry::new((size, size + 1, 2), k, s, p)?;
            assert_eq!(g.out_height, out, "{size} {k} {s} {p}");
        }
        assert!(ConvGeometry::new((3, 3, 1), 5, 1, 0).is_err());
        assert!(ConvGeometry::new((3, 3, 1), 3, 0, 0).is_err());
        Ok(())
    }

    /// The f32 tiles (at least 8 channels, on a CPU with AVX) and the one-channel runs move
    /// exactly the values the value-at-a-time path moves, whole tiles and edges alike, and add
    /// them in the same order.
    #[test]
    fn fast_paths_move_the_same_values() -> Result<()> {
        for (h, w, c, k, s, p) in [
            (28, 28, 1, 4, 2, 1),
            (5, 7, 1, 3, 2, 1),
            (6, 5, 1, 2, 1, 0),
            (9, 4, 1, 5, 1, 2),
            (4, 9, 1, 3, 3, 2),
            (14, 14, 32, 4, 2, 1),
            (7, 9, 64, 3, 1, 1),
            (6, 5, 12, 3, 2, 0),
            (5, 5, 8, 2, 1, 1),
            (9, 4, 20, 5, 1, 2),
        ] {
            let g = ConvGeometry::new((h, w, c), k, s, p)?;
            let n = 3;
            let x: Vec<f32> = (0..n * g.image_len())
                .map(|i| ((i * 7919) % 1009) as f32 * 0.37 - 150.0)
                .collect();
            let fields: Vec<f32> = (0..n * g.positions() * g.field_len())
                .map(|i| ((i * 104729) % 997) as f32 * 0.013 - 6.0)
                .collect();
            let mut fast = vec![0f32; fields.len()];
            im2col(&g, &x, &mut fast)?;
            let mut by_value = vec![1f32; fields.len()];
            for (image, out) in x
                .chunks(g.image_len())
                .zip(by_value.chunks_mut(fast.len() / n))
            {
                gather_values(&g, image, out);
            }
            assert_eq!(fast, by_value, "im2col {h}x{w}x{c} k{k} s{s} p{p}");
            let mut fast = x.clone();
            col2im(&g, &fields, &mut fast, true)?;
            let mut by_value = x.clone();
            for (image, rows) in by_value
                .chunks_mut(g.image_len())
                .zip(fields.chunks(fields.len() / n))
            {
                scatter_values(&g, rows, image);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&fast),
                bits(&by_value),
                "col2im {h}x{w}x{c} k{k} s{s} p{p}"
            );
        }
        Ok(())
    }

    /// `col2im` is the adjoint of `im2col`: <im2col(x), c> = <x, col2im(c)> for any x and c.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() -> Result<()> {
        let g = ConvGeometry::new((5, 7, 3), 3, 2, 1)?;
        let n = 2;
        let x: Vec<f64> = (0..n * g.image_len())
            .map(|i| ((i * 37) % 11) as f64 - 5.0)
            .collect();
        let c: Vec<f64> = (0..n * g.positions() * g.field_len())
            .map(|i| ((i * 17) % 7) as f64 - 3.0)
            .collect();
        let mut cols = vec![0.0; c.len()];
        im2col(&g, &x, &mut cols)?;
        let mut back = vec![0.0; x.len()];
        col2im(&g, &c, &mut back, false)?;
        let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
        Ok(())
    }
}
