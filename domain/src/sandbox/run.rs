//! One run: a fresh store, the program's stdio, its deadline and its memory limit.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wasmtime::{InstancePre, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

use super::error::{SandboxError, SandboxErrorCode};
use super::io::{CapExceeded, CappedPipe, log_lines};
use super::limits::{Limits, MemoryLimiter};

/// What a store carries: WASI's state and the memory limiter. Nothing outlives the run.
pub(crate) struct RunState {
    pub(crate) wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
}

/// A program that ran to its end, successfully or with a non-zero exit code.
pub(crate) struct Finished {
    pub(crate) exit_code: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) logs: Vec<String>,
    pub(crate) duration: Duration,
    /// The program asked for memory over its limit at some point; a failure it reports
    /// afterwards is most likely that refusal surfacing.
    pub(crate) memory_refused: bool,
}

/// Raised from the epoch callback to stop a run.
#[derive(Debug)]
enum Interrupt {
    Timeout,
    Cancelled,
}

impl std::fmt::Display for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interrupt::Timeout => "the CPU budget ran out",
            Interrupt::Cancelled => "the run was cancelled",
        })
    }
}

impl std::error::Error for Interrupt {}

/// Runs `_start` of a fresh instance with `stdin` as its standard input. Blocks the
/// thread for up to `limits.cpu`.
pub(crate) fn execute(
    pre: &InstancePre<RunState>,
    stdin: Vec<u8>,
    limits: &Limits,
    cancel: &CancellationToken,
) -> Result<Finished, SandboxError> {
    let stdout = CappedPipe::new(limits.output_bytes);
    let stderr = CappedPipe::new(limits.log_bytes);
    // No preopened directory, no environment, no arguments but a name, no sockets: the
    // program sees its input and two capped pipes, nothing of the host.
    let wasi = WasiCtxBuilder::new()
        .stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .arg("tool")
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build_p1();
    let mut store = Store::new(
        pre.module().engine(),
        RunState {
            wasi,
            limiter: MemoryLimiter::new(limits.memory_bytes),
        },
    );
    store.limiter(|state| &mut state.limiter);

    let started = Instant::now();
    let deadline = started + limits.cpu;
    let watched = cancel.clone();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if watched.is_cancelled() {
            return Err(wasmtime::Error::new(Interrupt::Cancelled));
        }
        if Instant::now() >= deadline {
            return Err(wasmtime::Error::new(Interrupt::Timeout));
        }
        Ok(UpdateDeadline::Continue(1))
    });

    let outcome = pre.instantiate(&mut store).and_then(|instance| {
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call(&mut store, ())
    });
    let duration = started.elapsed();
    let memory_refused = store.data().limiter.refused;
    drop(store);

    let logs = log_lines(&stderr.take());
    let fail =
        |code, message: String| Err(SandboxError::new(code, message).with_logs(logs.clone()));
    if stdout.overflowed() {
        return fail(
            SandboxErrorCode::OutputTooLarge,
            format!(
                "the output is over its cap of {} bytes",
                limits.output_bytes
            ),
        );
    }
    if stderr.overflowed() {
        return fail(
            SandboxErrorCode::OutputTooLarge,
            format!("the logs are over their cap of {} bytes", limits.log_bytes),
        );
    }
    let exit_code = match outcome {
        Ok(()) => 0,
        Err(error) => {
            if let Some(exit) = error.downcast_ref::<I32Exit>() {
                exit.0
            } else {
                let (code, message) = classify(&error, memory_refused, limits);
                return fail(code, message);
            }
        }
    };
    Ok(Finished {
        exit_code,
        stdout: stdout.take(),
        logs,
        duration,
        memory_refused,
    })
}

fn classify(
    error: &wasmtime::Error,
    memory_refused: bool,
    limits: &Limits,
) -> (SandboxErrorCode, String) {
    use SandboxErrorCode::*;
    if let Some(interrupt) = error.downcast_ref::<Interrupt>() {
        return match interrupt {
            Interrupt::Timeout => (
                Timeout,
                format!(
                    "the program ran longer than its budget of {} ms",
                    limits.cpu.as_millis()
                ),
            ),
            Interrupt::Cancelled => (Cancelled, "the run was cancelled".to_owned()),
        };
    }
    if error.downcast_ref::<CapExceeded>().is_some() {
        return (
            OutputTooLarge,
            "the program wrote more than its cap".to_owned(),
        );
    }
    // A refused allocation ends in an abort (a trap) in most languages' runtimes; the
    // refusal, not the trap that followed it, is what the user needs to hear.
    if memory_refused {
        return (MemoryLimit, memory_message(limits));
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => (
            StackOverflow,
            "the program overflowed its stack (unbounded recursion?)".to_owned(),
        ),
        Some(trap) => (ScriptError, format!("the program trapped: {trap}")),
        None => (
            ScriptError,
            format!("the program failed: {}", error.root_cause()),
        ),
    }
}

pub(crate) fn memory_message(limits: &Limits) -> String {
    format!(
        "the program needed more than its limit of {} MiB of memory",
        limits.memory_bytes / (1024 * 1024)
    )
}
