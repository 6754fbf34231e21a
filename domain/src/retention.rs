//! Retention: deletes old executions so the history does not grow without bound.
//!
//! Only finished executions (succeeded, failed, cancelled) are ever deleted; a running or
//! pending one stays whatever its age. Node runs and events go with their execution
//! (`ON DELETE CASCADE`). Deletes run in small batches, each its own transaction, so the
//! engine's writers never wait long behind the pruner (on SQLite there is one writer).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{workflow_executions, workflows};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use tokio_util::sync::CancellationToken;

use crate::error::DomainResult;

/// Executions deleted per statement (and transaction).
pub const DELETE_BATCH: u64 = 500;
/// How often the server prunes after its first pass at start-up.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3_600);
/// Statuses the pruner may delete.
const FINISHED: [&str; 3] = ["succeeded", "failed", "cancelled"];
/// Workflows examined per query when enforcing the per-workflow limit.
const WORKFLOW_PAGE: u64 = 500;

/// What to keep. The default keeps everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Delete finished executions that started more than this many days ago.
    pub max_age_days: Option<u32>,
    /// Keep at most this many (at least 1) of each workflow's newest executions; running
    /// ones are kept beyond it.
    pub max_per_workflow: Option<u64>,
}

impl RetentionPolicy {
    /// Whether there is anything to prune.
    pub fn is_enabled(&self) -> bool {
        self.max_age_days.is_some() || self.max_per_workflow.is_some()
    }
}

/// How many executions one pass deleted, by rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub expired: u64,
    pub over_limit: u64,
}

async fn delete_batch(db: &DatabaseConnection, ids: Vec<String>) -> DomainResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let result = workflow_executions::Entity::delete_many()
        .filter(workflow_executions::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

async fn prune_expired(
    db: &DatabaseConnection,
    max_age_days: u32,
    now: DateTime<Utc>,
) -> DomainResult<u64> {
    let cutoff = now - chrono::Duration::days(i64::from(max_age_days));
    let mut deleted = 0;
    loop {
        let ids: Vec<String> = workflow_executions::Entity::find()
            .select_only()
            .column(workflow_executions::Column::Id)
            .filter(workflow_executions::Column::StartedAt.lt(cutoff))
            .filter(workflow_executions::Column::Status.is_in(FINISHED))
            .limit(DELETE_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let full = ids.len() as u64 == DELETE_BATCH;
        deleted += delete_batch(db, ids).await?;
        if !full {
            return Ok(deleted);
        }
    }
}

async fn prune_workflow(
    db: &DatabaseConnection,
    workflow_id: &str,
    keep: u64,
) -> DomainResult<u64> {
    // The oldest execution that is kept; everything finished below it goes.
    let oldest_kept: Option<String> = workflow_executions::Entity::find()
        .select_only()
        .column(workflow_executions::Column::Id)
        .filter(workflow_executions::Column::WorkflowId.eq(workflow_id))
        .order_by_desc(workflow_executions::Column::Id)
        .offset(keep.saturating_sub(1))
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let Some(oldest_kept) = oldest_kept else {
        return Ok(0);
    };
    let mut deleted = 0;
    loop {
        let ids: Vec<String> = workflow_executions::Entity::find()
            .select_only()
            .column(workflow_executions::Column::Id)
            .filter(workflow_executions::Column::WorkflowId.eq(workflow_id))
            .filter(workflow_executions::Column::Status.is_in(FINISHED))
            .filter(workflow_executions::Column::Id.lt(oldest_kept.clone()))
            .limit(DELETE_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let full = ids.len() as u64 == DELETE_BATCH;
        deleted += delete_batch(db, ids).await?;
        if !full {
            return Ok(deleted);
        }
    }
}

async fn prune_over_limit(db: &DatabaseConnection, keep: u64) -> DomainResult<u64> {
    let mut deleted = 0;
    let mut after: Option<String> = None;
    loop {
        let mut select = workflows::Entity::find()
            .select_only()
            .column(workflows::Column::Id)
            .order_by_asc(workflows::Column::Id)
            .limit(WORKFLOW_PAGE);
        if let Some(after) = &after {
            select = select.filter(workflows::Column::Id.gt(after.clone()));
        }
        let ids: Vec<String> = select.into_tuple().all(db).await?;
        for id in &ids {
            deleted += prune_workflow(db, id, keep).await?;
        }
        if (ids.len() as u64) < WORKFLOW_PAGE {
            return Ok(deleted);
        }
        after = ids.last().cloned();
    }
}

/// One pass of `policy` as of `now`.
pub async fn prune(
    db: &DatabaseConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> DomainResult<PruneReport> {
    let mut report = PruneReport::default();
    if let Some(days) = policy.max_age_days {
        report.expired = prune_expired(db, days, now).await?;
    }
    if let Some(keep) = policy.max_per_workflow {
        report.over_limit = prune_over_limit(db, keep).await?;
    }
    Ok(report)
}

/// Prunes now and then every [`PRUNE_INTERVAL`] until `stop` is cancelled. On SQLite each
/// pass ends with `PRAGMA optimize`, which refreshes the planner's statistics when they
/// have drifted (PostgreSQL's autovacuum does that by itself).
pub async fn run_pruner(db: DatabaseConnection, policy: RetentionPolicy, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if policy.is_enabled() {
            match prune(&db, &policy, Utc::now()).await {
                Ok(report) if report != PruneReport::default() => tracing::info!(
                    expired = report.expired,
                    over_limit = report.over_limit,
                    "pruned execution history"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "pruning execution history"),
            }
        }
        if db.get_database_backend() == DbBackend::Sqlite
            && let Err(error) = db.execute_unprepared("PRAGMA optimize=0x10002").await
        {
            tracing::warn!(%error, "PRAGMA optimize");
        }
    }
}
