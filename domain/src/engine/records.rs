//! The durable record of one execution: node attempts and events. Every state change is
//! committed (through the group-commit [`Writer`]) before it is announced, and the
//! sequence is assigned under one lock per execution so events are stored and published
//! in the same order.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{execution_events, node_executions, workflow_executions};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::events::{EventBus, EventKind, ExecutionEvent};
use super::writer::Writer;
use crate::error::DomainResult;
use crate::ids::new_id;
use crate::node_error::{NodeErrorCode, NodeErrorDetail};
use crate::workflow::Node;

pub struct Recorder {
    writer: Writer,
    bus: EventBus,
    pub execution_id: String,
    pub workflow_id: String,
    next_sequence: Mutex<i64>,
}

pub fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

/// Timestamps are written exactly as sqlx encodes them (RFC 3339), so rows written here
/// and rows written through sea-orm compare and sort alike on SQLite, where they are text.
fn ts(at: DateTime<Utc>) -> SimpleExpr {
    Expr::val(at.to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

fn json_val(value: Option<&Value>) -> SimpleExpr {
    match value {
        Some(v) => Expr::val(sea_orm::sea_query::Value::Json(Some(Box::new(v.clone())))),
        None => Expr::val(sea_orm::sea_query::Value::Json(None)),
    }
}

fn text(value: Option<&str>) -> SimpleExpr {
    Expr::val(value.map(str::to_owned))
}

impl Recorder {
    /// For a new execution (sequence starts at 1) or one being resumed (continues after
    /// the last stored event).
    pub async fn open(
        db: &DatabaseConnection,
        writer: Writer,
        bus: EventBus,
        execution_id: String,
        workflow_id: String,
    ) -> DomainResult<Self> {
        let last = execution_events::Entity::find()
            .select_only()
            .column(execution_events::Column::Sequence)
            .filter(execution_events::Column::ExecutionId.eq(&execution_id))
            .order_by_desc(execution_events::Column::Sequence)
            .into_tuple::<i64>()
            .one(db)
            .await?
            .unwrap_or(0);
        Ok(Self {
            writer,
            bus,
            execution_id,
            workflow_id,
            next_sequence: Mutex::new(last + 1),
        })
    }

    /// Commits `changes` together with the event, and only then publishes it.
    async fn commit_with_event(
        &self,
        kind: EventKind,
        payload: Value,
        mut changes: Vec<String>,
    ) -> DomainResult<()> {
        let mut next = self.next_sequence.lock().await;
        let at = Utc::now();
        let event = Query::insert()
            .into_table(execution_events::Entity)
            .columns([
                execution_events::Column::Id,
                execution_events::Column::ExecutionId,
                execution_events::Column::WorkflowId,
                execution_events::Column::Sequence,
                execution_events::Column::Kind,
                execution_events::Column::Payload,
                execution_events::Column::At,
            ])
            .values_panic([
                Expr::val(new_id()),
                Expr::val(self.execution_id.clone()),
                Expr::val(self.workflow_id.clone()),
                Expr::val(*next),
                Expr::val(kind.as_str()),
                json_val(Some(&payload)),
                ts(at),
            ])
            .to_owned();
        changes.push(self.writer.render(&event));
        self.writer.commit(changes).await?;
        self.bus.publish(ExecutionEvent {
            execution_id: self.execution_id.clone(),
            workflow_id: self.workflow_id.clone(),
            sequence: *next,
            kind,
            at,
            payload,
            committed: Some(std::time::Instant::now()),
        });
        *next += 1;
        Ok(())
    }

    /// Creates the execution row and its `EXECUTION_START` event in one transaction.
    pub async fn create_execution(&self, row: workflow_executions::Model) -> DomainResult<()> {
        let insert = Query::insert()
            .into_table(workflow_executions::Entity)
            .columns([
                workflow_executions::Column::Id,
                workflow_executions::Column::WorkflowId,
                workflow_executions::Column::WorkflowVersion,
                workflow_executions::Column::StartedBy,
                workflow_executions::Column::Status,
                workflow_executions::Column::TriggerKind,
                workflow_executions::Column::Input,
                workflow_executions::Column::ReplayOf,
                workflow_executions::Column::StartedAt,
                workflow_executions::Column::CreatedAt,
            ])
            .values_panic([
                Expr::val(row.id.clone()),
                Expr::val(row.workflow_id.clone()),
                Expr::val(row.workflow_version),
                Expr::val(row.started_by.clone()),
                Expr::val(row.status.clone()),
                Expr::val(row.trigger_kind.clone()),
                json_val(Some(&row.input)),
                text(row.replay_of.as_deref()),
                ts(row.started_at),
                ts(row.created_at),
            ])
            .to_owned();
        let payload = json!({ "input": row.input });
        self.commit_with_event(
            EventKind::ExecutionStart,
            payload,
            vec![self.writer.render(&insert)],
        )
        .await
    }

    fn insert_node_row(
        &self,
        row_id: &str,
        node: &Node,
        attempt: u32,
        status: &str,
        input: Option<&Value>,
        finished: bool,
    ) -> String {
        let now = Utc::now();
        let insert = Query::insert()
            .into_table(node_executions::Entity)
            .columns([
                node_executions::Column::Id,
                node_executions::Column::ExecutionId,
                node_executions::Column::NodeId,
                node_executions::Column::NodeType,
                node_executions::Column::Attempt,
                node_executions::Column::Status,
                node_executions::Column::Input,
                node_executions::Column::StartedAt,
                node_executions::Column::FinishedAt,
                node_executions::Column::DurationMs,
            ])
            .values_panic([
                Expr::val(row_id.to_owned()),
                Expr::val(self.execution_id.clone()),
                Expr::val(node.id().as_str().to_owned()),
                Expr::val(node.node_type().to_owned()),
                Expr::val(attempt as i32),
                Expr::val(status.to_owned()),
                json_val(input),
                ts(now),
                if finished {
                    ts(now)
                } else {
                    Expr::val(Option::<String>::None)
                },
                if finished {
                    Expr::val(0i64)
                } else {
                    Expr::val(Option::<i64>::None)
                },
            ])
            .to_owned();
        self.writer.render(&insert)
    }

    pub async fn node_started(
        &self,
        node: &Node,
        attempt: u32,
        input: Option<&Value>,
    ) -> DomainResult<String> {
        let row_id = new_id();
        let insert = self.insert_node_row(&row_id, node, attempt, "running", input, false);
        let payload =
            json!({ "nodeId": node.id().as_str(), "nodeName": node.name(), "attempt": attempt });
        self.commit_with_event(EventKind::NodeStart, payload, vec![insert])
            .await?;
        Ok(row_id)
    }

    pub async fn node_completed(
        &self,
        row_id: &str,
        node: &Node,
        output: &Value,
        handle: &str,
        duration: Duration,
    ) -> DomainResult<()> {
        let update = self.finish_row(
            row_id,
            "succeeded",
            Some(output),
            None,
            Some(handle),
            duration,
        );
        let payload = json!({ "nodeId": node.id().as_str(), "output": output, "durationMs": millis(duration), "handle": handle });
        self.commit_with_event(EventKind::NodeComplete, payload, vec![update])
            .await
    }

    /// `handle` is `Some("error")` when this was the last attempt and the run continues
    /// on the node's error edge; resuming routes by it. `retry_in` is the wait before the
    /// next attempt, `None` when there is none.
    #[allow(clippy::too_many_arguments)]
    pub async fn node_failed(
        &self,
        row_id: &str,
        node: &Node,
        attempt: u32,
        error: &NodeErrorDetail,
        retry_in: Option<Duration>,
        handle: Option<&str>,
        duration: Duration,
    ) -> DomainResult<()> {
        let update = self.finish_row(row_id, "failed", None, Some(error), handle, duration);
        let mut payload = json!({
            "nodeId": node.id().as_str(),
            "error": error.message,
            "errorCode": error.code,
            "attempt": attempt,
            "willRetry": retry_in.is_some(),
            "durationMs": millis(duration),
        });
        if let Some(wait) = retry_in {
            payload["retryDelayMs"] = json!(millis(wait));
        }
        self.commit_with_event(EventKind::NodeError, payload, vec![update])
            .await
    }

    pub async fn node_cancelled(&self, row_id: &str, duration: Duration) -> DomainResult<()> {
        let cancelled = NodeErrorDetail {
            code: NodeErrorCode::Cancelled,
            message: "cancelled by stopExecution".to_owned(),
            retryable: false,
            cause: Vec::new(),
        };
        let update = self.finish_row(row_id, "cancelled", None, Some(&cancelled), None, duration);
        Ok(self.writer.commit(vec![update]).await?)
    }

    /// A node none of whose incoming paths was taken. Stored (without an event) so the
    /// timeline shows it and a resumed run does not reconsider it.
    pub async fn node_skipped(&self, node: &Node) -> DomainResult<()> {
        let insert = self.insert_node_row(&new_id(), node, 0, "skipped", None, true);
        Ok(self.writer.commit(vec![insert]).await?)
    }

    pub async fn execution_finished(
        &self,
        status: &str,
        output: Option<Value>,
        error: Option<String>,
        total: Duration,
    ) -> DomainResult<()> {
        let total_ms = millis(total);
        let update = Query::update()
            .table(workflow_executions::Entity)
            .value(
                workflow_executions::Column::Status,
                Expr::val(status.to_owned()),
            )
            .value(
                workflow_executions::Column::Output,
                json_val(output.as_ref()),
            )
            .value(workflow_executions::Column::Error, text(error.as_deref()))
            .value(workflow_executions::Column::FinishedAt, ts(Utc::now()))
            .value(workflow_executions::Column::DurationMs, Expr::val(total_ms))
            .and_where(Expr::col(workflow_executions::Column::Id).eq(self.execution_id.clone()))
            .to_owned();
        let payload = json!({ "status": status, "totalDurationMs": total_ms, "error": error });
        self.commit_with_event(
            EventKind::ExecutionComplete,
            payload,
            vec![self.writer.render(&update)],
        )
        .await
    }

    fn finish_row(
        &self,
        row_id: &str,
        status: &str,
        output: Option<&Value>,
        error: Option<&NodeErrorDetail>,
        handle: Option<&str>,
        duration: Duration,
    ) -> String {
        let update = Query::update()
            .table(node_executions::Entity)
            .value(
                node_executions::Column::Status,
                Expr::val(status.to_owned()),
            )
            .value(node_executions::Column::Output, json_val(output))
            .value(
                node_executions::Column::Error,
                text(error.map(|e| e.message.as_str())),
            )
            .value(
                node_executions::Column::ErrorDetail,
                json_val(error.map(NodeErrorDetail::to_stored).as_ref()),
            )
            .value(node_executions::Column::Handle, text(handle))
            .value(node_executions::Column::FinishedAt, ts(Utc::now()))
            .value(
                node_executions::Column::DurationMs,
                Expr::val(millis(duration)),
            )
            .and_where(Expr::col(node_executions::Column::Id).eq(row_id.to_owned()))
            .to_owned();
        self.writer.render(&update)
    }
}
