//! `custom`: runs a tool from the registry, pinned to `config.toolVersion` or at its latest
//! version, as the workflow's owner.
//!
//! The tool's input is checked against the input schema of the version that runs (which
//! may be older than the one the workflow was validated against) and its output against
//! that version's output schema, so a tool that breaks its own contract fails loudly here
//! rather than confusing the nodes downstream. The same runner serves `llm-agent`, whose
//! model calls tools as functions.
//!
//! Each tool kind is one `run_<kind>` function and one arm in [`ToolRunner::run_kind`],
//! returning a [`KindRun`] (output and log lines) or a [`KindFailure`] (with an error code
//! when the kind has one, e.g. `TIMEOUT` from the sandbox).
//!
//! Every run, wherever it comes from (a `custom` node, an `llm-agent` tool call,
//! [`test_tool`]), leaves one `tool_execution_logs` row, with the secrets of the
//! credentials it used redacted. A run dropped halfway (the node timed out, the execution
//! was stopped) is logged as interrupted rather than forgotten.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use entity::tool_versions;
use jsonschema::Validator;
use minijinja::{Environment, UndefinedBehavior};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::api_call::{self, HttpCall, Reply};
use super::code_tool;
use super::http_auth::{Credential, Secrets};
use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult, Services};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};
use crate::json_schema::{self, SchemaProblem};
use crate::mapping::expr::ProgramCache;
use crate::store;
use crate::store::tool_logs::ToolLogEntry;

/// Compiled schemas kept per tool version; versions are immutable, so entries never go
/// stale. Bounded so a stream of distinct tools cannot grow it without limit.
const MAX_CACHED_SCHEMAS: usize = 4_096;
/// Template evaluation budget: enough for any sensible path or header, not for a loop
/// that would stall the worker.
const TEMPLATE_FUEL: u64 = 50_000;
/// How long a `testTool` run may take in all; a workflow node has its own `timeoutMs`.
pub const TEST_RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Error codes of failed runs, beside the kinds' own (the sandbox's `TIMEOUT`,
/// `MEMORY_LIMIT`, ...).
pub mod codes {
    /// The input does not match the input schema of the version that ran.
    pub const INVALID_INPUT: &str = "INVALID_INPUT";
    /// The tool answered with output that does not match its output schema.
    pub const INVALID_OUTPUT: &str = "INVALID_OUTPUT";
    /// The run took longer than it may.
    pub const TIMEOUT: &str = "TIMEOUT";
    /// The run was stopped from outside (`stopExecution`, a client that went away).
    pub const CANCELLED: &str = "CANCELLED";
    /// Anything else the tool reported: an HTTP error, a bad config, ...
    pub const TOOL_ERROR: &str = "TOOL_ERROR";
}

/// The `custom` executor; keeps compiled tool schemas and response mappings across runs.
#[derive(Default)]
pub struct Custom {
    runner: ToolRunner,
}

#[async_trait::async_trait]
impl Executor for Custom {
    fn node_type(&self) -> &'static str {
        crate::node_types::CUSTOM
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let config = ctx.node.config();
        let tool_id = config
            .get("toolId")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeFailure::permanent("config.toolId is missing"))?;
        let version = config
            .get("toolVersion")
            .and_then(Value::as_i64)
            .map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        let tool = Tool::load(ctx, tool_id, version).await?;
        let call = ToolCall::for_node(ctx, ctx.idempotency_key());
        let output = self.runner.run(&call, &tool, Value::Object(input)).await?;
        Ok(NodeOutcome::main(output))
    }
}

/// Where and for whom a tool runs: inside a workflow node, or on its own (`testTool`).
pub(crate) struct ToolCall<'a> {
    /// Tools and credentials are looked up as them: the workflow's owner, or the tester.
    pub(crate) owner: &'a Principal,
    pub(crate) services: &'a Services,
    /// Sent as `Idempotency-Key` on every call the tool makes out.
    pub(crate) idempotency_key: String,
    pub(crate) cancel: CancellationToken,
    pub(crate) execution_id: Option<&'a str>,
    pub(crate) node_id: Option<&'a str>,
    /// The node's `timeoutMs`, which outgoing requests honour too.
    pub(crate) timeout: Option<Duration>,
}

