//! Execution events: stored with a per-execution sequence, then published in-process.
//! Subscribers that fall behind lose live events and catch up from the store, so the
//! engine never waits for them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
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
}
