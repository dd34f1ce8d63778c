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

/// The decoded image's pixels as a data URL: equal exactly when the image is the same.
const FINGERPRINT: &str = "const img = document.getElementById('decoded'); \
    const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight; \
    c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL();";

fn decoded_version(browser: &Browser) -> u64 {
    browser
        .execute(
            "return Number(document.getElementById('decoded').dataset.version);",
            json!([]),
        )
        .as_u64()
        .unwrap_or(0)
}

/// Waits until a decode newer than `version` is shown and no other decode is on its way.
fn wait_for_decode_after(browser: &Browser, version: u64) {
    browser.wait_for(
        &format!("Number(document.getElementById('decoded').dataset.version) > {version} && document.getElementById('decoded').complete && document.getElementById('decoded').naturalWidth > 0 && !state.inFlight && !state.pending"),
        30,
    );
}

/// Waits until the page has no decode in flight or queued and no drawing being encoded (the
/// drawing is encoded while the stroke goes on, so an answer can arrive after the stroke ends).
fn wait_until_idle(browser: &Browser) {
    browser.wait_for(
        "!state.inFlight && !state.pending && state.encoding === 0",
        30,
    );
}

/// Drives the explorer page open in `browser`, whichever backend answers it: a slider moves the
/// decoded image, a stroke on the canvas is encoded and the sliders jump to its encoding, and (for
/// a conditional model) a label button changes the digit and the manifold; the page reports no
/// problem.
pub(super) fn drive_explorer(browser: &Browser) {
    wait_for_decode_after(browser, 0);

    // A slider moves the decoded image.
    let before = browser.execute(FINGERPRINT, json!([]));
    let version = decoded_version(browser);
    browser.execute(
        "const s = document.querySelector('input.z[data-dim=\"0\"]'); s.value = '2.5'; s.dispatchEvent(new Event('input', {bubbles: true}));",
        json!([]),
    );
    wait_for_decode_after(browser, version);
    let moved = browser.execute(FINGERPRINT, json!([]));
    assert_ne!(before, moved, "moving a slider did not change the image");

    // A stroke on the drawing canvas is encoded, and the sliders jump to its encoding.
    let canvas = browser.find("#draw");
    browser.pointer(json!([
        {"type": "pointerMove", "origin": canvas, "x": -10, "y": -90},
        {"type": "pointerDown", "button": 0},
        {"type": "pointerMove", "origin": canvas, "x": -5, "y": -30, "duration": 60},
        {"type": "pointerMove", "origin": canvas, "x": 0, "y": 30, "duration": 60},
        {"type": "pointerMove", "origin": canvas, "x": 5, "y": 90, "duration": 60},
        {"type": "pointerUp", "button": 0},
    ]));
    browser.wait_for(
        "document.getElementById('encoding').textContent.startsWith('mean of q(z|x)')",
        30,
    );
    browser.wait_for(
        "document.getElementById('reconstruction').naturalWidth > 0",
        30,
    );
    wait_until_idle(browser);
    let slider = browser.execute(
        "return parseFloat(document.querySelector('input.z[data-dim=\"0\"]').value);",
        json!([]),
    );
    assert_ne!(
        slider,
        json!(2.5),
        "the sliders did not move to the drawing's encoding"
    );

    // A label button keeps the style and changes the digit.
    if browser.execute("return state.model.conditional;", json!([])) == json!(true) {
        let before = browser.execute(FINGERPRINT, json!([]));
        let version = decoded_version(browser);
        browser.execute(
            "document.querySelector('button.label[data-label=\"7\"]').click();",
            json!([]),
        );
        wait_for_decode_after(browser, version);
        let relabelled = browser.execute(FINGERPRINT, json!([]));
        assert_ne!(
            before, relabelled,
            "switching the label did not change the image"
        );
        let active = browser.execute(
            "return document.querySelector('button.label.active').dataset.label;",
            json!([]),
        );
        assert_eq!(active, json!("7"));
        browser.wait_for("state.manifold !== null", 30);
    }
    assert_eq!(
        browser.execute(
            "return document.getElementById('status').textContent;",
            json!([])
        ),
        json!(""),
        "the page reported a problem"
    );
}

#[test]
fn explorer_drag_draw_and_switch_labels() {
    if !available() {
        return;
    }
    let server = Server::start(&[]);
    let browser = Browser::start();
    browser.open(&format!("{}/", server.url));
    drive_explorer(&browser);

    let png = browser.screenshot();
    let shot = image::load_from_memory(&png).expect("the screenshot is a PNG");
    assert!(shot.width() > 0 && shot.height() > 0);
    if let Some(dir) = std::env::var_os("VAE_SCREENSHOT_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("explorer.png"), &png)
            .expect("write screenshot");
    }
}