impl<'a> ToolCall<'a> {
    pub(crate) fn for_node(ctx: &'a NodeContext<'a>, idempotency_key: String) -> Self {
        Self {
            owner: ctx.owner,
            services: ctx.services,
            idempotency_key,
            cancel: ctx.cancel.clone(),
            execution_id: Some(ctx.execution_id),
            node_id: Some(ctx.node.id().as_str()),
            timeout: ctx.node.timeout_ms().map(Duration::from_millis),
        }
    }
}

/// What a tool kind produced: its output and the lines it logged.
pub(crate) struct KindRun {
    pub(crate) output: Value,
    pub(crate) logs: Vec<String>,
}

impl KindRun {
    pub(crate) fn output(output: Value) -> Self {
        Self {
            output,
            logs: Vec::new(),
        }
    }
}

/// Why a tool kind failed, with the lines it logged before it did.
pub(crate) struct KindFailure {
    pub(crate) failure: NodeFailure,
    /// The kind's own error code; [`codes::TOOL_ERROR`] when `None`.
    pub(crate) code: Option<String>,
    pub(crate) logs: Vec<String>,
}

impl From<NodeFailure> for KindFailure {
    fn from(failure: NodeFailure) -> Self {
        Self {
            failure,
            code: None,
            logs: Vec::new(),
        }
    }
}

impl KindFailure {
    fn coded(code: &str, failure: NodeFailure) -> Self {
        Self {
            failure,
            code: Some(code.to_owned()),
            logs: Vec::new(),
        }
    }
}

/// A failed run as a tester sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolRunError {
    pub code: String,
    pub message: String,
    /// Whether trying again may help (a 503, a timeout), as a node's retries see it.
    pub retryable: bool,
}

/// One run of a tool: what `testTool` answers and what its log row holds. Secrets of the
/// credentials the run used are redacted from every field.
#[derive(Debug, Clone)]
pub struct ToolRunReport {
    pub tool_id: String,
    pub version: i32,
    pub output: Option<Value>,
    pub logs: Vec<String>,
    pub error: Option<ToolRunError>,
    pub duration: Duration,
    /// The `tool_execution_logs` row; `None` only when storing it failed (which is logged).
    pub log: Option<entity::tool_execution_logs::Model>,
}

/// Runs version `version` (the latest when `None`) of tool `tool_id` on `input` outside
/// any workflow, as `principal`, and stores its log before returning.
///
/// Only a tool the caller cannot see (`NotFound`) or a version it does not have
/// (`BadInput` at `version`) is an error here; everything that goes wrong in the run
/// itself, an input that does not match the schema included, is in the report, because
/// that is what the person pressing "test" wants to see.
#[tracing::instrument(skip(services, principal, input))]
pub async fn test_tool(
    services: &Services,
    principal: &Principal,
    tool_id: &str,
    version: Option<i32>,
    input: Value,
) -> DomainResult<ToolRunReport> {
    static RUNNER: LazyLock<ToolRunner> = LazyLock::new(ToolRunner::default);
    let tool = Tool::load_as(&services.db, principal, tool_id, version)
        .await
        .map_err(|e| match e {
            ToolLoadError::NoSuchVersion(message) => DomainError::bad_input("version", message),
            ToolLoadError::Domain(e) => e,
        })?;
    let key = format!("test:{}", crate::ids::new_id());
    let call = ToolCall {
        owner: principal,
        services,
        idempotency_key: key,
        cancel: CancellationToken::new(),
        execution_id: None,
        node_id: None,
        timeout: None,
    };
    Ok(RUNNER.run_reported(&call, &tool, input).await)
}

/// One version of a registry tool, as it runs.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub(crate) id: String,
    pub(crate) version: i32,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) kind: String,
    pub(crate) input_schema: Value,
    pub(crate) output_schema: Value,
    pub(crate) config: Value,
}

impl Tool {
    /// Reads tool `id` as the workflow's owner: `version`, or the latest when `None`.
    pub(crate) async fn load(
        ctx: &NodeContext<'_>,
        id: &str,
        version: Option<i32>,
    ) -> Result<Self, NodeFailure> {
        Self::load_as(&ctx.services.db, ctx.owner, id, version)
            .await
            .map_err(|e| match e {
                ToolLoadError::NoSuchVersion(message) => NodeFailure::permanent(message),
                ToolLoadError::Domain(DomainError::NotFound { .. }) => {
                    NodeFailure::permanent(format!(
                        "tool `{id}` does not exist or does not belong to the workflow's owner"
                    ))
                }
                ToolLoadError::Domain(DomainError::Storage(e)) => {
                    NodeFailure::retryable(format!("reading tool `{id}` failed: {e}"))
                }
                ToolLoadError::Domain(other) => {
                    NodeFailure::permanent(format!("reading tool `{id}` failed: {other}"))
                }
            })
    }

