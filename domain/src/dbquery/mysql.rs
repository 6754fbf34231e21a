//! MySQL and MariaDB through mysql_async: a bounded pool per connection, every run in its
//! own transaction (`READ ONLY` for SELECT) under the server's statement time limit
//! (`max_statement_time` on MariaDB, `max_execution_time` on MySQL, which limits SELECTs).

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{Datelike, Timelike};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Params, PoolConstraints, PoolOpts};
use secrecy::ExposeSecret;
use serde_json::{Map, Number, Value};

use super::bind::{self, BindValue};
use super::postgres::{approximate_size, too_large};
use super::{
    Column, ColumnInfo, ConnectionSpec, DbErrorCode, DbKind, DbQueryError, MAX_PAGE_SIZE,
    MAX_RESULT_BYTES, Page, QueryResult, QuerySpec, ServerInfo, TableInfo, TlsMode, params,
};

/// The character set number MySQL reports for binary strings.
const BINARY_CHARSET: u16 = 63;

/// A pool and the options to open the side connection that cancels a runaway statement.
#[derive(Clone)]
pub struct MySqlPool {
    pool: mysql_async::Pool,
    opts: Opts,
}

impl MySqlPool {
    pub async fn close(self) {
        let _ = self.pool.disconnect().await;
    }
}

pub fn pool(spec: &ConnectionSpec) -> Result<MySqlPool, DbQueryError> {
    if spec.tls_mode == TlsMode::Require {
        return Err(DbQueryError::new(
            DbErrorCode::ConnectionFailed,
            "TLS is not available for MySQL connections in this build; use tlsMode disable or prefer",
        ));
    }
    let max = usize::try_from(spec.pool_size.max(1)).unwrap_or(1);
    let constraints = PoolConstraints::new(0, max).expect("0 <= max");
    let opts: Opts = OptsBuilder::default()
        .ip_or_hostname(spec.host.clone())
        .tcp_port(spec.port)
        .db_name(Some(spec.database.clone()))
        .user(Some(spec.username.clone()))
        .pass(spec.password.as_ref().map(|p| p.expose_secret().to_owned()))
        .prefer_socket(false)
        // Timestamps travel in UTC both ways.
        .init(vec!["SET time_zone = '+00:00'"])
        .pool_opts(
            PoolOpts::default()
                .with_constraints(constraints)
                // Resetting on return would also drop every prepared statement; each run
                // sets what it needs (time limit, transaction mode) itself.
                .with_reset_connection(false)
                .with_inactive_connection_ttl(Duration::from_secs(300)),
        )
        .into();
    Ok(MySqlPool {
        pool: mysql_async::Pool::new(opts.clone()),
        opts,
    })
}

/// Opens a session of its own, bounded by [`CONNECT_TIMEOUT`](super::CONNECT_TIMEOUT): a
/// test should say at once that nothing answers, not wait for a pooled one.
pub async fn test_connection(pool: &MySqlPool) -> Result<ServerInfo, DbQueryError> {
    let mut conn = super::connecting(super::CONNECT_TIMEOUT, async {
        Conn::new(pool.opts.clone())
            .await
            .map_err(map_connect_error)
    })
    .await?;
    let started = Instant::now();
    let version: Result<Option<String>, _> = conn.query_first("SELECT VERSION()").await;
    let flavor = if is_mariadb(&conn) {
        "MariaDB"
    } else {
        "MySQL"
    };
    let _ = conn.disconnect().await;
    let version = version.map_err(map_error)?.unwrap_or_default();
    Ok(ServerInfo {
        version: format!("{flavor} {version}"),
        round_trip: started.elapsed(),
    })
}

