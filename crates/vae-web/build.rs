//! Builds this crate for `wasm32-unknown-unknown` (profile `web`, SIMD128) so that the native
//! crate can embed the module an exported page runs. Where that build cannot run (the target is
//! not installed), the native crate still builds; exporting a page then fails with the reason.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let module = out.join("vae_web.wasm");
    let failure = out.join("vae_web.error");
    if env::var("TARGET").is_ok_and(|t| t.starts_with("wasm32")) {
        return Ok(());
    }
    let crate_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("no manifest dir")?);
    let workspace = crate_dir.join("../..");
    for watched in [
        "src",
        "Cargo.toml",
        "../vae/src",
        "../vae/Cargo.toml",
        "../../Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            crate_dir.join(watched).display()
        );
    }
    let (bytes, error) = match build(&workspace, &out) {
        Ok(bytes) => (bytes, String::new()),
        Err(why) => {
            println!("cargo:warning=the explorer's WebAssembly module was not built: {why}");
            (Vec::new(), why)
        }
    };
    std::fs::write(&module, bytes)?;
    std::fs::write(&failure, error)?;
    Ok(())
}

fn build(workspace: &Path, out: &Path) -> Result<Vec<u8>, String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .map_err(|e| format!("running {rustc}: {e}"))?;
    let libdir = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    if libdir.is_empty() || !Path::new(&libdir).is_dir() {
        return Err(format!(
            "the {TARGET} target is not installed (rustup target add {TARGET}), then rebuild"
        ));
    }
    // Beside the outer build's own outputs (OUT_DIR is TARGET_DIR/PROFILE/build/CRATE/out), shared
    // by every profile, so that tests, lints and docs reuse one build.
    let target_dir = out
        .ancestors()
        .nth(4)
        .map_or_else(|| out.join("web"), |t| t.join("web"));
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = workspace
        .canonicalize()
        .map_err(|e| format!("{}: {e}", workspace.display()))?;
    let cargo_home = env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| env::var("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_default();
    // Paths in panic messages name the sources relative to neutral roots, so the module holds
    // no path of the machine that built it.
    let flags = [
        "-Ctarget-feature=+simd128".to_string(),
        format!("--remap-path-prefix={}=vae", workspace.display()),
        format!(
            "--remap-path-prefix={}=cargo",
            cargo_home.join("registry/src").display()
        ),
    ];
    let status = Command::new(&cargo)
        .args(["build", "--locked", "-p", "vae-web", "--profile", "web"])
        .args(["--target", TARGET, "--target-dir"])
        .arg(&target_dir)
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        // The outer build's flags are for the host, and a lint wrapper is not wanted here.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"))
        .status()
        .map_err(|e| format!("running {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build --target {TARGET} failed ({status})"));
    }
    let module = target_dir.join(TARGET).join("web").join("vae_web.wasm");
    std::fs::read(&module).map_err(|e| format!("{}: {e}", module.display()))
}
