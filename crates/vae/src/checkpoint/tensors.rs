//! Tensors to safetensors bytes and back, with the epoch in their metadata.

use super::{MAX_SAFETENSORS_FILE, MAX_SAFETENSORS_HEADER};
use crate::error::Error;
use crate::error::Result;
use safetensors::tensor::Dtype;
use safetensors::tensor::SafeTensorError;
use safetensors::tensor::SafeTensors;
use safetensors::tensor::TensorView;
use std::collections::HashMap;
use std::path::Path;

/// A JSON file of the run directory.
pub(super) fn read(path: &Path) -> Result<Vec<u8>> {
    crate::fs::read_bounded(path, crate::fs::JSON_LIMIT)
}

pub(super) fn check_header_length(bytes: &[u8], path: &Path) -> Result<()> {
    let length = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| checkpoint_err(path, "not a safetensors file: shorter than 8 bytes"))?;
    if length > MAX_SAFETENSORS_HEADER {
        return Err(checkpoint_err(
            path,
            format!("safetensors header of {length} bytes is over the limit of {MAX_SAFETENSORS_HEADER}"),
        ));
    }
    Ok(())
}

/// The tensors stored as int64, as PyTorch stores them: batch normalization's
/// `num_batches_tracked`.
const COUNT_SUFFIX: &str = "num_batches_tracked";

/// The largest count an f32 holds exactly (2^24).
const MAX_EXACT_COUNT: i64 = 1 << 24;

pub(super) fn checkpoint_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(super) fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serialises named f32 tensors with `metadata`; `path` names them in errors.
pub(super) fn safetensors_bytes(
    path: &Path,
    tensors: &[(String, Vec<usize>, &[f32])],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    // A checkpoint is the state a run can go back to: never one that holds NaN or infinity.
    for (name, _, values) in tensors {
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(checkpoint_err(
                path,
                format!("not saved: tensor `{name}` holds {bad}; the previous checkpoint is kept"),
            ));
        }
    }
    // Batch normalization's count of batches is an integer tensor in PyTorch: int64 here too.
    let counts = |name: &str| name.ends_with(COUNT_SUFFIX);
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(name, _, v)| match counts(name) {
            true => v.iter().flat_map(|&c| (c as i64).to_le_bytes()).collect(),
            false => to_bytes(v),
        })
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            let dtype = if counts(name) { Dtype::I64 } else { Dtype::F32 };
            TensorView::new(dtype, shape.clone(), data)
                .map(|view| (name.clone(), view))
                .map_err(|e| checkpoint_err(path, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, &Some(metadata)).map_err(|e| checkpoint_err(path, e.to_string()))
}

/// Reads every tensor of a safetensors file as `(name, shape, values)` plus its metadata.
pub(super) type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;
pub(super) fn read_safetensors(path: &Path) -> Result<(Tensors, HashMap<String, String>)> {
    parse_safetensors(&crate::fs::read_bounded(path, MAX_SAFETENSORS_FILE)?, path)
}

/// Parses safetensors bytes, their header length checked before anything is parsed; `path` names
/// them in errors.
/// A safetensors error in words (the crate's own message is its variant's name).
pub(super) fn describe(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::InvalidHeader
        | SafeTensorError::InvalidHeaderStart
        | SafeTensorError::InvalidHeaderDeserialization => "its JSON header is malformed".into(),
        SafeTensorError::HeaderTooLarge => "its header is larger than allowed".into(),
        SafeTensorError::HeaderTooSmall | SafeTensorError::InvalidHeaderLength => {
            "the file is shorter than its header says (truncated?)".into()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "its tensors need more bytes than the file holds (truncated?)".into()
        }
        SafeTensorError::TensorNotFound(name) => format!("no tensor `{name}`"),
        SafeTensorError::TensorInvalidInfo | SafeTensorError::InvalidTensorView(..) => {
            "a tensor's shape does not match its bytes".into()
        }
        SafeTensorError::InvalidOffset(name) => format!("tensor `{name}` has invalid offsets"),
        SafeTensorError::ValidationOverflow => "a tensor's size overflows".into(),
        SafeTensorError::IoError(e) => e.to_string(),
        SafeTensorError::JsonError(e) => format!("its JSON header is malformed: {e}"),
    }
}

pub(super) fn parse_safetensors(
    bytes: &[u8],
    path: &Path,
) -> Result<(Tensors, HashMap<String, String>)> {
    check_header_length(bytes, path)?;
    let not_safetensors = |e: SafeTensorError| {
        checkpoint_err(path, format!("not a safetensors file: {}", describe(&e)))
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = SafeTensors::deserialize(bytes).map_err(not_safetensors)?;
    let mut tensors = Vec::new();
    for (name, view) in file.tensors() {
        if view.dtype() == Dtype::I64 && name.ends_with(COUNT_SUFFIX) {
            let mut values = Vec::new();
            for c in view.data().chunks_exact(8) {
                let count = i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                if !(0..=MAX_EXACT_COUNT).contains(&count) {
                    return Err(checkpoint_err(
                        path,
                        format!(
                            "tensor `{name}` counts {count} batches, outside 0..={MAX_EXACT_COUNT}"
                        ),
                    ));
                }
                values.push(count as f32);
            }
            tensors.push((name, view.shape().to_vec(), values));
            continue;
        }
        if view.dtype() != Dtype::F32 {
            return Err(checkpoint_err(
                path,
                format!("tensor `{name}` is {:?}, expected F32", view.dtype()),
            ));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push((name, view.shape().to_vec(), values));
    }
    Ok((tensors, metadata))
}

/// One key only: safetensors writes its metadata map in hash order, and a single key keeps the
/// file's bytes reproducible.
pub(super) fn epoch_metadata(epoch: usize) -> HashMap<String, String> {
    HashMap::from([("epoch".to_string(), epoch.to_string())])
}

pub(super) fn metadata_epoch(path: &Path, metadata: &HashMap<String, String>) -> Result<usize> {
    metadata
        .get("epoch")
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| checkpoint_err(path, "metadata has no epoch"))
}