pub async fn schema(pool: &MySqlPool) -> Result<Vec<TableInfo>, DbQueryError> {
    let mut conn = get_conn(pool).await?;
    let rows: Vec<(String, String, String, String, String)> = conn
        .query(
            "SELECT c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE \
             FROM information_schema.COLUMNS c \
             JOIN information_schema.TABLES t \
               ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
             WHERE c.TABLE_SCHEMA = DATABASE() \
             ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        )
        .await
        .map_err(map_error)?;
    let mut tables: Vec<TableInfo> = Vec::new();
    for (name, kind, column, type_name, nullable) in rows {
        let column = ColumnInfo {
            name: column,
            type_name,
            nullable: nullable == "YES",
        };
        match tables.last_mut() {
            Some(t) if t.name == name => t.columns.push(column),
            _ => tables.push(TableInfo {
                name,
                schema: None,
                kind: if kind == "VIEW" { "view" } else { "table" }.into(),
                columns: vec![column],
            }),
        }
    }
    Ok(tables)
}

/// A pooled session, bounded like PostgreSQL's acquire timeout: mysql_async waits for a
/// free slot or a silent server without limit.
async fn get_conn(pool: &MySqlPool) -> Result<Conn, DbQueryError> {
    super::connecting(super::ACQUIRE_TIMEOUT, async {
        pool.pool.get_conn().await.map_err(map_connect_error)
    })
    .await
}

/// MariaDB reports versions from 10 on; MySQL's are 5, 8 and 9.
fn is_mariadb(conn: &Conn) -> bool {
    conn.server_version().0 >= 10
}

/// A connection in use by a run. Dropped before the run finished (timeout, cancellation),
/// it kills the statement still running on its session from a side connection, so the
/// session is usable again when the pool takes it back.
struct Session {
    conn: Option<Conn>,
    opts: Opts,
}

impl Session {
    fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("session in use")
    }

    fn release(mut self) {
        self.conn.take();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let id = conn.id();
        let opts = self.opts.clone();
        handle.spawn(async move {
            if let Ok(mut killer) = Conn::new(opts).await {
                let _ = killer.query_drop(format!("KILL QUERY {id}")).await;
                let _ = killer.disconnect().await;
            }
            let _ = conn.disconnect().await;
        });
    }
}

pub async fn run(
    pool: &MySqlPool,
    query: &QuerySpec,
    values: &Map<String, Value>,
    page: Option<Page>,
) -> Result<QueryResult, DbQueryError> {
    let started = Instant::now();
    let rewritten = params::checked(DbKind::MySql, query.query_type, &query.query)
        .map_err(|m| DbQueryError::new(DbErrorCode::QueryRejected, m))?;
    let bound = bind::resolve(&query.parameters, values)?;
    let read = query.query_type.is_read();
    let offset = page.map_or(0, |p| p.offset);
    let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);

    let mut args: Vec<mysql_async::Value> = rewritten
        .binds
        .iter()
        .map(|name| to_mysql(&bound[name]))
        .collect();
    let sql = if read {
        args.push(mysql_async::Value::UInt(u64::from(page_size) + 1));
        args.push(mysql_async::Value::UInt(offset));
        format!(
            "SELECT * FROM (\n{}\n) AS weft_page LIMIT ? OFFSET ?",
            rewritten.sql
        )
    } else {
        rewritten.sql.clone()
    };

    let mut session = begin(pool, read, query.timeout).await?;
    let outcome = execute(session.conn(), &sql, args, read, page_size, offset).await;
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    match session.conn().query_drop(end).await {
        Ok(()) => session.release(),
        // A session whose transaction state is unknown must not serve another run.
        Err(e) if outcome.is_ok() => {
            let conn = session.conn.take();
            if let Some(conn) = conn {
                let _ = conn.disconnect().await;
            }
            return Err(map_error(e));
        }
        Err(_) => {
            if let Some(conn) = session.conn.take() {
                let _ = conn.disconnect().await;
            }
        }
    }
    let mut result = outcome?;
    result.duration = started.elapsed();
    Ok(result)
}

