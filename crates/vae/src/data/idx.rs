//! The IDX format of LeCun's MNIST files, raw or gzipped: a 4-byte magic `00 00 TYPE NDIM`, NDIM
//! big-endian u32 dimensions, then the values row-major. Only unsigned bytes (TYPE 0x08) are read.
//!
//! A header that claims more data than the file can hold is refused before anything is allocated
//! or decompressed: for raw files against the file's length, for gzipped ones against deflate's
//! largest ratio and the machine's memory, and for the named data sets against their known shapes.

use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::{BufReader, Read};
use std::path::Path;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const TYPE_U8: u8 = 0x08;
/// Images, labels and colour images need at most four dimensions.
const MAX_DIMS: usize = 4;
/// Never reserve more than this up front; larger files grow the buffer as they are read.
const MAX_RESERVE: usize = 1 << 28;
/// Deflate's largest expansion: one 258-byte match per 2 bits gives about 1032 output bytes per
/// input byte (zlib's technical notes), so a gzip file of n bytes holds at most 1032 n.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// An n-dimensional array of bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// The size of each dimension.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file, gzipped or not (told apart by the gzip magic, not the file name).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    read_idx_shaped(path, None)
}

/// `read_idx` for a file whose dimensions are known (a named data set's): any other header is
/// refused before the data are read.
pub fn read_idx_shaped(path: &Path, expected: Option<&[usize]>) -> Result<IdxArray> {
    let file = crate::fs::open_regular(path)?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 2];
    let gzipped = match reader.read_exact(&mut magic) {
        Ok(()) => magic == GZIP_MAGIC,
        Err(_) => {
            return Err(Error::bad_file(
                path,
                "not an IDX file: shorter than its header",
            ))
        }
    };
    // Put the two bytes back in front of the stream.
    let stream = (&magic[..]).chain(reader);
    let size = if gzipped {
        StreamSize::Gzip(file_len)
    } else {
        StreamSize::Raw(file_len)
    };
    if gzipped {
        parse(MultiGzDecoder::new(stream), size, expected, path)
    } else {
        parse(stream, size, expected, path)
    }
}

/// The length of the file the stream comes from, and whether it is compressed.
#[derive(Clone, Copy)]
enum StreamSize {
    Raw(u64),
    Gzip(u64),
}

fn gzip_context(path: &Path, e: std::io::Error) -> Error {
    Error::bad_file(path, format!("corrupt gzip data: {e}"))
}

