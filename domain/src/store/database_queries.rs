//! Saved database queries: text with named parameters, the statement kind it declares,
//! each parameter's JSON Schema, a timeout and a page size. Checked with
//! [`dbquery::check_query`] before anything is written, so a stored query is one the
//! engine will run.

use std::time::Duration;

use chrono::Utc;
use entity::{database_connections, database_queries};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Value, json};

use super::keyset;
use crate::access::owns;
use crate::auth::{Principal, check_name};
use crate::dbquery::{self, DbKind, ParamDecl, QuerySpec, QueryType};
use crate::error::{DomainError, DomainResult, Problems};
use crate::ids::{is_well_formed, new_id};
use crate::page::{Page, PageRequest};

/// Milliseconds a query may run when it does not say.
pub const DEFAULT_TIMEOUT_MS: i32 = 30_000;
/// Rows per page when a query does not say; small enough for a preview in the editor.
pub const DEFAULT_PAGE_SIZE: i32 = 100;
/// The ways a result can be shaped. Rows are JSON objects keyed by column name.
pub const RESULT_FORMATS: &[&str] = &["json"];
/// Longest query text; a saved query is a statement, not a script.
pub const MAX_QUERY_LEN: usize = 100_000;

/// A query as the user describes it.
#[derive(Debug, Clone)]
pub struct QueryDraft {
    pub name: String,
    pub connection_id: String,
    pub query: String,
    /// `select`, `insert`, … for SQL; `find`, `aggregate`, … for MongoDB; any letter case.
    pub query_type: String,
    pub parameters: Vec<ParamDecl>,
    pub timeout_ms: Option<i32>,
    pub page_size: Option<i32>,
    pub result_format: Option<String>,
}

/// A partial update; `None` keeps the current value. The connection cannot change.
#[derive(Debug, Clone, Default)]
pub struct QueryPatch {
    pub name: Option<String>,
    pub query: Option<String>,
    pub query_type: Option<String>,
    pub parameters: Option<Vec<ParamDecl>>,
    pub timeout_ms: Option<i32>,
    pub page_size: Option<i32>,
    pub result_format: Option<String>,
}

/// A draft that passed every check.
struct Checked {
    name: String,
    spec: QuerySpec,
    result_format: String,
}

/// Checks `draft` for a connection of `kind` (`None` when the connection itself was not
/// found, which is already a problem at `input.connectionId`).
fn check_draft(
    mut problems: Problems,
    kind: Option<DbKind>,
    draft: QueryDraft,
) -> DomainResult<Checked> {
    check_name(&mut problems, "input.name", &draft.name);
    if draft.query.trim().is_empty() {
        problems.push("input.query", "must not be empty");
    } else if draft.query.len() > MAX_QUERY_LEN {
        problems.push(
            "input.query",
            format!("must be at most {MAX_QUERY_LEN} bytes"),
        );
    }
    let query_type = draft
        .query_type
        .parse::<QueryType>()
        .map_err(|message| problems.push("input.queryType", message))
        .ok();
    let timeout_ms = draft.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let page_size = draft.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    // Negative numbers are reported here; zero and too-large ones by `check_query`.
    if timeout_ms < 0 {
        problems.push("input.timeoutMs", "must not be negative");
    }
    if page_size < 0 {
        problems.push("input.pageSize", "must not be negative");
    }
    let result_format = draft.result_format.unwrap_or_else(|| "json".to_owned());
    if !RESULT_FORMATS.contains(&result_format.as_str()) {
        problems.push(
            "input.resultFormat",
            format!(
                "unknown result format `{result_format}`; expected one of {}",
                RESULT_FORMATS.join(", ")
            ),
        );
    }
    let spec = QuerySpec {
        query: draft.query,
        query_type: query_type.unwrap_or(QueryType::Select),
        parameters: draft.parameters,
        timeout: Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0)),
        page_size: u32::try_from(page_size).unwrap_or(0),
    };
    if let (Some(kind), Some(_)) = (kind, query_type)
        && !spec.query.trim().is_empty()
        && timeout_ms >= 0
        && page_size >= 0
        && let Err(found) = dbquery::check_query(kind, &spec)
    {
        for (path, message) in found {
            problems.push(input_path(&path), message);
        }
    }
    problems.into_result()?;
    Ok(Checked {
        name: draft.name.trim().to_owned(),
        spec,
        result_format,
    })
}