    /// Reads tool `id` as `owner`: `version`, or the latest when `None`.
    pub(crate) async fn load_as(
        db: &impl ConnectionTrait,
        owner: &Principal,
        id: &str,
        version: Option<i32>,
    ) -> Result<Self, ToolLoadError> {
        let latest = store::tools::get(db, owner, id)
            .await
            .map_err(ToolLoadError::Domain)?;
        match version {
            None => Ok(Self {
                id: latest.id,
                version: latest.version,
                name: latest.name,
                description: latest.description,
                kind: latest.kind,
                input_schema: latest.input_schema,
                output_schema: latest.output_schema,
                config: latest.config,
            }),
            Some(version) => {
                let row = tool_versions::Entity::find()
                    .filter(tool_versions::Column::ToolId.eq(id))
                    .filter(tool_versions::Column::Version.eq(version))
                    .one(db)
                    .await
                    .map_err(|e| ToolLoadError::Domain(DomainError::Storage(e)))?
                    .ok_or_else(|| {
                        ToolLoadError::NoSuchVersion(format!(
                            "tool `{}` has no version {version} (its latest is {})",
                            latest.name, latest.version
                        ))
                    })?;
                Ok(Self {
                    id: row.tool_id,
                    version: row.version,
                    name: row.name,
                    description: row.description,
                    kind: row.kind,
                    input_schema: row.input_schema,
                    output_schema: row.output_schema,
                    config: row.config,
                })
            }
        }
    }
}

/// Why a tool could not be loaded: it is not there (or not the caller's), or the version
/// asked for does not exist.
pub(crate) enum ToolLoadError {
    Domain(DomainError),
    NoSuchVersion(String),
}

struct ToolSchemas {
    input: Validator,
    output: Validator,
}

/// Runs tools of every kind, checking their input and output against their schemas.
#[derive(Default)]
pub(crate) struct ToolRunner {
    schemas: Mutex<HashMap<(String, i32), Arc<ToolSchemas>>>,
}

impl ToolRunner {
    /// Runs `tool` on `input` for a node; the run is logged in the background.
    pub(crate) async fn run(
        &self,
        call: &ToolCall<'_>,
        tool: &Tool,
        input: Value,
    ) -> Result<Value, NodeFailure> {
        let mut pending = PendingLog::new(call, tool, &input);
        let (result, logs) = self
            .run_checked(call, tool, &input, &mut pending.secrets)
            .await;
        let entry = pending.entry(result.as_ref().ok().cloned(), logs, result.as_ref().err());
        call.services.tool_logs.record(entry).await;
        match result {
            Ok(output) => Ok(output),
            Err(failed) => Err(failed.failure),
        }
    }

    /// Runs `tool` on `input` within [`TEST_RUN_TIMEOUT`] and stores its log before
    /// returning the report.
    pub(crate) async fn run_reported(
        &self,
        call: &ToolCall<'_>,
        tool: &Tool,
        input: Value,
    ) -> ToolRunReport {
        let mut pending = PendingLog::new(call, tool, &input);
        let run = self.run_checked(call, tool, &input, &mut pending.secrets);
        let (result, logs) = match tokio::time::timeout(TEST_RUN_TIMEOUT, run).await {
            Ok(done) => done,
            Err(_) => (
                Err(KindFailure::coded(
                    codes::TIMEOUT,
                    NodeFailure::retryable(format!(
                        "tool `{}` did not finish within {} s",
                        tool.name,
                        TEST_RUN_TIMEOUT.as_secs()
                    )),
                )),
                Vec::new(),
            ),
        };
        let entry = pending.entry(result.as_ref().ok().cloned(), logs, result.as_ref().err());
        let report = ToolRunReport {
            tool_id: tool.id.clone(),
            version: tool.version,
            output: entry.output.clone(),
            logs: entry.logs.clone(),
            error: result.err().map(|failed| ToolRunError {
                code: error_code(&failed),
                message: entry.error.clone().unwrap_or_default(),
                retryable: failed.failure.retryable,
            }),
            duration: entry.duration,
            log: None,
        };
        match call.services.tool_logs.write_now(entry).await {
            Ok(row) => ToolRunReport {
                log: Some(row),
                ..report
            },
            Err(e) => {
                tracing::error!(tool_id = %tool.id, error = %e, "storing a test run's log failed");
                report
            }
        }
    }

