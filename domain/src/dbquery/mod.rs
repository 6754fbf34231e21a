//! Database query engines: run a saved query against a user's PostgreSQL, MySQL/MariaDB or
//! MongoDB server through a pooled connection, with bound parameters, read-only SELECTs,
//! statement timeouts, row and size caps and offset pagination.
//!
//! [`check_query`] is the save-time check (one statement, the declared kind, parameters
//! declared and used); [`DbPools`] runs queries and owns one bounded pool per connection.
//! Nothing here knows about storage or GraphQL: the caller resolves the connection row and
//! its password into a [`ConnectionSpec`].
//!
//! Query syntax, the MongoDB query document and the mapping of server types to JSON are
//! documented in the README ("Database queries").

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value};

mod bind;
mod mongo;
mod mongo_doc;
mod mysql;
mod params;
mod pg_values;
mod pools;
mod postgres;
mod sql_check;
mod target;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use pools::{CONNECTION_FAILED_MESSAGE, DbPools};
pub use target::{DatabasePolicy, ENV_DATABASE_ALLOWED_HOSTS, OwnDatabase, TargetRefusal};

/// Timeout of a query that does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Rows per page when a query does not set a page size.
pub const DEFAULT_PAGE_SIZE: u32 = 1_000;
/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// The most JSON one result may take (rows as serialized JSON).
pub const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;
/// The longest timeout a query may declare.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `testDatabaseConnection` waits for a server to complete the handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a run waits for a pooled session (a free one, or a new one to open).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds opening a session by `limit`: a port that accepts and then says nothing is a
/// failure to connect, like a closed one, not a hang until the query's timeout.
async fn connecting<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, DbQueryError>>,
) -> Result<T, DbQueryError> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(DbQueryError::new(
            DbErrorCode::ConnectionFailed,
            format!(
                "the server did not complete the connection within {} s",
                limit.as_secs()
            ),
        ))
    })
}

/// The server family a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    Postgres,
    MySql,
    MongoDb,
}

impl DbKind {
    pub const ALL: [DbKind; 3] = [DbKind::Postgres, DbKind::MySql, DbKind::MongoDb];

    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::Postgres => "postgres",
            DbKind::MySql => "mysql",
            DbKind::MongoDb => "mongodb",
        }
    }

    /// The port a server of this kind listens on unless told otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            DbKind::Postgres => 5432,
            DbKind::MySql => 3306,
            DbKind::MongoDb => 27017,
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DbKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DbKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown database kind `{s}`: expected postgres, mysql or mongodb")
            })
    }
}

/// Whether the connection to the server is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise.
    #[default]
    Prefer,
    /// TLS or no connection.
    Require,
}

impl TlsMode {
    pub const ALL: [TlsMode; 3] = [TlsMode::Disable, TlsMode::Prefer, TlsMode::Require];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TlsMode::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown TLS mode `{s}`: expected disable, prefer or require"))
    }
}

/// Everything needed to reach one database, password included. Built by the caller from a
/// `database_connections` row and its credential; never stored or printed as a whole.
#[derive(Clone)]
pub struct ConnectionSpec {
    pub id: String,
    pub kind: DbKind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    pub password: Option<SecretString>,
    pub tls_mode: TlsMode,
    /// Most server connections this connection's pool opens at once.
    pub pool_size: u32,
    /// Changes whenever the row changes, so a pool built from stale settings is replaced.
    pub revision: String,
    /// Whether connection failures may say what went wrong (refused, timed out, login
    /// failed). Only administrators see that: to anyone else it would tell an open port
    /// from a closed one, so they get one message and the detail goes to the log.
    pub detailed_errors: bool,
}

impl fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSpec")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("tls_mode", &self.tls_mode)
            .field("pool_size", &self.pool_size)
            .field("revision", &self.revision)
            .field("detailed_errors", &self.detailed_errors)
            .finish()
    }
}

/// The statement kind a query declares; the query text must match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
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

