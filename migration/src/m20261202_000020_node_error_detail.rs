//! The structured error of a failed node attempt (code, message, retryability, cause chain)
//! as one JSON column beside the message string, which stays for older readers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::json_binary_null;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

const TABLE: &str = "node_executions";
const COLUMN: &str = "error_detail";

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite and MySQL run migrations outside a transaction, so a retry after a failure
/// must skip a column that already exists. `SchemaManager::has_column` needs the sqlx-mysql
/// feature, so MySQL is probed through its catalog.
async fn has_column(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    if manager.get_database_backend() == DbBackend::MySql {
        let probe = Statement::from_sql_and_values(
            DbBackend::MySql,
            "SELECT 1 FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? LIMIT 1",
            [TABLE.into(), COLUMN.into()],
        );
        return Ok(manager
            .get_connection()
            .query_one_raw(probe)
            .await?
            .is_some());
    }
    manager.has_column(TABLE, COLUMN).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if has_column(manager).await? {
            return Ok(());
        }
        // Nullable: rows of attempts that did not fail, and rows written before this
        // migration, have no detail.
        manager
            .alter_table(
                Table::alter()
                    .table(TABLE)
                    .add_column(json_binary_null(COLUMN))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !has_column(manager).await? {
            return Ok(());
        }
        manager
            .alter_table(Table::alter().table(TABLE).drop_column(COLUMN).take())
            .await
    }
}
