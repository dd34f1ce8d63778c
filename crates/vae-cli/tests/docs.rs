//! The documentation keeps its promises: every measured number in a table of README.md or docs/
//! names the record a command wrote, and is found in it; no record was restored by hand; every
//! record names the machine, threads, date and version that measured it; and the repository speaks
//! of the project, not of how it was developed (no machine paths, no to-do vocabulary).
//!
//! Conventions checked here:
//! - A table row holding a decimal number (outside `code spans` and link targets) links at least
//!   one record, `records/NAME.json` or `reproductions/NAME.json`, and each of its decimals is a
//!   value of a linked record (as printed: rounded to the decimals shown, sign dropped, or a
//!   fraction shown as a percentage) or a paper's value quoted in `docs/records/papers.json`.
//! - `docs/reproductions.md` (written by `vae reproduce --report`) links each row's record, and
//!   the row's "ours" cell is that record's value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A path as a message shows it: relative to the repository.
fn shown(path: &Path) -> String {
    let root = repo();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every file under `dir` (recursively) whose name ends with one of `extensions`.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, extensions, out);
        } else if extensions
            .iter()
            .any(|e| path.to_string_lossy().ends_with(e))
        {
            out.push(path);
        }
    }
}

fn docs() -> Vec<PathBuf> {
    let mut out = vec![repo().join("README.md")];
    files(&repo().join("docs"), &[".md"], &mut out);
    out.sort();
    out
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A line with its `code spans` and the targets of its links removed: what a reader reads as
/// prose or table cells.
fn prose(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if c == ']' && chars.peek() == Some(&'(') {
            // Skip the link target.
            for t in chars.by_ref() {
                if t == ')' {
                    break;
                }
            }
            out.push(']');
            continue;
        }
        out.push(c);
    }
    out
}

/// The decimal numbers of a text as written ("86.90", "0.23"), without sign: a run of digits, a
/// point and digits, not part of a word or of a version number such as 1.2.6.
fn decimals(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '.' | '_')));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == ',') {
            j += 1;
        }
        if j + 1 < chars.len() && chars[j] == '.' && chars[j + 1].is_ascii_digit() {
            let mut k = j + 1;
            while k < chars.len() && chars[k].is_ascii_digit() {
                k += 1;
            }
            let version = k + 1 < chars.len() && chars[k] == '.' && chars[k + 1].is_ascii_digit();
            let word = k < chars.len() && (chars[k].is_alphabetic() || chars[k] == '_');
            if !version && !word {
                out.push(chars[i..k].iter().filter(|c| **c != ',').collect());
            }
            i = k;
        } else {
            i = j.max(i + 1);
        }
    }
    out
}

/// Every number a record holds: its JSON numbers, and the numbers written inside its strings (the
/// arguments of a recorded command).
fn record_numbers(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::String(s) => {
            out.extend(decimals(s).iter().filter_map(|d| d.parse::<f64>().ok()));
        }
        Value::Array(items) => items.iter().for_each(|v| record_numbers(v, out)),
        Value::Object(map) => map.values().for_each(|v| record_numbers(v, out)),
        _ => {}
    }
}

/// Whether `shown` (e.g. "86.90") is `value` as a reader is shown it: rounded to the decimals
/// shown, sign dropped; or a fraction as a percentage; or seconds as minutes or hours.
fn shows(shown: &str, value: f64) -> bool {
    let places = shown.split('.').nth(1).map_or(0, str::len);
    [value, 100.0 * value, value / 60.0, value / 3600.0]
        .iter()
        .any(|v| format!("{:.*}", places, v.abs()) == shown)
}

/// The records a line links: `records/NAME.json` or `reproductions/NAME.json`, relative to the
/// document.
fn linked_records(doc: &Path, line: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices("](") {
        let target: String = line[i + 2..].chars().take_while(|c| *c != ')').collect();
        if target.ends_with(".json")
            && (target.contains("records/") || target.contains("reproductions/"))
        {
            out.push(doc.parent().expect("a folder").join(target));
        }
    }
    out
}

fn paper_values() -> Vec<f64> {
    let papers = read_json(&repo().join("docs/records/papers.json"));
    let mut out = Vec::new();
    for entry in papers["values"].as_array().expect("papers.json: values") {
        assert!(
            entry["source"].as_str().is_some_and(|s| !s.is_empty()),
            "papers.json: every quoted value names its source: {entry}"
        );
        out.push(entry["value"].as_f64().expect("papers.json: a value"));
    }
    out
}

#[test]
fn no_page_shows_a_placeholder_in_place_of_a_number() {
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).expect("a document");
        for (n, line) in text.lines().enumerate() {
            assert!(
                !(line.contains("{{") && line.contains("}}")),
                "{}:{}: a placeholder where a number belongs: {line}",
                shown(&doc),
                n + 1
            );
        }
    }
}