fn parse(
    mut reader: impl Read,
    size: StreamSize,
    expected: Option<&[usize]>,
    path: &Path,
) -> Result<IdxArray> {
    let raw_len = match size {
        StreamSize::Raw(len) => Some(len),
        StreamSize::Gzip(_) => None,
    };
    let read_err = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            Error::bad_file(path, "not an IDX file: shorter than its header")
        }
        _ if raw_len.is_none() => gzip_context(path, e),
        _ => Error::io(path, e),
    };
    let mut magic = [0u8; 4];
    reader.read_exact(&mut magic).map_err(read_err)?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(Error::bad_file(
            path,
            format!(
                "not an IDX file: magic bytes {:02x} {:02x} are not 00 00",
                magic[0], magic[1]
            ),
        ));
    }
    if magic[2] != TYPE_U8 {
        return Err(Error::bad_file(
            path,
            format!(
                "IDX element type 0x{:02x} is not supported (only 0x08, unsigned byte)",
                magic[2]
            ),
        ));
    }
    let ndim = magic[3] as usize;
    if ndim == 0 || ndim > MAX_DIMS {
        return Err(Error::bad_file(
            path,
            format!("IDX file has {ndim} dimensions; 1 to {MAX_DIMS} are supported"),
        ));
    }
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        let mut word = [0u8; 4];
        reader.read_exact(&mut word).map_err(read_err)?;
        dims.push(u32::from_be_bytes(word) as usize);
    }
    let claimed = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::bad_file(path, format!("IDX dimensions {dims:?} overflow")))?;
    if let Some(expected) = expected.filter(|e| *e != dims.as_slice()) {
        return Err(Error::bad_file(
            path,
            format!("header claims dimensions {dims:?}; this data set's file has {expected:?}"),
        ));
    }
    if let StreamSize::Gzip(compressed) = size {
        if let Some(memory) = crate::machine::memory_bytes().filter(|&m| claimed as u64 > m) {
            return Err(Error::bad_file(
                path,
                format!("header {dims:?} claims {claimed} values, more than this machine's {memory} bytes of memory"),
            ));
        }
        let most = compressed.saturating_mul(MAX_DEFLATE_RATIO);
        if claimed as u64 > most {
            return Err(Error::bad_file(
                path,
                format!("header {dims:?} claims {claimed} values; {compressed} bytes of gzip hold at most {most}"),
            ));
        }
    }
    let header = 4 + 4 * ndim as u64;
    if let Some(file_len) = raw_len {
        let held = file_len.saturating_sub(header);
        if held != claimed as u64 {
            let what = if held < claimed as u64 {
                "truncated"
            } else {
                "has trailing bytes"
            };
            return Err(Error::bad_file(
                path,
                format!("{what}: header {dims:?} claims {claimed} values, the file holds {held}"),
            ));
        }
    }
    let mut data = Vec::with_capacity(claimed.min(MAX_RESERVE));
    (&mut reader)
        .take(claimed as u64)
        .read_to_end(&mut data)
        .map_err(|e| {
            if raw_len.is_none() {
                gzip_context(path, e)
            } else {
                Error::io(path, e)
            }
        })?;
    if data.len() != claimed {
        return Err(Error::bad_file(
            path,
            format!(
                "truncated: header {dims:?} claims {claimed} values, the file holds {}",
                data.len()
            ),
        ));
    }
    let mut extra = [0u8; 1];
    let trailing = reader.read(&mut extra).map_err(|e| {
        if raw_len.is_none() {
            gzip_context(path, e)
        } else {
            Error::io(path, e)
        }
    })?;
    if trailing != 0 {
        return Err(Error::bad_file(
            path,
            format!("has trailing bytes after the {claimed} values its header {dims:?} claims"),
        ));
    }
    Ok(IdxArray { dims, data })
}

