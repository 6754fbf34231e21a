//! Executions (read-only here; the engine writes them), their node runs and events.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::node_error;
use domain::store::executions::{self as store, ExecutionFilter};
use entity::{execution_events, node_executions, workflow_executions};
use serde_json::Value;
use std::sync::Arc;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::encode_cursor;
use super::ids::{Kind, decode, encode};
use super::loaders::loaders;
use super::relay::{complexity, connection, page_request};
use super::workflows::Workflow;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExecutionStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl ExecutionStatus {
    fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "pending",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "running" => ExecutionStatus::Running,
            "succeeded" => ExecutionStatus::Succeeded,
            "failed" => ExecutionStatus::Failed,
            "cancelled" => ExecutionStatus::Cancelled,
            _ => ExecutionStatus::Pending,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ExecutionEventKind {
    ExecutionStart,
    NodeStart,
    NodeComplete,
    NodeError,
    ExecutionComplete,
}

impl ExecutionEventKind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "EXECUTION_START" => ExecutionEventKind::ExecutionStart,
            "NODE_START" => ExecutionEventKind::NodeStart,
            "NODE_COMPLETE" => ExecutionEventKind::NodeComplete,
            "NODE_ERROR" => ExecutionEventKind::NodeError,
            "EXECUTION_COMPLETE" => ExecutionEventKind::ExecutionComplete,
            _ => return None,
        })
    }
}

pub struct Execution(pub workflow_executions::Model);

#[Object]
impl Execution {
    pub async fn id(&self) -> ID {
        encode(Kind::Execution, &self.0.id)
    }
    async fn workflow(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Workflow>> {
        Ok(loaders(ctx)
            .workflows
            .load_one(self.0.workflow_id.clone())
            .await?
            .map(Workflow))
    }
    /// The workflow version this execution ran.
    async fn workflow_version(&self) -> i32 {
        self.0.workflow_version
    }
    async fn status(&self) -> ExecutionStatus {
        ExecutionStatus::parse(&self.0.status)
    }
    /// `manual`, `webhook`, `schedule`, `replay` or `retry`.
    async fn trigger_kind(&self) -> &str {
        &self.0.trigger_kind
    }
    /// The execution this one replays or retries.
    async fn replay_of(&self) -> Option<ID> {
        self.0
            .replay_of
            .as_deref()
            .map(|id| encode(Kind::Execution, id))
    }
    async fn input(&self) -> Json<&Value> {
        Json(&self.0.input)
    }
    async fn output(&self) -> Option<Json<&Value>> {
        self.0.output.as_ref().map(Json)
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }
    /// Every attempt of every node, in the order they started.
    async fn node_runs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<NodeRun>> {
        Ok(loaders(ctx)
            .node_runs
            .load_one(self.0.id.clone())
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(NodeRun)
            .collect())
    }
    /// Stored events after `afterSequence`, in order.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after_sequence: Option<i64>,
        #[graphql(default = 100)] first: i32,
    ) -> ApiResult<Vec<ExecutionEvent>> {
        let rows = store::events(db(ctx), &self.0.id, after_sequence, first.max(0) as u64).await?;
        rows.into_iter().map(ExecutionEvent::stored).collect()
    }
}

pub struct NodeRun(pub node_executions::Model);

