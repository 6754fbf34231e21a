//! Workflow statistics: run counts, success rate, and duration percentiles per workflow and
//! per node.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::store::stats::{self as store, NodeStats as DomainNodeStats};

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, decode, encode};

/// One node's attempts among the sampled executions.
#[derive(SimpleObject)]
pub struct NodeStats {
    pub node_id: String,
    pub node_type: String,
    /// Attempts: a node retried twice counts three. Skipped nodes are not counted.
    pub runs: i64,
    /// Attempts that failed (including ones retried afterwards).
    pub failures: i64,
    /// Over attempts that finished (succeeded or failed).
    pub duration_p50_ms: Option<i64>,
    pub duration_p95_ms: Option<i64>,
}

impl From<DomainNodeStats> for NodeStats {
    fn from(node: DomainNodeStats) -> Self {
        Self {
            node_id: node.node_id,
            node_type: node.node_type,
            runs: node.runs as i64,
            failures: node.failures as i64,
            duration_p50_ms: node.duration_p50_ms,
            duration_p95_ms: node.duration_p95_ms,
        }
    }
}

/// How a workflow's executions went. Counts are exact; durations are computed over the
/// newest `sampleSize` executions and `nodes` over the newest `nodeSampleSize`.
#[derive(SimpleObject)]
pub struct WorkflowStats {
    pub workflow_id: ID,
    /// Only executions started at or after this moment were counted (all when null).
    pub since: Option<DateTime<Utc>>,
    /// Every execution, whatever its status.
    pub runs: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Pending or running now.
    pub in_progress: i64,
    /// Succeeded over finished (succeeded + failed + cancelled), 0 to 1; null before any
    /// execution finished.
    pub success_rate: Option<f64>,
    /// Over finished executions, start to end.
    pub duration_p50_ms: Option<i64>,
    pub duration_p95_ms: Option<i64>,
    /// How many of the newest executions the duration percentiles cover (at most 10,000).
    pub sample_size: i64,
    /// How many of the newest executions `nodes` covers: as many as hold about 10,000
    /// node attempts.
    pub node_sample_size: i64,
    /// Per node, sorted by node id.
    pub nodes: Vec<NodeStats>,
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Statistics of a workflow's executions, optionally only those started since a moment.
    /// Needs viewer access to the workflow.
    async fn workflow_stats(
        &self,
        ctx: &Context<'_>,
        workflow_id: ID,
        since: Option<DateTime<Utc>>,
    ) -> ApiResult<WorkflowStats> {
        let principal = principal(ctx)?;
        let raw_id = decode("workflowId", Kind::Workflow, &workflow_id)?;
        let stats = store::workflow_stats(db(ctx), principal, &raw_id, since).await?;
        Ok(WorkflowStats {
            workflow_id: encode(Kind::Workflow, &raw_id),
            since,
            runs: stats.runs as i64,
            succeeded: stats.succeeded as i64,
            failed: stats.failed as i64,
            cancelled: stats.cancelled as i64,
            in_progress: stats.in_progress as i64,
            success_rate: stats.success_rate,
            duration_p50_ms: stats.duration_p50_ms,
            duration_p95_ms: stats.duration_p95_ms,
            sample_size: stats.sample_size as i64,
            node_sample_size: stats.node_sample_size as i64,
            nodes: stats.nodes.into_iter().map(NodeStats::from).collect(),
        })
    }
}
