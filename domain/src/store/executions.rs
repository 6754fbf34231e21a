//! Reading executions, their node runs and their events. The engine writes them; this
//! module only answers questions about them, always through workflow visibility.

use chrono::{DateTime, Utc};
use entity::{execution_events, node_executions, workflow_executions, workflow_shares, workflows};
use sea_orm::sea_query::extension::postgres::PgExpr;
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, Func, LikeExpr, Order, Query, SimpleExpr, UnionType,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};

use super::like_pattern;
use crate::access::{WorkflowRole, require_workflow};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};
use crate::ids::id_floor;
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

/// How far an execution's id timestamp may lie from its `started_at`. Date filters rely
/// on the two agreeing within it: the engine stamps both from the same clock a line apart
/// (microseconds), and the margin absorbs a clock step between the two calls or UUIDv7's
/// monotonic counter running ahead. Code that sets `started_at` far from the row's
/// creation (importing history, starting queued executions later) must mint the id from
/// `started_at` or widen this. Its cost: rows up to this far outside a date range are
/// read, then dropped by the exact `started_at` test.
pub const ID_CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(60);

/// At most this many executions (the newest that pass the other filters, after the
/// cursor) are searched for `text` per page. LIKE over JSON cannot use an index, so this
/// is what keeps one request's cost bounded; a search that reaches it says where to go on
/// from ([`HistoryPage::resume_after`]).
pub const TEXT_SCAN_BUDGET: u64 = 20_000;

/// A caller who sees at most this many workflows gets each one's newest rows through its
/// own index range, merged; beyond it, one newest-first scan filtered by visibility.
pub const MERGE_MAX_WORKFLOWS: u64 = 50;

/// One page of history.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub page: Page<workflow_executions::Model>,
    /// Set when a text search used up [`TEXT_SCAN_BUDGET`] before filling the page: the
    /// page may hold fewer rows than asked (even none) and the search goes on after this
    /// id. `has_next_page` is then true.
    pub resume_after: Option<String>,
}

/// Which workflows' executions a listing may return.
enum Scope {
    All,
    Workflows(Vec<String>),
    /// The caller sees too many workflows to name; filter by the visibility subquery.
    Visible(Condition),
}

/// `column` contains `pattern`, ignoring case. SQLite's LIKE already ignores ASCII case
/// (and its `lower()` knows no more than ASCII), so it skips the `lower()` that doubled
/// the scan's cost; PostgreSQL's ILIKE folds Unicode case. Backslash escapes wildcards:
/// PostgreSQL's default, and SQLite's by an ESCAPE clause (which sea-query would
/// parenthesize into invalid SQL after ILIKE).
fn text_matches(
    backend: DbBackend,
    column: workflow_executions::Column,
    pattern: &str,
) -> SimpleExpr {
    let text = Expr::expr(Func::cast_as(Expr::col(column), "TEXT"));
    match backend {
        DbBackend::Postgres => text.ilike(pattern),
        _ => text.like(LikeExpr::new(pattern).escape('\\')),
    }
}

/// Filters on everything but visibility and text, in index-friendly form.
fn base_condition(filter: &ExecutionFilter, page: &PageRequest) -> Condition {
    let mut condition = Condition::all();
    if let Some(status) = &filter.status {
        condition = condition.add(workflow_executions::Column::Status.eq(status.clone()));
    }
    // Ids are UUIDv7 stamped at creation, like `started_at`, so a date range is also an
    // id range: the redundant id bounds let the newest-first scan start and stop at the
    // range's ends instead of filtering the whole table (or sorting the whole range).
    if let Some(after) = filter.started_after {
        condition = condition
            .add(workflow_executions::Column::StartedAt.gte(after))
            .add(workflow_executions::Column::Id.gte(id_floor(after - ID_CLOCK_SLACK)));
    }
    if let Some(before) = filter.started_before {
        condition = condition
            .add(workflow_executions::Column::StartedAt.lt(before))
            .add(workflow_executions::Column::Id.lt(id_floor(before + ID_CLOCK_SLACK)));
    }
    if let Some(after) = &page.after {
        condition = condition.add(workflow_executions::Column::Id.lt(after.clone()));
    }
    condition
}