#[Object]
impl NodeRun {
    async fn node_id(&self) -> &str {
        &self.0.node_id
    }
    async fn node_type(&self) -> &str {
        &self.0.node_type
    }
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn input(&self) -> Option<Json<&Value>> {
        self.0.input.as_ref().map(Json)
    }
    async fn output(&self) -> Option<Json<&Value>> {
        self.0.output.as_ref().map(Json)
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The failure as fields: its kind, whether another attempt could help, and what lay
    /// underneath. Null when the attempt did not fail (or was recorded before the detail
    /// was kept).
    async fn error_detail(&self) -> Option<NodeErrorDetail> {
        self.0
            .error_detail
            .as_ref()
            .and_then(node_error::NodeErrorDetail::from_stored)
            .map(NodeErrorDetail::from)
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    async fn duration_ms(&self) -> Option<i64> {
        self.0.duration_ms
    }
}

/// What kind of failure ended a node attempt.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "domain::node_error::NodeErrorCode")]
pub enum NodeErrorCode {
    InvalidInput,
    Timeout,
    OutputTooLarge,
    HttpStatus,
    Network,
    Refused,
    ResponseTooLarge,
    Cancelled,
    Failed,
}

/// A failed node attempt's error.
#[derive(SimpleObject)]
pub struct NodeErrorDetail {
    pub code: NodeErrorCode,
    pub message: String,
    /// Whether the engine considered another attempt worth making.
    pub retryable: bool,
    /// What lay underneath the message, outermost first.
    pub cause: Vec<String>,
}

impl From<node_error::NodeErrorDetail> for NodeErrorDetail {
    fn from(d: node_error::NodeErrorDetail) -> Self {
        Self {
            code: d.code.into(),
            message: d.message,
            retryable: d.retryable,
            cause: d.cause,
        }
    }
}

/// One event, stored or live: both are the engine's event, shared rather than copied so
/// a thousand subscribers of one event hold one payload.
pub struct ExecutionEvent(pub Arc<domain::engine::ExecutionEvent>);

impl ExecutionEvent {
    pub fn stored(row: execution_events::Model) -> ApiResult<Self> {
        Ok(Self(Arc::new(row.try_into()?)))
    }

    fn field(&self, name: &str) -> Option<&Value> {
        self.0.payload.get(name).filter(|v| !v.is_null())
    }
}

#[Object]
impl ExecutionEvent {
    async fn execution_id(&self) -> ID {
        encode(Kind::Execution, &self.0.execution_id)
    }
    async fn workflow_id(&self) -> ID {
        encode(Kind::Workflow, &self.0.workflow_id)
    }
    async fn sequence(&self) -> i64 {
        self.0.sequence
    }
    async fn kind(&self) -> Option<ExecutionEventKind> {
        ExecutionEventKind::parse(self.0.kind.as_str())
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    async fn node_id(&self) -> Option<&str> {
        self.field("nodeId").and_then(Value::as_str)
    }
    async fn node_name(&self) -> Option<&str> {
        self.field("nodeName").and_then(Value::as_str)
    }
    async fn attempt(&self) -> Option<i64> {
        self.field("attempt").and_then(Value::as_i64)
    }
    async fn input(&self) -> Option<Json<&Value>> {
        self.field("input").map(Json)
    }
    async fn output(&self) -> Option<Json<&Value>> {
        self.field("output").map(Json)
    }
    async fn error(&self) -> Option<&str> {
        self.field("error").and_then(Value::as_str)
    }
    async fn will_retry(&self) -> Option<bool> {
        self.field("willRetry").and_then(Value::as_bool)
    }
    /// On a `NODE_ERROR` that will be retried: the wait before the next attempt.
    async fn retry_delay_ms(&self) -> Option<i64> {
        self.field("retryDelayMs").and_then(Value::as_i64)
    }
    /// On a `NODE_ERROR`: what kind of failure it was.
    async fn error_code(&self) -> Option<NodeErrorCode> {
        self.field("errorCode")
            .and_then(node_error::NodeErrorDetail::code_from_stored)
            .map(Into::into)
    }
    async fn duration_ms(&self) -> Option<i64> {
        self.field("durationMs").and_then(Value::as_i64)
    }
    async fn status(&self) -> Option<&str> {
        self.field("status").and_then(Value::as_str)
    }
    async fn total_duration_ms(&self) -> Option<i64> {
        self.field("totalDurationMs").and_then(Value::as_i64)
    }
}

/// What a page of `executions` carries beside the Relay fields.
#[derive(SimpleObject)]
pub struct HistoryFields {
    /// Set when a `text` search used up its scan budget (the newest 20,000 executions
    /// that pass the other filters, after `after`) before filling the page. The page
    /// may then hold fewer executions than asked, even none, and `hasNextPage` is true:
    /// pass this as `after` to search on (`endCursor` works too, but rescans).
    pub search_resume_cursor: Option<String>,
}

pub type ExecutionConnection = Connection<String, Execution, HistoryFields>;

#[derive(Default)]
pub struct ExecutionQuery;

#[Object]
impl ExecutionQuery {
    /// Executions of the workflows the caller may see, newest first.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn executions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<ExecutionStatus>,
        workflow_id: Option<ID>,
        started_after: Option<DateTime<Utc>>,
        started_before: Option<DateTime<Utc>>,
        text: Option<String>,
    ) -> ApiResult<ExecutionConnection> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let workflow_id = workflow_id
            .map(|id| decode("workflowId", Kind::Workflow, &id))
            .transpose()?;
        let filter = ExecutionFilter {
            status: status.map(|s| s.as_str().to_owned()),
            workflow_id,
            started_after,
            started_before,
            text,
        };
        let found = store::list(db(ctx), principal, filter, page_request(first, after)?).await?;
        let plain = connection(found.page, after_given, |e| &e.id, Execution);
        let mut page = ExecutionConnection::with_additional_fields(
            plain.has_previous_page,
            plain.has_next_page,
            HistoryFields {
                search_resume_cursor: found.resume_after.as_deref().map(encode_cursor),
            },
        );
        page.edges = plain.edges;
        Ok(page)
    }

    async fn execution(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Execution> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Execution, &id)?;
        Ok(Execution(store::get(db(ctx), principal, &id).await?))
    }
}

