//! `vae export-web`: the exported page in headless Chromium, opened from `file://`. The library
//! compiled to WebAssembly decodes and encodes as the native build does, for every model kind the
//! explorer serves; the page works with no server and fetches nothing outside its folder; the page
//! committed under docs/explorer/ opens from the repository. Bad input is refused as `vae serve`
//! refuses it.

use super::browser::drive_explorer;
use super::common::*;
use super::conv::{conv_train_args, strs, CONV_LAYERS};
use super::webdriver::{available, Browser};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use vae::model::jmvae::Modality;
use vae::model::VaeWorkspace;
use vae::Generative;

/// Runs `expression` (a promise) in the page and returns what it resolves to.
fn resolve(browser: &Browser, expression: &str) -> Value {
    browser.execute(
        &format!(
            "window.__answer = undefined; Promise.resolve({expression}).then(v => {{ window.__answer = {{ok: v}}; }}, e => {{ window.__answer = {{error: String(e.message || e)}}; }});"
        ),
        json!([]),
    );
    browser.wait_for("window.__answer !== undefined", 60);
    browser.execute("return window.__answer;", json!([]))
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("an array, not {value}"))
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn open_page(browser: &Browser, site: &Path) {
    let index = site.join("index.html").canonicalize().expect("index.html");
    browser.open(&format!("file://{}", index.display()));
    browser.wait_for(
        "document.readyState === 'complete' && window.vaeWebBackend !== undefined",
        30,
    );
    let ready = resolve(browser, "window.vaeWebBackend.ready.then(() => true)");
    assert_eq!(ready, json!({"ok": true}), "the module did not load");
}

/// A VAE-GAN on 8 x 8 images, the smallest the DCGAN preset's networks take.
fn vae_gan_run(f: &Fixture) -> PathBuf {
    let dataset = eight_by_eight_idx(&f.root.join("eight"));
    let dir = f.root.join("vae-gan");
    ok(&[
        "train",
        "--dataset",
        &dataset,
        "--model",
        "vae-gan",
        "--latent",
        "3",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--out",
        path(&dir),
    ]);
    dir
}

