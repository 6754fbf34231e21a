//! `database-query`: runs a saved database query as the workflow's owner, its input being
//! the query's named parameters. Also the one way anything runs a saved query: the
//! `database-query` tool kind and the API's `runDatabaseQuery` go through [`run_saved`].

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::custom::{Tool, ToolCall};
use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult, Services};
use crate::auth::Principal;
use crate::dbquery::{DbErrorCode, DbPools, DbQueryError, Page, ParamDecl, QueryResult};
use crate::error::{DomainError, FieldProblem};
use crate::json_schema;
use crate::store::{database_connections, database_queries};
use crate::vault::Vault;

/// The `database-query` executor.
pub struct DatabaseQuery;

#[async_trait::async_trait]
impl Executor for DatabaseQuery {
    fn node_type(&self) -> &'static str {
        "database-query"
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let query_id = ctx
            .node
            .config()
            .get("queryId")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeFailure::permanent("config.queryId is missing"))?;
        let output = run_saved(
            ctx.services,
            ctx.owner,
            query_id,
            input,
            ctx.cancel.clone(),
        )
        .await?;
        Ok(NodeOutcome::main(output))
    }
}

/// A `database-query` tool: `config.queryId` names the saved query, the tool's input is
/// its parameters, and the output is the same as the node's.
pub(crate) async fn run_tool(
    call: &ToolCall<'_>,
    tool: &Tool,
    input: &Value,
) -> Result<Value, NodeFailure> {
    let query_id = tool
        .config
        .get("queryId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            NodeFailure::permanent(format!(
                "tool `{}` is misconfigured: config.queryId is missing",
                tool.name
            ))
        })?;
    let params = input.as_object().cloned().unwrap_or_default();
    run_saved(call.services, call.owner, query_id, params, call.cancel.clone())
        .await
        .map_err(|f| NodeFailure {
            message: format!("tool `{}`: {}", tool.name, f.message),
            ..f
        })
}

async fn run_saved(
    services: &Services,
    owner: &Principal,
    query_id: &str,
    input: Map<String, Value>,
    cancel: CancellationToken,
) -> Result<Value, NodeFailure> {
    let runner = SavedQueries {
        db: &services.db,
        vault: services.vault.as_ref(),
        pools: &services.db_pools,
    };
    let result = runner
        .run(owner, query_id, input, None, cancel)
        .await
        .map_err(|e| e.into_failure(query_id))?;
    Ok(node_output(&result))
}

/// The node's output: `{rows, columns, hasMore, affectedRows}`.
pub fn node_output(result: &QueryResult) -> Value {
    json!({
        "rows": result.rows,
        "columns": result.columns.iter()
            .map(|c| json!({ "name": c.name, "type": c.type_name }))
            .collect::<Vec<_>>(),
        "hasMore": result.has_more,
        "affectedRows": result.affected_rows,
    })
}

/// Why a saved query did not run: a problem on Weft's side (unknown query, bad parameter
/// values, storage) or the database's answer.
#[derive(Debug, thiserror::Error)]
pub enum SavedQueryError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// `writes` says whether the query declares a statement that changes data.
    #[error("{error}")]
    Database { error: DbQueryError, writes: bool },
}

impl SavedQueryError {
    /// As a node failure: connection trouble and timeouts are worth another attempt; a
    /// rejected query or bad parameters are not. A write that timed out is not retried:
    /// the client may have given up after the server committed, and a second attempt
    /// would write twice.
    fn into_failure(self, query_id: &str) -> NodeFailure {
        match self {
            SavedQueryError::Domain(DomainError::NotFound { kind, id }) => NodeFailure::permanent(
                format!("{kind} `{id}` does not exist or does not belong to the workflow's owner"),
            ),
            SavedQueryError::Domain(DomainError::BadInput(problems)) => {
                NodeFailure::permanent(describe(&problems))
            }
            SavedQueryError::Domain(DomainError::Storage(e)) => {
                NodeFailure::retryable(format!("reading database query `{query_id}` failed: {e}"))
            }
            SavedQueryError::Domain(other) => NodeFailure::permanent(other.to_string()),
            SavedQueryError::Database { error, writes } => {
                let retry = match error.code {
                    DbErrorCode::Timeout => !writes,
                    _ => error.is_transient(),
                };
                if retry {
                    NodeFailure::retryable(error.to_string())
                } else {
                    NodeFailure::permanent(error.to_string())
                }
            }
        }
    }
}

fn describe(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs saved queries: looks up the query and its connection as a principal, resolves the
/// password, checks the parameter values and runs the query on the connection's pool.
pub struct SavedQueries<'a> {
    pub db: &'a sea_orm::DatabaseConnection,
    pub vault: Option<&'a Vault>,
    pub pools: &'a DbPools,
}

