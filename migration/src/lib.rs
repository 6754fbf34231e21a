//! Schema migrations for Weft, runnable on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! Apply with `Migrator::up(&db, None)`; re-running is a no-op.

pub use sea_orm_migration::prelude::*;

mod common;
mod m20261126_000001_create_identity_tables;
mod m20261126_000002_create_tool_tables;
mod m20261126_000003_create_workflow_tables;
mod m20261126_000004_history_indexes;
mod m20261126_000006_webhook_triggers;
mod m20261126_000007_webhook_delivery;
mod m20261202_000001_drop_unused_tables;
mod m20261202_000010_palette_entries;
mod m20261202_000020_node_error_detail;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_identity_tables::Migration),
            Box::new(m20261126_000002_create_tool_tables::Migration),
            Box::new(m20261126_000003_create_workflow_tables::Migration),
            Box::new(m20261126_000004_history_indexes::Migration),
            Box::new(m20261126_000006_webhook_triggers::Migration),
            Box::new(m20261126_000007_webhook_delivery::Migration),
            Box::new(m20261202_000001_drop_unused_tables::Migration),
            Box::new(m20261202_000010_palette_entries::Migration),
            Box::new(m20261202_000020_node_error_detail::Migration),
        ]
    }
}