impl QueryType {
    pub const ALL: [QueryType; 13] = [
        QueryType::Select,
        QueryType::Insert,
        QueryType::Update,
        QueryType::Delete,
        QueryType::Find,
        QueryType::Aggregate,
        QueryType::InsertOne,
        QueryType::InsertMany,
        QueryType::UpdateOne,
        QueryType::UpdateMany,
        QueryType::DeleteOne,
        QueryType::DeleteMany,
        QueryType::CountDocuments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueryType::Select => "select",
            QueryType::Insert => "insert",
            QueryType::Update => "update",
            QueryType::Delete => "delete",
            QueryType::Find => "find",
            QueryType::Aggregate => "aggregate",
            QueryType::InsertOne => "insertOne",
            QueryType::InsertMany => "insertMany",
            QueryType::UpdateOne => "updateOne",
            QueryType::UpdateMany => "updateMany",
            QueryType::DeleteOne => "deleteOne",
            QueryType::DeleteMany => "deleteMany",
            QueryType::CountDocuments => "countDocuments",
        }
    }

    /// Whether a connection of `kind` can run a query of this type.
    pub fn valid_for(self, kind: DbKind) -> bool {
        let sql = matches!(
            self,
            QueryType::Select | QueryType::Insert | QueryType::Update | QueryType::Delete
        );
        sql != (kind == DbKind::MongoDb)
    }

    /// Whether the query only reads (runs read-only and pages).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            QueryType::Select | QueryType::Find | QueryType::Aggregate | QueryType::CountDocuments
        )
    }

    /// The types a connection of `kind` accepts, for error messages and the palette.
    pub fn for_kind(kind: DbKind) -> impl Iterator<Item = QueryType> {
        QueryType::ALL
            .into_iter()
            .filter(move |t| t.valid_for(kind))
    }
}

impl fmt::Display for QueryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QueryType {
    type Err = String;

    /// Accepts the canonical names in any letter case (`SELECT`, as the seed's rows spell
    /// them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueryType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown query type `{s}`"))
    }
}

/// One named parameter a query declares, with the JSON Schema its value must satisfy. The
/// schema also decides how the value is bound: see [`params`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub name: String,
    pub schema: Value,
}

/// A saved query, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    /// SQL with `:name` parameters, or for MongoDB a query document (see the README).
    pub query: String,
    pub query_type: QueryType,
    pub parameters: Vec<ParamDecl>,
    pub timeout: Duration,
    /// Rows per page, at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
}

impl QuerySpec {
    pub fn new(query: impl Into<String>, query_type: QueryType) -> Self {
        Self {
            query: query.into(),
            query_type,
            parameters: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// Where a page starts: the number of rows (documents) before it. Pages are stable only if
/// the query orders its rows (`ORDER BY`, a MongoDB `sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page {
    pub offset: u64,
}

/// One result column: its name and the server's name for its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_name: String,
}

/// What one run returned.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Map<String, Value>>,
    /// Whether rows follow this page; then `next_page` says where they start.
    pub has_more: bool,
    pub next_page: Option<Page>,
    /// Rows (documents) written, for statements that write.
    pub affected_rows: Option<u64>,
    pub duration: Duration,
}

/// What a connection test learned about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub version: String,
    pub round_trip: Duration,
}

/// A table, view or collection, for a query builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    pub name: String,
    pub schema: Option<String>,
    /// `table`, `view` or `collection`.
    pub kind: String,
    pub columns: Vec<ColumnInfo>,
}

/// A column of a table, or for MongoDB a field seen in sampled documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub type_name: String,
    pub nullable: bool,
}

/// Why a run failed, in a form callers map to their own error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbErrorCode {
    /// The statement timeout passed (or the run was cancelled).
    Timeout,
    /// The server could not be reached or logged in to.
    ConnectionFailed,
    /// The query is not one Weft runs (several statements, wrong kind, refused operator).
    QueryRejected,
    /// A parameter value is missing, has the wrong type or carries an operator.
    InvalidParameter,
    /// The result is over [`MAX_RESULT_BYTES`] or the row cap of a write.
    ResultTooLarge,
    /// The server refused or failed the statement.
    QueryFailed,
}

