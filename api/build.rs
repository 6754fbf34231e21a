//! Builds the studio (`web/`) into `OUT_DIR/web`, which `src/studio.rs` embeds.
//!
//! The README's first command must work on a fresh machine, so the web build runs here rather
//! than in a separate step a user could forget, and no built bundle is committed. To keep
//! Rust-only rebuilds fast, Cargo reruns this script only when a web source changes, and
//! `npm ci` runs only when `node_modules` is missing or the lockfile changed since the last
//! install (a hash of the lockfile is kept beside the installed packages).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::{env, fs};

const WATCHED: &[&str] = &[
    "src",
    "index.html",
    "graphiql.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];
const LOCK_MARKER: &str = "node_modules/.weft-lockfile-hash";

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("../web");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("web");
    for path in WATCHED {
        println!("cargo::rerun-if-changed={}", web.join(path).display());
    }

    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    require_node(npm);
    install_if_needed(npm, &web);
    build(&web, &out);
}

fn require_node(npm: &str) {
    let node = Command::new("node").arg("--version").output();
    let npm_ok = Command::new(npm)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match node {
        Ok(o) if o.status.success() && npm_ok => {}
        _ => fail(
            "Node.js and npm are needed to build Weft Studio (web/), which the `weft` binary \
             embeds, but `node` or `npm` was not found on PATH.\n\
             Install Node.js 20.19 or newer with npm, for example `apt-get install -y nodejs npm` \
             on Debian/Ubuntu, `brew install node` on macOS, or from nodejs.org, then build again.",
        ),
    }
}

fn lock_hash(web: &Path) -> String {
    let lock = fs::read(web.join("package-lock.json"))
        .unwrap_or_else(|e| fail(&format!("cannot read web/package-lock.json: {e}")));
    let mut hasher = DefaultHasher::new();
    lock.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn install_if_needed(npm: &str, web: &Path) {
    let wanted = lock_hash(web);
    let installed = fs::read_to_string(web.join(LOCK_MARKER)).unwrap_or_default();
    if web.join("node_modules").is_dir() && installed.trim() == wanted {
        return;
    }
    let output = Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(web)
        .output()
        .unwrap_or_else(|e| fail(&format!("could not start `npm ci` in web/: {e}")));
    check("npm ci (in web/)", &output);
    if let Err(e) = fs::write(web.join(LOCK_MARKER), &wanted) {
        println!(
            "cargo::warning=could not record the installed lockfile ({e}); the next build runs npm ci again"
        );
    }
}

fn build(web: &Path, out: &Path) {
    let output = Command::new("node")
        .arg("node_modules/vite/bin/vite.js")
        .args(["build", "--logLevel", "warn"])
        .env("WEFT_WEB_OUT_DIR", out)
        .current_dir(web)
        .output()
        .unwrap_or_else(|e| {
            fail(&format!(
                "could not start the web build (vite) in web/: {e}"
            ))
        });
    check("vite build (in web/)", &output);
    if !out.join("index.html").is_file() {
        fail(&format!(
            "the web build wrote no index.html into {}",
            out.display()
        ));
    }
}

fn check(what: &str, output: &Output) {
    if !output.status.success() {
        fail(&format!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("\nerror: {message}\n");
    panic!("building Weft Studio failed: {message}");
}
