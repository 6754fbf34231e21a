//! `code` tools: JavaScript or a raw WebAssembly module, run in the sandbox.
//!
//! The code lives in the tool's config, so every `tool_versions` row pins the code it ran:
//! `{"language": "javascript", "source": "export default function run(input, ctx) {…}"}` or
//! `{"language": "wasm", "module": "<base64>"}`, either with optional `timeoutMs` (CPU
//! budget) and `memoryMb`.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::custom::Tool;
use crate::error::{DomainError, DomainResult, Problems};
use crate::sandbox::{
    DEFAULT_CPU, DEFAULT_MEMORY_BYTES, Limits, MAX_CPU, MAX_MEMORY_BYTES, Program, RunOutput,
    Sandbox, SandboxError, SandboxErrorCode,
};

const MIB: u64 = 1024 * 1024;

/// A code tool's config, parsed.
pub(crate) struct CodeTool {
    pub(crate) program: Program,
    pub(crate) limits: Limits,
}

/// Where in a tool's input its code is, for error paths.
fn code_field(config: &Value) -> &'static str {
    match config.get("language").and_then(Value::as_str) {
        Some("wasm") => "module",
        _ => "source",
    }
}

/// Parses a `code` tool's config; each problem (all of them, as `BadInput`) names its
/// field under `at` (e.g. `input.config`).
pub(crate) fn parse(config: &Value, at: &str) -> DomainResult<CodeTool> {
    let mut problems = Problems::default();
    let text = |field: &str| config.get(field).and_then(Value::as_str);
    let program = match text("language") {
        Some("javascript") => match text("source") {
            Some(source) => Some(Program::JavaScript {
                source: source.to_owned(),
            }),
            None => {
                problems.push(format!("{at}.source"), "must be a string of JavaScript");
                None
            }
        },
        Some("wasm") => {
            match text("module").map(|m| base64::engine::general_purpose::STANDARD.decode(m)) {
                Some(Ok(module)) => Some(Program::Wasm { module }),
                Some(Err(e)) => {
                    problems.push(format!("{at}.module"), format!("is not valid base64: {e}"));
                    None
                }
                None => {
                    problems.push(
                        format!("{at}.module"),
                        "must be the WebAssembly module, base64-encoded",
                    );
                    None
                }
            }
        }
        other => {
            problems.push(
                format!("{at}.language"),
                format!(
                    "must be `javascript` or `wasm`, not {}",
                    other.map_or_else(|| "missing".to_owned(), |l| format!("`{l}`"))
                ),
            );
            None
        }
    };
    let mut limit = |field: &str, default: u64, max: u64, unit: &str| match config.get(field) {
        None | Some(Value::Null) => default,
        Some(value) => match value.as_u64() {
            Some(n) if (1..=max).contains(&n) => n,
            _ => {
                problems.push(
                    format!("{at}.{field}"),
                    format!("must be a whole number of {unit} from 1 to {max}"),
                );
                default
            }
        },
    };
    let cpu_ms = limit(
        "timeoutMs",
        millis(DEFAULT_CPU),
        millis(MAX_CPU),
        "milliseconds",
    );
    let memory_mb = limit(
        "memoryMb",
        DEFAULT_MEMORY_BYTES / MIB,
        MAX_MEMORY_BYTES / MIB,
        "MiB",
    );
    problems.into_result()?;
    let Some(program) = program else {
        return Err(DomainError::bad_input(at, "has no program"));
    };
    Ok(CodeTool {
        program,
        limits: Limits {
            cpu: Duration::from_millis(cpu_ms),
            memory_bytes: memory_mb * MIB,
            ..Limits::default()
        },
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The save-time check of a `code` tool's `config` (at `input.config`): its shape and
/// limits, and that its code parses (JavaScript) or validates (WebAssembly).
pub(crate) async fn check_config(config: &Value) -> DomainResult<()> {
    let tool = parse(config, "input.config")?;
    let field = format!("input.config.{}", code_field(config));
    let checked = tokio::task::spawn_blocking(move || {
        Sandbox::shared().and_then(|sandbox| sandbox.check_program(&tool.program))
    })
    .await
    .map_err(|e| DomainError::Internal(format!("checking the code failed: {e}")))?;
    match checked {
        Ok(()) => Ok(()),
        Err(e) if e.code == SandboxErrorCode::Internal => Err(DomainError::Internal(e.message)),
        Err(e) => Err(DomainError::bad_input(
            field,
            format!("{}: {}", e.code, e.message),
        )),
    }
}

/// Runs a `code` tool on `input`. The tool sees `ctx` = `{tool: {id, name, version}}`.
pub(crate) async fn run(
    sandbox: &Sandbox,
    tool: &Tool,
    input: &Value,
    cancel: CancellationToken,
) -> Result<RunOutput, SandboxError> {
    let code = parse(&tool.config, "config").map_err(|error| {
        let message = match error {
            DomainError::BadInput(list) => list
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        SandboxError::new(
            SandboxErrorCode::InvalidModule,
            format!("tool `{}` is misconfigured: {message}", tool.name),
        )
    })?;
    let ctx = json!({ "tool": { "id": tool.id, "name": tool.name, "version": tool.version } });
    sandbox
        .run(&code.program, input, &ctx, &code.limits, cancel)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(config: Value) -> Vec<String> {
        match parse(&config, "input.config") {
            Err(DomainError::BadInput(list)) => list.into_iter().map(|p| p.path).collect(),
            Err(other) => panic!("{other}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_javascript_config_with_limits_parses() {
        let tool = parse(
            &json!({ "language": "javascript", "source": "x", "timeoutMs": 250, "memoryMb": 16 }),
            "config",
        )
        .unwrap_or_else(|_| panic!("valid"));
        assert_eq!(tool.limits.cpu, Duration::from_millis(250));
        assert_eq!(tool.limits.memory_bytes, 16 * MIB);
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            problems(json!({ "language": "python" })),
            ["input.config.language"]
        );
        assert_eq!(
            problems(json!({ "language": "javascript" })),
            ["input.config.source"]
        );
        assert_eq!(
            problems(json!({ "language": "wasm", "module": "!!" })),
            ["input.config.module"]
        );
        assert_eq!(
            problems(
                json!({ "language": "javascript", "source": "", "timeoutMs": 60_000, "memoryMb": 0 })
            ),
            ["input.config.timeoutMs", "input.config.memoryMb"]
        );
    }
}
