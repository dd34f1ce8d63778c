//! The Frey MAT-file reader on files written here, and folder data sets with broken files.

use std::path::Path;
use vae::data::folder::{self, FolderOptions};
use vae::data::frey;
use vae::Error;

/// A MATLAB 5 MAT-file holding one numeric matrix, written by hand from the format's spec:
/// a 128-byte header, then one miMATRIX element (array flags, dimensions, name, real part).
fn mat_file(name: &str, class: u32, data_type: u32, dims: [i32; 2], data: &[u8]) -> Vec<u8> {
    fn element(kind: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        while out.len() % 8 != 0 {
            out.push(0);
        }
        out
    }
    let mut header = b"MATLAB 5.0 MAT-file, written by the vae tests".to_vec();
    header.resize(116, b' ');
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&0x0100u16.to_le_bytes());
    header.extend_from_slice(b"IM");
    let mut flags = class.to_le_bytes().to_vec();
    flags.extend_from_slice(&[0; 4]);
    let mut dimensions = dims[0].to_le_bytes().to_vec();
    dimensions.extend_from_slice(&dims[1].to_le_bytes());
    let mut body = element(6, &flags);
    body.extend(element(5, &dimensions));
    body.extend(element(1, name.as_bytes()));
    body.extend(element(data_type, data));
    let mut file = header;
    file.extend(element(14, &body));
    file
}

const MX_UINT8: u32 = 9;
const MI_UINT8: u32 = 2;
const MX_DOUBLE: u32 = 6;
const MI_DOUBLE: u32 = 9;

fn faces() -> Vec<u8> {
    (0..560 * 1965).map(|i| (i % 251) as u8).collect()
}

fn message(result: vae::Result<Vec<u8>>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn frey_mat_reader_reads_columns_as_images() -> vae::Result<()> {
    let data = faces();
    let bytes = mat_file("ff", MX_UINT8, MI_UINT8, [560, 1965], &data);
    let pixels = frey::parse(&bytes, Path::new("test.mat"))?;
    // Column i of the column-major 560 x 1965 matrix is image i.
    assert_eq!(pixels.len(), 560 * 1965);
    assert_eq!(&pixels[560 * 7..560 * 8], &data[560 * 7..560 * 8]);
    Ok(())
}

#[test]
fn frey_mat_reader_refuses_bad_files() {
    let data = faces();
    let good = mat_file("ff", MX_UINT8, MI_UINT8, [560, 1965], &data);
    let path = Path::new("test.mat");
    assert!(message(frey::parse(&good[..good.len() / 2], path)).contains("no variable `ff`"));
    assert!(message(frey::parse(&good[..100], path)).contains("MAT-file"));
    assert!(
        message(frey::parse(b"just some text, not a MAT-file at all", path)).contains("MAT-file")
    );
    let renamed = mat_file("xx", MX_UINT8, MI_UINT8, [560, 1965], &data);
    assert!(message(frey::parse(&renamed, path)).contains("no variable `ff`"));
    let small = mat_file("ff", MX_UINT8, MI_UINT8, [560, 3], &data[..560 * 3]);
    assert!(message(frey::parse(&small, path)).contains("expected [560, 1965]"));
    let doubles: Vec<u8> = (0..560 * 1965)
        .flat_map(|i| (i as f64).to_le_bytes())
        .collect();
    let wrong_type = mat_file("ff", MX_DOUBLE, MI_DOUBLE, [560, 1965], &doubles);
    assert!(message(frey::parse(&wrong_type, path)).contains("not uint8"));
}

#[test]
fn frey_file_with_the_wrong_checksum_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = mat_file("ff", MX_UINT8, MI_UINT8, [560, 1965], &faces());
    std::fs::create_dir_all(dir.path().join("frey")).expect("mkdir");
    std::fs::write(dir.path().join("frey").join(frey::FILE), bytes).expect("write");
    match frey::load(Some(dir.path())) {
        Err(e) => assert!(e.to_string().contains("SHA-256"), "{e}"),
        Ok(_) => panic!("a file that is not the Frey Face file was accepted"),
    }
}

