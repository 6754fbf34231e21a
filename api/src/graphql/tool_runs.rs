//! Tool runs: `testTool`, and the execution logs every run leaves behind.

use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::executors::ToolRunReport;
use entity::tool_execution_logs;
use serde_json::Value;

use super::context::{db, principal};
use super::errors::{ApiError, ApiResult};
use super::ids::{Kind, decode, encode};
use super::loaders::loaders;
use super::relay::{RelayConnection, connection, page_request};
use super::users::User;

/// One run of a tool: from a workflow (`custom` node, `llm-agent` tool call) or from
/// `testTool`. Secrets of the credentials the run used are redacted; inputs, outputs and
/// logs over their storage budget are cut with a marker saying so.
pub struct ToolExecutionLog(pub tool_execution_logs::Model);

#[Object]
impl ToolExecutionLog {
    pub async fn id(&self) -> ID {
        encode(Kind::ToolExecutionLog, &self.0.id)
    }
    /// The version of the tool that ran.
    async fn tool_version(&self) -> i32 {
        self.0.tool_version
    }
    /// The execution the run belonged to; null for `testTool` runs.
    async fn execution_id(&self) -> Option<ID> {
        self.0
            .execution_id
            .as_deref()
            .map(|id| encode(Kind::Execution, id))
    }
    /// The workflow node that ran the tool; null for `testTool` runs.
    async fn node_id(&self) -> Option<&str> {
        self.0.node_id.as_deref()
    }
    async fn input(&self) -> Json<&Value> {
        Json(&self.0.input)
    }
    /// Null when the run failed.
    async fn output(&self) -> Option<Json<&Value>> {
        self.0.output.as_ref().map(Json)
    }
    /// What the tool logged (e.g. `console.log` lines of a code tool), in order.
    async fn logs(&self) -> Vec<String> {
        match &self.0.logs {
            Value::Array(lines) => lines
                .iter()
                .map(|line| match line {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
    /// Null when the run succeeded.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Who ran it: the tester, or the owner of the workflow that ran it.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)
            .users
            .load_one(self.0.created_by.clone())
            .await?
            .map(User))
    }
}

/// The newest-first page of a tool's execution logs, for `Tool.executionLogs`.
pub async fn execution_logs(
    ctx: &Context<'_>,
    tool_id: &str,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<RelayConnection<ToolExecutionLog>> {
    let principal = principal(ctx)?;
    let after_given = after.is_some();
    let page =
        domain::store::tool_logs::list(db(ctx), principal, tool_id, page_request(first, after)?)
            .await?;
    Ok(connection(page, after_given, |l| &l.id, ToolExecutionLog))
}

/// Why a test run failed.
#[derive(SimpleObject)]
pub struct ToolRunError {
    /// `INVALID_INPUT`, `INVALID_OUTPUT`, `TIMEOUT`, `CANCELLED`, `TOOL_ERROR`, or a
    /// code of the tool's kind (e.g. `MEMORY_LIMIT` from the sandbox).
    pub code: String,
    pub message: String,
    /// Whether a workflow node would retry this failure.
    pub retryable: bool,
}

/// The result of pressing "test": what the tool returned or why it failed.
pub struct ToolTestResult(ToolRunReport);

#[Object]
impl ToolTestResult {
    /// Null when the run failed.
    async fn output(&self) -> Option<Json<&Value>> {
        self.0.output.as_ref().map(Json)
    }
    async fn logs(&self) -> &[String] {
        &self.0.logs
    }
    async fn duration_ms(&self) -> i64 {
        i64::try_from(self.0.duration.as_millis()).unwrap_or(i64::MAX)
    }
    /// Null when the run succeeded.
    async fn error(&self) -> Option<ToolRunError> {
        self.0.error.as_ref().map(|e| ToolRunError {
            code: e.code.clone(),
            message: e.message.clone(),
            retryable: e.retryable,
        })
    }
    /// The version that ran.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The stored log of this run; null only if storing it failed.
    async fn log(&self) -> Option<ToolExecutionLog> {
        self.0.log.clone().map(ToolExecutionLog)
    }
}

#[derive(Default)]
pub struct ToolRunMutation;

#[Object]
impl ToolRunMutation {
    /// Runs a tool on `input` outside any workflow and records the run in its execution
    /// logs. A run that fails (including an input that does not match the tool's input
    /// schema, `INVALID_INPUT`) is a successful response with `error` set; only a tool
    /// the caller cannot see (`NOT_FOUND`) or a `version` it does not have
    /// (`BAD_USER_INPUT`) is a GraphQL error. Runs for at most 60 seconds.
    async fn test_tool(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: Json<Value>,
        #[graphql(desc = "The version to run; the latest when absent.")] version: Option<i32>,
    ) -> ApiResult<ToolTestResult> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Tool, &id)?;
        if let Some(v) = version.filter(|v| *v < 1) {
            return Err(ApiError::bad_input(
                "version",
                format!("must be 1 or more, got {v}"),
            ));
        }
        let engine = ctx.data_unchecked::<domain::engine::Engine>();
        let report =
            domain::executors::test_tool(engine.services(), principal, &id, version, input.0)
                .await?;
        Ok(ToolTestResult(report))
    }
}
