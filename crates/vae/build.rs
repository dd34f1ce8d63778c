//! Records the commit the library is built from (`git rev-parse`), so every record a command
//! writes names the version that measured it. Outside a git checkout the commit is left unknown.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // An edit to a tracked file changes what `git status` says without touching the index: watch
    // the sources too, so a build made before its edits are staged is not stamped clean.
    println!("cargo:rerun-if-changed={}", root.join("crates").display());
    for file in [".git/HEAD", ".git/index"] {
        let path = root.join(file);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(commit) = git(&["rev-parse", "--short=10", "HEAD"]) {
        // Changes to tracked files under crates/ make the build differ from the commit.
        let dirty = git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "crates",
        ])
        .is_some_and(|s| !s.is_empty());
        let suffix = if dirty { "-modified" } else { "" };
        println!("cargo:rustc-env=VAE_BUILD_COMMIT={commit}{suffix}");
    }
}