impl DbErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DbErrorCode::Timeout => "TIMEOUT",
            DbErrorCode::ConnectionFailed => "CONNECTION_FAILED",
            DbErrorCode::QueryRejected => "QUERY_REJECTED",
            DbErrorCode::InvalidParameter => "INVALID_PARAMETER",
            DbErrorCode::ResultTooLarge => "RESULT_TOO_LARGE",
            DbErrorCode::QueryFailed => "QUERY_FAILED",
        }
    }
}

impl fmt::Display for DbErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed run. The message is meant for the user and never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DbQueryError {
    pub code: DbErrorCode,
    pub message: String,
}

impl DbQueryError {
    pub fn new(code: DbErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Whether running the same thing again may succeed (connection trouble, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code,
            DbErrorCode::Timeout | DbErrorCode::ConnectionFailed
        )
    }
}

/// The save-time check of a query for a connection of `kind`: the page size and timeout are
/// in range, the text is exactly one statement of the declared type (MongoDB: a valid query
/// document), and every `:name` used is declared and every declared parameter used.
///
/// Problems are located by paths under the caller's input (`query`, `queryType`,
/// `parameters.0.schema`, `pageSize`, `timeout`).
pub fn check_query(kind: DbKind, spec: &QuerySpec) -> Result<(), Vec<(String, String)>> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem = |path: &str, message: String| problems.push((path.to_owned(), message));
    if spec.page_size == 0 || spec.page_size > MAX_PAGE_SIZE {
        problem(
            "pageSize",
            format!(
                "must be between 1 and {MAX_PAGE_SIZE}, not {}",
                spec.page_size
            ),
        );
    }
    if spec.timeout.is_zero() || spec.timeout > MAX_TIMEOUT {
        problem(
            "timeout",
            format!(
                "must be between 1 ms and {} s, not {} ms",
                MAX_TIMEOUT.as_secs(),
                spec.timeout.as_millis()
            ),
        );
    }
    for (i, decl) in spec.parameters.iter().enumerate() {
        if !is_param_name(&decl.name) {
            problem(
                &format!("parameters.{i}.name"),
                format!(
                    "`{}` is not a parameter name (letters, digits and `_`, not starting with a digit)",
                    decl.name
                ),
            );
        }
        if spec.parameters[..i].iter().any(|d| d.name == decl.name) {
            problem(
                &format!("parameters.{i}.name"),
                format!("`{}` is declared twice", decl.name),
            );
        }
        if let Err(e) = crate::json_schema::check_schema(&decl.schema) {
            problem(&format!("parameters.{i}.schema"), e.to_string());
        }
    }
    if !spec.query_type.valid_for(kind) {
        problem(
            "queryType",
            format!(
                "a {kind} connection runs {}, not {}",
                QueryType::for_kind(kind)
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                spec.query_type
            ),
        );
        return Err(problems);
    }
    let used: Result<Vec<String>, String> = match kind {
        DbKind::MongoDb => mongo_doc::parse(&spec.query, spec.query_type).map(|q| q.params),
        DbKind::Postgres | DbKind::MySql => params::rewrite(&spec.query, kind).and_then(|r| {
            sql_check::check_statement(kind, spec.query_type, &r.sql)?;
            Ok(params::names_used(&r)
                .into_iter()
                .map(str::to_owned)
                .collect())
        }),
    };
    match used {
        Err(message) => problem("query", message),
        Ok(used) => {
            for name in &used {
                if !spec.parameters.iter().any(|d| d.name == *name) {
                    problem(
                        "query",
                        format!("`{name}` is used but not declared in `parameters`"),
                    );
                }
            }
            for (i, decl) in spec.parameters.iter().enumerate() {
                if !used.contains(&decl.name) {
                    problem(
                        &format!("parameters.{i}.name"),
                        format!("`{}` is declared but the query does not use it", decl.name),
                    );
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