fn scoped(scope: &Scope, condition: Condition) -> Condition {
    match scope {
        Scope::All => condition,
        Scope::Workflows(ids) if ids.len() == 1 => {
            condition.add(workflow_executions::Column::WorkflowId.eq(ids[0].clone()))
        }
        Scope::Workflows(ids) => {
            condition.add(workflow_executions::Column::WorkflowId.is_in(ids.iter().cloned()))
        }
        Scope::Visible(visible) => {
            let visible_ids = workflows::Entity::find()
                .select_only()
                .column(workflows::Column::Id)
                .filter(visible.clone())
                .into_query();
            condition.add(workflow_executions::Column::WorkflowId.in_subquery(visible_ids))
        }
    }
}

/// The workflows a non-admin may see, or `None` when there are more than
/// [`MERGE_MAX_WORKFLOWS`].
async fn visible_workflow_ids(
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> DomainResult<Option<Vec<String>>> {
    let owned: Vec<String> = workflows::Entity::find()
        .select_only()
        .column(workflows::Column::Id)
        .filter(workflows::Column::OwnerId.eq(&principal.user_id))
        .limit(MERGE_MAX_WORKFLOWS + 1)
        .into_tuple()
        .all(db)
        .await?;
    let shared: Vec<String> = workflow_shares::Entity::find()
        .select_only()
        .column(workflow_shares::Column::WorkflowId)
        .filter(workflow_shares::Column::UserId.eq(&principal.user_id))
        .limit(MERGE_MAX_WORKFLOWS + 1)
        .into_tuple()
        .all(db)
        .await?;
    let mut ids: Vec<String> = owned.into_iter().chain(shared).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok((ids.len() as u64 <= MERGE_MAX_WORKFLOWS).then_some(ids))
}

/// Newest-first rows of several workflows: each workflow's newest `limit` through its own
/// `(workflow_id, …, id)` index range, then merged. A plain `IN` over the workflows would
/// either sort all their rows or walk the whole table newest first until enough of them
/// turn up, which for a user who sees little of the history is nearly all of it.
async fn merged(
    db: &impl ConnectionTrait,
    workflow_ids: &[String],
    condition: &Condition,
    limit: u64,
) -> DomainResult<Vec<workflow_executions::Model>> {
    let backend = db.get_database_backend();
    let mut branches = workflow_ids.iter().enumerate().map(|(i, workflow_id)| {
        let branch = workflow_executions::Entity::find()
            .filter(condition.clone())
            .filter(workflow_executions::Column::WorkflowId.eq(workflow_id.clone()))
            .order_by_desc(workflow_executions::Column::Id)
            .limit(limit)
            .into_query();
        // Wrapped, because SQLite allows ORDER BY and LIMIT only on a whole compound.
        Query::select()
            .column(Asterisk)
            .from_subquery(branch, Alias::new(format!("b{i}")))
            .to_owned()
    });
    let Some(mut union) = branches.next() else {
        return Ok(Vec::new());
    };
    for branch in branches {
        union.union(UnionType::All, branch);
    }
    union.order_by(Alias::new("id"), Order::Desc).limit(limit);
    Ok(workflow_executions::Entity::find()
        .from_raw_sql(backend.build(&union))
        .all(db)
        .await?)
}

/// Executions the caller may see, newest first (by id, so keyset pages stay stable while
/// new executions arrive), filtered. README.md, "Execution history, statistics and
/// metrics", says what each filter costs.
pub async fn list(
    db: &DatabaseConnection,
    principal: &Principal,
    filter: ExecutionFilter,
    page: PageRequest,
) -> DomainResult<HistoryPage> {
    if db.get_database_backend() != DbBackend::Postgres {
        return list_on(db, principal, filter, page).await;
    }
    let txn = with_custom_plans(db).await?;
    let found = list_on(&txn, principal, filter, page).await?;
    txn.commit().await?;
    Ok(found)
}

/// A transaction in which PostgreSQL plans each statement for its actual parameters.
/// sqlx prepares every statement, and after five runs PostgreSQL may settle on a generic
/// plan that cannot see the values: for a date range it assumed a handful of rows,
/// intersected two bitmaps and sorted the whole range (77 ms instead of 0.4 ms at
/// 1,000,000 rows). Planning afresh costs a fraction of a millisecond.
pub(crate) async fn with_custom_plans(
    db: &DatabaseConnection,
) -> DomainResult<DatabaseTransaction> {
    let txn = db.begin().await?;
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
        .await?;
    Ok(txn)
}

async fn list_on(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: ExecutionFilter,
    page: PageRequest,
) -> DomainResult<HistoryPage> {
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
    let scope = if let Some(workflow_id) = &filter.workflow_id {
        require_workflow(db, principal, workflow_id, WorkflowRole::Viewer).await?;
        Scope::Workflows(vec![workflow_id.clone()])
    } else if principal.is_admin() {
        Scope::All
    } else {
        match visible_workflow_ids(db, principal).await? {
            Some(ids) => Scope::Workflows(ids),
            None => Scope::Visible(
                super::workflows::visible_condition(principal)
                    .expect("a non-admin's visibility is a condition"),
            ),
        }
    };
    if matches!(&scope, Scope::Workflows(ids) if ids.is_empty()) {
        return Ok(HistoryPage {
            page: Page::from_overfetch(Vec::new(), page.first),
            resume_after: None,
        });
    }
    let condition = base_condition(&filter, &page);
    let limit = page.first + 1;
    let text = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(text) = text else {
        let rows = match &scope {
            Scope::Workflows(ids) if ids.len() > 1 => merged(db, ids, &condition, limit).await?,
            _ => {
                workflow_executions::Entity::find()
                    .filter(scoped(&scope, condition))
                    .order_by_desc(workflow_executions::Column::Id)
                    .limit(limit)
                    .all(db)
                    .await?
            }
        };
        return Ok(HistoryPage {
            page: Page::from_overfetch(rows, page.first),
            resume_after: None,
        });
    };
    // The oldest row the budget reaches; everything newer is searched, nothing older.
    let candidates = scoped(&scope, condition);
    let boundary: Option<String> = workflow_executions::Entity::find()
        .select_only()
        .column(workflow_executions::Column::Id)
        .filter(candidates.clone())
        .order_by_desc(workflow_executions::Column::Id)
        .offset(TEXT_SCAN_BUDGET - 1)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let pattern = like_pattern(text);
    let backend = db.get_database_backend();
    let mut select = workflow_executions::Entity::find()
        .filter(candidates)
        .filter(
            Condition::any()
                .add(text_matches(
                    backend,
                    workflow_executions::Column::Input,
                    &pattern,
                ))
                .add(text_matches(
                    backend,
                    workflow_executions::Column::Error,
                    &pattern,
                )),
        );
    if let Some(boundary) = &boundary {
        select = select.filter(workflow_executions::Column::Id.gte(boundary.clone()));
    }
    let rows = select
        .order_by_desc(workflow_executions::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut result = Page::from_overfetch(rows, page.first);
    let mut resume_after = None;
    if !result.has_next_page && boundary.is_some() {
        result.has_next_page = true;
        resume_after = boundary;
    }
    Ok(HistoryPage {
        page: result,
        resume_after,
    })
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

/// Events stored with an id above `after_id`, in id order (UUIDv7: roughly the order
/// they were stored), optionally of one workflow. Subscribers to many executions use it
/// to catch up after falling behind; `crate::ids::id_floor` turns a moment into an id.
pub async fn events_after_id(
    db: &impl ConnectionTrait,
    workflow_id: Option<&str>,
    after_id: &str,
    limit: u64,
) -> DomainResult<Vec<execution_events::Model>> {
    let mut select =
        execution_events::Entity::find().filter(execution_events::Column::Id.gt(after_id));
    if let Some(workflow_id) = workflow_id {
        select = select.filter(execution_events::Column::WorkflowId.eq(workflow_id));
    }
    Ok(select
        .order_by_asc(execution_events::Column::Id)
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
