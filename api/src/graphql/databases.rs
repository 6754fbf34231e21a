//! Database connections and saved queries: create, test, browse, run.
//!
//! A connection's password is a credential reference; nothing here ever returns it.

use std::time::Duration;

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::dbquery::{self, DbPools, ParamDecl, QueryResult};
use domain::engine::Engine;
use domain::executors::database_query::SavedQueries;
use domain::store::database_connections::{self as connections, ConnectionDraft, ConnectionPatch};
use domain::store::database_queries::{self as queries, QueryDraft, QueryPatch};
use domain::vault::Vault;
use entity::{database_connections, database_queries};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::context::{db, principal};
use super::errors::{ApiError, ApiResult};
use super::ids::{Kind, decode, encode};
use super::relay::{RelayConnection, complexity, connection, page_request};
use super::tools::DeletePayload;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DatabaseKind {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    Mongodb,
}

impl DatabaseKind {
    fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Postgres => "postgres",
            DatabaseKind::Mysql => "mysql",
            DatabaseKind::Mongodb => "mongodb",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "mysql" => DatabaseKind::Mysql,
            "mongodb" => DatabaseKind::Mongodb,
            _ => DatabaseKind::Postgres,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DatabaseTlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS or no connection.
    Require,
}

impl DatabaseTlsMode {
    fn as_str(self) -> &'static str {
        match self {
            DatabaseTlsMode::Disable => "disable",
            DatabaseTlsMode::Prefer => "prefer",
            DatabaseTlsMode::Require => "require",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "disable" => DatabaseTlsMode::Disable,
            "require" => DatabaseTlsMode::Require,
            _ => DatabaseTlsMode::Prefer,
        }
    }
}

/// The statement a query declares; its text must be exactly one statement of that kind.
/// SQL connections run the first four, MongoDB connections the rest.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DatabaseQueryType {
    Select,
    Insert,
    Update,
    Delete,
    Find,
    Aggregate,
    InsertOne,
    InsertMany,
    UpdateOne,
    UpdateMany,
    DeleteOne,
    DeleteMany,
    CountDocuments,
}

impl DatabaseQueryType {
    fn to_domain(self) -> dbquery::QueryType {
        use dbquery::QueryType as Q;
        match self {
            DatabaseQueryType::Select => Q::Select,
            DatabaseQueryType::Insert => Q::Insert,
            DatabaseQueryType::Update => Q::Update,
            DatabaseQueryType::Delete => Q::Delete,
            DatabaseQueryType::Find => Q::Find,
            DatabaseQueryType::Aggregate => Q::Aggregate,
            DatabaseQueryType::InsertOne => Q::InsertOne,
            DatabaseQueryType::InsertMany => Q::InsertMany,
            DatabaseQueryType::UpdateOne => Q::UpdateOne,
            DatabaseQueryType::UpdateMany => Q::UpdateMany,
            DatabaseQueryType::DeleteOne => Q::DeleteOne,
            DatabaseQueryType::DeleteMany => Q::DeleteMany,
            DatabaseQueryType::CountDocuments => Q::CountDocuments,
        }
    }

    fn as_str(self) -> &'static str {
        self.to_domain().as_str()
    }

    fn parse(s: &str) -> Self {
        let domain = s.parse::<dbquery::QueryType>().ok();
        [
            DatabaseQueryType::Select,
            DatabaseQueryType::Insert,
            DatabaseQueryType::Update,
            DatabaseQueryType::Delete,
            DatabaseQueryType::Find,
            DatabaseQueryType::Aggregate,
            DatabaseQueryType::InsertOne,
            DatabaseQueryType::InsertMany,
            DatabaseQueryType::UpdateOne,
            DatabaseQueryType::UpdateMany,
            DatabaseQueryType::DeleteOne,
            DatabaseQueryType::DeleteMany,
            DatabaseQueryType::CountDocuments,
        ]
        .into_iter()
        .find(|t| Some(t.to_domain()) == domain)
        .unwrap_or(DatabaseQueryType::Select)
    }
}

pub struct DatabaseConnection(pub database_connections::Model);

