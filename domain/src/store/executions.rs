//! Reading executions, their node runs and their events. The engine writes them; this
//! module only answers questions about them, always through workflow visibility.

use chrono::{DateTime, Utc};
use entity::{execution_events, node_executions, workflow_executions, workflows};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

use super::{keyset, like_pattern};
use crate::access::{WorkflowRole, require_workflow};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};
use crate::page::{Page, PageRequest};

pub const EXECUTION_STATUSES: &[&str] = &["pending", "running", "succeeded", "failed", "cancelled"];
pub const MAX_EVENTS_PER_READ: u64 = 1_000;

#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub status: Option<String>,
    pub workflow_id: Option<String>,
    pub started_after: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    /// Matched case-insensitively against the input and the error.
    pub text: Option<String>,
}

pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<workflow_executions::Model> {
    let execution = workflow_executions::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("execution", id))?;
    // Not being allowed to see the workflow means not seeing its executions at all.
    require_workflow(db, principal, &execution.workflow_id, WorkflowRole::Viewer)
        .await
        .map_err(|_| DomainError::not_found("execution", id))?;
    Ok(execution)
}

fn text_matches(
    column: workflow_executions::Column,
    pattern: &str,
) -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Func::lower(Func::cast_as(Expr::col(column), "TEXT"))).like(pattern.to_owned())
}

pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: ExecutionFilter,
    page: PageRequest,
) -> DomainResult<Page<workflow_executions::Model>> {
    if let Some(status) = &filter.status
        && !EXECUTION_STATUSES.contains(&status.as_str())
    {
        return Err(DomainError::bad_input(
            "status",
            format!(
                "unknown status `{status}`; expected one of {}",
                EXECUTION_STATUSES.join(", ")
            ),
        ));
    }
    let mut select = workflow_executions::Entity::find();
    if let Some(workflow_id) = &filter.workflow_id {
        require_workflow(db, principal, workflow_id, WorkflowRole::Viewer).await?;
        select = select.filter(workflow_executions::Column::WorkflowId.eq(workflow_id.clone()));
    } else if let Some(visible) = super::workflows::visible_condition(principal) {
        let visible_ids = workflows::Entity::find()
            .select_only()
            .column(workflows::Column::Id)
            .filter(visible)
            .into_query();
        select = select.filter(workflow_executions::Column::WorkflowId.in_subquery(visible_ids));
    }
    if let Some(status) = filter.status {
        select = select.filter(workflow_executions::Column::Status.eq(status));
    }
    if let Some(after) = filter.started_after {
        select = select.filter(workflow_executions::Column::StartedAt.gte(after));
    }
    if let Some(before) = filter.started_before {
        select = select.filter(workflow_executions::Column::StartedAt.lt(before));
    }
    if let Some(text) = filter.text.filter(|t| !t.trim().is_empty()) {
        let pattern = like_pattern(&text.trim().to_lowercase());
        select = select.filter(
            Condition::any()
                .add(text_matches(workflow_executions::Column::Input, &pattern))
                .add(text_matches(workflow_executions::Column::Error, &pattern)),
        );
    }
    let rows = keyset(select, workflow_executions::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

/// Every attempt of every node of the given executions, oldest first (for DataLoaders;
/// callers have already checked access to the executions).
pub async fn node_runs(
    db: &impl ConnectionTrait,
    execution_ids: &[String],
) -> DomainResult<Vec<node_executions::Model>> {
    Ok(node_executions::Entity::find()
        .filter(node_executions::Column::ExecutionId.is_in(execution_ids.iter().cloned()))
        .order_by_asc(node_executions::Column::Id)
        .all(db)
        .await?)
}

/// Events of one execution after `after_sequence`, in sequence order.
pub async fn events(
    db: &impl ConnectionTrait,
    execution_id: &str,
    after_sequence: Option<i64>,
    limit: u64,
) -> DomainResult<Vec<execution_events::Model>> {
    Ok(execution_events::Entity::find()
        .filter(execution_events::Column::ExecutionId.eq(execution_id))
        .filter(execution_events::Column::Sequence.gt(after_sequence.unwrap_or(0)))
        .order_by_asc(execution_events::Column::Sequence)
        .limit(Ord::min(limit, MAX_EVENTS_PER_READ))
        .all(db)
        .await?)
}

pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> DomainResult<Vec<workflow_executions::Model>> {
    Ok(workflow_executions::Entity::find()
        .filter(workflow_executions::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?)
}