    /// Checks the input, runs the kind, checks the output. Returns the result (output
    /// redacted) and the lines the tool logged.
    async fn run_checked(
        &self,
        call: &ToolCall<'_>,
        tool: &Tool,
        input: &Value,
        secrets: &mut Secrets,
    ) -> (Result<Value, KindFailure>, Vec<String>) {
        let schemas = match self.schemas(tool) {
            Ok(schemas) => schemas,
            Err(failure) => return (Err(failure.into()), Vec::new()),
        };
        if let Err(problems) = json_schema::validate_with(&schemas.input, input) {
            let failure = NodeFailure::permanent(format!(
                "the input does not match the input schema of tool `{}` (version {}): {}",
                tool.name,
                tool.version,
                describe(&problems)
            ));
            return (
                Err(KindFailure::coded(codes::INVALID_INPUT, failure)),
                Vec::new(),
            );
        }
        let run = match self.run_kind(call, tool, input, secrets).await {
            Ok(run) => run,
            Err(mut failed) => {
                if failed.code.is_none() && call.cancel.is_cancelled() {
                    failed.code = Some(codes::CANCELLED.to_owned());
                }
                let logs = failed.logs.clone();
                return (Err(failed), logs);
            }
        };
        let KindRun { output, logs } = run;
        let output = if secrets.is_empty() {
            output
        } else {
            secrets.redact_value(&output)
        };
        if let Err(problems) = json_schema::validate_with(&schemas.output, &output) {
            let failure = NodeFailure::permanent(format!(
                "tool `{}` (version {}) produced output that does not match its output schema: \
                 {}",
                tool.name,
                tool.version,
                describe(&problems)
            ));
            return (
                Err(KindFailure::coded(codes::INVALID_OUTPUT, failure)),
                logs,
            );
        }
        (Ok(output), logs)
    }

    /// The one place tool kinds are dispatched.
    async fn run_kind(
        &self,
        call: &ToolCall<'_>,
        tool: &Tool,
        input: &Value,
        secrets: &mut Secrets,
    ) -> Result<KindRun, KindFailure> {
        match tool.kind.as_str() {
            "api" => self
                .run_api(call, tool, input, secrets)
                .await
                .map(KindRun::output)
                .map_err(KindFailure::from),
            "database-query" => super::database_query::run_tool(call, tool, input)
                .await
                .map(KindRun::output)
                .map_err(KindFailure::from),
            "code" => code_tool::run(&call.services.sandbox, tool, input, call.cancel.clone())
                .await
                .map(|run| KindRun {
                    output: run.output,
                    logs: run.logs,
                })
                .map_err(|error| KindFailure {
                    failure: NodeFailure::permanent(format!(
                        "{}: {} (tool `{}`)",
                        error.code, error.message, tool.name
                    )),
                    code: Some(error.code.as_str().to_owned()),
                    logs: error.logs,
                }),
            other => Err(NodeFailure::permanent(format!(
                "tool kind `{other}` is not available in this build yet (tool `{}`)",
                tool.name
            ))
            .into()),
        }
    }

    fn schemas(&self, tool: &Tool) -> Result<Arc<ToolSchemas>, NodeFailure> {
        let key = (tool.id.clone(), tool.version);
        if let Some(schemas) = self.schemas.lock().expect("tool schema cache").get(&key) {
            return Ok(schemas.clone());
        }
        let compile = |which: &str, schema: &Value| {
            json_schema::compile_asserting_formats(schema).map_err(|problem| {
                NodeFailure::permanent(format!(
                    "the {which} schema of tool `{}` is invalid: {problem}",
                    tool.name
                ))
            })
        };
        let schemas = Arc::new(ToolSchemas {
            input: compile("input", &tool.input_schema)?,
            output: compile("output", &tool.output_schema)?,
        });
        let mut cache = self.schemas.lock().expect("tool schema cache");
        if cache.len() >= MAX_CACHED_SCHEMAS {
            cache.clear();
        }
        cache.insert(key, schemas.clone());
        Ok(schemas)
    }

