//! Waiting for an execution to finish: the engine announces `EXECUTION_COMPLETE` after
//! committing it, so the event is the cue and the stored row the answer.

use std::sync::Arc;
use std::time::Duration;

use domain::engine::{EventKind, ExecutionEvent};
use entity::workflow_executions;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::time::Instant;

/// How often the row is read when the event stream cannot be relied on (lagged or closed).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

pub struct Waiter {
    db: DatabaseConnection,
    events: Receiver<Arc<ExecutionEvent>>,
    execution_id: String,
}

impl Waiter {
    /// `events` must have been subscribed before the execution started.
    pub fn new(
        db: DatabaseConnection,
        events: Receiver<Arc<ExecutionEvent>>,
        execution_id: String,
    ) -> Self {
        Self {
            db,
            events,
            execution_id,
        }
    }

    /// The finished execution, or `None` if it is still running after `limit`.
    pub async fn finished_within(
        &mut self,
        limit: Duration,
    ) -> Result<Option<workflow_executions::Model>, DbErr> {
        let deadline = Instant::now() + limit;
        loop {
            let cue = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Err(_) => return Ok(None),
                Ok(Ok(event)) => {
                    event.execution_id == self.execution_id
                        && event.kind == EventKind::ExecutionComplete
                }
                // Missed events may include ours: the row decides.
                Ok(Err(RecvError::Lagged(_))) => true,
                Ok(Err(RecvError::Closed)) => {
                    tokio::time::sleep_until(deadline.min(Instant::now() + POLL_INTERVAL)).await;
                    true
                }
            };
            if cue && let Some(row) = self.finished_row().await? {
                return Ok(Some(row));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    async fn finished_row(&self) -> Result<Option<workflow_executions::Model>, DbErr> {
        let row = workflow_executions::Entity::find_by_id(self.execution_id.clone())
            .one(&self.db)
            .await?;
        Ok(row.filter(|r| !matches!(r.status.as_str(), "running" | "pending")))
    }
}
