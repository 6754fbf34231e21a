//! Weft's JavaScript runner: a WASI command that Weft's sandbox runs inside wasmtime.
//!
//! Protocol (the host is `domain/src/sandbox`):
//! - stdin: one JSON object `{"mode": "run" | "check", "source": "...", "input": ..., "ctx": ...}`.
//!   `source` is an ES module whose default export is `run(input, ctx)`.
//! - stdout: one JSON object, `{"ok": <value>}` or
//!   `{"error": {"name", "message", "line"?, "column"?, "limit"?}}`. `check` only parses.
//! - stderr: one line per `console.*` call, written as it happens so the host can stop a
//!   tool that logs too much without holding the excess.
//!
//! Nothing here is a security boundary: the host's wasmtime limits are. This program only
//! has to turn JavaScript outcomes into the protocol above.

use std::io::{Read, Write};

use boa_engine::builtins::promise::PromiseState;
use boa_engine::error::{EngineError, RuntimeLimitError};
use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{Context, JsError, JsResult, JsValue, Module, NativeFunction, Source, js_string};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    mode: Mode,
    source: String,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    ctx: Value,
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Run,
    Check,
}

fn main() {
    let reply = match read_request() {
        Ok(request) => handle(request),
        Err(message) => failure("InternalError", message),
    };
    let mut stdout = std::io::stdout().lock();
    // A failed write means the host refused the output (too large); it has already
    // decided the outcome, so there is nobody left to tell.
    let _ = serde_json::to_writer(&mut stdout, &reply);
    let _ = stdout.flush();
}

fn read_request() -> Result<Request, String> {
    let mut raw = Vec::new();
    std::io::stdin()
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading the request failed: {e}"))?;
    serde_json::from_slice(&raw).map_err(|e| format!("the request is not valid: {e}"))
}

fn handle(request: Request) -> Value {
    let mut context = Context::default();
    if let Err(e) = install_console(&mut context) {
        return error_reply(e, &mut context);
    }
    let module = match Module::parse(Source::from_bytes(&request.source), None, &mut context) {
        Ok(module) => module,
        Err(e) => return error_reply(e, &mut context),
    };
    if request.mode == Mode::Check {
        return json!({ "ok": null });
    }
    match run(&module, &request.input, &request.ctx, &mut context) {
        Ok(value) => json!({ "ok": value }),
        Err(e) => error_reply(e, &mut context),
    }
}

fn run(module: &Module, input: &Value, ctx: &Value, context: &mut Context) -> JsResult<Value> {
    let loaded = module.load_link_evaluate(context);
    let _ = context.run_jobs();
    match loaded.state() {
        PromiseState::Fulfilled(_) => {}
        PromiseState::Rejected(reason) => return Err(JsError::from_opaque(reason)),
        PromiseState::Pending => return Err(plain_error("the module did not finish loading")),
    }
    let entry = module
        .namespace(context)
        .get(js_string!("default"), context)?;
    let Some(entry) = entry.as_callable() else {
        return Err(plain_error(
            "the module must `export default function run(input, ctx) { ... }`",
        ));
    };
    let input = JsValue::from_json(input, context)?;
    let ctx = JsValue::from_json(ctx, context)?;
    let mut result = entry.call(&JsValue::undefined(), &[input, ctx], context)?;
    // An async `run` returns a promise; settle it by draining the job queue.
    if let Some(promise) = result.as_promise() {
        context.run_jobs()?;
        result = match promise.state() {
            PromiseState::Fulfilled(value) => value,
            PromiseState::Rejected(reason) => return Err(JsError::from_opaque(reason)),
            PromiseState::Pending => {
                return Err(plain_error(
                    "run() returned a promise that never settled (there is no event loop: \
                     timers and I/O do not exist here)",
                ));
            }
        };
    }
    Ok(result.to_json(context)?.unwrap_or(Value::Null))
}

fn plain_error(message: &str) -> JsError {
    boa_engine::JsNativeError::error()
        .with_message(message.to_owned())
        .into()
}

fn install_console(context: &mut Context) -> JsResult<()> {
    let log = NativeFunction::from_fn_ptr(console_line);
    let console = ObjectInitializer::new(context)
        .function(log.clone(), js_string!("log"), 0)
        .function(log.clone(), js_string!("info"), 0)
        .function(log.clone(), js_string!("warn"), 0)
        .function(log.clone(), js_string!("error"), 0)
        .function(log, js_string!("debug"), 0)
        .build();
    context.register_global_property(js_string!("console"), console, Attribute::all())
}

/// Every console method writes one line: strings as they are, other values as JSON.
fn console_line(_this: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let mut line = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        match arg.as_string() {
            Some(text) => line.push_str(&text.to_std_string_escaped()),
            None => match arg.to_json(context) {
                Ok(Some(value)) => line.push_str(&value.to_string()),
                _ => line.push_str(&arg.display().to_string()),
            },
        }
    }
    line.push('\n');
    let mut stderr = std::io::stderr().lock();
    // The host traps the instance when logs exceed their cap, so an error here is moot.
    let _ = stderr.write_all(line.as_bytes());
    Ok(JsValue::undefined())
}

fn error_reply(error: JsError, context: &mut Context) -> Value {
    if let Some(EngineError::RuntimeLimit(limit)) = error.as_engine() {
        let limit = match limit {
            RuntimeLimitError::Recursion => "recursion",
            RuntimeLimitError::StackSize => "stack",
            RuntimeLimitError::LoopIteration => "loop",
        };
        return json!({ "error": {
            "name": "RangeError",
            "message": "Maximum call stack size exceeded",
            "limit": limit,
        }});
    }
    match error.try_native(context) {
        Ok(native) => {
            let name = native.kind().to_string();
            let message = native.message().to_owned();
            let mut reply = json!({ "name": name, "message": message });
            if let Some((line, column)) = position(&message) {
                reply["line"] = json!(line);
                reply["column"] = json!(column);
            }
            json!({ "error": reply })
        }
        // A thrown non-Error value (`throw "nope"`, `throw {code: 1}`).
        Err(_) => {
            let thrown = error
                .as_opaque()
                .map(|value| match value.to_json(context) {
                    Ok(Some(Value::String(text))) => text,
                    Ok(Some(value)) => value.to_string(),
                    _ => value.display().to_string(),
                })
                .unwrap_or_else(|| error.to_string());
            failure("Error", thrown)
        }
    }
}

/// Boa's parser ends its messages with `at line L, col C`.
fn position(message: &str) -> Option<(u32, u32)> {
    let at = message.rfind(" at line ")?;
    let (line, column) = message[at + " at line ".len()..].split_once(", col ")?;
    let column: String = column.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

fn failure(name: &str, message: impl Into<String>) -> Value {
    json!({ "error": { "name": name, "message": message.into() } })
}