/// `parameters.0.schema` (the engine's path) as the API spells it:
/// `input.parameters[0].schema`; `timeout` is the input's `timeoutMs`.
fn input_path(path: &str) -> String {
    let mut out = String::from("input");
    for segment in path.split('.') {
        if segment.chars().all(|c| c.is_ascii_digit()) && !segment.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else if segment == "timeout" {
            out.push_str(".timeoutMs");
        } else {
            out.push('.');
            out.push_str(segment);
        }
    }
    out
}

/// The connection a query of `owner_id` may use: it must belong to the same user, so a
/// query never runs with someone else's login.
async fn connection_of(
    db: &impl ConnectionTrait,
    owner_id: &str,
    connection_id: &str,
) -> DomainResult<Option<database_connections::Model>> {
    if !is_well_formed(connection_id) {
        return Ok(None);
    }
    Ok(
        database_connections::Entity::find_by_id(connection_id.to_owned())
            .one(db)
            .await?
            .filter(|c| c.owner_id == owner_id),
    )
}

fn parameters_json(parameters: &[ParamDecl]) -> Value {
    Value::Array(
        parameters
            .iter()
            .map(|p| json!({ "name": p.name, "schema": p.schema }))
            .collect(),
    )
}

/// The declared parameters of a stored query.
pub fn parameters(row: &database_queries::Model) -> Vec<ParamDecl> {
    row.parameters
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|p| ParamDecl {
                    name: p["name"].as_str().unwrap_or_default().to_owned(),
                    schema: p.get("schema").cloned().unwrap_or(json!({})),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A stored query, ready for [`dbquery::DbPools::run`].
pub fn spec(row: &database_queries::Model) -> DomainResult<QuerySpec> {
    let query_type = row.query_type.parse::<QueryType>().map_err(|message| {
        DomainError::Internal(format!("database query {} is invalid: {message}", row.id))
    })?;
    Ok(QuerySpec {
        query: row.query.clone(),
        query_type,
        parameters: parameters(row),
        timeout: Duration::from_millis(u64::try_from(row.timeout).unwrap_or(1).max(1)),
        page_size: u32::try_from(row.page_size).unwrap_or(1).max(1),
    })
}

/// Validates and stores a new query owned by `principal`.
#[tracing::instrument(skip_all, fields(name = %draft.name))]
pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    draft: QueryDraft,
) -> DomainResult<database_queries::Model> {
    let mut problems = Problems::default();
    let connection = connection_of(db, &principal.user_id, &draft.connection_id).await?;
    if connection.is_none() {
        problems.push(
            "input.connectionId",
            format!(
                "no database connection `{}` of yours exists",
                draft.connection_id
            ),
        );
    }
    let kind = connection.as_ref().and_then(|c| c.kind.parse().ok());
    let connection_id = draft.connection_id.clone();
    let checked = check_draft(problems, kind, draft)?;
    let now = Utc::now();
    let row = database_queries::ActiveModel {
        id: Set(new_id()),
        tool_id: Set(None),
        owner_id: Set(principal.user_id.clone()),
        name: Set(checked.name),
        connection_id: Set(connection_id),
        query: Set(checked.spec.query.clone()),
        query_type: Set(checked.spec.query_type.as_str().to_owned()),
        parameters: Set(parameters_json(&checked.spec.parameters)),
        result_format: Set(checked.result_format),
        timeout: Set(i32::try_from(checked.spec.timeout.as_millis()).unwrap_or(i32::MAX)),
        page_size: Set(i32::try_from(checked.spec.page_size).unwrap_or(i32::MAX)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(row)
}

/// A query; `NotFound` unless the caller owns it or is an admin.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<database_queries::Model> {
    let found = if is_well_formed(id) {
        database_queries::Entity::find_by_id(id.to_owned())
            .one(db)
            .await?
    } else {
        None
    };
    found
        .filter(|q| owns(principal, &q.owner_id))
        .ok_or_else(|| DomainError::not_found("database query", id))
}

/// Applies `patch`, checking the result as a whole against the connection's kind.
#[tracing::instrument(skip_all, fields(id))]
pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
    patch: QueryPatch,
) -> DomainResult<database_queries::Model> {
    let current = get(db, principal, id).await?;
    let connection = connection_of(db, &current.owner_id, &current.connection_id)
        .await?
        .ok_or_else(|| DomainError::not_found("database connection", &current.connection_id))?;
    let draft = QueryDraft {
        name: patch.name.unwrap_or(current.name.clone()),
        connection_id: current.connection_id.clone(),
        query: patch.query.unwrap_or(current.query.clone()),
        query_type: patch.query_type.unwrap_or(current.query_type.clone()),
        parameters: patch.parameters.unwrap_or_else(|| parameters(&current)),
        timeout_ms: Some(patch.timeout_ms.unwrap_or(current.timeout)),
        page_size: Some(patch.page_size.unwrap_or(current.page_size)),
        result_format: Some(patch.result_format.unwrap_or(current.result_format.clone())),
    };
    let checked = check_draft(Problems::default(), connection.kind.parse().ok(), draft)?;
    let mut active: database_queries::ActiveModel = current.into();
    active.name = Set(checked.name);
    active.query = Set(checked.spec.query.clone());
    active.query_type = Set(checked.spec.query_type.as_str().to_owned());
    active.parameters = Set(parameters_json(&checked.spec.parameters));
    active.result_format = Set(checked.result_format);
    active.timeout = Set(i32::try_from(checked.spec.timeout.as_millis()).unwrap_or(i32::MAX));
    active.page_size = Set(i32::try_from(checked.spec.page_size).unwrap_or(i32::MAX));
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

#[tracing::instrument(skip_all, fields(id))]
pub async fn delete(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<()> {
    let row = get(db, principal, id).await?;
    database_queries::Entity::delete_by_id(row.id)
        .exec(db)
        .await?;
    Ok(())
}

/// The caller's queries (every user's for an admin), newest first; only those of
/// `connection_id` when given.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    connection_id: Option<&str>,
    page: PageRequest,
) -> DomainResult<Page<database_queries::Model>> {
    let mut select = database_queries::Entity::find();
    if !principal.is_admin() {
        select = select.filter(database_queries::Column::OwnerId.eq(&principal.user_id));
    }
    if let Some(connection_id) = connection_id {
        select = select.filter(database_queries::Column::ConnectionId.eq(connection_id));
    }
    let rows = keyset(select, database_queries::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_paths_become_input_paths() {
        assert_eq!(
            input_path("parameters.0.schema"),
            "input.parameters[0].schema"
        );
        assert_eq!(input_path("timeout"), "input.timeoutMs");
        assert_eq!(input_path("query"), "input.query");
    }

    fn draft(query: &str, query_type: &str) -> QueryDraft {
        QueryDraft {
            name: "orders".into(),
            connection_id: new_id(),
            query: query.into(),
            query_type: query_type.into(),
            parameters: vec![ParamDecl {
                name: "id".into(),
                schema: json!({ "type": "integer" }),
            }],
            timeout_ms: None,
            page_size: None,
            result_format: None,
        }
    }

    fn paths(result: DomainResult<Checked>) -> Vec<String> {
        match result {
            Err(DomainError::BadInput(problems)) => problems.into_iter().map(|p| p.path).collect(),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("the draft was accepted"),
        }
    }

    #[test]
    fn a_write_declared_as_a_select_is_rejected_at_the_query() {
        let result = check_draft(
            Problems::default(),
            Some(DbKind::Postgres),
            draft("UPDATE t SET x = 1 WHERE id = :id", "select"),
        );
        assert_eq!(paths(result), ["input.query"]);
    }

    #[test]
    fn a_sql_query_type_on_a_mongodb_connection_is_rejected() {
        let result = check_draft(
            Problems::default(),
            Some(DbKind::MongoDb),
            draft("SELECT * FROM t WHERE id = :id", "select"),
        );
        assert_eq!(paths(result), ["input.queryType"]);
    }

    #[test]
    fn defaults_fill_the_timeout_the_page_size_and_the_format() {
        let checked = check_draft(
            Problems::default(),
            Some(DbKind::Postgres),
            draft("SELECT * FROM t WHERE id = :id", "SELECT"),
        )
        .unwrap();
        assert_eq!(checked.spec.timeout, Duration::from_millis(30_000));
        assert_eq!(checked.spec.page_size, 100);
        assert_eq!(checked.spec.query_type, QueryType::Select);
        assert_eq!(checked.result_format, "json");
    }

    #[test]
    fn out_of_range_limits_are_reported_under_their_input_names() {
        let mut d = draft("SELECT * FROM t WHERE id = :id", "select");
        d.timeout_ms = Some(10_000_000);
        d.page_size = Some(0);
        let mut found = paths(check_draft(Problems::default(), Some(DbKind::MySql), d));
        found.sort();
        assert_eq!(found, ["input.pageSize", "input.timeoutMs"]);
    }
}
