//! DRAW's pictures of painting: the canvas σ(c_t) after chosen steps for a few draws from the
//! prior (Gregor et al. 2015, Fig. 7: a row per sample, a column per step), the same as an
//! animated GIF of every step, and with attention the write grid's extent at each step drawn over
//! the canvas (their Fig. 4's boxes).

use super::{check_picture, grid};
use crate::config::ImageShape;
use crate::error::{Error, Result};
use crate::kernels::rng::{fill_standard_normal, stream, Purpose};
use crate::model::draw::WindowBox;
use crate::model::{Model, VaeWorkspace};
use crate::render::{tile, GridLayout};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, DynamicImage, Frame, Rgb, RgbImage, RgbaImage};

/// The red of the write grid's box.
const BOX: Rgb<u8> = Rgb([230, 40, 40]);

/// How long each frame of the GIF shows, and the last one.
const FRAME_MS: u32 = 80;
const LAST_FRAME_MS: u32 = 1500;

/// What `n` prior draws painted: the canvas after each of `steps`, and with `windows` the write
/// grid's box at each of them.
struct Painting {
    shape: ImageShape,
    /// `[steps.len(), n, pixels]`.
    canvases: Vec<f32>,
    /// Per step asked, per draw (empty without `windows`).
    boxes: Vec<Vec<WindowBox>>,
}

fn paint(
    model: &Model<f32>,
    n: usize,
    steps: &[usize],
    seed: u64,
    windows: bool,
) -> Result<Painting> {
    let draw = model.draw()?;
    if n == 0 || steps.is_empty() {
        return Err(Error::InvalidArgument(
            "a painting needs at least one draw and one step".into(),
        ));
    }
    let mut z = vec![0f32; n * draw.latent()];
    fill_standard_normal(&mut stream(seed, Purpose::Sample, &[]), &mut z);
    let mut ws = VaeWorkspace::default();
    let mut canvases = Vec::new();
    draw.canvases(&mut ws, &z, n, steps, &mut canvases)?;
    let boxes = if windows {
        let (_, writes) = draw.windows(&mut ws, None, &z, n)?;
        if writes.is_empty() {
            return Err(Error::InvalidArgument(
                "this DRAW has no attention: there are no windows to draw".into(),
            ));
        }
        steps.iter().map(|&s| writes[s - 1].clone()).collect()
    } else {
        Vec::new()
    };
    Ok(Painting {
        shape: model.config().image,
        canvases,
        boxes,
    })
}

/// The canvas after each of `steps` (1-based) for `n` draws from the prior: a row per draw, a
/// column per step; with `windows`, the write grid of each step as a red box.
pub fn draw_steps(
    model: &Model<f32>,
    n: usize,
    steps: &[usize],
    seed: u64,
    scale: u32,
    windows: bool,
) -> Result<DynamicImage> {
    check_picture(model, n.saturating_mul(steps.len()), scale)?;
    let painting = paint(model, n, steps, seed, windows)?;
    // Reorder [steps, n] to [n, steps]: row-major tiles, a row per draw.
    let pixels = painting.shape.len();
    let mut tiles = Vec::with_capacity(painting.canvases.len());
    let mut boxes = Vec::new();
    for i in 0..n {
        for (s, step) in painting.canvases.chunks_exact(n * pixels).enumerate() {
            tiles.extend_from_slice(&step[i * pixels..(i + 1) * pixels]);
            if let Some(step_boxes) = painting.boxes.get(s) {
                boxes.push(step_boxes[i]);
            }
        }
    }
    let layout = grid(steps.len(), scale);
    let image = tile(&tiles, painting.shape, layout)?;
    Ok(with_boxes(image, painting.shape, layout, &boxes))
}

/// Every step of `n` draws from the prior as the frames of an animated GIF, the draws side by side
/// in rows of `columns`; with `windows`, the write grid's box on each frame. The last frame holds.
pub fn draw_steps_gif(
    model: &Model<f32>,
    n: usize,
    seed: u64,
    scale: u32,
    columns: usize,
    windows: bool,
) -> Result<Vec<u8>> {
    let steps: Vec<usize> = (1..=model.draw()?.steps()).collect();
    check_picture(model, n.saturating_mul(steps.len()), scale)?;
    let painting = paint(model, n, &steps, seed, windows)?;
    let pixels = painting.shape.len();
    let layout = grid(columns.max(1), scale);
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
        encoder
            .set_repeat(Repeat::Infinite)
            .map_err(|e| Error::Image(e.to_string()))?;
        for (s, step) in painting.canvases.chunks_exact(n * pixels).enumerate() {
            let boxes = painting.boxes.get(s).cloned().unwrap_or_default();
            let frame = with_boxes(
                tile(step, painting.shape, layout)?,
                painting.shape,
                layout,
                &boxes,
            );
            let ms = if s + 1 == steps.len() {
                LAST_FRAME_MS
            } else {
                FRAME_MS
            };
            let rgba: RgbaImage = frame.to_rgba8();
            encoder
                .encode_frame(Frame::from_parts(
                    rgba,
                    0,
                    0,
                    Delay::from_numer_denom_ms(ms, 1),
                ))
                .map_err(|e| Error::Image(e.to_string()))?;
        }
    }
    Ok(bytes)
}

/// The tiled image with `boxes[k]` drawn over tile k, in colour; unchanged when there are none.
fn with_boxes(
    image: DynamicImage,
    shape: ImageShape,
    layout: GridLayout,
    boxes: &[WindowBox],
) -> DynamicImage {
    if boxes.is_empty() {
        return image;
    }
    let mut rgb: RgbImage = image.to_rgb8();
    let (s, sep) = (layout.scale as f64, layout.separator);
    let tile_w = shape.width as u32 * layout.scale;
    let tile_h = shape.height as u32 * layout.scale;
    for (k, b) in boxes.iter().enumerate() {
        let x0 = sep + (k % layout.columns) as u32 * (tile_w + sep);
        let y0 = sep + (k / layout.columns) as u32 * (tile_h + sep);
        // Filter centres are pixel coordinates 1..A; pixel a spans [a − 1, a) on the tile.
        let to_tile =
            |v: f64, size: u32| ((v - 0.5) * s).round().clamp(0.0, f64::from(size - 1)) as u32;
        let (left, right) = (to_tile(b.x.0, tile_w), to_tile(b.x.1, tile_w));
        let (top, bottom) = (to_tile(b.y.0, tile_h), to_tile(b.y.1, tile_h));
        for x in left..=right {
            rgb.put_pixel(x0 + x, y0 + top, BOX);
            rgb.put_pixel(x0 + x, y0 + bottom, BOX);
        }
        for y in top..=bottom {
            rgb.put_pixel(x0 + left, y0 + y, BOX);
            rgb.put_pixel(x0 + right, y0 + y, BOX);
        }
    }
    DynamicImage::ImageRgb8(rgb)
}
