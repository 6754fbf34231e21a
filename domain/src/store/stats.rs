//! Workflow statistics: how often a workflow ran, how its runs ended, and how long they
//! and each of their nodes took.
//!
//! The run counts are exact, counted in SQL over an index. Durations need the values
//! themselves, so the percentiles are computed in Rust over the newest [`STATS_SAMPLE`]
//! executions in the window, and the per-node figures, which need every attempt's row,
//! over the newest executions holding about [`NODE_ATTEMPT_SAMPLE`] attempts: the cost
//! of one call stays bounded however long the workflow has been running.

use chrono::{DateTime, Utc};
use entity::{node_executions, workflow_executions};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::executions::{ID_CLOCK_SLACK, with_custom_plans};
use crate::access::{WorkflowRole, require_workflow};
use crate::auth::Principal;
use crate::error::DomainResult;
use crate::ids::id_floor;

/// Newest executions whose durations the percentiles are computed from.
pub const STATS_SAMPLE: u64 = 10_000;
/// About how many node attempts (rows) the per-node figures are computed from.
pub const NODE_ATTEMPT_SAMPLE: u64 = 10_000;

/// One node's attempts within the sample.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStats {
    pub node_id: String,
    pub node_type: String,
    /// Attempts (retries count one each); skipped nodes did not run and are not counted.
    pub runs: u64,
    pub failures: u64,
    /// Over attempts that finished (succeeded or failed), in milliseconds.
    pub duration_p50_ms: Option<i64>,
    pub duration_p95_ms: Option<i64>,
}

/// How one workflow's executions went; see the module documentation for what is exact
/// and what is sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowStats {
    pub runs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Pending or running now.
    pub in_progress: u64,
    /// Succeeded over finished (succeeded, failed or cancelled); `None` before any finished.
    pub success_rate: Option<f64>,
    pub duration_p50_ms: Option<i64>,
    pub duration_p95_ms: Option<i64>,
    /// How many of the newest executions the duration percentiles cover.
    pub sample_size: u64,
    /// How many of the newest executions `nodes` covers.
    pub node_sample_size: u64,
    /// Sorted by node id.
    pub nodes: Vec<NodeStats>,
}

/// The `p`-th percentile (nearest rank) of `sorted`, which must be sorted ascending.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn window(workflow_id: &str, since: Option<DateTime<Utc>>) -> Condition {
    let mut condition =
        Condition::all().add(workflow_executions::Column::WorkflowId.eq(workflow_id));
    if let Some(since) = since {
        // The id bound only narrows the index range; `started_at` decides (see
        // `executions::base_condition`).
        condition = condition
            .add(workflow_executions::Column::Id.gte(id_floor(since - ID_CLOCK_SLACK)))
            .add(workflow_executions::Column::StartedAt.gte(since));
    }
    condition
}

/// Statistics of one workflow's executions started at or after `since` (all when `None`).
/// Needs viewer access.
pub async fn workflow_stats(
    db: &DatabaseConnection,
    principal: &Principal,
    workflow_id: &str,
    since: Option<DateTime<Utc>>,
) -> DomainResult<WorkflowStats> {
    if db.get_database_backend() != DbBackend::Postgres {
        return stats_on(db, principal, workflow_id, since).await;
    }
    let txn = with_custom_plans(db).await?;
    let stats = stats_on(&txn, principal, workflow_id, since).await?;
    txn.commit().await?;
    Ok(stats)
}