#[test]
fn every_number_in_a_table_is_found_in_the_record_it_links() {
    let papers = paper_values();
    let mut problems = Vec::new();
    let mut rows_checked = 0;
    for doc in docs() {
        if doc.ends_with("docs/reproductions.md") {
            continue;
        }
        let text = std::fs::read_to_string(&doc).expect("a document");
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", shown(&doc), n + 1);
            if !line.starts_with('|') || line.starts_with("|---") {
                continue;
            }
            let numbers = decimals(&prose(line));
            if numbers.is_empty() {
                continue;
            }
            rows_checked += 1;
            let records = linked_records(&doc, line);
            if records.is_empty() {
                problems.push(format!("{at}: numbers {numbers:?} and no record linked"));
                continue;
            }
            let mut values = papers.clone();
            for record in &records {
                if !record.is_file() {
                    problems.push(format!("{at}: {} does not exist", record.display()));
                    continue;
                }
                record_numbers(&read_json(record), &mut values);
            }
            for number in numbers {
                if !values.iter().any(|v| shows(&number, *v)) {
                    problems.push(format!("{at}: {number} is in none of {records:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        rows_checked > 0,
        "no table row with a number was found: the check read nothing"
    );
}

#[test]
fn reproduction_rows_show_their_records() {
    let doc = repo().join("docs/reproductions.md");
    let text = std::fs::read_to_string(&doc).expect("docs/reproductions.md");
    let mut rows = 0;
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let ours = cells.get(3).copied().unwrap_or("");
        let records = linked_records(&doc, line);
        if ours.starts_with("not run") || ours.starts_with("in progress") {
            assert!(records.is_empty(), "{line}");
            continue;
        }
        assert_eq!(records.len(), 1, "one record per row: {line}");
        let record = read_json(&records[0]);
        rows += 1;
        match record["ours"].as_f64() {
            Some(v) => assert!(
                ours.starts_with(&format!("{v:.2}")),
                "{line}: the record says {v:.2}"
            ),
            None => assert!(ours.starts_with("figure"), "{line}"),
        }
    }
    assert!(rows > 0, "no reproduction row");
}

#[test]
fn records_were_written_by_runs_and_name_their_machine() {
    let mut kept = Vec::new();
    files(&repo().join("docs/records"), &[".json"], &mut kept);
    files(&repo().join("docs/reproductions"), &[".json"], &mut kept);
    assert!(!kept.is_empty());
    for path in kept {
        if path.ends_with("papers.json") {
            continue;
        }
        let record = read_json(&path);
        assert!(
            record.get("restored_from").is_none(),
            "{}: restored by hand, not written by a run",
            path.display()
        );
        let machine = &record["machine"];
        // Reproduction records kept from before results named their machine are allowed, as
        // their report row says; every other record names it.
        if machine.is_null() && path.to_string_lossy().contains("/reproductions/") {
            assert!(
                record["commands"].as_array().is_some_and(|c| !c.is_empty()),
                "{}: no commands",
                path.display()
            );
            continue;
        }
        for field in ["cpu", "date", "version"] {
            assert!(
                machine[field].as_str().is_some_and(|s| !s.is_empty()),
                "{}: machine.{field} missing",
                path.display()
            );
        }
        assert!(
            machine["threads"].as_u64().is_some_and(|t| t >= 1),
            "{}: machine.threads missing",
            path.display()
        );
    }
}

/// Words and paths that speak of how the project was developed rather than of the project.
const DEVELOPMENT_WORDS: &[&str] = &[
    "session",
    "moonshot",
    "defect ",
    "issue ",
    "issue-",
    "development machine",
    "to be set beside",
    "/work/",
    "/root/",
    "/home/",
    "../shared",
];

#[test]
fn the_repository_speaks_of_the_project_only() {
    let mut scanned = docs();
    for dir in ["crates", "bench", "examples", "python", ".ci"] {
        files(
            &repo().join(dir),
            &[".rs", ".md", ".py", ".pyi", ".sh", ".toml", "run"],
            &mut scanned,
        );
    }
    files(&repo().join("docs"), &[".json"], &mut scanned);
    let this_file = Path::new(file!()).file_name().expect("a name");
    let mut problems = BTreeMap::new();
    for path in &scanned {
        // This check names the words; the WebDriver protocol's "session" is its own.
        if path.file_name() == Some(this_file) || path.ends_with("tests/cli/webdriver.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            for word in DEVELOPMENT_WORDS {
                let hit = match *word {
                    // "issue 12", "defect 3": a word followed by a number.
                    "issue " | "defect " => lower.match_indices(word).any(|(i, _)| {
                        lower[i + word.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_digit() || c == '#')
                    }),
                    _ => lower.contains(word),
                };
                if hit {
                    problems.insert(format!("{}:{}", shown(path), n + 1), word.to_string());
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "development vocabulary or machine paths:\n{}",
        problems
            .iter()
            .map(|(at, word)| format!("{at}: {word:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_readme_is_a_manual_not_a_notebook() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; the rest belongs under docs/"
    );
    // Its quick start's two commands, as CI runs them.
    assert!(readme.contains("cargo run --release -- train"));
    assert!(readme.contains("cargo test --workspace --release"));
}

#[test]
fn the_checks_themselves_find_what_they_look_for() {
    assert_eq!(
        decimals("ours −86.90 ± 0.23, version 1.2.6, x86.5a, 3,280.5"),
        vec!["86.90", "0.23", "3280.5"]
    );
    assert_eq!(
        prose("a `--lr 0.02` b [x 1.5](r/2.5.json) c"),
        "a  b [x 1.5] c"
    );
    assert!(shows("86.90", -86.9012));
    assert!(!shows("86.91", -86.9012));
    assert!(shows("16.36", 0.1636));
    assert!(shows("2.6", 9360.0));
}