fn save_png(path: &Path, width: u32, height: u32, rgb: [u8; 3]) {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([rgb[0], rgb[1].wrapping_add((x * y) as u8), rgb[2]])
    })
    .save(path)
    .expect("write PNG");
}

fn save_jpeg(path: &Path, width: u32, height: u32) {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        width,
        height,
        image::Rgb([200, 40, 40]),
    ))
    .write_to(&mut bytes, image::ImageFormat::Jpeg)
    .expect("encode JPEG");
    std::fs::write(path, bytes.into_inner()).expect("write JPEG");
}

#[test]
fn folder_data_set_with_classes_broken_files_and_a_cache() -> vae::Result<()> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let images = tmp.path().join("pets");
    let (cats, dogs) = (images.join("cats"), images.join("dogs"));
    std::fs::create_dir_all(&cats).expect("mkdir");
    std::fs::create_dir_all(&dogs).expect("mkdir");
    for i in 0..6 {
        save_png(&cats.join(format!("cat{i}.png")), 10 + i, 7, [10, 200, 30]);
        save_jpeg(&dogs.join(format!("dog{i}.JPG")), 9, 12);
    }
    std::fs::write(cats.join("broken.png"), b"\x89PNG but not really").expect("write");
    std::fs::write(dogs.join("notes.txt"), b"not an image").expect("write");
    let options = FolderOptions {
        channels: 3,
        height: 5,
        width: 4,
        split_seed: 1,
    };
    let cache = tmp.path().join("cache");

    let (data, report) = folder::load("folder:pets", &images, &options, Some(&cache))?;
    assert_eq!(
        data.class_names,
        vec!["cats".to_string(), "dogs".to_string()]
    );
    assert_eq!(data.shape.len(), 5 * 4 * 3);
    assert_eq!(data.train.len() + data.test.len(), 12);
    assert_eq!(data.test.len(), 1);
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|(p, _)| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert!(
        skipped.contains(&"broken.png".to_string()) && skipped.contains(&"notes.txt".to_string()),
        "{skipped:?}"
    );
    assert!(!report.from_cache);
    // A dog is red: its first pixel is close to (200, 40, 40) despite JPEG's rounding.
    let dog = (0..data.train.len())
        .find(|&i| data.train.labels[i] == 1)
        .expect("a dog in training");
    let pixel = &data.train.image(dog)[..3];
    assert!(
        pixel[0] > 180 && pixel[1] < 70 && pixel[2] < 70,
        "{pixel:?}"
    );

    let (again, report) = folder::load("folder:pets", &images, &options, Some(&cache))?;
    assert!(report.from_cache, "the second load did not use the cache");
    assert_eq!(again.train.images, data.train.images);
    assert_eq!(again.test.labels, data.test.labels);
    assert_eq!(report.skipped.len(), 2);

    // A cache entry with a flipped byte is a miss, not wrong data.
    let entry = report.cache.clone().expect("a cache path");
    let mut bytes = std::fs::read(&entry).expect("cache entry");
    let pixel = bytes.len() - 100;
    bytes[pixel] ^= 0x40;
    std::fs::write(&entry, &bytes).expect("write");
    let (third, report) = folder::load("folder:pets", &images, &options, Some(&cache))?;
    assert!(!report.from_cache, "a corrupt cache entry was used");
    assert_eq!(third.train.images, data.train.images);
    assert_eq!(third.train.labels, data.train.labels);

    let grey = FolderOptions {
        channels: 1,
        ..options
    };
    let (grey_data, _) = folder::load("folder:pets", &images, &grey, Some(&cache))?;
    assert_eq!(grey_data.shape.channels, 1);

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    match folder::load("folder:empty", &empty, &options, None) {
        Err(Error::Dataset { reason, .. }) => assert!(reason.contains("0 readable"), "{reason}"),
        other => panic!(
            "an empty folder was accepted: {:?}",
            other.map(|d| d.0.name)
        ),
    }
    let bad = FolderOptions {
        channels: 2,
        ..options
    };
    assert!(folder::load("folder:pets", &images, &bad, None).is_err());
    Ok(())
}
