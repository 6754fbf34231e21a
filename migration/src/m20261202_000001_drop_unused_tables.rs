//! Drops the tables the first schema reserved and nothing ever read or wrote: `jobs`,
//! `api_connectors` and `code_snippets` (tools keep their definition in `tool_versions`). Down recreates them as they were, empty.

use sea_orm_migration::prelude::*;

use crate::common::{Types, drop_tables};
use crate::m20261126_000002_create_tool_tables::{create_api_connectors, create_code_snippets};
use crate::m20261126_000003_create_workflow_tables::create_jobs;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["jobs", "code_snippets", "api_connectors"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = Types::new(manager);
        create_api_connectors(manager, t).await?;
        create_code_snippets(manager, t).await?;
        create_jobs(manager, t).await
    }
}
