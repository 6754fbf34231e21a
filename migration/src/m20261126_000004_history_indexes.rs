//! Indexes that keep the execution history fast at millions of rows: every listing filter
//! (alone or combined) reads one index range newest first and stops after a page, checked
//! with EXPLAIN on SQLite and PostgreSQL over 1,000,000 executions (README, "Benchmarks:
//! execution history").

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::create_index;

/// `(table, columns)` of every index this migration adds.
const INDEXES: [(&str, &[&str]); 2] = [
    // `workflowId` + `status`: without it PostgreSQL intersects two bitmaps and sorts,
    // and SQLite walks the workflow's range testing status row by row.
    ("workflow_executions", &["workflow_id", "status", "id"]),
    // Covers the "shared with me" half of workflow visibility, so it never touches the
    // share rows themselves.
    ("workflow_shares", &["user_id", "workflow_id"]),
];

/// SQLite plans from `sqlite_stat1` when it exists, and an index missing from it looks
/// better than it is: with statistics from an earlier ANALYZE (or `PRAGMA optimize`)
/// but none for the new index, `workflowId` listings used the three-column index and
/// sorted the workflow's whole history (23 ms instead of 2 ms at 1,000,000 rows). So a
/// database that has statistics gets the indexes and fresh, sampled statistics in one
/// batch: a pooled connection that reloaded the schema between the two would keep the
/// partial statistics for its lifetime. One without statistics is left to the planner's
/// defaults, which choose well for every history query.
async fn create_with_sqlite_statistics(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite
        || !manager.has_table("sqlite_stat1").await?
    {
        return Ok(false);
    }
    let mut batch = String::new();
    for (table, columns) in INDEXES {
        batch.push_str(&format!(
            "CREATE INDEX IF NOT EXISTS \"idx_{table}_{}\" ON \"{table}\" ({}); ",
            columns.join("_"),
            columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    batch.push_str("PRAGMA analysis_limit = 2000; ");
    for (table, _) in INDEXES {
        batch.push_str(&format!("ANALYZE \"{table}\"; "));
    }
    manager.get_connection().execute_unprepared(&batch).await?;
    Ok(true)
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if create_with_sqlite_statistics(manager).await? {
            return Ok(());
        }
        for (table, columns) in INDEXES {
            create_index(manager, table, columns).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns) in INDEXES {
            let name = format!("idx_{table}_{}", columns.join("_"));
            manager
                .drop_index(Index::drop().name(name).table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
