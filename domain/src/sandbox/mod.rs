//! The code-tool sandbox: JavaScript and raw WebAssembly run in wasmtime, each run in a
//! fresh store with a CPU budget (epoch deadline), a memory limit, capped output and logs,
//! and no files, environment or network.
//!
//! # The raw WebAssembly ABI
//!
//! A tool module is a WASI preview 1 *command*: it exports `_start` (and its memory) and
//! imports nothing but `wasi_snapshot_preview1`.
//! - stdin holds one JSON object, `{"input": <the tool input>, "ctx": <run context>}`;
//! - the program writes its result, one JSON value, to stdout;
//! - each line it writes to stderr is one log line;
//! - exit code 0 (or returning from `_start`) is success; a non-zero exit code or a trap
//!   is a `SCRIPT_ERROR`, and stdout that is not one JSON value an `INVALID_OUTPUT`.
//!
//! It gets no arguments but a program name, no environment variables, no preopened
//! directories and no sockets; its clocks and random numbers are the host's.
//! Modules over [`MAX_MODULE_BYTES`] are refused with `MODULE_TOO_LARGE`.
//!
//! JavaScript programs are ES modules whose default export `run(input, ctx)` returns the
//! output (or a promise of it); they run on Boa, compiled to WebAssembly from
//! `sandbox/js-guest` when Weft is built, and speak the same ABI through it.

mod cache;
mod engine;
mod error;
mod guest;
mod io;
mod limits;
mod run;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use wasmtime::{Engine, InstancePre, Linker, Module};

pub use error::{SandboxError, SandboxErrorCode};
pub use limits::{
    DEFAULT_CPU, DEFAULT_LOG_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_OUTPUT_BYTES, Limits, MAX_CPU,
    MAX_MEMORY_BYTES, MAX_MODULE_BYTES, MAX_SOURCE_BYTES,
};
use run::RunState;

/// Compiled user modules kept in memory, keyed by content hash. Each costs about as much
/// memory as its machine code, so the cache is small; a miss costs one compile.
const MAX_CACHED_MODULES: usize = 64;
/// Budget for the save-time parse of a script: parsing is fast, but a pathological source
/// must not hold a request up for long.
const CHECK_CPU: Duration = Duration::from_secs(2);

/// A program a code tool runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// An ES module whose default export is `run(input, ctx)`.
    JavaScript { source: String },
    /// A WASI command module speaking the ABI described in this module's documentation.
    Wasm { module: Vec<u8> },
}

/// A successful run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    pub output: Value,
    pub logs: Vec<String>,
    pub duration: Duration,
}

/// Settings fixed for the life of a [`Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where compiled modules are kept between processes; `None` compiles in every process.
    pub cache_dir: Option<PathBuf>,
    /// Programs running at once; further runs wait for a slot (their CPU budget starts when
    /// they get one).
    pub max_concurrent_runs: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            cache_dir: Some(cache::default_dir()),
            max_concurrent_runs: cores * 2,
        }
    }
}

/// Runs untrusted programs. Cheap to clone; clones share the engine, the compiled
/// modules and the limit on concurrent runs.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("cache_dir", &self.inner.cache_dir)
            .field("free_slots", &self.inner.slots.available_permits())
            .finish_non_exhaustive()
    }
}

struct Inner {
    engine: Engine,
    linker: Linker<RunState>,
    cache_dir: Option<PathBuf>,
    /// The JavaScript engine, compiled (or loaded from the disk cache) at first use. The
    /// lock is held while compiling so concurrent first runs wait rather than compile twice.
    js: Mutex<Option<InstancePre<RunState>>>,
    modules: Mutex<HashMap<[u8; 32], InstancePre<RunState>>>,
    slots: Arc<Semaphore>,
}

impl Sandbox {
    pub fn new() -> Result<Self, SandboxError> {
        Self::with_options(SandboxOptions::default())
    }