    /// An `api` tool: one HTTP request built from the tool's config. The output is
    /// `{status, body}`, or what `responseMapping` (a jq expression over
    /// `{status, headers, body}`) makes of the response.
    async fn run_api(
        &self,
        call: &ToolCall<'_>,
        tool: &Tool,
        input: &Value,
        secrets: &mut Secrets,
    ) -> Result<Value, NodeFailure> {
        let invalid = |message: String| {
            NodeFailure::permanent(format!("tool `{}` is misconfigured: {message}", tool.name))
        };
        let config = ApiToolConfig::deserialize(&tool.config)
            .map_err(|e| invalid(format!("config: {e}")))?;
        let context = minijinja::Value::from(minijinja::value::Serde(json!({ "input": input })));
        let path = PATH_TEMPLATES
            .render_str(&config.path, context.clone())
            .map_err(|e| invalid(format!("config.path: {e}")))?;
        let base = config.base_url.trim_end_matches('/');
        let url = match path.trim_start_matches('/') {
            "" => base.to_owned(),
            path => format!("{base}/{path}"),
        };
        let method = api_call::parse_method(config.method.as_deref().unwrap_or("GET"))?;
        let mut request = HttpCall::new(method, api_call::parse_url(&url, "the tool's URL")?);
        let render = |field: &str, values: &Map<String, Value>| {
            values
                .iter()
                .map(|(name, value)| {
                    let rendered = match value {
                        Value::String(template) => Value::String(
                            TEXT_TEMPLATES
                                .render_str(template, context.clone())
                                .map_err(|e| invalid(format!("config.{field}.{name}: {e}")))?,
                        ),
                        other => other.clone(),
                    };
                    Ok((name.clone(), rendered))
                })
                .collect::<Result<Map<String, Value>, NodeFailure>>()
        };
        request.append_query(&render("query", &config.query)?)?;
        request.set_headers(&render("headers", &config.headers)?)?;
        request.idempotency_key(&call.idempotency_key)?;
        if matches!(request.method().as_str(), "POST" | "PUT" | "PATCH") {
            request.json(input.clone());
        }
        let credential = match &config.credential_id {
            Some(id) => Some(Credential::load_as(call.services, call.owner, id).await?),
            None => None,
        };
        let response = tokio::select! {
            biased;
            () = call.cancel.cancelled() => {
                return Err(NodeFailure::permanent("the run was stopped"));
            }
            response = api_call::perform_in(
                call.services,
                call.timeout,
                request,
                credential.as_ref(),
                secrets,
            ) => response?,
        };
        let reply = Reply::read(&response, secrets);
        api_call::check_status(&response, &reply, None).map_err(|failure| NodeFailure {
            message: format!("tool `{}`: {}", tool.name, failure.message),
            ..failure
        })?;
        match &config.response_mapping {
            None => Ok(json!({ "status": reply.status, "body": reply.body })),
            Some(source) => {
                let program = ProgramCache::shared().get(source).map_err(|e| {
                    invalid(format!("config.responseMapping does not compile: {e}"))
                })?;
                program.run_one(&reply.into_output()).map_err(|e| {
                    NodeFailure::permanent(format!(
                        "tool `{}`: config.responseMapping failed: {e}",
                        tool.name
                    ))
                })
            }
        }
    }
}

/// The log of one run in the making. Dropped before [`PendingLog::entry`] (the node timed
/// out, the execution was stopped, the client went away), it still records the run, as
/// interrupted, so no run goes missing from a tool's history.
struct PendingLog<'a> {
    writer: &'a crate::store::tool_logs::ToolLogWriter,
    cancel: CancellationToken,
    tool_id: String,
    tool_version: i32,
    execution_id: Option<String>,
    node_id: Option<String>,
    created_by: String,
    input: Option<Value>,
    started: Instant,
    /// The secrets of the credentials the run loaded so far; everything logged is
    /// redacted of them.
    secrets: Secrets,
}

impl<'a> PendingLog<'a> {
    fn new(call: &ToolCall<'a>, tool: &Tool, input: &Value) -> Self {
        Self {
            writer: &call.services.tool_logs,
            cancel: call.cancel.clone(),
            tool_id: tool.id.clone(),
            tool_version: tool.version,
            execution_id: call.execution_id.map(str::to_owned),
            node_id: call.node_id.map(str::to_owned),
            created_by: call.owner.user_id.clone(),
            input: Some(input.clone()),
            started: Instant::now(),
            secrets: Secrets::default(),
        }
    }

