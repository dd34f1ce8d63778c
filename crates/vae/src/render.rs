//! Image grids: decoded tensors in [0, 1] tiled into one PNG with thin separators.

use crate::config::ImageShape;
use crate::error::{Error, Result};
use crate::fs::atomic_write;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use std::path::Path;

/// Grey level of the lines between tiles.
const SEPARATOR: u8 = 128;

/// How images are laid out.
#[derive(Clone, Copy, Debug)]
pub struct GridLayout {
    /// Images per row.
    pub columns: usize,
    /// Each pixel becomes a `scale × scale` block.
    pub scale: u32,
    /// Width of the lines between tiles, in output pixels.
    pub separator: u32,
}

impl Default for GridLayout {
    fn default() -> Self {
        GridLayout {
            columns: 8,
            scale: 1,
            separator: 1,
        }
    }
}

/// Tiles `images` (`[n, height, width, channels]`, values in [0, 1]) row by row.
pub fn tile(images: &[f32], shape: ImageShape, layout: GridLayout) -> Result<DynamicImage> {
    let per_image = shape.len();
    if per_image == 0 || !images.len().is_multiple_of(per_image) || images.is_empty() {
        return Err(Error::shape(
            "images to tile",
            format!("a multiple of {per_image}"),
            images.len(),
        ));
    }
    if shape.channels != 1 && shape.channels != 3 {
        return Err(Error::Image(format!(
            "{} channels cannot be drawn (1 or 3)",
            shape.channels
        )));
    }
    if layout.columns == 0 || layout.scale == 0 || layout.scale > 64 {
        return Err(Error::InvalidArgument(format!(
            "grid of {} columns at scale {} (columns >= 1, scale 1..=64)",
            layout.columns, layout.scale
        )));
    }
    let n = images.len() / per_image;
    let columns = layout.columns.min(n);
    let rows = n.div_ceil(columns);
    let (s, sep) = (layout.scale, layout.separator);
    let tile_w = shape.width as u32 * s;
    let tile_h = shape.height as u32 * s;
    let width = columns as u32 * tile_w + (columns as u32 + 1) * sep;
    let height = rows as u32 * tile_h + (rows as u32 + 1) * sep;
    let channels = shape.channels;
    let mut canvas = vec![SEPARATOR; (width * height) as usize * channels];
    for (i, img) in images.chunks_exact(per_image).enumerate() {
        let x0 = sep + (i % columns) as u32 * (tile_w + sep);
        let y0 = sep + (i / columns) as u32 * (tile_h + sep);
        for y in 0..tile_h {
            for x in 0..tile_w {
                let src = ((y / s) as usize * shape.width + (x / s) as usize) * channels;
                let dst = (((y0 + y) * width + x0 + x) as usize) * channels;
                for c in 0..channels {
                    canvas[dst + c] = to_byte(img[src + c]);
                }
            }
        }
    }
    let image = if channels == 1 {
        GrayImage::from_raw(width, height, canvas).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(width, height, canvas).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| Error::Image("canvas size mismatch".into()))
}

fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Interleaves rows of `columns` inputs with rows of their reconstructions, so each original sits
/// directly above its reconstruction.
pub fn interleave_rows(
    inputs: &[f32],
    outputs: &[f32],
    per_image: usize,
    columns: usize,
) -> Vec<f32> {
    let row_len = per_image * columns.max(1);
    let mut out = Vec::with_capacity(inputs.len() + outputs.len());
    for (a, b) in inputs.chunks(row_len).zip(outputs.chunks(row_len)) {
        out.extend_from_slice(a);
        out.extend_from_slice(b);
    }
    out
}

/// The image encoded as PNG.
pub fn png_bytes(image: &DynamicImage) -> Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, ImageFormat::Png)
        .map_err(|e| Error::Image(e.to_string()))?;
    Ok(bytes.into_inner())
}

/// Encodes to PNG in memory and writes atomically.
pub fn save_png(image: &DynamicImage, path: &Path) -> Result<()> {
    atomic_write(path, &png_bytes(image)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_land_where_expected() -> Result<()> {
        let shape = ImageShape {
            height: 2,
            width: 3,
            channels: 1,
        };
        // Image i is uniformly i / 4.
        let images: Vec<f32> = (0..5).flat_map(|i| vec![i as f32 / 4.0; 6]).collect();
        let layout = GridLayout {
            columns: 2,
            scale: 2,
            separator: 1,
        };
        let grid = tile(&images, shape, layout)?.to_luma8();
        // 2 columns of width 6 (+3 separators), 3 rows of height 4 (+4 separators).
        assert_eq!(grid.dimensions(), (15, 16));
        for i in 0..5u32 {
            let (x0, y0) = (1 + (i % 2) * 7, 1 + (i / 2) * 5);
            let expected = to_byte(i as f32 / 4.0);
            for (dx, dy) in [(0, 0), (5, 3), (2, 1)] {
                assert_eq!(grid.get_pixel(x0 + dx, y0 + dy)[0], expected, "tile {i}");
            }
        }
        assert_eq!(grid.get_pixel(0, 0)[0], SEPARATOR);
        assert_eq!(grid.get_pixel(7, 3)[0], SEPARATOR);
        // The unused sixth slot stays separator-grey.
        assert_eq!(grid.get_pixel(10, 12)[0], SEPARATOR);
        Ok(())
    }

    #[test]
    fn rgb_pixels_keep_their_channels() -> Result<()> {
        let shape = ImageShape {
            height: 1,
            width: 2,
            channels: 3,
        };
        let images = vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let grid = tile(
            &images,
            shape,
            GridLayout {
                columns: 1,
                scale: 1,
                separator: 0,
            },
        )?
        .to_rgb8();
        assert_eq!(grid.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(grid.get_pixel(1, 0).0, [0, 0, 255]);
        Ok(())
    }

    #[test]
    fn interleaving_puts_reconstructions_under_inputs() {
        let inputs = [1.0, 2.0, 3.0];
        let outputs = [10.0, 20.0, 30.0];
        assert_eq!(
            interleave_rows(&inputs, &outputs, 1, 2),
            vec![1.0, 2.0, 10.0, 20.0, 3.0, 30.0]
        );
    }
}