/// Trains a tiny model of each kind the explorer serves, exports its page, and checks that the
/// page decodes (and encodes) what the native library does, to 1e-5.
#[test]
fn every_model_kind_decodes_in_the_page_as_natively() {
    if !available() {
        return;
    }
    let f = fixture();
    let run = |name: &str, extra: &[&str]| -> PathBuf {
        let dir = f.root.join(name);
        let mut args = train_args(&f, path(&dir), "1");
        // A latent of 3, so that z and a 2-D view differ in size.
        let at = args
            .iter()
            .position(|a| *a == "--latent")
            .expect("--latent");
        args[at + 1] = "3";
        args.extend(extra);
        ok(&args);
        dir
    };
    let layers = f.root.join("layers.json");
    std::fs::write(&layers, CONV_LAYERS).expect("write layers");
    let conv = f.root.join("conv");
    ok(&strs(&conv_train_args(&f, &layers, &conv, "1")));
    let m1 = run("mlp", &[]);
    let m1_path = path(&m1).to_string();
    let models = [
        m1.clone(),
        run("cvae", &["--model", "cvae"]),
        conv,
        run("m2", &["--model", "m2", "--labels", "4"]),
        run(
            "stacked",
            &[
                "--model",
                "m2",
                "--labels",
                "4",
                "--features",
                &m1_path,
                "--active-threshold",
                "0",
            ],
        ),
        run("two-layer", &["--top-latent", "2", "--top-hidden", "6"]),
        run("jmvae", &["--model", "jmvae"]),
        attributes_run(&f),
        run("gan", &["--model", "gan", "--hidden", "8"]),
        vae_gan_run(&f),
    ];

    let browser = Browser::start();
    for dir in &models {
        let site = dir.with_extension("site");
        ok(&["export-web", "--model", path(dir), "--out", path(&site)]);
        open_page(&browser, &site);

        let (_, model, _) = vae::checkpoint::load_model(dir).expect("the model loads natively");
        let latent = model.latent();
        let label = (model.decoder_classes() > 0).then_some(1u8);
        let labels: Vec<u8> = label.into_iter().collect();
        let label_js = label.map_or("null".to_string(), |l| l.to_string());
        let mut ws = VaeWorkspace::default();
        for point in 0..3 {
            let z: Vec<f32> = (0..latent)
                .map(|i| ((point * 7 + i * 3) % 11) as f32 / 5.0 - 1.0)
                .collect();
            let mut native = Vec::new();
            model
                .decode(&mut ws, &z, &labels, 1, &mut native)
                .expect("native decode");
            let page = resolve(
                &browser,
                &format!(
                    "window.vaeWebBackend.decodePixels({z:?}, {label_js}).then(p => Array.from(p))"
                ),
            );
            let page = floats(&page["ok"]);
            let difference = max_difference(&native, &page);
            assert!(
                difference <= 1e-5,
                "{}: the page's decode differs from the native one by {difference}",
                dir.display()
            );
        }

        let pixels: Vec<f32> = (0..model.pixels())
            .map(|i| ((i * 13) % 17) as f32 / 16.0)
            .collect();
        if !model.kind().has_encoder() {
            // A GAN has no encoder: the page says so, as the native model does.
            let page = resolve(
                &browser,
                &format!("window.vaeWebBackend.encode({pixels:?}, null).then(a => a.mean)"),
            );
            let error = page["error"].as_str().unwrap_or_default();
            assert!(error.contains("no encoder"), "{}: {page}", dir.display());
            continue;
        }
        let mut native = Vec::new();
        model
            .encode(&mut ws, &pixels, &labels, 1, &mut native)
            .expect("native encode");
        let page = resolve(
            &browser,
            &format!("window.vaeWebBackend.encode({pixels:?}, {label_js}).then(a => a.mean)"),
        );
        let difference = max_difference(&native[..latent], &floats(&page["ok"]));
        assert!(
            difference <= 1e-5,
            "{}: the page's encoding differs from the native one by {difference}",
            dir.display()
        );

        // A JMVAE's attribute toggles move z by the difference of q(z | w)'s means with each
        // attribute alone and with none.
        if let Some(jmvae) = model.jmvae().ok().filter(|m| !m.attributes().is_empty()) {
            let info = resolve(&browser, "window.vaeWebBackend.info()");
            let count = jmvae.attributes().len();
            let mut rows = vec![0u8; count * (count + 1)];
            for a in 0..count {
                rows[(a + 1) * count + a] = 1;
            }
            let mut means = Vec::new();
            jmvae
                .modality_means(&mut ws, Modality::Attributes(&rows), count + 1, &mut means)
                .expect("native means");
            let (none, each) = means.split_at(latent);
            let native: Vec<f32> = each
                .chunks_exact(latent)
                .flat_map(|row| row.iter().zip(none).map(|(a, b)| a - b))
                .collect();
            let page: Vec<f32> = info["ok"]["attribute_directions"]
                .as_array()
                .expect("attribute directions")
                .iter()
                .flat_map(floats)
                .collect();
            assert!(max_difference(&native, &page) <= 1e-5, "{info}");
            assert_eq!(
                info["ok"]["attribute_names"],
                json!(["left", "top"]),
                "{info}"
            );
            // The first toggle moves the sliders' z by the first direction, and back.
            let z =
                |browser: &Browser| floats(&browser.execute("return state.z.slice();", json!([])));
            let before = z(&browser);
            let click = "document.querySelector('button.attribute').click(); return null;";
            browser.execute(click, json!([]));
            let moved: Vec<f32> = before
                .iter()
                .zip(&native[..latent])
                .map(|(b, d)| (b + d).clamp(-4.0, 4.0))
                .collect();
            assert!(max_difference(&moved, &z(&browser)) <= 1e-5);
            browser.execute(click, json!([]));
            assert!(max_difference(&before, &z(&browser)) <= 1e-5);
        }
        // A JMVAE's label buttons move z to the mean of q(z | y) for each label.
        if let Some(jmvae) = model.jmvae().ok().filter(|m| m.attributes().is_empty()) {
            let info = resolve(&browser, "window.vaeWebBackend.info()");
            let labels: Vec<u8> = (0..model.classes() as u8).collect();
            let mut native = Vec::new();
            jmvae
                .label_means(&mut ws, &labels, &mut native)
                .expect("native label means");
            let page: Vec<f32> = info["ok"]["label_points"]
                .as_array()
                .expect("label points")
                .iter()
                .flat_map(floats)
                .collect();
            assert!(max_difference(&native, &page) <= 1e-5, "{info}");
            assert_eq!(info["ok"]["conditional"], json!(false), "{info}");
        }

        // Bad input gets the words `vae serve` answers with.
        let short = resolve(
            &browser,
            &format!("window.vaeWebBackend.decodePixels([0.5], {label_js})"),
        );
        if latent != 1 {
            assert_eq!(
                short["error"],
                json!(format!(
                    "\"z\" has 1 values; this model's latent has {latent}"
                )),
                "{short}"
            );
        }
    }
}