/// Checks a connection out, sets the time limit and opens the transaction in one round
/// trip. A pooled connection the server dropped fails here, before the statement ran, so
/// one retry on a fresh connection is safe.
async fn begin(pool: &MySqlPool, read: bool, timeout: Duration) -> Result<Session, DbQueryError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let conn = get_conn(pool).await?;
        let limit = if is_mariadb(&conn) {
            format!(
                "SET SESSION max_statement_time = {:.3}",
                timeout.as_secs_f64()
            )
        } else {
            format!(
                "SET SESSION max_execution_time = {}",
                timeout.as_millis().max(1)
            )
        };
        let text = format!(
            "{limit}; START TRANSACTION{}",
            if read { " READ ONLY" } else { "" }
        );
        let mut session = Session {
            conn: Some(conn),
            opts: pool.opts.clone(),
        };
        match session.conn().query_drop(text).await {
            Ok(()) => return Ok(session),
            Err(e) if attempt == 1 && is_connection_error(&e) => {
                tracing::debug!(error = %e, "pooled MySQL connection was dead; retrying");
                if let Some(conn) = session.conn.take() {
                    drop(conn);
                }
            }
            Err(e) => {
                session.conn.take();
                return Err(map_error(e));
            }
        }
    }
}

async fn execute(
    conn: &mut Conn,
    sql: &str,
    args: Vec<mysql_async::Value>,
    read: bool,
    page_size: u32,
    offset: u64,
) -> Result<QueryResult, DbQueryError> {
    let params = if args.is_empty() {
        Params::Empty
    } else {
        Params::Positional(args)
    };
    let mut result = conn.exec_iter(sql, params).await.map_err(map_error)?;
    let meta = result
        .columns()
        .unwrap_or_else(|| std::sync::Arc::from(Vec::new()));
    let columns: Vec<Column> = meta
        .iter()
        .map(|c| Column {
            name: c.name_str().into_owned(),
            type_name: type_name(c),
        })
        .collect();
    let cap = if read {
        page_size as usize + 1
    } else {
        MAX_PAGE_SIZE as usize
    };
    let mut rows = Vec::new();
    let mut size = 0usize;
    let mut overflow = false;
    while let Some(mut row) = result.next().await.map_err(map_error)? {
        if rows.len() == cap || overflow {
            overflow = true;
            continue;
        }
        let mut out = Map::with_capacity(columns.len());
        for (i, column) in meta.iter().enumerate() {
            let value = from_mysql(row.take(i).unwrap_or(mysql_async::Value::NULL), column);
            size += columns[i].name.len() + approximate_size(&value);
            out.insert(columns[i].name.clone(), value);
        }
        if size > MAX_RESULT_BYTES {
            overflow = true;
            size = usize::MAX;
            continue;
        }
        rows.push(out);
    }
    let affected = result.affected_rows();
    drop(result);
    if size == usize::MAX {
        return Err(too_large());
    }
    if overflow && !read {
        return Err(DbQueryError::new(
            DbErrorCode::ResultTooLarge,
            format!("the statement returned more than {MAX_PAGE_SIZE} rows"),
        ));
    }
    let has_more = read && rows.len() > page_size as usize;
    rows.truncate(if read { page_size as usize } else { rows.len() });
    Ok(QueryResult {
        columns,
        next_page: has_more.then(|| Page {
            offset: offset + rows.len() as u64,
        }),
        has_more,
        affected_rows: (!read).then_some(affected),
        rows,
        duration: Duration::ZERO,
    })
}

fn to_mysql(value: &BindValue) -> mysql_async::Value {
    use mysql_async::Value as V;
    match value {
        BindValue::Null => V::NULL,
        BindValue::Bool(b) => V::Int(i64::from(*b)),
        BindValue::Int(i) => V::Int(*i),
        BindValue::Float(f) => V::Double(*f),
        BindValue::Text(s) => V::Bytes(s.clone().into_bytes()),
        BindValue::Timestamp(t) => V::Date(
            u16::try_from(t.year()).unwrap_or(0),
            t.month() as u8,
            t.day() as u8,
            t.hour() as u8,
            t.minute() as u8,
            t.second() as u8,
            t.timestamp_subsec_micros(),
        ),
        BindValue::Bytes(b) => V::Bytes(b.clone()),
        BindValue::Json(v) => V::Bytes(v.to_string().into_bytes()),
    }
}

