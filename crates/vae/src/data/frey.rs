//! Brendan Frey's face images (Kingma & Welling 2013's continuous-data experiment): 1,965 grey
//! images, 28 rows x 20 columns, stored as the MATLAB 5 variable `ff` (uint8, 560 x 1965) of
//! `frey_rawface.mat`, image i being column i read row-major. Read with the `matfile` crate: pure
//! Rust, reads Level 5 MAT-files (compressed or not), and answered every malformed input we gave
//! it with an error rather than a panic.

use super::dataset::Dataset;
use super::http::Client;
use super::roots::search_roots;
use super::split::Split;
use crate::config::ImageShape;
use crate::error::{Error, Result};
use crate::fs::atomic_write;
use crate::fs::sha256_hex;
use crate::kernels::rng::{permutation, stream, Purpose};
use std::path::{Path, PathBuf};

/// The name `--dataset` takes.
pub const NAME: &str = "frey";
/// The file's name.
pub const FILE: &str = "frey_rawface.mat";
/// Sam Roweis's data page, the official location.
pub const URL: &str = "https://cs.nyu.edu/~roweis/data/frey_rawface.mat";
/// The MD5 that public loaders pin for the official file is 5aeb024d42b8a6091f30e5eb18c8a48d;
/// this is the SHA-256 of the same bytes.
pub const SHA256: &str = "265a83a23adb081755cd3de375509828e690324d1d60f076b8ecebc840d59c64";
/// 28 x 20 grey-level faces.
pub const SHAPE: ImageShape = ImageShape {
    height: 28,
    width: 20,
    channels: 1,
};
/// How many faces the file holds.
pub const IMAGES: usize = 1965;
/// The held-out images: a fixed random tenth (193 of 1,965), drawn with seed 0.
pub const TEST_IMAGES: usize = 193;
const MAX_FILE: u64 = 16 << 20;

/// The MAT-file, wherever the usual search finds it (`DIR/frey/` or `DIR/` for --data-dir and
/// $VAE_DATA_DIR; `~/.cache/vae/frey/`).
pub fn locate(data_dir: Option<&Path>) -> Option<PathBuf> {
    for (root, flat) in search_roots(data_dir) {
        let mut candidates = vec![root.join(NAME).join(FILE)];
        if flat {
            candidates.push(root.join(FILE));
        }
        if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
            return Some(found);
        }
    }
    None
}

/// The pixels of all 1,965 faces, `[1965, 28, 20]`, from a MAT-file's bytes.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let file = matfile::MatFile::parse(bytes)
        .map_err(|e| Error::bad_file(path, format!("not a readable MATLAB 5 MAT-file: {e:?}")))?;
    let names: Vec<&str> = file.arrays().iter().map(|a| a.name()).collect();
    let array = file.find_by_name("ff").ok_or_else(|| {
        Error::bad_file(
            path,
            format!("no variable `ff` (found {names:?}); truncated, or not the Frey Face file"),
        )
    })?;
    let size = array.size();
    if size[..] != [SHAPE.len(), IMAGES] {
        return Err(Error::bad_file(
            path,
            format!("`ff` is {size:?}, expected [560, 1965]"),
        ));
    }
    match array.data() {
        matfile::NumericData::UInt8 { real, .. } if real.len() == SHAPE.len() * IMAGES => {
            // Column-major storage: column i, the 560 pixels of image i, is contiguous.
            Ok(real.clone())
        }
        matfile::NumericData::UInt8 { real, .. } => Err(Error::bad_file(
            path,
            format!(
                "`ff` holds {} values, expected {}",
                real.len(),
                SHAPE.len() * IMAGES
            ),
        )),
        _ => Err(Error::bad_file(path, "`ff` is not uint8")),
    }
}

/// Loads and verifies the file, then splits it: 1,772 training and 193 test faces.
/// The bytes of the Frey Face file at `path`, checked against its known checksum.
fn read_verified(path: &Path) -> Result<Vec<u8>> {
    let bytes = crate::fs::read_regular(path)?;
    let actual = sha256_hex(&bytes);
    if actual != SHA256 {
        return Err(Error::bad_file(path, format!("SHA-256 {actual} is not that of the Frey Face file ({SHA256}); the file is corrupt or another one")));
    }
    Ok(bytes)
}

/// Whether the file at `path` is the Frey Face file, intact.
pub fn verify(path: &Path) -> Result<()> {
    read_verified(path).map(drop)
}

/// The Frey faces, found under `data_dir` or the usual roots and checked against their checksum,
/// split into training and held-out images.
pub fn load(data_dir: Option<&Path>) -> Result<Dataset> {
    let path = locate(data_dir).ok_or_else(|| Error::Dataset {
        name: NAME.into(),
        reason: format!(
            "{FILE} not found (run `vae data fetch frey`, or pass --data-dir, data_dir= in Python)"
        ),
    })?;
    let bytes = read_verified(&path)?;
    let pixels = parse(&bytes, &path)?;
    let order = permutation(
        &mut stream(0, Purpose::Select, &[u64::from_le_bytes(*b"freyface")]),
        IMAGES,
    );
    let (test, train) = order.split_at(TEST_IMAGES);
    let take = |indices: &[usize]| Split {
        shape: SHAPE,
        images: indices
            .iter()
            .flat_map(|&i| {
                pixels[i * SHAPE.len()..(i + 1) * SHAPE.len()]
                    .iter()
                    .copied()
            })
            .collect(),
        labels: vec![0; indices.len()],
        attributes: Vec::new(),
    };
    Ok(Dataset {
        name: NAME.into(),
        shape: SHAPE,
        train: take(train),
        test: take(test),
        class_names: vec!["face".into()],
        attribute_names: Vec::new(),
    })
}

/// Downloads the file from the official location into `root/frey/`, verifying it first.
pub fn fetch(root: &Path, log: &mut dyn FnMut(String)) -> Result<PathBuf> {
    let path = root.join(NAME).join(FILE);
    if verify(&path).is_ok() {
        return Ok(path);
    }
    log(format!("downloading {URL}"));
    let fail = |e: String| {
        // A transport error already begins with the URL: say it once.
        let e = e
            .strip_prefix(&format!("{URL}: "))
            .unwrap_or(&e)
            .to_string();
        Error::Download(format!(
            "{URL}: {e}. Download {FILE} by hand (MD5 5aeb024d42b8a6091f30e5eb18c8a48d) into {} or a directory you pass with --data-dir (data_dir= in Python)",
            path.parent().unwrap_or(root).display()
        ))
    };
    let bytes = Client::new()
        .get(URL, MAX_FILE)
        .map_err(|e| fail(e.to_string()))?;
    let actual = sha256_hex(&bytes);
    if actual != SHA256 {
        return Err(fail(format!(
            "SHA-256 {actual} does not match the expected {SHA256}"
        )));
    }
    atomic_write(&path, &bytes)?;
    Ok(path)
}
