//! PostgreSQL through sqlx: a lazily connecting pool per connection, every run in its own
//! transaction (`READ ONLY` for SELECT) with `SET LOCAL statement_timeout`.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::{
    PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgSslMode, PgTypeInfo, Postgres,
};
use sea_orm::sqlx::{
    self, Arguments, AssertSqlSafe, Column as _, Either, Executor, Row, SqlSafeStr, Statement,
    TypeInfo,
};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use super::bind::{self, BindValue};
use super::params;
use super::pg_values;
use super::{
    Column, ColumnInfo, ConnectionSpec, DbErrorCode, DbQueryError, MAX_PAGE_SIZE, MAX_RESULT_BYTES,
    Page, QueryResult, QuerySpec, ServerInfo, TableInfo, TlsMode,
};

/// How long past its statement timeout a run may take before the client gives up on the
/// server and drops the connection.
const CLIENT_GRACE: Duration = Duration::from_millis(500);

pub fn pool(spec: &ConnectionSpec) -> PgPool {
    let mut options = PgConnectOptions::new()
        .host(&spec.host)
        .port(spec.port)
        .database(&spec.database)
        .username(&spec.username)
        .ssl_mode(match spec.tls_mode {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Prefer => PgSslMode::Prefer,
            TlsMode::Require => PgSslMode::Require,
        })
        // Lets a DBA see (and tests count) which Weft connection a session belongs to.
        .application_name(&application_name(&spec.id));
    if let Some(password) = &spec.password {
        options = options.password(password.expose_secret());
    }
    PgPoolOptions::new()
        .max_connections(spec.pool_size.max(1))
        .min_connections(0)
        .acquire_timeout(super::ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(300))
        // A ping per checkout would double the cost of a short query; a connection found
        // dead when the transaction begins is replaced instead (see `run`).
        .test_before_acquire(false)
        .connect_lazy_with(options)
}

/// The `application_name` of a Weft connection's sessions.
pub fn application_name(connection_id: &str) -> String {
    let mut name = format!("weft {connection_id}");
    name.truncate(63);
    name
}

/// Opens a session of its own rather than one from the pool: the pool keeps retrying a
/// refused connection until its acquire timeout, and a test should answer at once.
pub async fn test_connection(pool: &PgPool) -> Result<ServerInfo, DbQueryError> {
    use sqlx::{ConnectOptions, Connection};
    let options = pool.connect_options();
    let mut conn = super::connecting(super::CONNECT_TIMEOUT, async {
        options.connect().await.map_err(map_connect_error)
    })
    .await?;
    let started = Instant::now();
    let version: Result<String, _> = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await;
    let _ = conn.close().await;
    let version = version.map_err(map_error)?;
    Ok(ServerInfo {
        version: format!("PostgreSQL {version}"),
        round_trip: started.elapsed(),
    })
}

pub async fn schema(pool: &PgPool) -> Result<Vec<TableInfo>, DbQueryError> {
    let mut conn = pool.acquire().await.map_err(map_connect_error)?;
    let rows = sqlx::query(
        "SELECT c.table_schema::text, c.table_name::text, t.table_type::text, \
                c.column_name::text, c.data_type::text, c.is_nullable::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') \
           AND c.table_schema NOT LIKE 'pg_toast%' \
         ORDER BY 1, 2, c.ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(map_error)?;
    let mut tables: Vec<TableInfo> = Vec::new();
    for row in rows {
        let (schema, name, kind): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let column = ColumnInfo {
            name: row.get(3),
            type_name: row.get(4),
            nullable: row.get::<String, _>(5) == "YES",
        };
        match tables.last_mut() {
            Some(t) if t.name == name && t.schema.as_deref() == Some(&schema) => {
                t.columns.push(column)
            }
            _ => tables.push(TableInfo {
                name,
                schema: Some(schema),
                kind: if kind == "VIEW" { "view" } else { "table" }.into(),
                columns: vec![column],
            }),
        }
    }
    Ok(tables)
}

/// A connection in use by a run. Dropped before the run finished cleanly (timeout,
/// cancellation, a failed rollback), it is closed instead of going back to the pool, and
/// the statement still running on its session is cancelled.
struct Session {
    conn: Option<PoolConnection<Postgres>>,
    pool: PgPool,
    backend_pid: Option<i32>,
}

impl Session {
    fn conn(&mut self) -> &mut PoolConnection<Postgres> {
        self.conn.as_mut().expect("session in use")
    }

    /// Returns the connection to the pool.
    fn release(mut self) {
        self.conn.take();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        conn.close_on_drop();
        drop(conn);
        if let Some(pid) = self.backend_pid {
            let pool = self.pool.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let _ = sqlx::query("SELECT pg_cancel_backend($1)")
                        .bind(pid)
                        .execute(&pool)
                        .await;
                });
            }
        }
    }
}

