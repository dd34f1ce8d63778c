//! A minimal W3C WebDriver client over HTTP (chromedriver + headless Chromium), enough to open a
//! page, run a script, move the pointer and take a screenshot.

use base64::Engine;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser tests can run here. Where `VAE_REQUIRE_BROWSER` is set (CI), a missing
/// browser is a failure instead of a skip.
pub fn available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("VAE_REQUIRE_BROWSER").is_none(),
            "VAE_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
        // Written to the process's stderr directly: the test harness captures `eprintln!` of a
        // passing test, and a skip the user never sees looks like a pass.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED: the browser test needs {CHROMIUM} and {CHROMEDRIVER} (Debian's chromium and chromium-driver)"
        );
    }
    present
}

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    pub fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1300,1000",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.post("/session", caps);
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    fn request(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.base, path);
        let response = match body {
            Some(b) => ureq::request(method, &url)
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => ureq::request(method, &url).call(),
        };
        let value: Value = match response {
            Ok(r) => serde_json::from_str(&r.into_string().expect("a response body"))
                .expect("JSON from chromedriver"),
            Err(ureq::Error::Status(code, r)) => panic!(
                "WebDriver {method} {path}: HTTP {code}: {}",
                r.into_string().unwrap_or_default()
            ),
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        };
        value["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.request("POST", path, Some(body))
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{}", self.session, rest)
    }

    pub fn open(&self, url: &str) {
        self.post(&self.session_path("/url"), json!({ "url": url }));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.post(
            &self.session_path("/execute/sync"),
            json!({ "script": script, "args": args }),
        )
    }

    /// Waits until `condition` (a JS expression) is true, or panics after `seconds`.
    pub fn wait_for(&self, condition: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if self.execute(&format!("return Boolean({condition});"), json!([])) == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for `{condition}`"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A reference to the first element matching `css`, for pointer actions.
    pub fn find(&self, css: &str) -> Value {
        self.post(
            &self.session_path("/element"),
            json!({"using": "css selector", "value": css}),
        )
    }

    /// Pointer actions (W3C `actions`), e.g. a drag on a canvas.
    pub fn pointer(&self, actions: Value) {
        self.post(
            &self.session_path("/actions"),
            json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": actions}]}),
        );
    }

    /// The console's errors (and uncaught exceptions) since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        let entries = self.post(&self.session_path("/se/log"), json!({"type": "browser"}));
        entries
            .as_array()
            .expect("a list of log entries")
            .iter()
            .filter(|e| e["level"] == json!("SEVERE"))
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.request("GET", &self.session_path("/screenshot"), None);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 screenshot"))
            .expect("valid base64")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