#[derive(InputObject)]
pub struct StopExecutionInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct ReplayExecutionInput {
    pub id: ID,
    /// Return once the new execution finished.
    #[graphql(default)]
    pub wait: bool,
}

#[derive(InputObject)]
pub struct RetryExecutionInput {
    pub id: ID,
    /// The node to run again; everything not downstream of it keeps its recorded result.
    pub from_node: String,
    #[graphql(default)]
    pub wait: bool,
}

#[derive(Default)]
pub struct ExecutionMutation;

#[Object]
impl ExecutionMutation {
    /// Runs the current version of a workflow with `input` as the trigger's output. With
    /// `wait: true` it returns the finished execution with every node run; otherwise it
    /// returns at once while the run goes on.
    async fn execute_workflow(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default_with = "Json(serde_json::json!({}))")] input: Json<Value>,
        #[graphql(default)] wait: bool,
    ) -> ApiResult<Execution> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Workflow, &id)?;
        let execution = engine(ctx).execute(principal, &id, input.0, wait).await?;
        Ok(Execution(execution))
    }

    /// Cancels a running execution: running nodes are interrupted, the rest never start.
    async fn stop_execution(
        &self,
        ctx: &Context<'_>,
        input: StopExecutionInput,
    ) -> ApiResult<Execution> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Execution, &input.id)?;
        Ok(Execution(engine(ctx).stop(principal, &id).await?))
    }

    /// Runs the same workflow version again with the same input.
    async fn replay_execution(
        &self,
        ctx: &Context<'_>,
        input: ReplayExecutionInput,
    ) -> ApiResult<Execution> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Execution, &input.id)?;
        Ok(Execution(
            engine(ctx).replay(principal, &id, input.wait).await?,
        ))
    }

    /// Runs an execution again from one node, reusing the recorded outputs upstream.
    async fn retry_execution(
        &self,
        ctx: &Context<'_>,
        input: RetryExecutionInput,
    ) -> ApiResult<Execution> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Execution, &input.id)?;
        Ok(Execution(
            engine(ctx)
                .retry_from(principal, &id, &input.from_node, input.wait)
                .await?,
        ))
    }
}

fn engine<'a>(ctx: &Context<'a>) -> &'a domain::engine::Engine {
    ctx.data_unchecked::<domain::engine::Engine>()
}
