//! `weft-bench sandbox`: latency of code tools in the sandbox, cold and warm, for a trivial
//! JavaScript tool and a trivial raw WebAssembly tool. The numbers go in the README against
//! DESIGN.md's targets (JavaScript warm p50 ≤ 100 µs, cold p50 ≤ 2 ms).
//!
//! - *compile*: a sandbox with an empty disk cache runs once (compiles the module, writes
//!   the cache);
//! - *cold*: a new sandbox (a new wasmtime engine, as in a new process) whose disk cache is
//!   filled runs once: deserialize, link, instantiate, run;
//! - *warm*: the same sandbox runs again and again, one run at a time.

use std::time::{Duration, Instant};

use anyhow::Context;
use domain::sandbox::{Limits, Program, Sandbox, SandboxOptions};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Options of `weft-bench sandbox`.
pub struct Options {
    /// Timed warm runs per program (after a tenth as many untimed).
    pub iterations: usize,
    /// Cold starts per program.
    pub cold_starts: usize,
}

const JS_TOOL: &str = "export default function run(input) { return { sum: input.a + input.b } }";

/// Writes `{"sum":3}` whatever its input: the cheapest tool the ABI allows, so the number
/// is the sandbox's own cost.
const WASM_TOOL: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{\"sum\":3}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

pub async fn run(options: Options) -> anyhow::Result<()> {
    let cache = std::env::temp_dir().join(format!("weft-bench-sandbox-{}", std::process::id()));
    let result = measure_all(&options, &cache).await;
    let _ = std::fs::remove_dir_all(&cache);
    result
}

async fn measure_all(options: &Options, cache: &std::path::Path) -> anyhow::Result<()> {
    // The text format: wasmtime assembles it as part of the compile, which only the
    // cold numbers include (user modules are cached in memory, not on disk).
    let wasm = Program::Wasm {
        module: WASM_TOOL.as_bytes().to_vec(),
    };
    let js = Program::JavaScript {
        source: JS_TOOL.to_owned(),
    };
    println!(
        "build: {}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "| tool | compile (empty cache) | cold p50 | cold p99 | warm p50 | warm p99 | warm mean |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, program) in [("JavaScript (Boa)", &js), ("raw wasm", &wasm)] {
        let _ = std::fs::remove_dir_all(cache);
        let compile = time_first_run(cache, program).await?;
        let mut cold = Vec::with_capacity(options.cold_starts);
        for _ in 0..options.cold_starts {
            cold.push(time_first_run(cache, program).await?);
        }
        let sandbox = sandbox(cache)?;
        let warm = time_warm_runs(&sandbox, program, options.iterations).await?;
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            show(compile),
            show(percentile(&mut cold, 50.0)),
            show(percentile(&mut cold, 99.0)),
            show(percentile(&mut warm.clone(), 50.0)),
            show(percentile(&mut warm.clone(), 99.0)),
            show(warm.iter().sum::<Duration>() / warm.len().max(1) as u32),
        );
    }
    Ok(())
}

fn sandbox(cache: &std::path::Path) -> anyhow::Result<Sandbox> {
    Sandbox::with_options(SandboxOptions {
        cache_dir: Some(cache.to_owned()),
        ..SandboxOptions::default()
    })
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// A new sandbox's first run, as a freshly started process sees it.
async fn time_first_run(cache: &std::path::Path, program: &Program) -> anyhow::Result<Duration> {
    let sandbox = sandbox(cache)?;
    let started = Instant::now();
    once(&sandbox, program).await?;
    Ok(started.elapsed())
}

async fn time_warm_runs(
    sandbox: &Sandbox,
    program: &Program,
    iterations: usize,
) -> anyhow::Result<Vec<Duration>> {
    for _ in 0..iterations / 10 + 1 {
        once(sandbox, program).await?;
    }
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        once(sandbox, program).await?;
        times.push(started.elapsed());
    }
    Ok(times)
}

async fn once(sandbox: &Sandbox, program: &Program) -> anyhow::Result<()> {
    let output = sandbox
        .run(
            program,
            &json!({ "a": 1, "b": 2 }),
            &json!({}),
            &Limits::default(),
            CancellationToken::new(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("a benchmark run failed")?;
    anyhow::ensure!(
        output.output == json!({ "sum": 3 }),
        "wrong output: {}",
        output.output
    );
    Ok(())
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn show(duration: Duration) -> String {
    if duration >= Duration::from_millis(10) {
        format!("{:.0} ms", duration.as_secs_f64() * 1e3)
    } else if duration >= Duration::from_millis(1) {
        format!("{:.2} ms", duration.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} µs", duration.as_secs_f64() * 1e6)
    }
}
