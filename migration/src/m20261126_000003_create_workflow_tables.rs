//! Workflows, sharing, execution history, templates and the background job queue.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{
    Types, create_index, drop_tables, fk, id_ref, id_ref_null, index_fk, pk, unique,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = Types::new(manager);
        // Parents before children: PostgreSQL checks foreign key targets at CREATE time.
        create_workflows(manager, t).await?;
        create_workflow_versions(manager, t).await?;
        create_workflow_shares(manager, t).await?;
        create_workflow_executions(manager, t).await?;
        create_node_executions(manager, t).await?;
        create_execution_events(manager, t).await?;
        create_templates(manager, t).await?;
        create_jobs(manager, t).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "jobs",
                "templates",
                "execution_events",
                "node_executions",
                "workflow_executions",
                "workflow_shares",
                "workflow_versions",
                "workflows",
            ],
        )
        .await
    }
}

async fn create_workflows(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("workflows")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("owner_id"))
            .col(string("name"))
            .col(string("description"))
            .col(json_binary("document"))
            .col(integer("version"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "workflows",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "workflows", &["owner_id", "id"]).await?;
    Ok(())
}

async fn create_workflow_versions(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("workflow_versions")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("workflow_id"))
            .col(integer("version"))
            .col(json_binary("document"))
            .col(id_ref("created_by"))
            .col(t.ts("created_at"))
            .index(&mut unique(
                "workflow_versions",
                &["workflow_id", "version"],
            ))
            .foreign_key(&mut fk(
                "workflow_versions",
                "workflow_id",
                "workflows",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    Ok(())
}

async fn create_workflow_shares(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("workflow_shares")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("workflow_id"))
            .col(id_ref("user_id"))
            .col(string("role"))
            .col(id_ref("created_by"))
            .col(t.ts("created_at"))
            .index(&mut unique("workflow_shares", &["workflow_id", "user_id"]))
            .foreign_key(&mut fk(
                "workflow_shares",
                "workflow_id",
                "workflows",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "workflow_shares",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "workflow_shares", &["user_id"]).await?;
    Ok(())
}

async fn create_workflow_executions(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("workflow_executions")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("workflow_id"))
            .col(integer("workflow_version"))
            .col(id_ref("started_by"))
            .col(string("status"))
            .col(string("trigger_kind"))
            .col(json_binary("input"))
            .col(json_binary_null("output"))
            .col(t.long_text_null("error"))
            .col(id_ref_null("replay_of"))
            .col(t.ts("started_at"))
            .col(t.ts_null("finished_at"))
            .col(big_integer_null("duration_ms"))
            .col(t.ts("created_at"))
            .foreign_key(&mut fk(
                "workflow_executions",
                "workflow_id",
                "workflows",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "workflow_executions",
                "started_by",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "workflow_executions", &["workflow_id", "id"]).await?;
    create_index(m, "workflow_executions", &["status", "id"]).await?;
    create_index(m, "workflow_executions", &["started_at"]).await?;
    index_fk(m, "workflow_executions", "started_by").await?;
    Ok(())
}

async fn create_node_executions(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("node_executions")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("execution_id"))
            .col(string("node_id"))
            .col(string("node_type"))
            .col(integer("attempt"))
            .col(string("status"))
            .col(json_binary_null("input"))
            .col(json_binary_null("output"))
            .col(t.long_text_null("error"))
            .col(t.ts("started_at"))
            .col(t.ts_null("finished_at"))
            .col(big_integer_null("duration_ms"))
            // The output handle the node finished on (`main`, `true`, `error`, …); what
            // resuming an interrupted execution routes by.
            .col(string_null("handle"))
            .foreign_key(&mut fk(
                "node_executions",
                "execution_id",
                "workflow_executions",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "node_executions", &["execution_id", "id"]).await?;
    Ok(())
}

async fn create_execution_events(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("execution_events")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("execution_id"))
            .col(id_ref("workflow_id"))
            .col(big_integer("sequence"))
            .col(string("kind"))
            .col(json_binary("payload"))
            .col(t.ts("at"))
            .index(&mut unique(
                "execution_events",
                &["execution_id", "sequence"],
            ))
            .foreign_key(&mut fk(
                "execution_events",
                "execution_id",
                "workflow_executions",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "execution_events", &["workflow_id", "at"]).await?;
    Ok(())
}

async fn create_templates(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("templates")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("owner_id"))
            .col(string("name"))
            .col(string("description"))
            .col(string("category"))
            .col(json_binary("document"))
            .col(boolean("public"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "templates",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "templates", "owner_id").await?;
    Ok(())
}

pub(crate) async fn create_jobs(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("jobs")
            .if_not_exists()
            .col(pk("id"))
            .col(string("kind"))
            .col(json_binary("payload"))
            .col(string("status"))
            .col(t.ts("run_at"))
            .col(integer("attempts"))
            .col(string_null("locked_by"))
            .col(t.ts_null("locked_until"))
            .col(t.long_text_null("last_error"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .take(),
    )
    .await?;
    create_index(m, "jobs", &["status", "run_at"]).await?;
    Ok(())
}
