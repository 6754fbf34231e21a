//! The history of tool runs: one `tool_execution_logs` row for every run of a tool, from a
//! workflow (`custom` nodes, `llm-agent` tool calls) or from `testTool`.
//!
//! Rows from workflow runs are written by a background [`ToolLogWriter`] in batches, so a
//! node does not wait for its log; `testTool` writes its row before it answers, so the log
//! it returns can be read at once. Stored values are bounded: an input, output, log or
//! error over its budget is cut with a marker saying how much was left out, so a chatty
//! tool cannot fill the database. Callers redact secrets before an entry gets here.

use std::time::Duration;

use chrono::Utc;
use entity::tool_execution_logs;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{keyset, tools};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};
use crate::ids::new_id;
use crate::page::{Page, PageRequest};

/// Budget for the stored input and for the stored output, serialized.
pub const MAX_STORED_VALUE_BYTES: usize = 64 * 1024;
/// Budget for all stored log lines of one run together.
pub const MAX_STORED_LOG_BYTES: usize = 64 * 1024;
/// Budget for one stored log line.
pub const MAX_STORED_LOG_LINE_BYTES: usize = 4 * 1024;
/// Budget for a stored error message.
pub const MAX_STORED_ERROR_BYTES: usize = 8 * 1024;
/// Entries waiting for the background writer; when full, callers wait rather than drop.
const QUEUE: usize = 4_096;
/// Rows per INSERT, well under every backend's bind-parameter limit (12 columns each).
const MAX_BATCH: usize = 256;

/// One run of a tool, as it is recorded. Secrets must already be redacted.
#[derive(Debug, Clone)]
pub struct ToolLogEntry {
    pub tool_id: String,
    pub tool_version: i32,
    pub execution_id: Option<String>,
    pub node_id: Option<String>,
    pub input: Value,
    pub output: Option<Value>,
    pub logs: Vec<String>,
    pub error: Option<String>,
    pub duration: Duration,
    pub created_by: String,
}

impl ToolLogEntry {
    /// The row to insert, with sizes bounded and a fresh id.
    fn into_row(self, id: String) -> tool_execution_logs::ActiveModel {
        tool_execution_logs::ActiveModel {
            id: Set(id),
            tool_id: Set(self.tool_id),
            tool_version: Set(self.tool_version),
            execution_id: Set(self.execution_id),
            node_id: Set(self.node_id),
            input: Set(bounded_value(self.input)),
            output: Set(self.output.map(bounded_value)),
            logs: Set(Value::Array(
                bounded_logs(self.logs)
                    .into_iter()
                    .map(Value::String)
                    .collect(),
            )),
            error: Set(self
                .error
                .map(|e| truncate_text(&e, MAX_STORED_ERROR_BYTES))),
            duration_ms: Set(i64::try_from(self.duration.as_millis()).unwrap_or(i64::MAX)),
            created_by: Set(self.created_by),
            created_at: Set(Utc::now()),
        }
    }
}

/// `value`, or when its JSON is over [`MAX_STORED_VALUE_BYTES`] a marker object with the
/// start of that JSON, so the reader sees both that and how much was cut.
fn bounded_value(value: Value) -> Value {
    let text = serde_json::to_string(&value).expect("a JSON value always serializes");
    if text.len() <= MAX_STORED_VALUE_BYTES {
        return value;
    }
    json!({
        "truncated": true,
        "originalBytes": text.len(),
        // Half the budget: quotes in the preview are escaped again when it is stored.
        "preview": truncate_text(&text, MAX_STORED_VALUE_BYTES / 2),
    })
}

/// Lines cut to [`MAX_STORED_LOG_LINE_BYTES`] and, together, to [`MAX_STORED_LOG_BYTES`];
/// a last line says how many were left out.
fn bounded_logs(lines: Vec<String>) -> Vec<String> {
    let total = lines.len();
    let mut kept = Vec::new();
    let mut used = 0;
    for line in lines {
        let line = truncate_text(&line, MAX_STORED_LOG_LINE_BYTES);
        if used + line.len() > MAX_STORED_LOG_BYTES {
            break;
        }
        used += line.len();
        kept.push(line);
    }
    if kept.len() < total {
        let omitted = total - kept.len();
        kept.push(format!(
            "[weft] {omitted} more log line(s) not stored: a run keeps at most \
             {MAX_STORED_LOG_BYTES} bytes of logs"
        ));
    }
    kept
}

/// `text` cut to at most about `max` bytes on a character boundary, with a marker naming
/// the original size when anything was cut.
pub fn truncate_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [truncated, {} bytes in all]", &text[..end], text.len())
}

/// Writes log rows in the background, batching whatever is waiting into one INSERT.
/// Cloning shares the queue. A failed write is logged with the tool and row ids (never
/// the content), so no row disappears without a trace.
#[derive(Clone)]
pub struct ToolLogWriter {
    db: DatabaseConnection,
    queue: mpsc::Sender<tool_execution_logs::ActiveModel>,
}

impl std::fmt::Debug for ToolLogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolLogWriter").finish_non_exhaustive()
    }
}

