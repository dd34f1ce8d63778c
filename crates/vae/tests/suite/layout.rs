//! The library's layout: every module uses only the modules `lib.rs` lists above it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The modules in the order `lib.rs`'s documentation lists them (its [`name`] links, in order,
/// that name a `pub mod`).
fn stated_order(lib: &str) -> Vec<String> {
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    let mut order = Vec::new();
    for line in lib.lines().filter(|l| l.starts_with("//!")) {
        for piece in line.split("[`").skip(1) {
            let Some(name) = piece.split("`]").next() else {
                continue;
            };
            if declared.contains(&name) && !order.iter().any(|o| o == name) {
                order.push(name.to_string());
            }
        }
    }
    assert_eq!(
        order.len(),
        declared.len(),
        "lib.rs declares {declared:?} but its documentation orders {order:?}"
    );
    order
}

/// Names `lib.rs` re-exports at the crate root, with the module each comes from.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut exports = BTreeMap::new();
    let text: String = lib
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for statement in text.split("pub use ").skip(1) {
        let statement = statement.split(';').next().unwrap_or("");
        let module = statement
            .split("::")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let names = match statement.find('{') {
            Some(open) => statement[open + 1..].trim_end_matches('}').to_string(),
            None => statement.rsplit("::").next().unwrap_or("").to_string(),
        };
        for name in names.split(',').map(|n| n.trim()).filter(|n| !n.is_empty()) {
            exports.insert(name.to_string(), module.clone());
        }
    }
    exports
}

/// The first path segments after `crate::` in `code` (comments left out), including each
/// segment of a `crate::{a::X, b}` group.
fn crate_paths(code: &str) -> Vec<String> {
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    for piece in code.split("crate::").skip(1) {
        if let Some(group) = piece.strip_prefix('{') {
            // Identifiers at the group's top level, each starting a path.
            let (mut depth, mut start) = (0usize, true);
            let mut ident = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 && (c.is_alphanumeric() || c == '_') {
                    if start {
                        ident.push(c);
                    }
                } else {
                    if !ident.is_empty() {
                        found.push(std::mem::take(&mut ident));
                    }
                    start = depth == 0 && (c == ',' || c.is_whitespace()) && (start || c == ',');
                }
            }
            if !ident.is_empty() {
                found.push(ident);
            }
        } else {
            let ident: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(ident);
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_use_only_those_above_them() {
    let src = source_dir();
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let order = stated_order(&lib);
    let exports = root_exports(&lib);
    let position = |m: &str| order.iter().position(|o| o == m);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let Some(here) = position(&top) else {
            continue;
        };
        let code = std::fs::read_to_string(&file).expect("source");
        for first in crate_paths(&code) {
            let module = exports.get(&first).cloned().unwrap_or(first);
            if let Some(there) = position(&module) {
                if there > here {
                    violations.push(format!(
                        "{} uses {module}, listed below {top}",
                        relative.display()
                    ));
                }
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_scanner_finds_grouped_and_re_exported_paths() {
    let code = "use crate::{a::X, b, c::{d, e}};\nuse crate::f::G;\n// crate::ignored\nlet x = crate::Model::new();";
    assert_eq!(crate_paths(code), ["a", "b", "c", "f", "Model"]);
    let exports = root_exports(
        "pub use model::{Model, Vae};\npub use error::{Error, Result};\npub use kernels::scalar;",
    );
    assert_eq!(exports.get("Model").map(String::as_str), Some("model"));
    assert_eq!(exports.get("scalar").map(String::as_str), Some("kernels"));
}
