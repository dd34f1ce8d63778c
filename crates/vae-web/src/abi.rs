//! The C ABI the exported page's JavaScript calls: the library's own decoder and encoder
//! ([`vae::explore::Explorer`]) behind a few functions over linear memory. No `wasm-bindgen`: the
//! page needs no generated glue, and the module imports nothing.
//!
//! The calling convention: JavaScript copies its input into memory from [`vae_alloc`], calls a
//! function, and reads the answer from the result buffer ([`vae_result_ptr`],
//! [`vae_result_len`]). Every call returns 0 when it succeeded, and then the buffer holds the
//! answer (JSON, or little-endian `f32` pixels); it returns 1 when it failed, and then the buffer
//! holds the error message in UTF-8, the same words `vae serve` answers with.
//!
//! | export | input | answer |
//! |---|---|---|
//! | `vae_load` | `config.json`, `model.safetensors` (and M1's two, for a stacked M2), `{"metrics", "source"}` | nothing |
//! | `vae_info` | | the model's description, JSON (as `GET /api/model`) |
//! | `vae_decode` | `latent` values of z, a label (−1 for none) | one image, `f32` |
//! | `vae_encode` | the drawing's pixels in [0, 1], a label (−1 to guess) | JSON (as `POST /api/encode`) |
//! | `vae_manifold` | tiles per side, a label | `grid²` images, `f32`, row by row |

use serde::Deserialize;
use std::alloc::Layout;
use std::cell::RefCell;
use vae::checkpoint::{load_model_from_bytes, RunBytes};
use vae::explore::Explorer;
use vae::metrics::EpochMetrics;
use vae::model::VaeWorkspace;

/// What a page shows beside the model, read from its run directory when it was exported.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct About {
    metrics: Option<EpochMetrics>,
    #[serde(default)]
    source: String,
}

