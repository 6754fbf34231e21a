//! Execution events: stored with a per-execution sequence, then published in-process.
//! Subscribers that fall behind lose live events and catch up from the store, so the
//! engine never waits for them.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use entity::execution_events;
use serde_json::Value;
use tokio::sync::broadcast;

/// Live events buffered per subscriber before it counts as lagging.
const BUS_CAPACITY: usize = 8_192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ExecutionStart,
    NodeStart,
    NodeComplete,
    NodeError,
    ExecutionComplete,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ExecutionStart => "EXECUTION_START",
            EventKind::NodeStart => "NODE_START",
            EventKind::NodeComplete => "NODE_COMPLETE",
            EventKind::NodeError => "NODE_ERROR",
            EventKind::ExecutionComplete => "EXECUTION_COMPLETE",
        }
    }

    /// The inverse of [`EventKind::as_str`]; `None` for a name the engine never writes.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "EXECUTION_START" => EventKind::ExecutionStart,
            "NODE_START" => EventKind::NodeStart,
            "NODE_COMPLETE" => EventKind::NodeComplete,
            "NODE_ERROR" => EventKind::NodeError,
            "EXECUTION_COMPLETE" => EventKind::ExecutionComplete,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ExecutionEvent {
    pub execution_id: String,
    pub workflow_id: String,
    pub sequence: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// Kind-specific fields (nodeId, output, error, …) as stored in `execution_events`.
    pub payload: Value,
    /// Monotonic time right after the commit, on live events only (`None` when read back
    /// from the store). `at` is taken before the transaction starts, so in-process
    /// measurements of commit-to-delivery latency use this instead.
    pub committed: Option<Instant>,
}

impl TryFrom<execution_events::Model> for ExecutionEvent {
    type Error = crate::DomainError;

    /// A stored row as the same event subscribers receive live.
    fn try_from(row: execution_events::Model) -> Result<Self, Self::Error> {
        let kind = EventKind::parse(&row.kind).ok_or_else(|| {
            crate::DomainError::Internal(format!(
                "event {} has the unknown kind `{}`",
                row.id, row.kind
            ))
        })?;
        Ok(Self {
            execution_id: row.execution_id,
            workflow_id: row.workflow_id,
            sequence: row.sequence,
            kind,
            at: row.at,
            payload: row.payload,
            committed: None,
        })
    }
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<ExecutionEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BUS_CAPACITY);
        Self { sender }
    }
}

impl EventBus {
    /// Publishing never blocks; with no subscriber the event is simply dropped (it is
    /// already stored).
    pub fn publish(&self, event: ExecutionEvent) {
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ExecutionEvent>> {
        self.sender.subscribe()
    }

    /// Live receivers: one per open subscription.
    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}
