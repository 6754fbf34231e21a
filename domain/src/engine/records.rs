//! The durable record of one execution: node attempts and events. Every state change is
//! committed before it is announced, and the sequence is assigned under one lock per
//! execution so events are stored and published in the same order.

use std::time::Duration;

use chrono::Utc;
use entity::{execution_events, node_executions, workflow_executions};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::events::{EventBus, EventKind, ExecutionEvent};
use crate::error::DomainResult;
use crate::ids::new_id;
use crate::workflow::Node;

pub struct Recorder {
    db: DatabaseConnection,
    bus: EventBus,
    pub execution_id: String,
    pub workflow_id: String,
    next_sequence: Mutex<i64>,
}

pub fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl Recorder {
    /// For a new execution (sequence starts at 1) or one being resumed (continues after
    /// the last stored event).
    pub async fn open(
        db: DatabaseConnection,
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
            .one(&db)
            .await?
            .unwrap_or(0);
        Ok(Self {
            db,
            bus,
            execution_id,
            workflow_id,
            next_sequence: Mutex::new(last + 1),
        })
    }

    /// Runs `change`, stores the event, commits, and only then publishes.
    async fn commit_with_event<F>(
        &self,
        kind: EventKind,
        payload: Value,
        change: F,
    ) -> DomainResult<()>
    where
        F: for<'t> FnOnce(
                &'t DatabaseTransaction,
            )
                -> futures::future::BoxFuture<'t, Result<(), sea_orm::DbErr>>
            + Send,
    {
        let mut next = self.next_sequence.lock().await;
        let at = Utc::now();
        let txn = self.db.begin().await?;
        change(&txn).await?;
        execution_events::ActiveModel {
            id: Set(new_id()),
            execution_id: Set(self.execution_id.clone()),
            workflow_id: Set(self.workflow_id.clone()),
            sequence: Set(*next),
            kind: Set(kind.as_str().to_owned()),
            payload: Set(payload.clone()),
            at: Set(at),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        self.bus.publish(ExecutionEvent {
            execution_id: self.execution_id.clone(),
            workflow_id: self.workflow_id.clone(),
            sequence: *next,
            kind,
            at,
            payload,
        });
        *next += 1;
        Ok(())
    }

    /// Creates the execution row and its `EXECUTION_START` event in one transaction.
    pub async fn create_execution(
        &self,
        row: workflow_executions::ActiveModel,
        input: &Value,
    ) -> DomainResult<()> {
        let payload = json!({ "input": input });
        self.commit_with_event(EventKind::ExecutionStart, payload, move |txn| {
            Box::pin(async move {
                row.insert(txn).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn node_started(
        &self,
        node: &Node,
        attempt: u32,
        input: Option<&Value>,
    ) -> DomainResult<String> {
        let row_id = new_id();
        let row = node_executions::ActiveModel {
            id: Set(row_id.clone()),
            execution_id: Set(self.execution_id.clone()),
            node_id: Set(node.id().as_str().to_owned()),
            node_type: Set(node.node_type().to_owned()),
            attempt: Set(attempt as i32),
            status: Set("running".into()),
            input: Set(input.cloned()),
            output: Set(None),
            error: Set(None),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            duration_ms: Set(None),
            handle: Set(None),
        };
        let payload =
            json!({ "nodeId": node.id().as_str(), "nodeName": node.name(), "attempt": attempt });
        self.commit_with_event(EventKind::NodeStart, payload, move |txn| {
            Box::pin(async move {
                row.insert(txn).await?;
                Ok(())
            })
        })
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
        let update = finish_row(
            row_id,
            "succeeded",
            Some(output.clone()),
            None,
            Some(handle),
            duration,
        );
        let payload = json!({ "nodeId": node.id().as_str(), "output": output, "durationMs": millis(duration), "handle": handle });
        self.commit_with_event(EventKind::NodeComplete, payload, move |txn| {
            Box::pin(async move { update.exec(txn).await.map(|_| ()) })
        })
        .await
    }

    /// `handle` is `Some("error")` when this was the last attempt and the run continues
    /// on the node's error edge; resuming routes by it.
    #[allow(clippy::too_many_arguments)]
    pub async fn node_failed(
        &self,
        row_id: &str,
        node: &Node,
        attempt: u32,
        error: &str,
        will_retry: bool,
        handle: Option<&str>,
        duration: Duration,
    ) -> DomainResult<()> {
        let update = finish_row(row_id, "failed", None, Some(error), handle, duration);
        let payload = json!({ "nodeId": node.id().as_str(), "error": error, "attempt": attempt, "willRetry": will_retry, "durationMs": millis(duration) });
        self.commit_with_event(EventKind::NodeError, payload, move |txn| {
            Box::pin(async move { update.exec(txn).await.map(|_| ()) })
        })
        .await
    }

    pub async fn node_cancelled(&self, row_id: &str, duration: Duration) -> DomainResult<()> {
        finish_row(
            row_id,
            "cancelled",
            None,
            Some("cancelled by stopExecution"),
            None,
            duration,
        )
        .exec(&self.db)
        .await?;
        Ok(())
    }

    /// A node none of whose incoming paths was taken. Stored (without an event) so the
    /// timeline shows it and a resumed run does not reconsider it.
    pub async fn node_skipped(&self, node: &Node) -> DomainResult<()> {
        let now = Utc::now();
        node_executions::ActiveModel {
            id: Set(new_id()),
            execution_id: Set(self.execution_id.clone()),
            node_id: Set(node.id().as_str().to_owned()),
            node_type: Set(node.node_type().to_owned()),
            attempt: Set(0),
            status: Set("skipped".into()),
            input: Set(None),
            output: Set(None),
            error: Set(None),
            started_at: Set(now),
            finished_at: Set(Some(now)),
            duration_ms: Set(Some(0)),
            handle: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    pub async fn execution_finished(
        &self,
        status: &str,
        output: Option<Value>,
        error: Option<String>,
        total: Duration,
    ) -> DomainResult<()> {
        let execution_id = self.execution_id.clone();
        let status_owned = status.to_owned();
        let total_ms = millis(total);
        let payload = json!({ "status": status, "totalDurationMs": total_ms, "error": error });
        self.commit_with_event(EventKind::ExecutionComplete, payload, move |txn| {
            // Write-only on purpose: on SQLite a transaction that reads first and writes
            // later fails with SQLITE_BUSY when another writer committed in between.
            use sea_orm::sea_query::Expr;
            Box::pin(async move {
                workflow_executions::Entity::update_many()
                    .col_expr(
                        workflow_executions::Column::Status,
                        Expr::value(status_owned),
                    )
                    .col_expr(workflow_executions::Column::Output, Expr::value(output))
                    .col_expr(workflow_executions::Column::Error, Expr::value(error))
                    .col_expr(
                        workflow_executions::Column::FinishedAt,
                        Expr::value(Utc::now()),
                    )
                    .col_expr(
                        workflow_executions::Column::DurationMs,
                        Expr::value(total_ms),
                    )
                    .filter(workflow_executions::Column::Id.eq(execution_id))
                    .exec(txn)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}

fn finish_row(
    row_id: &str,
    status: &str,
    output: Option<Value>,
    error: Option<&str>,
    handle: Option<&str>,
    duration: Duration,
) -> sea_orm::UpdateMany<node_executions::Entity> {
    use sea_orm::sea_query::Expr;
    node_executions::Entity::update_many()
        .col_expr(node_executions::Column::Status, Expr::value(status))
        .col_expr(node_executions::Column::Output, Expr::value(output))
        .col_expr(
            node_executions::Column::Error,
            Expr::value(error.map(str::to_owned)),
        )
        .col_expr(
            node_executions::Column::Handle,
            Expr::value(handle.map(str::to_owned)),
        )
        .col_expr(node_executions::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(
            node_executions::Column::DurationMs,
            Expr::value(millis(duration)),
        )
        .filter(node_executions::Column::Id.eq(row_id))
}