    pub fn with_options(options: SandboxOptions) -> Result<Self, SandboxError> {
        let engine = engine::build()
            .map_err(|e| SandboxError::internal(format!("starting wasmtime failed: {e}")))?;
        engine::start_ticker(&engine).map_err(|e| {
            SandboxError::internal(format!("starting the sandbox clock failed: {e}"))
        })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut RunState| &mut state.wasi)
            .map_err(|e| SandboxError::internal(format!("linking WASI failed: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache_dir: options.cache_dir,
                js: Mutex::new(None),
                modules: Mutex::new(HashMap::new()),
                slots: Arc::new(Semaphore::new(options.max_concurrent_runs.max(1))),
            }),
        })
    }

    /// The process's sandbox, created at first use: one engine, one compiled JavaScript
    /// engine and one clock thread however many places run code.
    pub fn shared() -> Result<Self, SandboxError> {
        static SHARED: Mutex<Option<Sandbox>> = Mutex::new(None);
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sandbox) = shared.as_ref() {
            return Ok(sandbox.clone());
        }
        let sandbox = Self::new()?;
        *shared = Some(sandbox.clone());
        Ok(sandbox)
    }

    /// Runs `program` on `input`. `ctx` is passed to the program beside the input (run
    /// metadata, never secrets). `cancel` stops the program wherever it is.
    pub async fn run(
        &self,
        program: &Program,
        input: &Value,
        ctx: &Value,
        limits: &Limits,
        cancel: CancellationToken,
    ) -> Result<RunOutput, SandboxError> {
        check_size(program)?;
        let limits = clamp(limits);
        let (target, stdin) = match program {
            Program::JavaScript { source } => {
                (Target::JavaScript, guest::run_request(source, input, ctx))
            }
            Program::Wasm { module } => {
                let stdin = serde_json::to_vec(&json!({ "input": input, "ctx": ctx }))
                    .expect("JSON values serialize");
                let hash: [u8; 32] = Sha256::digest(module).into();
                let target = match self.cached_module(&hash) {
                    Some(pre) => Target::Compiled(pre),
                    None => Target::Uncompiled(hash, module.clone()),
                };
                (target, stdin)
            }
        };
        let cancelled = || SandboxError::new(SandboxErrorCode::Cancelled, "the run was cancelled");
        let slot = tokio::select! {
            slot = self.inner.slots.clone().acquire_owned() => {
                slot.map_err(|_| SandboxError::internal("the sandbox is shut down"))?
            }
            () = cancel.cancelled() => return Err(cancelled()),
        };
        let sandbox = self.clone();
        let wasm = matches!(program, Program::Wasm { .. });
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let pre = match target {
                Target::JavaScript => sandbox.js_engine()?,
                Target::Compiled(pre) => pre,
                Target::Uncompiled(hash, module) => sandbox.compile_module(hash, &module)?,
            };
            let finished = run::execute(&pre, stdin, &limits, &cancel)?;
            let duration = finished.duration;
            let (output, logs) = if wasm {
                wasm_reply(finished, &limits)?
            } else {
                guest::reply(finished, &limits)?
            };
            Ok(RunOutput {
                output,
                logs,
                duration,
            })
        })
        .await
        .map_err(|e| SandboxError::internal(format!("the sandbox worker failed: {e}")))?
    }

    /// The save-time check: the program is within the size limits, a script parses, a
    /// module validates and imports only WASI. Blocks for a compile (or a parse), so call
    /// it where blocking is allowed.
    pub fn check_program(&self, program: &Program) -> Result<(), SandboxError> {
        check_size(program)?;
        match program {
            Program::JavaScript { source } => {
                let pre = self.js_engine()?;
                let limits = Limits {
                    cpu: CHECK_CPU,
                    ..Limits::default()
                };
                let finished = run::execute(
                    &pre,
                    guest::check_request(source),
                    &limits,
                    &CancellationToken::new(),
                )?;
                guest::reply(finished, &limits).map(drop)
            }
            Program::Wasm { module } => {
                let hash: [u8; 32] = Sha256::digest(module).into();
                if self.cached_module(&hash).is_none() {
                    self.compile_module(hash, module)?;
                }
                Ok(())
            }
        }
    }

    /// Compiles the JavaScript engine now rather than on the first run (seconds on a
    /// machine whose disk cache is empty).
    pub fn warm_up(&self) -> Result<(), SandboxError> {
        self.js_engine().map(drop)
    }

    fn js_engine(&self) -> Result<InstancePre<RunState>, SandboxError> {
        let mut js = self.inner.js.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pre) = js.as_ref() {
            return Ok(pre.clone());
        }
        let module = cache::compile(
            &self.inner.engine,
            guest::JS_ENGINE,
            self.inner.cache_dir.as_deref(),
        )
        .map_err(|e| {
            SandboxError::internal(format!("compiling the JavaScript engine failed: {e:#}"))
        })?;
        let pre = self.inner.linker.instantiate_pre(&module).map_err(|e| {
            SandboxError::internal(format!("linking the JavaScript engine failed: {e:#}"))
        })?;
        *js = Some(pre.clone());
        Ok(pre)
    }

    fn cached_module(&self, hash: &[u8; 32]) -> Option<InstancePre<RunState>> {
        self.inner
            .modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    fn compile_module(
        &self,
        hash: [u8; 32],
        bytes: &[u8],
    ) -> Result<InstancePre<RunState>, SandboxError> {
        let invalid = |message: String| SandboxError::new(SandboxErrorCode::InvalidModule, message);
        let module = Module::new(&self.inner.engine, bytes)
            .map_err(|e| invalid(format!("not a valid WebAssembly module: {e:#}")))?;
        match module.get_export("_start") {
            Some(wasmtime::ExternType::Func(f))
                if f.params().len() == 0 && f.results().len() == 0 => {}
            _ => {
                return Err(invalid(
                    "the module must export `_start` taking and returning nothing (a WASI command)"
                        .to_owned(),
                ));
            }
        }
        let pre = self.inner.linker.instantiate_pre(&module).map_err(|e| {
            invalid(format!(
                "the module may import only `wasi_snapshot_preview1`: {e:#}"
            ))
        })?;
        let mut modules = self.inner.modules.lock().unwrap_or_else(|e| e.into_inner());
        if modules.len() >= MAX_CACHED_MODULES {
            modules.clear();
        }
        modules.insert(hash, pre.clone());
        Ok(pre)
    }
}

