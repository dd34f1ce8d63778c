//! report.html in a real browser: headless Chromium opens it from disk and every image loads.

use super::common::*;
use super::webdriver::{available, Browser};
use serde_json::json;

#[test]
fn report_opens_in_chromium_with_every_image_shown() {
    if !available() {
        return;
    }
    let f = fixture();
    let run = f.root.join("run");
    ok(&train_args(&f, path(&run), "2"));
    let report = run.join("report.html").canonicalize().expect("report.html");

    let browser = Browser::start();
    browser.open(&format!("file://{}", report.display()));
    browser.wait_for("document.readyState === 'complete'", 20);
    let images = browser.execute(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}));",
        json!([]),
    );
    let images = images.as_array().expect("a list of images");
    assert!(
        images.len() >= 6,
        "expected at least 6 figures, found {}",
        images.len()
    );
    for image in images {
        assert_eq!(image["complete"], json!(true), "{image}");
        assert!(
            image["width"].as_u64().unwrap_or(0) > 0,
            "image did not load: {image}"
        );
    }
    let png = browser.screenshot();
    let shot = image::load_from_memory(&png).expect("the screenshot is a PNG");
    assert!(shot.width() > 0 && shot.height() > 0);
    std::fs::write(f.root.join("report-screenshot.png"), &png).expect("write screenshot");
}
