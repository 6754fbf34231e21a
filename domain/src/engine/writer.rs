//! Group commit for execution records. Every state change of every running execution is
//! sent here as rendered SQL; the writer puts all changes that are waiting into one
//! transaction sent to the database in a single round trip, then tells each sender.
//!
//! Why: on SQLite each statement is a round trip to sqlx's connection thread and every
//! transaction costs BEGIN and COMMIT trips; batching turns N executions' changes into one
//! round trip and one commit. Values are rendered by sea-query's escaping (the statements
//! are built from Weft's own models, never from user SQL).

use sea_orm::sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder};
use sea_orm::sqlx::{self, AssertSqlSafe};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::{mpsc, oneshot};

/// Upper bound on changes per transaction, so one commit never grows without limit.
const MAX_BATCH: usize = 512;
const QUEUE: usize = 4_096;

struct Job {
    sql: String,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
pub struct Writer {
    backend: DbBackend,
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(db: DatabaseConnection) -> Self {
        let backend = db.get_database_backend();
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, rx));
        Self { backend, jobs }
    }

    /// Renders a statement with its values inline for this backend.
    pub fn render(&self, statement: &impl QueryStatementWriter) -> String {
        match self.backend {
            DbBackend::Postgres => statement.to_string(PostgresQueryBuilder),
            _ => statement.to_string(SqliteQueryBuilder),
        }
    }

    /// Commits `statements` atomically (together with whatever else is waiting).
    pub async fn commit(&self, statements: Vec<String>) -> Result<(), DbErr> {
        let (done, wait) = oneshot::channel();
        let job = Job {
            sql: statements.join(";\n"),
            done,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| DbErr::Custom("the record writer has stopped".into()))?;
        wait.await
            .map_err(|_| DbErr::Custom("the record writer has stopped".into()))?
            .map_err(DbErr::Custom)
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>) {
    let begin = match db.get_database_backend() {
        // IMMEDIATE takes the write lock up front, so the batch waits (busy timeout)
        // instead of failing halfway when another connection is writing.
        DbBackend::Sqlite => "BEGIN IMMEDIATE",
        _ => "BEGIN",
    };
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let sql = batch
            .iter()
            .map(|j| j.sql.as_str())
            .collect::<Vec<_>>()
            .join(";\n");
        match transact(&db, begin, &sql).await {
            Ok(()) => {
                for job in batch {
                    let _ = job.done.send(Ok(()));
                }
            }
            // One bad change must not fail its neighbours: retry each on its own.
            Err(_) if batch.len() > 1 => {
                for job in batch {
                    let result = transact(&db, begin, &job.sql).await;
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Runs `sql` in one transaction over one pooled connection, in one round trip; on any
/// error the same connection is rolled back before it returns to the pool.
async fn transact(db: &DatabaseConnection, begin: &str, sql: &str) -> Result<(), String> {
    let script = format!("{begin};\n{sql};\nCOMMIT;");
    match db.get_database_backend() {
        DbBackend::Postgres => run_script(db.get_postgres_connection_pool(), script).await,
        DbBackend::Sqlite => run_script(db.get_sqlite_connection_pool(), script).await,
        other => Err(format!("the engine does not support {other:?} storage")),
    }
}

async fn run_script<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, script: String) -> Result<(), String>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    match sqlx::raw_sql(AssertSqlSafe(script))
        .execute(&mut *conn)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            Err(e.to_string())
        }
    }
}
