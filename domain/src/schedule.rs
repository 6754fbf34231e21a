//! Fires workflows whose trigger is `kind: schedule` on their cron expression.
//!
//! The schedule table is rebuilt from the stored workflows every `REFRESH` so saves,
//! deletes and new workflows take effect without a restart. Fires missed while the
//! process was down are not made up (as in n8n): a schedule is "from now on".

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::workflows;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;

const TICK: Duration = Duration::from_millis(250);
const REFRESH: Duration = Duration::from_secs(5);

/// Parses a cron expression (6 fields with seconds, or the classic 5 fields, which get
/// `0` seconds prepended).
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let normalised = if fields == 5 {
        format!("0 {expr}")
    } else {
        expr.to_owned()
    };
    cron::Schedule::from_str(&normalised)
        .map_err(|e| format!("`{expr}` is not a cron expression: {e}"))
}

/// The cron expression of a document's schedule trigger, if it has one.
pub fn schedule_of(document: &Value) -> Option<&str> {
    document["nodes"].as_array()?.iter().find_map(|node| {
        (node["type"] == "trigger" && node["config"]["kind"] == "schedule")
            .then(|| node["config"]["cron"].as_str())
            .flatten()
    })
}

struct Entry {
    version: i32,
    schedule: cron::Schedule,
    next: Option<DateTime<Utc>>,
}

/// Runs until `stop` is cancelled.
pub async fn run_scheduler(db: DatabaseConnection, engine: Engine, stop: CancellationToken) {
    let mut entries: HashMap<String, Entry> = HashMap::new();
    let mut last_refresh: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        if last_refresh.is_none_or(|t| t.elapsed() >= REFRESH) {
            if let Err(e) = refresh(&db, &mut entries).await {
                tracing::warn!(error = %e, "refreshing schedules");
            }
            last_refresh = Some(tokio::time::Instant::now());
        }
        let now = Utc::now();
        for (workflow_id, entry) in entries.iter_mut() {
            let Some(next) = entry.next else { continue };
            if next > now {
                continue;
            }
            entry.next = entry.schedule.after(&now).next();
            let engine = engine.clone();
            let workflow_id = workflow_id.clone();
            let input = serde_json::json!({ "firedAt": next.to_rfc3339() });
            tokio::spawn(async move {
                if let Err(e) = engine.execute_scheduled(&workflow_id, input).await {
                    tracing::warn!(workflow = %workflow_id, error = %e, "scheduled run did not start");
                }
            });
        }
    }
}

async fn refresh(
    db: &DatabaseConnection,
    entries: &mut HashMap<String, Entry>,
) -> Result<(), sea_orm::DbErr> {
    let rows: Vec<(String, i32, Value)> = workflows::Entity::find()
        .select_only()
        .columns([
            workflows::Column::Id,
            workflows::Column::Version,
            workflows::Column::Document,
        ])
        .filter(workflows::Column::Id.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut seen = Vec::with_capacity(rows.len());
    for (id, version, document) in rows {
        let Some(expr) = schedule_of(&document) else {
            continue;
        };
        seen.push(id.clone());
        if entries.get(&id).is_some_and(|e| e.version == version) {
            continue;
        }
        match parse_cron(expr) {
            Ok(schedule) => {
                let next = schedule.upcoming(Utc).next();
                entries.insert(
                    id,
                    Entry {
                        version,
                        schedule,
                        next,
                    },
                );
            }
            Err(e) => tracing::warn!(workflow = %id, error = %e, "ignoring an invalid schedule"),
        }
    }
    entries.retain(|id, _| seen.contains(id));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn five_and_six_field_cron_expressions_are_accepted() {
        assert!(parse_cron("*/5 * * * *").is_ok());
        assert!(parse_cron("*/2 * * * * *").is_ok());
        assert!(parse_cron("every tuesday").is_err());
    }

    #[test]
    fn a_schedule_fires_at_its_next_matching_second() {
        let schedule = parse_cron("*/2 * * * * *").unwrap();
        let from = DateTime::parse_from_rfc3339("2026-01-01T00:00:01Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = schedule.after(&from).next().unwrap();
        assert_eq!(next.to_rfc3339(), "2026-01-01T00:00:02+00:00");
    }

    #[test]
    fn only_schedule_triggers_have_a_schedule() {
        let doc = json!({ "nodes": [ { "type": "trigger", "config": { "kind": "schedule", "cron": "* * * * *" } } ] });
        assert_eq!(schedule_of(&doc), Some("* * * * *"));
        let manual = json!({ "nodes": [ { "type": "trigger", "config": { "kind": "manual" } } ] });
        assert_eq!(schedule_of(&manual), None);
    }
}