/// The header of an unsigned-byte IDX file with these dimensions (each below 2^32).
pub(crate) fn header_bytes(dims: &[usize]) -> Vec<u8> {
    let mut bytes = vec![0, 0, TYPE_U8, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes
}

/// Writes an unsigned-byte IDX file (uncompressed), replacing `path` atomically.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    let claimed: usize = dims.iter().product();
    if claimed != data.len() || dims.is_empty() || dims.len() > MAX_DIMS {
        return Err(Error::shape("IDX data", claimed, data.len()));
    }
    if let Some(&d) = dims.iter().find(|&&d| u32::try_from(d).is_err()) {
        return Err(Error::shape("IDX dimension", "< 2^32", d));
    }
    let mut bytes = header_bytes(dims);
    bytes.extend_from_slice(data);
    crate::fs::atomic_write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn header(dims: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0, 0, TYPE_U8, dims.len() as u8];
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("in-memory write");
        encoder.finish().expect("in-memory write")
    }

    fn read_bytes(bytes: &[u8]) -> Result<IdxArray> {
        read_bytes_shaped(bytes, None)
    }

    fn read_bytes_shaped(bytes: &[u8], expected: Option<&[usize]>) -> Result<IdxArray> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("file");
        std::fs::write(&path, bytes).expect("write fixture");
        read_idx_shaped(&path, expected)
    }

    fn message(result: Result<IdxArray>) -> String {
        match result {
            Ok(a) => panic!("expected an error, read {:?}", a.dims),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn round_trip_raw_and_gzipped() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let path = dir.path().join("images");
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        write_idx(&path, &[2, 3, 4], &data)?;
        let read = read_idx(&path)?;
        assert_eq!(read.dims, vec![2, 3, 4]);
        assert_eq!(read.data, data);
        let raw = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        assert_eq!(read_bytes(&gzip(&raw))?, read);
        Ok(())
    }

    #[test]
    fn truncated_raw_file_is_refused() {
        let mut bytes = header(&[10, 28, 28]);
        bytes.extend(vec![0u8; 100]);
        assert!(message(read_bytes(&bytes)).contains("truncated"));
    }

    #[test]
    fn truncated_gzip_data_is_refused() {
        let mut bytes = header(&[10, 28, 28]);
        bytes.extend(vec![0u8; 100]);
        assert!(message(read_bytes(&gzip(&bytes))).contains("truncated"));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = header(&[3]);
        bytes.extend([1, 2, 3, 4]);
        assert!(message(read_bytes(&bytes)).contains("trailing"));
        assert!(message(read_bytes(&gzip(&bytes))).contains("trailing"));
    }

    #[test]
    fn wrong_magic_and_type_are_refused() {
        assert!(message(read_bytes(b"PK\x03\x04 a zip file")).contains("magic"));
        let mut float_file = vec![0, 0, 0x0D, 1];
        float_file.extend(1u32.to_be_bytes());
        float_file.extend([0; 4]);
        assert!(message(read_bytes(&float_file)).contains("0x0d"));
        assert!(message(read_bytes(&[0, 0])).contains("shorter than its header"));
        assert!(message(read_bytes(&[])).contains("shorter than its header"));
    }

    #[test]
    fn absurd_dimensions_fail_without_allocating() {
        // 4e9^3 overflows usize; 4e9 * 4e9 does not on 64-bit but far exceeds the file.
        let overflow = header(&[4_000_000_000, 4_000_000_000, 4_000_000_000]);
        assert!(message(read_bytes(&overflow)).contains("overflow"));
        let huge = header(&[4_000_000_000, 4_000_000_000]);
        assert!(message(read_bytes(&huge)).contains("truncated"));
        assert!(message(read_bytes(&gzip(&huge))).contains("bytes of memory"));
        assert!(message(read_bytes(&header(&[1, 1, 1, 1, 1]))).contains("dimensions"));
    }

    #[test]
    /// A gzip bomb (a header claiming 2^31 images over megabytes of zeros)
    /// is refused from its header, before any of it is decompressed: against deflate's ratio in
    /// general, against the known shape for a named data set.
    fn gzip_bombs_are_refused_from_the_header() {
        let mut bomb = header(&[1 << 31, 28, 28]);
        bomb.resize(bomb.len() + (8 << 20), 0);
        let packed = gzip(&bomb);
        let started = std::time::Instant::now();
        let m = message(read_bytes(&packed));
        assert!(m.contains("claims 1683627180032 values"), "{m}");
        let m = message(read_bytes_shaped(&packed, Some(&[60000, 28, 28])));
        assert!(
            m.contains("[2147483648, 28, 28]") && m.contains("[60000, 28, 28]"),
            "{m}"
        );
        // A claim a machine could hold but the compressed bytes cannot.
        let mut small = header(&[100_000, 28, 28]);
        small.resize(small.len() + 1000, 0);
        let m = message(read_bytes(&gzip(&small)));
        assert!(
            m.contains("claims 78400000 values") && m.contains("gzip hold at most"),
            "{m}"
        );
        assert!(started.elapsed().as_secs_f64() < 0.5);
    }

    #[test]
    fn corrupt_gzip_is_refused() {
        let mut bytes = gzip(&header(&[4]));
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xFF;
        bytes[mid + 1] ^= 0xFF;
        let text = message(read_bytes(&bytes));
        assert!(text.contains("gzip") || text.contains("IDX"), "{text}");
    }
}