impl ToolLogWriter {
    /// Starts the background task; must be called inside a Tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(drain(db.clone(), rx));
        Self { db, queue }
    }

    /// Queues `entry` and returns its row id at once; the row appears shortly after. When
    /// the queue is full this waits for room instead of dropping the entry.
    pub async fn record(&self, entry: ToolLogEntry) -> String {
        let id = new_id();
        let row = entry.into_row(id.clone());
        if let Err(e) = self.queue.send(row).await {
            log_lost(&e.0, "the tool log writer has stopped");
        }
        id
    }

    /// Queues `entry` without waiting, for callers that cannot await (a run dropped when
    /// its node timed out). A full queue hands the entry to a task that waits for room.
    pub fn record_detached(&self, entry: ToolLogEntry) -> String {
        let id = new_id();
        let row = entry.into_row(id.clone());
        match self.queue.try_send(row) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(row)) => {
                match tokio::runtime::Handle::try_current() {
                    Ok(handle) => {
                        let queue = self.queue.clone();
                        handle.spawn(async move {
                            if let Err(e) = queue.send(row).await {
                                log_lost(&e.0, "the tool log writer has stopped");
                            }
                        });
                    }
                    Err(_) => log_lost(&row, "no runtime to queue it on"),
                }
            }
            Err(mpsc::error::TrySendError::Closed(row)) => {
                log_lost(&row, "the tool log writer has stopped");
            }
        }
        id
    }

    /// Inserts `entry` now and returns the stored row.
    pub async fn write_now(&self, entry: ToolLogEntry) -> DomainResult<tool_execution_logs::Model> {
        Ok(entry.into_row(new_id()).insert(&self.db).await?)
    }
}

fn log_lost(row: &tool_execution_logs::ActiveModel, why: &str) {
    tracing::error!(
        log_id = ?row.id.as_ref(),
        tool_id = ?row.tool_id.as_ref(),
        "a tool execution log was not stored: {why}"
    );
}

async fn drain(db: DatabaseConnection, mut rx: mpsc::Receiver<tool_execution_logs::ActiveModel>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(row) => batch.push(row),
                Err(_) => break,
            }
        }
        let insert = tool_execution_logs::Entity::insert_many(batch.clone())
            .exec_without_returning(&db)
            .await;
        if insert.is_ok() {
            continue;
        }
        // One bad row (its tool deleted meanwhile) must not take its neighbours with it.
        for row in batch {
            if let Err(e) = tool_execution_logs::Entity::insert(row.clone())
                .exec_without_returning(&db)
                .await
            {
                log_lost(&row, &format!("storage failed: {e}"));
            }
        }
    }
}

/// The runs of tool `tool_id`, newest first; only its owner (or an admin) may read them.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    tool_id: &str,
    page: PageRequest,
) -> DomainResult<Page<tool_execution_logs::Model>> {
    tools::get(db, principal, tool_id).await?;
    let select = tool_execution_logs::Entity::find()
        .filter(tool_execution_logs::Column::ToolId.eq(tool_id.to_owned()));
    let rows = keyset(select, tool_execution_logs::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

/// One log row; `NotFound` unless the caller may read its tool.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<tool_execution_logs::Model> {
    let row = tool_execution_logs::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("tool execution log", id))?;
    tools::get(db, principal, &row.tool_id)
        .await
        .map_err(|e| match e {
            DomainError::NotFound { .. } => DomainError::not_found("tool execution log", id),
            other => other,
        })?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_value_is_stored_as_is() {
        let value = json!({ "a": [1, 2, 3], "b": "text" });
        assert_eq!(bounded_value(value.clone()), value);
    }

    #[test]
    fn a_huge_value_becomes_a_marker_with_its_size_and_a_preview() {
        let value = json!({ "blob": "x".repeat(MAX_STORED_VALUE_BYTES * 2) });
        let original = serde_json::to_string(&value).unwrap().len();
        let stored = bounded_value(value);
        assert_eq!(stored["truncated"], true);
        assert_eq!(stored["originalBytes"], original);
        let preview = stored["preview"].as_str().unwrap();
        assert!(preview.starts_with("{\"blob\":\"xxx"));
        assert!(serde_json::to_string(&stored).unwrap().len() <= MAX_STORED_VALUE_BYTES);
    }

    #[test]
    fn text_is_cut_on_a_character_boundary_with_a_marker() {
        let text = "ä".repeat(10);
        let cut = truncate_text(&text, 5);
        assert!(cut.starts_with("ää"), "{cut}");
        assert!(cut.ends_with("[truncated, 20 bytes in all]"), "{cut}");
        assert_eq!(truncate_text("short", 5), "short");
    }

    #[test]
    fn logs_are_bounded_per_line_and_in_total_with_a_closing_note() {
        let lines: Vec<String> = (0..10_000).map(|i| format!("line {i}")).collect();
        let kept = bounded_logs(lines);
        let total: usize = kept.iter().map(String::len).sum();
        assert!(total <= MAX_STORED_LOG_BYTES + 200, "{total}");
        assert_eq!(kept[0], "line 0");
        assert!(
            kept.last().unwrap().contains("more log line(s) not stored"),
            "{:?}",
            kept.last()
        );

        let long = vec!["y".repeat(MAX_STORED_LOG_LINE_BYTES * 3)];
        let kept = bounded_logs(long);
        assert_eq!(kept.len(), 1);
        assert!(kept[0].len() < MAX_STORED_LOG_LINE_BYTES + 100);
        assert!(kept[0].contains("truncated"));

        let few = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(bounded_logs(few.clone()), few);
    }
}