impl SavedQueries<'_> {
    /// Runs query `query_id` as `principal` with `params`, returning `page` (or the first).
    /// Parameter values that do not match their declared schemas are `BadInput` at
    /// `params.<name>`, before any connection is made.
    #[tracing::instrument(skip_all, fields(query = %query_id))]
    pub async fn run(
        &self,
        principal: &Principal,
        query_id: &str,
        params: Map<String, Value>,
        page: Option<Page>,
        cancel: CancellationToken,
    ) -> Result<QueryResult, SavedQueryError> {
        let row = database_queries::get(self.db, principal, query_id).await?;
        let spec = database_queries::spec(&row)?;
        let params = unwrap_legacy_params(&spec.parameters, params);
        check_params(&spec.parameters, &params)?;
        let connection = database_connections::get(self.db, principal, &row.connection_id).await?;
        let conn = database_connections::spec(self.db, self.vault, principal, &connection).await?;
        let writes = !spec.query_type.is_read();
        self.pools
            .run(&conn, &spec, &params, page, cancel)
            .await
            .map_err(|error| SavedQueryError::Database { error, writes })
    }
}

/// Workflows saved before the input was the parameters object itself passed them as
/// `{"params": {...}}`; accept that shape unless the query declares a `params` parameter.
fn unwrap_legacy_params(decls: &[ParamDecl], mut input: Map<String, Value>) -> Map<String, Value> {
    let legacy = input.len() == 1
        && input.get("params").is_some_and(Value::is_object)
        && !decls.iter().any(|d| d.name == "params");
    match input.remove("params") {
        Some(Value::Object(params)) if legacy => params,
        Some(other) => {
            input.insert("params".to_owned(), other);
            input
        }
        None => input,
    }
}

/// Every problem with `params` against the declarations, at `params.<name>`: undeclared
/// names, missing values without a default, and values their schema refuses.
fn check_params(decls: &[ParamDecl], params: &Map<String, Value>) -> Result<(), DomainError> {
    let mut problems = Vec::new();
    for name in params.keys() {
        if !decls.iter().any(|d| d.name == *name) {
            problems.push(FieldProblem::new(
                format!("params.{name}"),
                "is not a parameter of this query",
            ));
        }
    }
    for decl in decls {
        let path = format!("params.{}", decl.name);
        let value = match params.get(&decl.name) {
            Some(value) => value.clone(),
            None => match decl.schema.get("default") {
                Some(default) => default.clone(),
                None => Value::Null,
            },
        };
        if let Err(found) = json_schema::validate_instance(&decl.schema, &value) {
            if !params.contains_key(&decl.name) {
                problems.push(FieldProblem::new(path, "is missing"));
                continue;
            }
            for problem in found {
                let at = if problem.path.is_empty() {
                    path.clone()
                } else {
                    format!("{path}{}", problem.path.replace('/', "."))
                };
                problems.push(FieldProblem::new(at, problem.message));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DomainError::BadInput(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls() -> Vec<ParamDecl> {
        vec![
            ParamDecl {
                name: "customerId".into(),
                schema: json!({ "type": "integer" }),
            },
            ParamDecl {
                name: "since".into(),
                schema: json!({ "type": "string", "format": "date-time", "default": "2020-01-01T00:00:00Z" }),
            },
        ]
    }

    fn paths(result: Result<(), DomainError>) -> Vec<String> {
        match result {
            Err(DomainError::BadInput(problems)) => problems.into_iter().map(|p| p.path).collect(),
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn values_matching_their_schemas_pass_and_defaults_fill_gaps() {
        assert!(check_params(&decls(), &object(json!({ "customerId": 7 }))).is_ok());
    }

    #[test]
    fn each_bad_value_is_reported_at_its_parameter() {
        let found = paths(check_params(
            &decls(),
            &object(json!({ "customerId": "7", "since": "yesterday", "extra": 1 })),
        ));
        assert_eq!(found, ["params.extra", "params.customerId", "params.since"]);
        assert_eq!(
            paths(check_params(&decls(), &Map::new())),
            ["params.customerId"]
        );
    }

    #[test]
    fn timeouts_are_retried_for_reads_only_and_rejections_never() {
        let failure = |code, writes| {
            SavedQueryError::Database {
                error: DbQueryError::new(code, "x"),
                writes,
            }
            .into_failure("q")
            .retryable
        };
        assert!(failure(DbErrorCode::Timeout, false));
        assert!(!failure(DbErrorCode::Timeout, true));
        assert!(failure(DbErrorCode::ConnectionFailed, true));
        assert!(!failure(DbErrorCode::QueryRejected, false));
        assert!(!failure(DbErrorCode::QueryFailed, false));
    }

    #[test]
    fn the_legacy_params_wrapper_is_unwrapped_only_when_unambiguous() {
        let wrapped = object(json!({ "params": { "customerId": 1 } }));
        assert_eq!(
            unwrap_legacy_params(&decls(), wrapped.clone()),
            object(json!({ "customerId": 1 }))
        );
        let declared = vec![ParamDecl {
            name: "params".into(),
            schema: json!({ "type": "object" }),
        }];
        assert_eq!(unwrap_legacy_params(&declared, wrapped.clone()), wrapped);
    }
}