/// The page opened from disk: sliders move the image, a drawing is encoded and decoded, labels
/// switch the digit; nothing is fetched from outside the folder and nothing is reported wrong.
fn drive_page(site: &Path) {
    let browser = Browser::start();
    open_page(&browser, site);
    let folder = format!(
        "file://{}/",
        site.canonicalize().expect("the folder").display()
    );
    drive_explorer(&browser);
    let about = browser.execute(
        "return document.getElementById('about').textContent;",
        json!([]),
    );
    assert!(
        about.as_str().unwrap_or("").contains("WebAssembly"),
        "{about}"
    );
    let outside = browser.execute(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(arguments[0]));",
        json!([folder]),
    );
    assert_eq!(
        outside,
        json!([]),
        "the page fetched from outside its folder"
    );
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");

    let png = browser.screenshot();
    let shot = image::load_from_memory(&png).expect("the screenshot is a PNG");
    assert!(shot.width() > 0 && shot.height() > 0);
    if let Some(dir) = std::env::var_os("VAE_SCREENSHOT_DIR") {
        std::fs::write(Path::new(&dir).join("explorer-web.png"), &png).expect("write screenshot");
    }
}

#[test]
fn an_exported_page_works_from_disk() {
    if !available() {
        return;
    }
    let f = fixture();
    let site = f.root.join("site");
    let out = ok(&["export-web", "--out", path(&site)]);
    assert!(out.contains("the page is"), "{out}");
    drive_page(&site);
}

/// The built-in model's page, committed to the repository, opens from there.
#[test]
fn the_committed_page_works_from_the_repository() {
    if !available() {
        return;
    }
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/explorer");
    drive_page(&site);
}

#[test]
fn export_refuses_what_serve_refuses_and_foreign_folders() {
    let f = fixture();
    let missing = f.root.join("missing");
    let site = f.root.join("site");
    let serve = vae(&["serve", "--model", path(&missing), "--port", "0"]);
    let export = vae(&[
        "export-web",
        "--model",
        path(&missing),
        "--out",
        path(&site),
    ]);
    assert!(!serve.status.success() && !export.status.success());
    let first_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let served = first_line(&serve.stderr);
    assert!(served.contains("not a model directory"), "{served}");
    assert_eq!(first_line(&export.stderr), served);
    assert!(!site.exists(), "a refused export wrote {}", site.display());

    // A folder with someone else's files is not written into.
    let foreign = f.root.join("foreign");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    fails(
        &["export-web", "--out", path(&foreign)],
        "which an export did not write",
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).expect("kept"),
        "mine"
    );
    // An earlier export is replaced.
    ok(&["export-web", "--out", path(&site)]);
    ok(&["export-web", "--out", path(&site)]);
}

/// Decodes per second from inside the page, as a slider move asks for them (the image included):
/// `backend` is the page's own (`vae serve` over HTTP, or the exported page's WebAssembly), run for
/// `seconds` at points along a path; also the median and 95th percentile of one decode, in ms.
fn decode_rate(browser: &Browser, seconds: f64, pixels_only: bool) -> Value {
    let call = if pixels_only {
        "backend.decodePixels(z, label)"
    } else {
        "backend.decode(z, label)"
    };
    resolve(
        browser,
        &format!(
            "(async () => {{
                const label = state.model.conditional ? 3 : null, times = [];
                const start = performance.now();
                for (let i = 0; performance.now() - start < {ms}; i++) {{
                    const z = new Array(state.model.latent_dim).fill(0).map((_, d) => Math.sin(i * 0.01 + d));
                    const t = performance.now();
                    await {call};
                    times.push(performance.now() - t);
                }}
                const total = performance.now() - start;
                times.sort((a, b) => a - b);
                const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
                return {{decodes: times.length, per_second: times.length / (total / 1000), median_ms: at(0.5), p95_ms: at(0.95)}};
            }})()",
            ms = seconds * 1000.0
        ),
    )["ok"]
        .clone()
}

