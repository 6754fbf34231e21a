//! One bounded pool per connection, keyed by connection id and revision, shared by every
//! execution in the process. A pool is built only for an address the [`DatabasePolicy`]
//! accepted, and dials that address (see [`target`](super::target)).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::{
    ConnectionSpec, DatabasePolicy, DbErrorCode, DbKind, DbQueryError, Page, QueryResult,
    QuerySpec, ServerInfo, TableInfo, TlsMode, mongo, mysql, postgres,
};

/// What a user who is not an administrator learns of a failed connection: the same words
/// whether the port was closed, open to something else, or the login failed.
pub const CONNECTION_FAILED_MESSAGE: &str = "could not connect to the database server or log \
     in; an administrator can find the reason in the server log";

/// A driver pool of one kind.
#[derive(Clone)]
enum Pool {
    Postgres(sea_orm::sqlx::PgPool),
    MySql(mysql::MySqlPool),
    MongoDb(mongo::MongoPool),
}

#[derive(Clone)]
struct Entry {
    revision: String,
    pool: Pool,
}

/// The pools of every connection this process has used. Cheap to clone (shared inside).
#[derive(Clone, Default)]
pub struct DbPools {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    policy: Arc<DatabasePolicy>,
}

impl DbPools {
    /// Pools under the secure default policy: public addresses only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pools that reach what `policy` permits.
    pub fn with_policy(policy: DatabasePolicy) -> Self {
        Self {
            entries: Default::default(),
            policy: Arc::new(policy),
        }
    }

    /// Which servers connections may reach; saving a connection checks its host with it.
    pub fn policy(&self) -> &DatabasePolicy {
        &self.policy
    }

    /// The pool for `conn`, built on first use and rebuilt when the connection's revision
    /// changed (the old pool closes once its last run returns its connection). Building
    /// one resolves the host and checks it again: the policy or DNS may have changed since
    /// the connection was saved.
    async fn pool(&self, conn: &ConnectionSpec) -> Result<Pool, DbQueryError> {
        {
            let entries = self.entries.lock().expect("pool registry");
            if let Some(entry) = entries.get(&conn.id)
                && entry.revision == conn.revision
            {
                return Ok(entry.pool.clone());
            }
        }
        let address = self
            .policy
            .resolve(&conn.host, conn.port, &conn.database)
            .await
            .map_err(|refusal| {
                tracing::warn!(connection = %conn.id, %refusal, "database target refused");
                DbQueryError::new(DbErrorCode::ConnectionFailed, refusal.to_string())
            })?;
        let mut dialled = conn.clone();
        // MongoDB's certificate check needs the name; see `target` for why that is safe.
        if !(conn.kind == DbKind::MongoDb && conn.tls_mode == TlsMode::Require) {
            dialled.host = address.to_string();
        }
        let mut entries = self.entries.lock().expect("pool registry");
        if let Some(entry) = entries.get(&conn.id)
            && entry.revision == conn.revision
        {
            return Ok(entry.pool.clone());
        }
        let pool = match conn.kind {
            DbKind::Postgres => Pool::Postgres(postgres::pool(&dialled)),
            DbKind::MySql => Pool::MySql(mysql::pool(&dialled)?),
            DbKind::MongoDb => Pool::MongoDb(mongo::pool(&dialled)?),
        };
        if let Some(old) = entries.insert(
            conn.id.clone(),
            Entry {
                revision: conn.revision.clone(),
                pool: pool.clone(),
            },
        ) {
            close(old.pool);
        }
        Ok(pool)
    }

    /// Connects (through the pool), asks the server for its version and times the round trip.
    #[tracing::instrument(skip_all, fields(connection = %conn.id, kind = %conn.kind))]
    pub async fn test_connection(&self, conn: &ConnectionSpec) -> Result<ServerInfo, DbQueryError> {
        let pool = self.pool(conn).await?;
        let work = async {
            match &pool {
                Pool::Postgres(p) => postgres::test_connection(p).await,
                Pool::MySql(p) => mysql::test_connection(p).await,
                Pool::MongoDb(p) => mongo::test_connection(p).await,
            }
        };
        bounded(work, super::DEFAULT_TIMEOUT, CancellationToken::new())
            .await
            .map_err(|e| present(e, conn))
    }

    /// The tables and views (MongoDB: collections and sampled fields) a query may use.
    #[tracing::instrument(skip_all, fields(connection = %conn.id, kind = %conn.kind))]
    pub async fn schema(&self, conn: &ConnectionSpec) -> Result<Vec<TableInfo>, DbQueryError> {
        let pool = self.pool(conn).await?;
        let work = async {
            match &pool {
                Pool::Postgres(p) => postgres::schema(p).await,
                Pool::MySql(p) => mysql::schema(p).await,
                Pool::MongoDb(p) => mongo::schema(p).await,
            }
        };
        bounded(work, super::DEFAULT_TIMEOUT, CancellationToken::new())
            .await
            .map_err(|e| present(e, conn))
    }