#[Object]
impl DatabaseConnection {
    pub async fn id(&self) -> ID {
        encode(Kind::DatabaseConnection, &self.0.id)
    }
    async fn uuid(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> DatabaseKind {
        DatabaseKind::parse(&self.0.kind)
    }
    async fn host(&self) -> &str {
        &self.0.host
    }
    async fn port(&self) -> i32 {
        self.0.port
    }
    async fn database(&self) -> &str {
        &self.0.database
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// The credential holding the password; the password itself is never readable.
    async fn credential_id(&self) -> Option<ID> {
        self.0
            .credential_id
            .as_deref()
            .map(|id| encode(Kind::Credential, id))
    }
    async fn tls_mode(&self) -> DatabaseTlsMode {
        DatabaseTlsMode::parse(&self.0.tls_mode)
    }
    /// Most server connections Weft opens to this database at once.
    async fn pool_size(&self) -> i32 {
        self.0.pool_size
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The queries saved for this connection, newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn queries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<DatabaseQuery>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page = queries::list(
            db(ctx),
            principal,
            Some(&self.0.id),
            page_request(first, after)?,
        )
        .await?;
        Ok(connection(page, after_given, |q| &q.id, DatabaseQuery))
    }
}

/// A named parameter and the JSON Schema its value must satisfy. The schema also decides
/// how the value is bound: `format: date-time` as a timestamp, `contentEncoding: base64`
/// as bytes, objects and arrays as JSON.
#[derive(SimpleObject)]
pub struct DatabaseQueryParameter {
    pub name: String,
    pub schema: Json<Value>,
}

pub struct DatabaseQuery(pub database_queries::Model);

#[Object]
impl DatabaseQuery {
    pub async fn id(&self) -> ID {
        encode(Kind::DatabaseQuery, &self.0.id)
    }
    /// The id workflow documents use (`config.queryId` of a `database-query` node).
    async fn uuid(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn connection_id(&self) -> ID {
        encode(Kind::DatabaseConnection, &self.0.connection_id)
    }
    /// SQL with `:name` parameters, or a MongoDB query document with `{"$param": "name"}`.
    async fn query(&self) -> &str {
        &self.0.query
    }
    async fn query_type(&self) -> DatabaseQueryType {
        DatabaseQueryType::parse(&self.0.query_type)
    }
    async fn parameters(&self) -> Vec<DatabaseQueryParameter> {
        queries::parameters(&self.0)
            .into_iter()
            .map(|p| DatabaseQueryParameter {
                name: p.name,
                schema: Json(p.schema),
            })
            .collect()
    }
    async fn timeout_ms(&self) -> i32 {
        self.0.timeout
    }
    /// Rows per page of `runDatabaseQuery` and of a `database-query` node.
    async fn page_size(&self) -> i32 {
        self.0.page_size
    }
    async fn result_format(&self) -> &str {
        &self.0.result_format
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct DatabaseError {
    /// `TIMEOUT`, `CONNECTION_FAILED`, `QUERY_REJECTED`, `INVALID_PARAMETER`,
    /// `RESULT_TOO_LARGE` or `QUERY_FAILED`.
    pub code: String,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct DatabaseConnectionTest {
    pub ok: bool,
    pub server_version: Option<String>,
    pub round_trip_ms: Option<f64>,
    pub error: Option<DatabaseError>,
}

#[derive(SimpleObject)]
pub struct DatabaseColumn {
    pub name: String,
    /// The server's name for the type, e.g. `int4`, `VARCHAR`, `objectId`.
    #[graphql(name = "type")]
    pub type_name: String,
}

#[derive(SimpleObject)]
pub struct DatabaseTableColumn {
    pub name: String,
    #[graphql(name = "type")]
    pub type_name: String,
    pub nullable: bool,
}

/// A table or view, or a MongoDB collection with the fields seen in sampled documents.
#[derive(SimpleObject)]
pub struct DatabaseTable {
    pub name: String,
    pub schema: Option<String>,
    /// `table`, `view` or `collection`.
    pub kind: String,
    pub columns: Vec<DatabaseTableColumn>,
}

#[derive(SimpleObject)]
pub struct DatabaseQueryResult {
    pub columns: Vec<DatabaseColumn>,
    /// One object per row, keyed by column name: numbers as numbers, timestamps as RFC 3339
    /// strings, JSON as JSON, bytes as base64, NULL as null.
    pub rows: Json<Value>,
    pub has_more: bool,
    /// Pass as `page` to get the rows after these; null on the last page.
    pub next_page: Option<String>,
    pub duration_ms: f64,
    /// Rows (documents) written, for statements that write.
    pub affected_rows: Option<i64>,
}

impl From<QueryResult> for DatabaseQueryResult {
    fn from(result: QueryResult) -> Self {
        Self {
            columns: result
                .columns
                .into_iter()
                .map(|c| DatabaseColumn {
                    name: c.name,
                    type_name: c.type_name,
                })
                .collect(),
            rows: Json(Value::Array(
                result.rows.into_iter().map(Value::Object).collect(),
            )),
            has_more: result.has_more,
            next_page: result.next_page.map(|p| encode_page(p.offset)),
            duration_ms: millis(result.duration),
            affected_rows: result
                .affected_rows
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        }
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Pages are opaque to clients, so the engine may move from offsets to keysets later.
fn encode_page(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_page(page: &str) -> ApiResult<dbquery::Page> {
    let bad = || ApiError::bad_input("page", "is not a `nextPage` returned by runDatabaseQuery");
    let bytes = URL_SAFE_NO_PAD.decode(page).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let offset = text
        .strip_prefix("offset:")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(bad)?;
    Ok(dbquery::Page { offset })
}

#[derive(InputObject)]
pub struct CreateDatabaseConnectionInput {
    pub name: String,
    pub kind: DatabaseKind,
    pub host: String,
    /// The kind's usual port (5432, 3306, 27017) when left out.
    pub port: Option<i32>,
    pub database: String,
    #[graphql(default)]
    pub username: String,
    /// A `database-password` credential (or a `generic` one with a `password` field);
    /// leave out for servers that need no password.
    pub credential_id: Option<ID>,
    /// `PREFER` when left out.
    pub tls_mode: Option<DatabaseTlsMode>,
    /// 5 when left out; at most 50.
    pub pool_size: Option<i32>,
}

#[derive(InputObject)]
pub struct UpdateDatabaseConnectionInput {
    pub id: ID,
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<i32>,
    pub database: Option<String>,
    pub username: Option<String>,
    /// Null removes the credential; leaving it out keeps it.
    pub credential_id: MaybeUndefined<ID>,
    pub tls_mode: Option<DatabaseTlsMode>,
    pub pool_size: Option<i32>,
}

#[derive(InputObject)]
pub struct DeleteDatabaseConnectionInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct DatabaseQueryParameterInput {
    pub name: String,
    /// A JSON Schema for the value, e.g. `{"type": "integer"}`.
    pub schema: Json<Value>,
}

impl From<DatabaseQueryParameterInput> for ParamDecl {
    fn from(input: DatabaseQueryParameterInput) -> Self {
        ParamDecl {
            name: input.name,
            schema: input.schema.0,
        }
    }
}

#[derive(InputObject)]
pub struct CreateDatabaseQueryInput {
    pub name: String,
    pub connection_id: ID,
    pub query: String,
    pub query_type: DatabaseQueryType,
    #[graphql(default)]
    pub parameters: Vec<DatabaseQueryParameterInput>,
    /// 30000 when left out; at most 300000.
    pub timeout_ms: Option<i32>,
    /// 100 when left out; at most 10000.
    pub page_size: Option<i32>,
    /// `json` (the only format today) when left out.
    pub result_format: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateDatabaseQueryInput {
    pub id: ID,
    pub name: Option<String>,
    pub query: Option<String>,
    pub query_type: Option<DatabaseQueryType>,
    pub parameters: Option<Vec<DatabaseQueryParameterInput>>,
    pub timeout_ms: Option<i32>,
    pub page_size: Option<i32>,
    pub result_format: Option<String>,
}

#[derive(InputObject)]
pub struct DeleteDatabaseQueryInput {
    pub id: ID,
}

fn vault<'a>(ctx: &Context<'a>) -> &'a Vault {
    ctx.data_unchecked::<Vault>()
}

fn pools<'a>(ctx: &Context<'a>) -> &'a DbPools {
    ctx.data_unchecked::<Engine>().db_pools()
}

/// The connection `id` as the caller may use it, password resolved.
async fn connection_spec(
    ctx: &Context<'_>,
    path: &str,
    id: &ID,
) -> ApiResult<dbquery::ConnectionSpec> {
    let principal = principal(ctx)?;
    let id = decode(path, Kind::DatabaseConnection, id)?;
    let row = connections::get(db(ctx), principal, &id).await?;
    Ok(connections::spec(db(ctx), Some(vault(ctx)), principal, &row).await?)
}

fn credential_id(path: &str, id: Option<&ID>) -> ApiResult<Option<String>> {
    id.map(|id| decode(path, Kind::Credential, id)).transpose()
}

#[derive(Default)]
pub struct DatabasesQuery;

#[Object]
impl DatabasesQuery {
    /// The caller's database connections, newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn database_connections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<DatabaseConnection>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page = connections::list(db(ctx), principal, page_request(first, after)?).await?;
        Ok(connection(page, after_given, |c| &c.id, DatabaseConnection))
    }

    async fn database_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<DatabaseConnection> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::DatabaseConnection, &id)?;
        Ok(DatabaseConnection(
            connections::get(db(ctx), principal, &id).await?,
        ))
    }

    /// The caller's saved queries, newest first; only those of `connectionId` when given.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn database_queries(
        &self,
        ctx: &Context<'_>,
        connection_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<DatabaseQuery>> {
        let principal = principal(ctx)?;
        let connection_id = connection_id
            .map(|id| decode("connectionId", Kind::DatabaseConnection, &id))
            .transpose()?;
        let after_given = after.is_some();
        let page = queries::list(
            db(ctx),
            principal,
            connection_id.as_deref(),
            page_request(first, after)?,
        )
        .await?;
        Ok(connection(page, after_given, |q| &q.id, DatabaseQuery))
    }

    async fn database_query(&self, ctx: &Context<'_>, id: ID) -> ApiResult<DatabaseQuery> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::DatabaseQuery, &id)?;
        Ok(DatabaseQuery(queries::get(db(ctx), principal, &id).await?))
    }

    /// The tables and views (MongoDB: collections and the fields seen in a sample of their
    /// documents) of a connection, for a query builder.
    async fn database_schema(
        &self,
        ctx: &Context<'_>,
        connection_id: ID,
    ) -> ApiResult<Vec<DatabaseTable>> {
        let spec = connection_spec(ctx, "connectionId", &connection_id).await?;
        let tables = pools(ctx).schema(&spec).await?;
        Ok(tables
            .into_iter()
            .map(|t| DatabaseTable {
                name: t.name,
                schema: t.schema,
                kind: t.kind,
                columns: t
                    .columns
                    .into_iter()
                    .map(|c| DatabaseTableColumn {
                        name: c.name,
                        type_name: c.type_name,
                        nullable: c.nullable,
                    })
                    .collect(),
            })
            .collect())
    }
}

#[derive(Default)]
pub struct DatabasesMutation;

#[Object]
impl DatabasesMutation {
    async fn create_database_connection(
        &self,
        ctx: &Context<'_>,
        input: CreateDatabaseConnectionInput,
    ) -> ApiResult<DatabaseConnection> {
        let principal = principal(ctx)?;
        let draft = ConnectionDraft {
            name: input.name,
            kind: input.kind.as_str().to_owned(),
            host: input.host,
            port: input.port,
            database: input.database,
            username: input.username,
            credential_id: credential_id("input.credentialId", input.credential_id.as_ref())?,
            tls_mode: input.tls_mode.map(|m| m.as_str().to_owned()),
            pool_size: input.pool_size,
        };
        Ok(DatabaseConnection(
            connections::create(db(ctx), pools(ctx).policy(), principal, draft).await?,
        ))
    }

    /// Changes a connection; fields left out keep their value. Runs after the change use a
    /// fresh pool with the new settings.
    async fn update_database_connection(
        &self,
        ctx: &Context<'_>,
        input: UpdateDatabaseConnectionInput,
    ) -> ApiResult<DatabaseConnection> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::DatabaseConnection, &input.id)?;
        let credential = match input.credential_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(credential_id("input.credentialId", Some(&id))?),
        };
        let patch = ConnectionPatch {
            name: input.name,
            host: input.host,
            port: input.port,
            database: input.database,
            username: input.username,
            credential_id: credential,
            tls_mode: input.tls_mode.map(|m| m.as_str().to_owned()),
            pool_size: input.pool_size,
        };
        Ok(DatabaseConnection(
            connections::update(db(ctx), pools(ctx).policy(), principal, &id, patch).await?,
        ))
    }

