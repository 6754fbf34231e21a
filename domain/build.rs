//! Builds the JavaScript engine that code tools run on (`sandbox/js-guest`, Boa) for
//! `wasm32-wasip1`, so no binary is committed.
//!
//! The nested cargo gets its own target directory beside the outer one: it never waits on
//! the outer build's lock, and debug, release, test and clippy builds of Weft share one
//! release build of the guest instead of rebuilding it each.
//!
//! `WEFT_JS_GUEST_WASM=<path>` uses an already built guest instead.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "wasm32-wasip1";
const GUEST_FILE: &str = "weft-js-guest.wasm";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let guest_dir = manifest_dir.join("../sandbox/js-guest");
    for watched in ["Cargo.toml", "Cargo.lock", "src"] {
        println!(
            "cargo:rerun-if-changed={}",
            guest_dir.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=WEFT_JS_GUEST_WASM");

    let built = match env::var_os("WEFT_JS_GUEST_WASM") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_guest(&guest_dir, &out_dir),
    };
    std::fs::copy(&built, out_dir.join(GUEST_FILE)).unwrap_or_else(|e| {
        panic!(
            "copying the JavaScript engine from {} failed: {e}",
            built.display()
        )
    });
}

/// A fresh toolchain has no standard library for the guest's target; rustup adds it (a
/// download of a few MB) so that `cargo run` needs no manual step first. Without rustup the
/// build below fails with a hint instead.
fn ensure_target_installed() {
    let Ok(listed) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return;
    };
    let installed = String::from_utf8_lossy(&listed.stdout);
    if installed.lines().any(|line| line.trim() == GUEST_TARGET) {
        return;
    }
    let added = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status();
    if !matches!(added, Ok(status) if status.success()) {
        println!("cargo:warning=`rustup target add {GUEST_TARGET}` failed");
    }
}

fn build_guest(guest_dir: &Path, out_dir: &Path) -> PathBuf {
    ensure_target_installed();
    let target_dir = guest_target_dir(out_dir);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(guest_dir)
        .args(["build", "--release", "--locked", "--target", GUEST_TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    // What the outer build sets for itself must not leak into the guest's: a different
    // wrapper or flags (clippy's, coverage's) would rebuild it for nothing or break it.
    for var in [
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
    ] {
        command.env_remove(var);
    }
    for (var, _) in env::vars_os() {
        let var = var.to_string_lossy();
        if var.starts_with("CARGO_PROFILE_") || var.starts_with("CARGO_CFG_") {
            command.env_remove(var.as_ref());
        }
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running cargo to build the JavaScript engine failed: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            "\nhint: run `rustup target add wasm32-wasip1`"
        } else {
            ""
        };
        panic!("building the JavaScript engine (sandbox/js-guest) failed:\n{stderr}{hint}");
    }
    target_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(GUEST_FILE)
}

/// `<outer target dir>/weft-js-guest`. OUT_DIR is `<target>/[<triple>/]<profile>/build/
/// domain-<hash>/out`; the target directory is the ancestor cargo marks with CACHEDIR.TAG.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("weft-js-guest"))
        .unwrap_or_else(|| out_dir.join("weft-js-guest"))
}