    /// Runs `query` with `params` bound, returning one page (`page` or the first).
    ///
    /// The query is checked again before it runs (it may have been saved by an older
    /// version). The run ends with `TIMEOUT` at the query's timeout: the server cancels the
    /// statement, and should it not answer, the client gives up shortly after and closes the
    /// connection. Cancelling `cancel` ends it the same way.
    #[tracing::instrument(skip_all, fields(connection = %conn.id, kind = %conn.kind, query_type = %query.query_type))]
    pub async fn run(
        &self,
        conn: &ConnectionSpec,
        query: &QuerySpec,
        params: &Map<String, Value>,
        page: Option<Page>,
        cancel: CancellationToken,
    ) -> Result<QueryResult, DbQueryError> {
        if !query.query_type.valid_for(conn.kind) {
            return Err(DbQueryError::new(
                DbErrorCode::QueryRejected,
                format!(
                    "a {} connection cannot run a {} query",
                    conn.kind, query.query_type
                ),
            ));
        }
        let pool = self.pool(conn).await?;
        let started = Instant::now();
        let work = async {
            match &pool {
                Pool::Postgres(p) => postgres::run(p, query, params, page).await,
                Pool::MySql(p) => mysql::run(p, query, params, page).await,
                Pool::MongoDb(p) => mongo::run(p, query, params, page).await,
            }
        };
        let result = bounded(work, query.timeout, cancel).await;
        match &result {
            Ok(r) => tracing::debug!(
                rows = r.rows.len(),
                ms = started.elapsed().as_millis() as u64,
                "query ran"
            ),
            Err(e) => tracing::debug!(code = %e.code, "query failed"),
        }
        result.map_err(|e| present(e, conn))
    }

    /// Closes the pool of a deleted connection.
    pub fn forget(&self, connection_id: &str) {
        let removed = self
            .entries
            .lock()
            .expect("pool registry")
            .remove(connection_id);
        if let Some(entry) = removed {
            close(entry.pool);
        }
    }

    /// The MongoDB server connections the pool of `connection_id` has opened so far (for
    /// tests: the driver's pool has no server-side view to count).
    #[doc(hidden)]
    pub fn mongo_connections_opened(&self, connection_id: &str) -> Option<u64> {
        match &self
            .entries
            .lock()
            .expect("pool registry")
            .get(connection_id)?
            .pool
        {
            Pool::MongoDb(p) => Some(p.connections_opened()),
            _ => None,
        }
    }
}

/// Closes a pool in the background: runs still holding its connections finish first.
fn close(pool: Pool) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    handle.spawn(async move {
        match pool {
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
            Pool::MongoDb(p) => p.close().await,
        }
    });
}

/// Bounds `work` by `timeout` plus a grace for the server's own timeout to answer first,
/// and by `cancel`. Dropping `work` early closes its connection (each backend's guard).
async fn bounded<T>(
    work: impl Future<Output = Result<T, DbQueryError>>,
    timeout: std::time::Duration,
    cancel: CancellationToken,
) -> Result<T, DbQueryError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(DbQueryError::new(DbErrorCode::Timeout, "the query was cancelled")),
        r = tokio::time::timeout(timeout + postgres::client_grace(), work) => r.unwrap_or_else(|_| {
            Err(DbQueryError::new(
                DbErrorCode::Timeout,
                format!("the query ran longer than its timeout of {} ms", timeout.as_millis()),
            ))
        }),
    }
}

/// A driver's error as the caller may see it: connection failures in one generic message
/// unless `conn` allows details (the detail is logged), and never the password.
fn present(e: DbQueryError, conn: &ConnectionSpec) -> DbQueryError {
    let e = scrub(e, conn);
    if e.code != DbErrorCode::ConnectionFailed || conn.detailed_errors {
        return e;
    }
    tracing::warn!(connection = %conn.id, error = %e.message, "database connection failed");
    DbQueryError::new(DbErrorCode::ConnectionFailed, CONNECTION_FAILED_MESSAGE)
}

/// Defence in depth: no driver should echo the password, but none gets the chance.
fn scrub(mut e: DbQueryError, conn: &ConnectionSpec) -> DbQueryError {
    use secrecy::ExposeSecret;
    if let Some(password) = &conn.password {
        let secret = password.expose_secret();
        if !secret.is_empty() && e.message.contains(secret) {
            e.message = e.message.replace(secret, "[redacted]");
        }
    }
    e
}