enum Target {
    JavaScript,
    Compiled(InstancePre<RunState>),
    Uncompiled([u8; 32], Vec<u8>),
}

fn check_size(program: &Program) -> Result<(), SandboxError> {
    let (size, limit, what) = match program {
        Program::JavaScript { source } => (source.len(), MAX_SOURCE_BYTES, "script"),
        Program::Wasm { module } => (module.len(), MAX_MODULE_BYTES, "module"),
    };
    if size > limit {
        return Err(SandboxError::new(
            SandboxErrorCode::ModuleTooLarge,
            format!("the {what} is {size} bytes, over the limit of {limit}"),
        ));
    }
    Ok(())
}

/// Holds a caller's limits to the caps, whatever it asks for.
fn clamp(limits: &Limits) -> Limits {
    Limits {
        cpu: limits.cpu.min(MAX_CPU),
        memory_bytes: limits.memory_bytes.min(MAX_MEMORY_BYTES),
        output_bytes: limits.output_bytes,
        log_bytes: limits.log_bytes,
    }
}

/// A raw module's stdout is its output.
fn wasm_reply(
    finished: run::Finished,
    limits: &Limits,
) -> Result<(Value, Vec<String>), SandboxError> {
    let logs = finished.logs;
    if finished.exit_code != 0 && finished.memory_refused {
        return Err(
            SandboxError::new(SandboxErrorCode::MemoryLimit, run::memory_message(limits))
                .with_logs(logs),
        );
    }
    if finished.exit_code != 0 {
        return Err(SandboxError::new(
            SandboxErrorCode::ScriptError,
            format!("the module exited with code {}", finished.exit_code),
        )
        .with_logs(logs));
    }
    match serde_json::from_slice(&finished.stdout) {
        Ok(output) => Ok((output, logs)),
        Err(e) => Err(SandboxError::new(
            SandboxErrorCode::InvalidOutput,
            format!("the module's stdout is not one JSON value: {e}"),
        )
        .with_logs(logs)),
    }
}
