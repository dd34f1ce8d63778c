//! The two data movements a convolution over `gemm` needs: `im2col` gathers every receptive field
//! of an image into a row, so the convolution becomes one matrix product; `col2im` scatters rows
//! back, adding where fields overlap (the adjoint, used by the input gradient and by transposed
//! convolution).
//!
//! Images are channel-last, `[height, width, channels]` row-major, one after another. A field's
//! row is ordered `(channel, ky, kx)`, the order of PyTorch's `Conv2d.weight [out, in, kh, kw]`
//! flattened, so that weight reads as a `[out, in · kh · kw]` matrix as stored.

use super::scalar::Scalar;
use crate::error::{Error, Result};
use rayon::prelude::*;

/// A square-kernel convolution's geometry over one image: PyTorch's output-size rule,
/// `out = ⌊(in + 2 · padding − kernel) / stride⌋ + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub in_height: usize,
    pub in_width: usize,
    pub channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub out_height: usize,
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
        .for_each(|(out, image)| gather_image(g, image, out));
    Ok(())
}

/// One image's fields. Writes run along each field row (channel, then ky, kx); the k² source
/// pixels of a position are found once, then read for every channel.
fn gather_image<T: Scalar>(g: &ConvGeometry, image: &[T], out: &mut [T]) {
    let (k, c) = (g.kernel, g.channels);
    let field = g.field_len();
    let mut sources: Vec<Option<usize>> = vec![None; k * k];
    for oy in 0..g.out_height {
        for ox in 0..g.out_width {
            for ky in 0..k {
                for kx in 0..k {
                    sources[ky * k + kx] = g.source(oy, ox, ky, kx).map(|pixel| pixel * c);
                }
            }
            let row = &mut out[(oy * g.out_width + ox) * field..][..field];
            for (ch, plane) in row.chunks_exact_mut(k * k).enumerate() {
                for (v, source) in plane.iter_mut().zip(&sources) {
                    *v = match source {
                        Some(at) => image[at + ch],
                        None => T::zero(),
                    };
                }
            }
        }
    }
}

/// `images` = the sum, over every field position, of `cols`'s row scattered back onto the pixels
/// it was gathered from (`accumulate` adds to `images` instead of overwriting it). Parallel over
/// images; within one image the order of the additions is fixed, so results do not depend on the
/// thread count.
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
            scatter_image(g, rows, image)
        });
    Ok(())
}

fn scatter_image<T: Scalar>(g: &ConvGeometry, rows: &[T], image: &mut [T]) {
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