/// The benchmark behind the explorer's speed table: the built-in model and a conv-preset model,
/// each decoded in headless Chromium by the exported page (WebAssembly) and by the page `vae serve`
/// answers (HTTP to a server on this machine). Writes its record to `VAE_WEB_BENCH_RECORD`
/// (default docs/records/web-decode.json):
/// `cargo test --release -p vae-cli --test cli web::decode_rate_record -- --ignored`.
#[test]
#[ignore = "a benchmark: run it on a quiet machine"]
fn decode_rate_record() {
    assert!(available(), "the benchmark needs Chromium and chromedriver");
    let f = fixture();
    // A 28 x 28 data set for the conv preset: a decode costs the same whatever the weights.
    let data = f.root.join("mnist-shaped");
    std::fs::create_dir_all(&data).expect("mkdir");
    let image =
        |i: usize| -> Vec<u8> { (0..784).map(|p| ((p * 7 + i * 13) % 256) as u8).collect() };
    for (name, count) in [("train", 64usize), ("t10k", 16)] {
        let images: Vec<u8> = (0..count).flat_map(image).collect();
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        vae::data::idx::write_idx(
            &data.join(format!("{name}-images-idx3-ubyte")),
            &[count, 28, 28],
            &images,
        )
        .expect("write");
        vae::data::idx::write_idx(
            &data.join(format!("{name}-labels-idx1-ubyte")),
            &[count],
            &labels,
        )
        .expect("write");
    }
    let conv = f.root.join("conv");
    ok(&[
        "train",
        "--dataset",
        &format!("idx:{}", data.display()),
        "--arch",
        "conv",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--out",
        path(&conv),
    ]);

    let mut models = Vec::new();
    for (name, model) in [
        ("built-in (conditional, 784-256-2)", None),
        ("conv preset (28 x 28)", Some(conv.clone())),
    ] {
        let site = f.root.join(format!("site-{}", models.len()));
        let mut export = vec!["export-web", "--out", path(&site)];
        let mut serve: Vec<&str> = vec!["--threads", "2"];
        if let Some(dir) = &model {
            export.extend(["--model", path(dir)]);
            serve.extend(["--model", path(dir)]);
        }
        ok(&export);
        let page_bytes: u64 = ["index.html", "vae-wasm.js", "model.js"]
            .iter()
            .map(|f| std::fs::metadata(site.join(f)).expect("page file").len())
            .sum();
        let browser = Browser::start();
        open_page(&browser, &site);
        decode_rate(&browser, 0.5, false);
        let wasm = decode_rate(&browser, 3.0, false);
        let wasm_pixels = decode_rate(&browser, 3.0, true);
        let user_agent = browser.execute("return navigator.userAgent;", json!([]));
        let server = Server::start(&serve);
        browser.open(&format!("{}/", server.url));
        browser.wait_for("state.model !== null && !state.inFlight", 30);
        decode_rate(&browser, 0.5, false);
        let served = decode_rate(&browser, 3.0, false);
        drop(server);
        models.push(json!({
            "model": name,
            "page_bytes": page_bytes,
            "page_megabytes": page_bytes as f64 / 1e6,
            "webassembly": wasm,
            "webassembly_pixels_only": wasm_pixels,
            "serve_threads_2": served,
            "browser": user_agent,
        }));
    }
    let record = json!({
        "what": "decodes per second from inside the explorer page in headless Chromium, image included: the exported page (WebAssembly, one thread) and the page of vae serve on the same machine (HTTP, 2 compute threads); 3 s each after a 0.5 s warm-up",
        "command": "cargo test --release -p vae-cli --test cli web::decode_rate_record -- --ignored",
        "machine": vae::machine::Provenance::now(2),
        "models": models,
    });
    let out = std::env::var_os("VAE_WEB_BENCH_RECORD").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/records/web-decode.json"),
        PathBuf::from,
    );
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&record).expect("json") + "\n",
    )
    .expect("write the record");
    eprintln!("{}", serde_json::to_string_pretty(&record).expect("json"));
}

/// A JMVAE of the attributes of a folder of 6 x 4 images, one epoch.
fn attributes_run(f: &Fixture) -> PathBuf {
    let dir = super::jmvae::attribute_folder(&f.root);
    let out = f.root.join("jmvae-attributes");
    let spec = format!("folder:{}", dir.display());
    ok(&[
        "train",
        "--dataset",
        &spec,
        "--size",
        "6x4",
        "--model",
        "jmvae",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--latent",
        "3",
        "--batch-size",
        "8",
        "--out",
        path(&out),
    ]);
    out
}
