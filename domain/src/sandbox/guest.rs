//! The JavaScript engine that runs `javascript` programs, and its protocol: see
//! `sandbox/js-guest/src/main.rs`, built by `domain/build.rs` from source.

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{SandboxError, SandboxErrorCode};
use super::limits::Limits;
use super::run::{Finished, memory_message};

/// Boa compiled to `wasm32-wasip1`.
pub(crate) const JS_ENGINE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/weft-js-guest.wasm"));

pub(crate) fn run_request(source: &str, input: &Value, ctx: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "mode": "run", "source": source, "input": input, "ctx": ctx }))
        .expect("JSON values serialize")
}

pub(crate) fn check_request(source: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "mode": "check", "source": source }))
        .expect("JSON values serialize")
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reply {
    Ok(Value),
    Error(ScriptFailure),
}

#[derive(Deserialize)]
struct ScriptFailure {
    name: String,
    message: String,
    /// Set when the engine stopped the script for recursing too deep.
    limit: Option<String>,
}

/// Reads the guest's verdict from its stdout.
pub(crate) fn reply(
    finished: Finished,
    limits: &Limits,
) -> Result<(Value, Vec<String>), SandboxError> {
    let logs = finished.logs;
    let memory_refused = finished.memory_refused;
    let fail =
        |code, message: String| Err(SandboxError::new(code, message).with_logs(logs.clone()));
    if finished.exit_code != 0 {
        if memory_refused {
            return fail(SandboxErrorCode::MemoryLimit, memory_message(limits));
        }
        return fail(
            SandboxErrorCode::Internal,
            format!(
                "the JavaScript engine exited with code {}",
                finished.exit_code
            ),
        );
    }
    match serde_json::from_slice::<Reply>(&finished.stdout) {
        Ok(Reply::Ok(value)) => Ok((value, logs)),
        // Boa turns some refused allocations into a RangeError; the limit is the cause.
        Ok(Reply::Error(_)) if memory_refused => {
            fail(SandboxErrorCode::MemoryLimit, memory_message(limits))
        }
        Ok(Reply::Error(failure)) if failure.limit.is_some() => fail(
            SandboxErrorCode::StackOverflow,
            "Maximum call stack size exceeded (unbounded recursion?)".to_owned(),
        ),
        Ok(Reply::Error(failure)) => fail(
            SandboxErrorCode::ScriptError,
            format!("{}: {}", failure.name, failure.message),
        ),
        Err(e) => fail(
            SandboxErrorCode::Internal,
            format!("the JavaScript engine answered something unreadable: {e}"),
        ),
    }
}