fn type_name(column: &mysql_async::Column) -> String {
    let name = format!("{:?}", column.column_type());
    let name = name.trim_start_matches("MYSQL_TYPE_").to_lowercase();
    if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
        format!("{name} unsigned")
    } else {
        name
    }
}

fn from_mysql(value: mysql_async::Value, column: &mysql_async::Column) -> Value {
    use mysql_async::Value as V;
    let ty = column.column_type();
    match value {
        V::NULL => Value::Null,
        V::Int(i) => Value::from(i),
        V::UInt(u) => Value::from(u),
        V::Float(f) => Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number),
        V::Double(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        V::Date(y, m, d, h, mi, s, us) => Value::String(match ty {
            ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => {
                format!("{y:04}-{m:02}-{d:02}")
            }
            _ => {
                let zone = if ty == ColumnType::MYSQL_TYPE_TIMESTAMP {
                    "Z"
                } else {
                    ""
                };
                let frac = if us > 0 {
                    format!(".{us:06}")
                } else {
                    String::new()
                };
                format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
            }
        }),
        V::Time(negative, days, h, m, s, us) => {
            let hours = days * 24 + u32::from(h);
            let sign = if negative { "-" } else { "" };
            let frac = if us > 0 {
                format!(".{us:06}")
            } else {
                String::new()
            };
            Value::String(format!("{sign}{hours:02}:{m:02}:{s:02}{frac}"))
        }
        V::Bytes(bytes) => match ty {
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            }
            ColumnType::MYSQL_TYPE_JSON => serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
            ColumnType::MYSQL_TYPE_BIT if bytes.len() <= 8 => {
                Value::from(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            }
            _ if column.character_set() == BINARY_CHARSET => Value::String(BASE64.encode(&bytes)),
            _ => match String::from_utf8(bytes) {
                Ok(s) => Value::String(s),
                Err(e) => Value::String(BASE64.encode(e.into_bytes())),
            },
        },
    }
}

fn is_connection_error(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) => true,
        mysql_async::Error::Driver(_) => true,
        // 1927: connection was killed; 2006/2013: server gone away / lost connection.
        mysql_async::Error::Server(s) => matches!(s.code, 1927 | 2006 | 2013),
        _ => false,
    }
}

/// An error while getting a session: a failure to connect whatever answered, so that the
/// code alone never tells a database from another service on the port.
fn map_connect_error(e: mysql_async::Error) -> DbQueryError {
    let mut mapped = map_error(e);
    if mapped.code != DbErrorCode::Timeout {
        mapped.code = DbErrorCode::ConnectionFailed;
    }
    mapped
}

/// A driver error in words for the user.
pub fn map_error(e: mysql_async::Error) -> DbQueryError {
    match e {
        mysql_async::Error::Server(s) => {
            let message = format!("{} (error {})", s.message, s.code);
            match s.code {
                // MariaDB's max_statement_time, MySQL's max_execution_time, a killed query.
                1969 | 3024 | 1317 => DbQueryError::new(
                    DbErrorCode::Timeout,
                    "the query ran longer than its timeout and was cancelled",
                ),
                1792 => DbQueryError::new(
                    DbErrorCode::QueryRejected,
                    format!("a SELECT query runs read-only and may not write: {message}"),
                ),
                1044 | 1045 | 1049 | 1927 => {
                    DbQueryError::new(DbErrorCode::ConnectionFailed, message)
                }
                _ => DbQueryError::new(DbErrorCode::QueryFailed, message),
            }
        }
        mysql_async::Error::Io(io) => DbQueryError::new(
            DbErrorCode::ConnectionFailed,
            format!("could not talk to the server: {io}"),
        ),
        mysql_async::Error::Driver(d) => {
            DbQueryError::new(DbErrorCode::ConnectionFailed, format!("driver: {d}"))
        }
        other => DbQueryError::new(DbErrorCode::QueryFailed, other.to_string()),
    }
}