/// Runs one query; the caller bounds it in time (statement timeout plus [`CLIENT_GRACE`]).
pub async fn run(
    pool: &PgPool,
    query: &QuerySpec,
    values: &Map<String, Value>,
    page: Option<Page>,
) -> Result<QueryResult, DbQueryError> {
    let started = Instant::now();
    let rewritten = params::checked(super::DbKind::Postgres, query.query_type, &query.query)
        .map_err(|m| DbQueryError::new(DbErrorCode::QueryRejected, m))?;
    let bound = bind::resolve(&query.parameters, values)?;
    let read = query.query_type.is_read();
    let offset = page.map_or(0, |p| p.offset);
    let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);

    let mut types: Vec<PgTypeInfo> = rewritten
        .binds
        .iter()
        .map(|name| {
            query.parameters.iter().find(|d| d.name == *name).map_or(
                PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0)),
                pg_values::declared_type,
            )
        })
        .collect();
    let sql = if read {
        let n = rewritten.binds.len();
        types.push(PgTypeInfo::with_name("INT8"));
        types.push(PgTypeInfo::with_name("INT8"));
        format!(
            "SELECT * FROM (\n{}\n) AS weft_page LIMIT ${} OFFSET ${}",
            rewritten.sql,
            n + 1,
            n + 2
        )
    } else {
        rewritten.sql.clone()
    };
    // The statement cache is keyed by text alone; the declared types are part of what was
    // prepared, so they go into the text too.
    let sql = format!("{sql}\n-- weft:{}", type_tag(&types));

    let mut session = begin(pool, read, query.timeout).await?;
    let outcome = execute(
        &mut session,
        &sql,
        &types,
        &rewritten.binds,
        &bound,
        read,
        page_size,
        offset,
    )
    .await;
    finish(session, outcome.is_ok()).await?;
    let mut result = outcome?;
    result.duration = started.elapsed();
    Ok(result)
}

fn type_tag(types: &[PgTypeInfo]) -> String {
    types
        .iter()
        .map(|t| t.oid().map_or(0, |o| o.0).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a connection out and opens the run's transaction, in one round trip. A pooled
/// connection the server has dropped fails here, before anything ran, so one retry on a
/// fresh connection is safe.
async fn begin(pool: &PgPool, read: bool, timeout: Duration) -> Result<Session, DbQueryError> {
    let text = format!(
        "BEGIN{}; SET LOCAL statement_timeout = {}; SELECT pg_backend_pid()",
        if read { " READ ONLY" } else { "" },
        timeout.as_millis().max(1)
    );
    let mut attempt = 0;
    loop {
        attempt += 1;
        let conn = pool.acquire().await.map_err(map_connect_error)?;
        let mut session = Session {
            conn: Some(conn),
            pool: pool.clone(),
            backend_pid: None,
        };
        match sqlx::raw_sql(AssertSqlSafe(text.clone()))
            .fetch_all(&mut **session.conn())
            .await
        {
            Ok(rows) => {
                session.backend_pid = rows.first().and_then(|r| r.try_get(0).ok());
                return Ok(session);
            }
            Err(e) if attempt == 1 && is_connection_error(&e) => {
                // `session` drops here and closes the dead connection.
                tracing::debug!(error = %e, "pooled PostgreSQL connection was dead; retrying");
            }
            Err(e) => {
                session.backend_pid = None;
                return Err(map_error(e));
            }
        }
    }
}

async fn finish(mut session: Session, ok: bool) -> Result<(), DbQueryError> {
    let end = if ok { "COMMIT" } else { "ROLLBACK" };
    match session.conn().execute(end).await {
        Ok(_) => {
            session.release();
            Ok(())
        }
        Err(e) => {
            session.backend_pid = None;
            if ok { Err(map_error(e)) } else { Ok(()) }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    session: &mut Session,
    sql: &str,
    types: &[PgTypeInfo],
    binds: &[String],
    bound: &std::collections::HashMap<String, BindValue>,
    read: bool,
    page_size: u32,
    offset: u64,
) -> Result<QueryResult, DbQueryError> {
    let conn = session.conn();
    let statement = (&mut **conn)
        .prepare_with(AssertSqlSafe(sql.to_owned()).into_sql_str(), types)
        .await
        .map_err(map_error)?;
    let server_types: Vec<PgTypeInfo> = match statement.parameters() {
        Some(Either::Left(types)) => types.to_vec(),
        _ => Vec::new(),
    };
    let mut args = PgArguments::default();
    for (i, name) in binds.iter().enumerate() {
        let ty = server_types
            .get(i)
            .cloned()
            .unwrap_or_else(|| types[i].clone());
        pg_values::encode(&mut args, name, &bound[name], &ty)
            .map_err(|m| DbQueryError::new(DbErrorCode::InvalidParameter, m))?;
    }
    if read {
        let limit = i64::from(page_size) + 1;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        args.add(limit)
            .and_then(|_| args.add(offset))
            .map_err(|e| DbQueryError::new(DbErrorCode::QueryFailed, e.to_string()))?;
    }
    let columns: Vec<Column> = statement
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            type_name: c.type_info().name().to_lowercase(),
        })
        .collect();

    let mut rows = Vec::new();
    let mut size = 0usize;
    let mut affected = None;
    let cap = if read {
        page_size as usize + 1
    } else {
        MAX_PAGE_SIZE as usize
    };
    // One statement is guaranteed by the check above; `fetch_many` is the one call that
    // yields both the rows (RETURNING) and the affected-row count.
    #[allow(deprecated)]
    let mut stream = sqlx::query_with(AssertSqlSafe(sql.to_owned()), args).fetch_many(&mut **conn);
    while let Some(item) = stream.try_next().await.map_err(map_error)? {
        match item {
            Either::Left(done) => affected = Some(done.rows_affected()),
            Either::Right(row) => {
                if rows.len() == cap {
                    if read {
                        continue;
                    }
                    return Err(DbQueryError::new(
                        DbErrorCode::ResultTooLarge,
                        format!("the statement returned more than {MAX_PAGE_SIZE} rows"),
                    ));
                }
                let mut out = Map::with_capacity(columns.len());
                for (i, column) in columns.iter().enumerate() {
                    let raw = row.try_get_raw(i).map_err(map_error)?;
                    let value = pg_values::decode(raw).map_err(|m| {
                        DbQueryError::new(
                            DbErrorCode::QueryFailed,
                            format!("column `{}`: {m}", column.name),
                        )
                    })?;
                    size += column.name.len() + approximate_size(&value);
                    out.insert(column.name.clone(), value);
                }
                if size > MAX_RESULT_BYTES {
                    return Err(too_large());
                }
                rows.push(out);
            }
        }
    }
    drop(stream);
    let has_more = read && rows.len() > page_size as usize;
    rows.truncate(if read { page_size as usize } else { rows.len() });
    Ok(QueryResult {
        columns,
        next_page: has_more.then(|| Page {
            offset: offset + rows.len() as u64,
        }),
        has_more,
        affected_rows: if read { None } else { affected },
        rows,
        duration: Duration::ZERO,
    })
}

pub(super) fn too_large() -> DbQueryError {
    DbQueryError::new(
        DbErrorCode::ResultTooLarge,
        format!(
            "the result is larger than {} MB; select fewer columns or use a smaller page size",
            MAX_RESULT_BYTES / (1024 * 1024)
        ),
    )
}

/// The size of `value` as JSON text, near enough for a cap.
pub(super) fn approximate_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 12,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(approximate_size).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 3 + approximate_size(v))
                .sum::<usize>()
        }
    }
}

fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(_) | sqlx::Error::Protocol(_))
        || matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("57P01"))
}

/// An error while getting a session: whatever the server (or whatever listens on the
/// port) answered, it is a failure to connect, so that the code alone never tells a
/// database from another service.
fn map_connect_error(e: sqlx::Error) -> DbQueryError {
    // The pool retries a refused connection until its acquire timeout, so a timeout here
    // is as likely a closed port as a busy pool.
    let mut mapped = match e {
        sqlx::Error::PoolTimedOut => DbQueryError::new(
            DbErrorCode::ConnectionFailed,
            "no connection to the server could be opened or became free in time",
        ),
        other => map_error(other),
    };
    mapped.code = DbErrorCode::ConnectionFailed;
    mapped
}

/// A driver error in words for the user. Server messages are passed on (they name the
/// relation or column at fault); connection details never include the password.
pub fn map_error(e: sqlx::Error) -> DbQueryError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = format!("{} (SQLSTATE {code})", db.message());
            match code.as_str() {
                "57014" => DbQueryError::new(
                    DbErrorCode::Timeout,
                    "the query ran longer than its timeout and was cancelled",
                ),
                "25006" => DbQueryError::new(
                    DbErrorCode::QueryRejected,
                    format!("a SELECT query runs read-only and may not write: {message}"),
                ),
                c if c.starts_with("28") || c == "3D000" => {
                    DbQueryError::new(DbErrorCode::ConnectionFailed, message)
                }
                c if c.starts_with("08") || c == "57P01" => {
                    DbQueryError::new(DbErrorCode::ConnectionFailed, message)
                }
                _ => DbQueryError::new(DbErrorCode::QueryFailed, message),
            }
        }
        sqlx::Error::PoolTimedOut => DbQueryError::new(
            DbErrorCode::Timeout,
            "no pooled connection became free in time",
        ),
        sqlx::Error::Io(io) => DbQueryError::new(
            DbErrorCode::ConnectionFailed,
            format!("could not talk to the server: {io}"),
        ),
        sqlx::Error::Tls(tls) => {
            DbQueryError::new(DbErrorCode::ConnectionFailed, format!("TLS failed: {tls}"))
        }
        sqlx::Error::PoolClosed => {
            DbQueryError::new(DbErrorCode::ConnectionFailed, "the connection was removed")
        }
        other => DbQueryError::new(DbErrorCode::QueryFailed, other.to_string()),
    }
}

pub(super) const fn client_grace() -> Duration {
    CLIENT_GRACE
}