    /// Deletes a connection and its saved queries.
    async fn delete_database_connection(
        &self,
        ctx: &Context<'_>,
        input: DeleteDatabaseConnectionInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::DatabaseConnection, &input.id)?;
        connections::delete(db(ctx), pools(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    /// Connects, asks the server for its version and times the round trip. A server that
    /// cannot be reached is a result with `ok: false`, not an error.
    async fn test_database_connection(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> ApiResult<DatabaseConnectionTest> {
        let spec = connection_spec(ctx, "id", &id).await?;
        Ok(match pools(ctx).test_connection(&spec).await {
            Ok(info) => DatabaseConnectionTest {
                ok: true,
                server_version: Some(info.version),
                round_trip_ms: Some(millis(info.round_trip)),
                error: None,
            },
            Err(e) => DatabaseConnectionTest {
                ok: false,
                server_version: None,
                round_trip_ms: None,
                error: Some(DatabaseError {
                    code: e.code.as_str().to_owned(),
                    message: e.message,
                }),
            },
        })
    }

    async fn create_database_query(
        &self,
        ctx: &Context<'_>,
        input: CreateDatabaseQueryInput,
    ) -> ApiResult<DatabaseQuery> {
        let principal = principal(ctx)?;
        let connection_id = decode(
            "input.connectionId",
            Kind::DatabaseConnection,
            &input.connection_id,
        )?;
        let draft = QueryDraft {
            name: input.name,
            connection_id,
            query: input.query,
            query_type: input.query_type.as_str().to_owned(),
            parameters: input.parameters.into_iter().map(ParamDecl::from).collect(),
            timeout_ms: input.timeout_ms,
            page_size: input.page_size,
            result_format: input.result_format,
        };
        Ok(DatabaseQuery(
            queries::create(db(ctx), principal, draft).await?,
        ))
    }

    /// Changes a saved query; fields left out keep their value. The whole query is checked
    /// again against its connection.
    async fn update_database_query(
        &self,
        ctx: &Context<'_>,
        input: UpdateDatabaseQueryInput,
    ) -> ApiResult<DatabaseQuery> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::DatabaseQuery, &input.id)?;
        let patch = QueryPatch {
            name: input.name,
            query: input.query,
            query_type: input.query_type.map(|t| t.as_str().to_owned()),
            parameters: input
                .parameters
                .map(|list| list.into_iter().map(ParamDecl::from).collect()),
            timeout_ms: input.timeout_ms,
            page_size: input.page_size,
            result_format: input.result_format,
        };
        Ok(DatabaseQuery(
            queries::update(db(ctx), principal, &id, patch).await?,
        ))
    }

    async fn delete_database_query(
        &self,
        ctx: &Context<'_>,
        input: DeleteDatabaseQueryInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::DatabaseQuery, &input.id)?;
        queries::delete(db(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    /// Runs a saved query with `params` (an object of its named parameters) and returns
    /// one page: the first, or the one `page` (a previous `nextPage`) names. Parameter
    /// values are checked against their schemas first (`BAD_USER_INPUT` at
    /// `params.<name>`); a database failure is an error whose `extensions.code` says what
    /// happened (`TIMEOUT`, `CONNECTION_FAILED`, `QUERY_FAILED`, …).
    async fn run_database_query(
        &self,
        ctx: &Context<'_>,
        id: ID,
        params: Option<Json<Value>>,
        page: Option<String>,
    ) -> ApiResult<DatabaseQueryResult> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::DatabaseQuery, &id)?;
        let params = match params.map(|p| p.0) {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(ApiError::bad_input("params", "must be a JSON object")),
        };
        let page = page.as_deref().map(decode_page).transpose()?;
        let runner = SavedQueries {
            db: db(ctx),
            vault: Some(vault(ctx)),
            pools: pools(ctx),
        };
        let result = runner
            .run(principal, &id, params, page, CancellationToken::new())
            .await?;
        Ok(result.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_round_trips_and_garbage_is_refused() {
        assert_eq!(
            decode_page(&encode_page(300)).ok(),
            Some(dbquery::Page { offset: 300 })
        );
        assert!(decode_page("300").is_err());
        assert!(decode_page(&URL_SAFE_NO_PAD.encode("offset:x")).is_err());
    }

    #[test]
    fn every_query_type_round_trips_through_its_stored_name() {
        for t in dbquery::QueryType::ALL {
            assert_eq!(DatabaseQueryType::parse(t.as_str()).to_domain(), t);
        }
    }
}
