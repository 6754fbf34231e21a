//! Compiled modules on disk, so only the first process on a machine pays for compiling
//! the JavaScript engine (seconds); later ones map the compiled code in about a millisecond.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

/// Where compiled modules go unless `WEFT_SANDBOX_CACHE_DIR` says otherwise.
pub(crate) fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_SANDBOX_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("weft").join("sandbox");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home)
            .join(".cache")
            .join("weft")
            .join("sandbox");
    }
    std::env::temp_dir().join("weft-sandbox-cache")
}

/// Compiles `wasm`, or loads what an earlier compile of the same bytes by an engine with
/// the same settings left in `dir`. A cache that cannot be used is skipped, never fatal.
pub(crate) fn compile(
    engine: &Engine,
    wasm: &[u8],
    dir: Option<&Path>,
) -> wasmtime::Result<Module> {
    let Some(dir) = dir.filter(|dir| usable(dir)) else {
        return Module::new(engine, wasm);
    };
    let path = dir.join(format!("{}.cwasm", key(engine, wasm)));
    if path.exists() {
        // SAFETY: `deserialize_file` runs whatever machine code the file holds. The file
        // was written by `Module::serialize` below into a directory that only this user
        // can write to (checked by `usable`); wasmtime also checks that it was produced by
        // this version with compatible settings and refuses it otherwise.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(module) => return Ok(module),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable compiled module: {e:#}")
            }
        }
    }
    let module = Module::new(engine, wasm)?;
    if let Err(e) = store(&module, dir, &path) {
        tracing::warn!(dir = %dir.display(), "could not cache a compiled module: {e}");
    }
    Ok(module)
}

fn store(module: &Module, dir: &Path, path: &Path) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    // Written aside and renamed, so a process reading concurrently never maps half a file.
    let aside = dir.join(format!(
        ".{}.{:x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let written = fs::File::create(&aside).and_then(|mut file| {
        file.write_all(&bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| fs::rename(&aside, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&aside);
            Err(e)
        }
    }
}

/// The file name: the module's bytes and everything about the engine that changes the
/// machine code wasmtime produces.
fn key(engine: &Engine, wasm: &[u8]) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    hasher.write(wasm);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}

/// Creates `dir` (mode 0700) if needed and checks that nobody but this user can plant a
/// file in it: deserializing a module runs its code, so a shared writable directory
/// would be a way into the process.
fn usable(dir: &Path) -> bool {
    if let Err(e) = create_private(dir) {
        tracing::warn!(dir = %dir.display(), "not caching compiled modules: {e}");
        return false;
    }
    private_to_this_user(dir)
}

#[cfg(unix)]
fn create_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_to_this_user(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // `/proc/self` belongs to the process's effective user; without procfs the check is
    // skipped for the owner and kept for the mode.
    let me = fs::metadata("/proc/self").map(|m| m.uid()).ok();
    match fs::metadata(dir) {
        Ok(meta) => {
            let owner_ok = me.is_none_or(|uid| uid == meta.uid());
            let private = meta.mode() & 0o022 == 0;
            if !(owner_ok && private) {
                tracing::warn!(
                    dir = %dir.display(),
                    "not caching compiled modules: the directory is writable by other users"
                );
            }
            owner_ok && private
        }
        Err(_) => false,
    }
}

#[cfg(not(unix))]
fn private_to_this_user(_dir: &Path) -> bool {
    true
}