#[derive(Default)]
struct State {
    explorer: Option<Explorer>,
    workspace: VaeWorkspace<f32>,
    result: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Inputs and outputs are `f32`: every buffer handed out is aligned for them.
const ALIGN: usize = 8;

/// `len` bytes for an input, or null when they cannot be had. Give them back with [`vae_free`].
#[no_mangle]
pub extern "C" fn vae_alloc(len: usize) -> *mut u8 {
    match Layout::from_size_align(len.max(1), ALIGN) {
        // SAFETY: the layout's size is at least 1.
        Ok(layout) => unsafe { std::alloc::alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Frees what [`vae_alloc`] gave for `len` bytes.
///
/// # Safety
/// `ptr` came from `vae_alloc(len)` and is not used again.
#[no_mangle]
pub unsafe extern "C" fn vae_free(ptr: *mut u8, len: usize) {
    if let Ok(layout) = Layout::from_size_align(len.max(1), ALIGN) {
        if !ptr.is_null() {
            // SAFETY: the caller promises `ptr` came from `vae_alloc` with this layout.
            unsafe { std::alloc::dealloc(ptr, layout) }
        }
    }
}

/// Where the last call's answer (or error message) starts.
#[no_mangle]
pub extern "C" fn vae_result_ptr() -> *const u8 {
    STATE.with_borrow(|s| s.result.as_ptr())
}

/// How many bytes the last call's answer (or error message) has.
#[no_mangle]
pub extern "C" fn vae_result_len() -> usize {
    STATE.with_borrow(|s| s.result.len())
}

/// Runs `call` on the state and leaves its answer, or its error message, in the result buffer.
fn answer(call: impl FnOnce(&mut State) -> Result<Vec<u8>, String>) -> u32 {
    STATE.with_borrow_mut(|state| {
        let (code, bytes) = match call(state) {
            Ok(bytes) => (0, bytes),
            Err(message) => (1, message.into_bytes()),
        };
        state.result = bytes;
        code
    })
}

/// The explorer, once a model is loaded.
fn explorer(state: &mut State) -> Result<(&Explorer, &mut VaeWorkspace<f32>), String> {
    match &state.explorer {
        Some(e) => Ok((e, &mut state.workspace)),
        None => Err("no model is loaded: call vae_load first".into()),
    }
}

/// A label as JavaScript passes it: a negative number is none.
fn label(value: i32) -> Option<i64> {
    (value >= 0).then_some(i64::from(value))
}

/// The error message of the library, as `vae serve` words it.
fn message(e: vae::Error) -> String {
    match e {
        vae::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    }
}

fn floats_to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// # Safety
/// `ptr` points to `len` readable bytes, or `len` is 0.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || ptr.is_null() {
        return &[];
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr`.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// # Safety
/// `ptr` points to `len` readable `f32`s, aligned (memory from [`vae_alloc`]), or `len` is 0.
unsafe fn floats<'a>(ptr: *const f32, len: usize) -> Result<&'a [f32], String> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() || ptr.align_offset(std::mem::align_of::<f32>()) != 0 {
        return Err("the input buffer is not one vae_alloc gave".into());
    }
    // SAFETY: the caller promises `len` readable floats at `ptr`, and it is aligned.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Loads a model from its run directory's `config.json` and `model.safetensors` (for a stacked
/// M2, its M1's two files as well; empty otherwise), with `about` (JSON: the last epoch's
/// `metrics` and the `source` in words; empty for none).
///
/// # Safety
/// Each pointer points to its length of readable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vae_load(
    config: *const u8,
    config_len: usize,
    weights: *const u8,
    weights_len: usize,
    m1_config: *const u8,
    m1_config_len: usize,
    m1_weights: *const u8,
    m1_weights_len: usize,
    about: *const u8,
    about_len: usize,
) -> u32 {
    // SAFETY: the caller promises the lengths.
    let (run, m1, about) = unsafe {
        let run = RunBytes {
            config: bytes(config, config_len),
            weights: bytes(weights, weights_len),
        };
        let m1 = RunBytes {
            config: bytes(m1_config, m1_config_len),
            weights: bytes(m1_weights, m1_weights_len),
        };
        (run, m1, bytes(about, about_len))
    };
    let m1 = (!m1.config.is_empty()).then_some(m1);
    answer(|state| {
        let about: About = if about.is_empty() {
            About::default()
        } else {
            serde_json::from_slice(about).map_err(|e| format!("the model's description: {e}"))?
        };
        let (config, model, _) =
            load_model_from_bytes(run, m1, "the page's model").map_err(|e| e.to_string())?;
        state.explorer = Some(Explorer::new(config, model, about.metrics, about.source));
        Ok(Vec::new())
    })
}

/// The loaded model's description, JSON.
#[no_mangle]
pub extern "C" fn vae_info() -> u32 {
    answer(|state| {
        let (explorer, _) = explorer(state)?;
        let info = explorer.info().map_err(|e| e.to_string())?;
        serde_json::to_vec(&info).map_err(|e| e.to_string())
    })
}

/// The image at latent point `z` (`z_len` values) under `label` (negative: none).
///
/// # Safety
/// `z` points to `z_len` aligned, readable `f32`s.
#[no_mangle]
pub unsafe extern "C" fn vae_decode(z: *const f32, z_len: usize, label: i32) -> u32 {
    // SAFETY: the caller promises the length.
    let z = unsafe { floats(z, z_len) };
    answer(|state| {
        let z = z?;
        let (explorer, ws) = explorer(state)?;
        let labels = explorer.label(self::label(label)).map_err(message)?;
        let mut image = Vec::new();
        explorer
            .decode(ws, z, &labels, &mut image)
            .map_err(message)?;
        Ok(floats_to_bytes(&image))
    })
}

/// The encoding of a drawing (`pixels_len` values in [0, 1]) under `label` (negative: the
/// conditional model guesses it), JSON.
///
/// # Safety
/// `pixels` points to `pixels_len` aligned, readable `f32`s.
#[no_mangle]
pub unsafe extern "C" fn vae_encode(pixels: *const f32, pixels_len: usize, label: i32) -> u32 {
    // SAFETY: the caller promises the length.
    let pixels = unsafe { floats(pixels, pixels_len) };
    answer(|state| {
        let pixels = pixels?;
        let (explorer, ws) = explorer(state)?;
        let encoding = explorer
            .encode(ws, pixels, self::label(label))
            .map_err(message)?;
        serde_json::to_vec(&encoding).map_err(|e| e.to_string())
    })
}

/// The decoded manifold of a 2-D latent, `grid x grid` images under `label`.
#[no_mangle]
pub extern "C" fn vae_manifold(grid: u32, label: i32) -> u32 {
    answer(|state| {
        let (explorer, ws) = explorer(state)?;
        let mut images = Vec::new();
        explorer
            .manifold(ws, grid as usize, self::label(label), &mut images)
            .map_err(message)?;
        Ok(floats_to_bytes(&images))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn result_text() -> String {
        // SAFETY: the result buffer holds `vae_result_len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(vae_result_ptr(), vae_result_len()) };
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn load(config: &[u8], weights: &[u8]) -> u32 {
        // SAFETY: each pointer comes with its slice's length.
        unsafe {
            vae_load(
                config.as_ptr(),
                config.len(),
                weights.as_ptr(),
                weights.len(),
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
            )
        }
    }

    #[test]
    fn calls_before_a_model_is_loaded_say_so() {
        assert_eq!(vae_info(), 1);
        assert_eq!(result_text(), "no model is loaded: call vae_load first");
        assert_eq!(vae_manifold(10, -1), 1);
    }

    #[test]
    fn a_bad_model_is_refused_with_the_loader_s_words() {
        assert_eq!(load(b"{", b""), 1);
        assert!(result_text().contains("config.json"), "{}", result_text());
    }

    #[test]
    fn a_loaded_model_decodes_and_refuses_bad_points() {
        // The built-in model of `vae serve`: a conditional VAE with a 2-D latent, 28 x 28 images.
        let config = include_bytes!("../../vae-cli/assets/default-model/config.json");
        let weights = include_bytes!("../../vae-cli/assets/default-model/model.safetensors");
        assert_eq!(load(config, weights), 0, "{}", result_text());
        assert_eq!(vae_info(), 0);
        assert!(
            result_text().contains("\"latent_dim\":2"),
            "{}",
            result_text()
        );
        let z = vae_alloc(8).cast::<f32>();
        // SAFETY: `z` holds two aligned floats from vae_alloc.
        unsafe {
            z.write(0.5);
            z.add(1).write(-0.5);
            assert_eq!(vae_decode(z, 2, 3), 0, "{}", result_text());
            assert_eq!(vae_result_len(), 784 * 4);
            assert_eq!(vae_decode(z, 2, -1), 1);
            assert_eq!(
                result_text(),
                "this model is conditional: give a \"label\" in 0..=9"
            );
            assert_eq!(vae_decode(z, 1, 3), 1);
            assert_eq!(
                result_text(),
                "\"z\" has 1 values; this model's latent has 2"
            );
            z.write(f32::NAN);
            assert_eq!(vae_decode(z, 2, 3), 1);
            assert!(
                result_text().contains("outside [-10, 10]"),
                "{}",
                result_text()
            );
            vae_free(z.cast(), 8);
        }
        assert_eq!(vae_manifold(41, 3), 1);
        assert_eq!(result_text(), "grid 41 must be between 2 and 40");
        assert_eq!(vae_manifold(4, 3), 0);
        assert_eq!(vae_result_len(), 16 * 784 * 4);
    }
}
