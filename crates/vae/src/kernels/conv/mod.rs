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

mod fields;

use super::scalar::Scalar;
use crate::error::{Error, Result};
use fields::{
    gather_one_channel, gather_tiles, gather_values, scatter_one_channel, scatter_tiles,
    scatter_values, TILE,
};
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