    /// The finished run's entry, redacted; after this, dropping logs nothing more.
    fn entry(
        &mut self,
        output: Option<Value>,
        logs: Vec<String>,
        failure: Option<&KindFailure>,
    ) -> ToolLogEntry {
        let input = self.input.take().unwrap_or(Value::Null);
        let secrets = &self.secrets;
        let redact_value = |v: Value| {
            if secrets.is_empty() {
                v
            } else {
                secrets.redact_value(&v)
            }
        };
        let entry = ToolLogEntry {
            tool_id: self.tool_id.clone(),
            tool_version: self.tool_version,
            execution_id: self.execution_id.clone(),
            node_id: self.node_id.clone(),
            input: redact_value(input),
            output: output.map(redact_value),
            logs: logs.iter().map(|line| secrets.redact(line)).collect(),
            error: failure.map(|f| secrets.redact(&f.failure.message)),
            duration: self.started.elapsed(),
            created_by: self.created_by.clone(),
        };
        if let Some(error) = &entry.error {
            tracing::debug!(
                tool_id = %entry.tool_id,
                tool_version = entry.tool_version,
                execution_id = ?entry.execution_id,
                error = %error,
                "tool run failed"
            );
        }
        entry
    }
}

impl Drop for PendingLog<'_> {
    fn drop(&mut self) {
        if self.input.is_none() {
            return;
        }
        let (code, why) = if self.cancel.is_cancelled() || self.execution_id.is_none() {
            (codes::CANCELLED, "the run was stopped before it finished")
        } else {
            (
                codes::TIMEOUT,
                "the run was interrupted before it finished: the node timed out",
            )
        };
        let failure = KindFailure::coded(code, NodeFailure::permanent(why));
        let entry = self.entry(None, Vec::new(), Some(&failure));
        self.writer.record_detached(entry);
    }
}

fn error_code(failed: &KindFailure) -> String {
    failed
        .code
        .clone()
        .unwrap_or_else(|| codes::TOOL_ERROR.to_owned())
}

/// The config of an `api` tool.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiToolConfig {
    /// Scheme, host and optional base path, e.g. `https://api.example.com/v1`.
    base_url: String,
    /// `GET` when absent. `POST`, `PUT` and `PATCH` send the tool input as the JSON body.
    method: Option<String>,
    /// Appended to `base_url`; `{{ input.x }}` placeholders are filled in percent-encoded,
    /// so a value cannot add path segments or a query.
    #[serde(default)]
    path: String,
    /// Query-string parameters; string values are templates.
    #[serde(default)]
    query: Map<String, Value>,
    /// Request headers; values are templates.
    #[serde(default)]
    headers: Map<String, Value>,
    credential_id: Option<String>,
    /// jq expression over `{status, headers, body}` whose result is the tool's output.
    response_mapping: Option<String>,
}

fn template_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt placeholder should fail the tool, not call a URL with a hole in it.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env
}

static TEXT_TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(template_environment);

static PATH_TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = template_environment();
    env.set_formatter(|out, _state, value| {
        let text = value.to_string();
        out.write_str(&percent_encode_segment(&text))?;
        Ok(())
    });
    env
});

/// Percent-encodes all but RFC 3986 unreserved characters, so an interpolated value stays
/// inside its path segment: `../admin` or `a/b?x=1` cannot escape it.
fn percent_encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn describe(problems: &[SchemaProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(value: Value) -> minijinja::Value {
        minijinja::Value::from(minijinja::value::Serde(value))
    }

    #[test]
    fn path_placeholders_are_encoded_so_they_stay_in_their_segment() {
        let context = ctx(json!({ "input": { "id": "../admin?x=1 2", "n": 7 } }));
        let path = PATH_TEMPLATES
            .render_str("/users/{{ input.id }}/items/{{ input.n }}", context.clone())
            .unwrap();
        assert_eq!(path, "/users/..%2Fadmin%3Fx%3D1%202/items/7");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_not_an_empty_string() {
        let context = ctx(json!({ "input": {} }));
        assert!(
            PATH_TEMPLATES
                .render_str("/{{ input.nope }}", context.clone())
                .is_err()
        );
        assert!(
            TEXT_TEMPLATES
                .render_str("{{ input.nope }}", context.clone())
                .is_err()
        );
    }

    #[test]
    fn text_templates_render_values_verbatim() {
        let context = ctx(json!({ "input": { "q": "a b/c" } }));
        assert_eq!(
            TEXT_TEMPLATES
                .render_str("q={{ input.q }}", context.clone())
                .unwrap(),
            "q=a b/c"
        );
    }

    #[test]
    fn a_runaway_template_runs_out_of_fuel() {
        let context = ctx(json!({ "input": {} }));
        let result = TEXT_TEMPLATES.render_str(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            context,
        );
        assert!(result.is_err());
    }
}