async fn stats_on(
    db: &impl ConnectionTrait,
    principal: &Principal,
    workflow_id: &str,
    since: Option<DateTime<Utc>>,
) -> DomainResult<WorkflowStats> {
    let (workflow, _) = require_workflow(db, principal, workflow_id, WorkflowRole::Viewer).await?;
    let counts: Vec<(String, i64)> = workflow_executions::Entity::find()
        .select_only()
        .column(workflow_executions::Column::Status)
        .column_as(
            Expr::expr(Func::count(Expr::col(workflow_executions::Column::Id))),
            "n",
        )
        .filter(window(workflow_id, since))
        .group_by(workflow_executions::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let count = |status: &str| {
        counts
            .iter()
            .filter(|(s, _)| s == status)
            .map(|(_, n)| *n as u64)
            .sum::<u64>()
    };
    let (succeeded, failed, cancelled) = (count("succeeded"), count("failed"), count("cancelled"));
    let in_progress = count("running") + count("pending");
    let finished = succeeded + failed + cancelled;

    let sampled: Vec<(String, String, Option<i64>)> = workflow_executions::Entity::find()
        .select_only()
        .columns([
            workflow_executions::Column::Id,
            workflow_executions::Column::Status,
            workflow_executions::Column::DurationMs,
        ])
        .filter(window(workflow_id, since))
        .order_by_desc(workflow_executions::Column::Id)
        .limit(STATS_SAMPLE)
        .into_tuple()
        .all(db)
        .await?;
    let mut durations: Vec<i64> = sampled
        .iter()
        .filter(|(_, status, _)| matches!(status.as_str(), "succeeded" | "failed" | "cancelled"))
        .filter_map(|(_, _, ms)| *ms)
        .collect();
    durations.sort_unstable();
    // Node figures come from the newest executions that together hold about
    // NODE_ATTEMPT_SAMPLE attempts, judged by the workflow's current node count.
    let nodes_per_run = workflow.document["nodes"]
        .as_array()
        .map_or(1, |nodes| nodes.len().max(1)) as u64;
    let node_sample = (NODE_ATTEMPT_SAMPLE / nodes_per_run).clamp(1, STATS_SAMPLE) as usize;
    let node_sample_size = sampled.len().min(node_sample) as u64;
    let oldest_sampled = sampled
        .get(node_sample.min(sampled.len()).saturating_sub(1))
        .map(|(id, _, _)| id.clone())
        .unwrap_or_default();
    let sample_ids = workflow_executions::Entity::find()
        .select_only()
        .column(workflow_executions::Column::Id)
        .filter(window(workflow_id, since))
        .filter(workflow_executions::Column::Id.gte(oldest_sampled))
        .into_query();

    let attempts: Vec<(String, String, String, Option<i64>)> = node_executions::Entity::find()
        .select_only()
        .columns([
            node_executions::Column::NodeId,
            node_executions::Column::NodeType,
            node_executions::Column::Status,
            node_executions::Column::DurationMs,
        ])
        .filter(node_executions::Column::ExecutionId.in_subquery(sample_ids))
        .filter(node_executions::Column::Status.ne("skipped"))
        .into_tuple()
        .all(db)
        .await?;
    let mut by_node: std::collections::BTreeMap<String, (String, u64, u64, Vec<i64>)> =
        Default::default();
    for (node_id, node_type, status, duration) in attempts {
        let entry = by_node
            .entry(node_id)
            .or_insert_with(|| (node_type, 0, 0, Vec::new()));
        entry.1 += 1;
        if status == "failed" {
            entry.2 += 1;
        }
        if matches!(status.as_str(), "succeeded" | "failed")
            && let Some(ms) = duration
        {
            entry.3.push(ms);
        }
    }
    let nodes = by_node
        .into_iter()
        .map(|(node_id, (node_type, runs, failures, mut durations))| {
            durations.sort_unstable();
            NodeStats {
                node_id,
                node_type,
                runs,
                failures,
                duration_p50_ms: percentile(&durations, 50.0),
                duration_p95_ms: percentile(&durations, 95.0),
            }
        })
        .collect();
    Ok(WorkflowStats {
        runs: finished + in_progress,
        succeeded,
        failed,
        cancelled,
        in_progress,
        success_rate: (finished > 0).then(|| succeeded as f64 / finished as f64),
        duration_p50_ms: percentile(&durations, 50.0),
        duration_p95_ms: percentile(&durations, 95.0),
        sample_size: sampled.len() as u64,
        node_sample_size,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 95.0), Some(95));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
