//! Opening the database. SQLite is the embedded default; PostgreSQL is production.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Opens a pool for `url` with the settings Weft relies on: WAL and a busy timeout on
/// SQLite so concurrent writers wait instead of failing, bounded pools everywhere.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if url.starts_with("sqlite") { 8 } else { 16 })
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // Per connection, not per database: every pooled connection must get these.
        // WAL lets readers proceed while one writer commits; NORMAL syncs at checkpoints
        // instead of on every commit (a power cut may lose the last commits, a process
        // crash loses nothing); the busy timeout makes concurrent writers queue.
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await
}
