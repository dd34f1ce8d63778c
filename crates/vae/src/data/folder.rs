//! Your own images: a directory of PNG and JPEG files, one class per sub-directory if there are
//! any, converted to grey or RGB, resized, split with a seed, and cached as bytes so the second
//! run starts at once.

use super::attributes::AttributeTable;
use super::dataset::Dataset;
use super::split::Split;
pub use crate::config::FolderOptions;
use crate::config::ImageShape;
use crate::error::{Error, Result};
use crate::fs::atomic_write;
use crate::fs::{hex, sha256_hex};
use crate::kernels::rng::{permutation, stream, Purpose};
use image::imageops::FilterType;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A tenth of the images (at least one) is held out for testing.
const TEST_FRACTION: f64 = 0.1;
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];
/// Version 2 added the payload checksum; a version-1 file is simply rebuilt.
const CACHE_MAGIC: &[u8; 8] = b"VAEFOLD2";

/// What a folder load found besides the images.
#[derive(Debug, Default)]
pub struct FolderReport {
    /// `(file, why)` for every file that was skipped.
    pub skipped: Vec<Skipped>,
    /// Whether the decoded images were read from the cache.
    pub from_cache: bool,
    /// The cache file of the decoded images, when there is one.
    pub cache: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct CacheHeader {
    class_names: Vec<String>,
    images: usize,
    skipped: Vec<Skipped>,
    /// SHA-256 of the pixels and labels that follow: flipped bytes make the cache a miss.
    sha256: String,
}

/// A file skipped, and why.
type Skipped = (PathBuf, String);

/// The image files with their class index, the class names, and the files skipped.
struct Listing {
    files: Vec<(PathBuf, usize)>,
    class_names: Vec<String>,
    skipped: Vec<Skipped>,
}

/// Image files and their class: sub-directories are classes (sorted by name); files directly in
/// `dir` form a class named after `dir` itself.
fn list(dir: &Path) -> Result<Listing> {
    let read = |d: &Path| -> Result<Vec<PathBuf>> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| Error::io(d, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        entries.sort();
        Ok(entries)
    };
    let is_image = |p: &Path| {
        p.extension()
            .is_some_and(|e| EXTENSIONS.contains(&e.to_string_lossy().to_lowercase().as_str()))
    };
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut class_names = Vec::new();
    let entries = read(dir)?;
    // The attributes' file is read as such, not skipped as a stray file.
    let top: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != super::attributes::FILE))
        .collect();
    for sub in entries.iter().filter(|p| p.is_dir()) {
        let class = class_names.len();
        let mut any = false;
        for file in read(sub)?.into_iter().filter(|p| p.is_file()) {
            if is_image(&file) {
                files.push((file, class));
                any = true;
            } else {
                skipped.push((file, "not a .png, .jpg or .jpeg file".to_string()));
            }
        }
        if any {
            class_names.push(
                sub.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    let top_class = class_names.len();
    let mut any_top = false;
    for file in top {
        if is_image(file) {
            files.push((file.clone(), top_class));
            any_top = true;
        } else {
            skipped.push((file.clone(), "not a .png, .jpg or .jpeg file".to_string()));
        }
    }
    if any_top {
        class_names.push(
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "images".into()),
        );
    }
    Ok(Listing {
        files,
        class_names,
        skipped,
    })
}

/// Names the cache entry after everything that decides its content: the files (path, size,
/// modification time) and the conversion.
fn cache_key(files: &[(PathBuf, usize)], options: &FolderOptions) -> String {
    let mut hash = Sha256::new();
    hash.update(format!(
        "{}x{}x{}",
        options.height, options.width, options.channels
    ));
    for (path, class) in files {
        let meta = std::fs::metadata(path).ok();
        let modified = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        hash.update(format!(
            "{}|{class}|{:?}|{:?}\n",
            path.display(),
            meta.map(|m| m.len()),
            modified
        ));
    }
    hash.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode(path: &Path, options: &FolderOptions) -> std::result::Result<Vec<u8>, String> {
    // Opened as a regular file only (a pipe named like an image would block the whole load).
    let bytes = crate::fs::read_regular(path).map_err(|e| e.to_string())?;
    let image = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let (w, h) = (options.width as u32, options.height as u32);
    let resized = image.resize_exact(w, h, FilterType::Triangle);
    Ok(match options.channels {
        1 => resized.to_luma8().into_raw(),
        _ => resized.to_rgb8().into_raw(),
    })
}

/// The cached pixels and labels, or None for anything short of an intact entry (missing,
/// truncated, corrupt, or from another version): the folder is then decoded again.
fn read_cache(path: &Path, shape: ImageShape) -> Option<(CacheHeader, Vec<u8>, Vec<u8>)> {
    let bytes = crate::fs::read_regular(path).ok()?;
    let rest = bytes.strip_prefix(CACHE_MAGIC)?;
    let header_len = usize::try_from(u64::from_le_bytes(rest.get(..8)?.try_into().ok()?)).ok()?;
    let header_end = header_len.checked_add(8)?;
    let header: CacheHeader = serde_json::from_slice(rest.get(8..header_end)?).ok()?;
    let body = rest.get(header_end..)?;
    let pixels = header.images.checked_mul(shape.len())?;
    if body.len() != pixels.checked_add(header.images)? || sha256_hex(body) != header.sha256 {
        return None;
    }
    let (images, labels) = body.split_at(pixels);
    if labels
        .iter()
        .any(|&l| l as usize >= header.class_names.len())
    {
        return None;
    }
    Some((header, images.to_vec(), labels.to_vec()))
}

fn write_cache(path: &Path, header: &CacheHeader, images: &[u8], labels: &[u8]) -> Result<()> {
    let json = serde_json::to_vec(header).map_err(|e| Error::Config(e.to_string()))?;
    let mut bytes = Vec::with_capacity(16 + json.len() + images.len() + labels.len());
    bytes.extend_from_slice(CACHE_MAGIC);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(images);
    bytes.extend_from_slice(labels);
    atomic_write(path, &bytes)
}

/// Loads `dir` as a data set, through the cache in `cache_dir` when given.
pub fn load(
    spec: &str,
    dir: &Path,
    options: &FolderOptions,
    cache_dir: Option<&Path>,
) -> Result<(Dataset, FolderReport)> {
    if options.channels != 1 && options.channels != 3 {
        return Err(Error::InvalidArgument(format!(
            "{} channels: images are read as 1 (grey) or 3 (RGB)",
            options.channels
        )));
    }
    if options.height == 0 || options.width == 0 || options.height > 1024 || options.width > 1024 {
        return Err(Error::InvalidArgument(format!(
            "image size {}x{} must be between 1x1 and 1024x1024",
            options.height, options.width
        )));
    }
    if !dir.is_dir() {
        return Err(Error::Dataset {
            name: spec.into(),
            reason: format!("{} is not a directory", dir.display()),
        });
    }
    let shape = ImageShape {
        height: options.height,
        width: options.width,
        channels: options.channels,
    };
    let Listing {
        files,
        class_names,
        mut skipped,
    } = list(dir)?;
    // The decoded pixels of every file, counted before any is decoded: a folder that would not
    // fit is refused here rather than aborting part-way (three times: the decoded images, the
    // growing buffer they are gathered into, and the training and test splits).
    let bytes = (files.len() as u128)
        .saturating_mul(shape.len() as u128)
        .saturating_mul(3);
    let limit = crate::memory::default_limit().map(|(bytes, _)| bytes);
    if let Some(limit) = limit.filter(|&l| bytes > u128::from(l)) {
        return Err(Error::Dataset {
            name: spec.into(),
            reason: format!(
                "{} images of {shape} need about {} once decoded, more than the {} this process can take: use a smaller --size (size= in Python) or fewer images",
                files.len(),
                crate::memory::human(bytes),
                crate::memory::human(u128::from(limit)),
            ),
        });
    }
    let cache = cache_dir.map(|c| {
        c.join("folders")
            .join(format!("{}.bin", cache_key(&files, options)))
    });
    let mut report = FolderReport {
        cache: cache.clone(),
        ..FolderReport::default()
    };
    let (class_names, images, labels) = match cache.as_deref().and_then(|c| read_cache(c, shape)) {
        Some((header, images, labels)) => {
            report.from_cache = true;
            skipped = header.skipped;
            (header.class_names, images, labels)
        }
        None => {
            let decoded: Vec<(usize, std::result::Result<Vec<u8>, String>)> = files
                .par_iter()
                .map(|(path, class)| (*class, decode(path, options)))
                .collect();
            let mut images = Vec::new();
            let mut labels = Vec::new();
            for ((path, _), (class, result)) in files.iter().zip(decoded) {
                match result {
                    Ok(pixels) => {
                        images.extend_from_slice(&pixels);
                        labels.push(class as u8);
                    }
                    Err(reason) => skipped.push((path.clone(), reason)),
                }
            }
            if let Some(cache) = &cache {
                let header = CacheHeader {
                    class_names: class_names.clone(),
                    images: labels.len(),
                    skipped: skipped.clone(),
                    sha256: hex(&Sha256::new()
                        .chain_update(&images)
                        .chain_update(&labels)
                        .finalize()),
                };
                // A cache that cannot be written only costs the next run its head start.
                let _ = write_cache(cache, &header, &images, &labels);
            }
            (class_names, images, labels)
        }
    };
    let (attribute_names, attributes) = match AttributeTable::read(dir)? {
        Some(table) => {
            // The image files relative to `dir` with `/`: all of them, and those decoded, in
            // the order of `images`.
            let relative = |p: &PathBuf| -> String {
                p.strip_prefix(dir)
                    .unwrap_or(p)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            };
            let unreadable: std::collections::HashSet<&PathBuf> =
                skipped.iter().map(|(p, _)| p).collect();
            let listed: Vec<String> = files.iter().map(|(p, _)| relative(p)).collect();
            let decoded: Vec<String> = files
                .iter()
                .filter(|(p, _)| !unreadable.contains(p))
                .map(|(p, _)| relative(p))
                .collect();
            let path = dir.join(super::attributes::FILE);
            let values = table.values_of(&decoded, &listed, &path)?;
            (table.names, values)
        }
        None => (Vec::new(), Vec::new()),
    };
    let width = attribute_names.len();
    report.skipped = skipped;
    let count = labels.len();
    if count < 2 {
        return Err(Error::Dataset {
            name: spec.into(),
            reason: format!(
                "{} holds {count} readable PNG or JPEG images; at least 2 are needed",
                dir.display()
            ),
        });
    }
    if class_names.len() > 256 {
        return Err(Error::Dataset {
            name: spec.into(),
            reason: format!("{} classes; at most 256 are supported", class_names.len()),
        });
    }
    let order = permutation(
        &mut stream(options.split_seed, Purpose::Select, &[count as u64]),
        count,
    );
    let test_count = ((count as f64 * TEST_FRACTION).round() as usize).clamp(1, count - 1);
    let (test, train) = order.split_at(test_count);
    let take = |indices: &[usize]| Split {
        shape,
        images: indices
            .iter()
            .flat_map(|&i| {
                images[i * shape.len()..(i + 1) * shape.len()]
                    .iter()
                    .copied()
            })
            .collect(),
        labels: indices.iter().map(|&i| labels[i]).collect(),
        attributes: indices
            .iter()
            .flat_map(|&i| attributes[i * width..(i + 1) * width].iter().copied())
            .collect(),
    };
    let dataset = Dataset {
        name: spec.into(),
        shape,
        train: take(train),
        test: take(test),
        class_names,
        attribute_names,
    };
    Ok((dataset, report))
}
