//! Custom tools, their history and logs, and the per-kind tool backends
//! (API connectors, code snippets, database connections/queries, webhooks).

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
        create_custom_tools(manager, t).await?;
        create_tool_versions(manager, t).await?;
        create_tool_execution_logs(manager, t).await?;
        create_api_connectors(manager, t).await?;
        create_code_snippets(manager, t).await?;
        create_database_connections(manager, t).await?;
        create_database_queries(manager, t).await?;
        create_webhooks(manager, t).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "webhooks",
                "database_queries",
                "database_connections",
                "code_snippets",
                "api_connectors",
                "tool_execution_logs",
                "tool_versions",
                "custom_tools",
            ],
        )
        .await
    }
}

async fn create_custom_tools(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("custom_tools")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("owner_id"))
            .col(string("name"))
            .col(string("description").default("").take())
            .col(string("category"))
            .col(string("icon"))
            .col(string("kind"))
            .col(json_binary("input_schema"))
            .col(json_binary("output_schema"))
            .col(json_binary("config"))
            .col(integer("version"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "custom_tools",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "custom_tools", &["owner_id", "id"]).await?;
    Ok(())
}

async fn create_tool_versions(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("tool_versions")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("tool_id"))
            .col(integer("version"))
            .col(string("name"))
            .col(string("description"))
            .col(string("category"))
            .col(string("icon"))
            .col(string("kind"))
            .col(json_binary("input_schema"))
            .col(json_binary("output_schema"))
            .col(json_binary("config"))
            .col(id_ref("created_by"))
            .col(t.ts("created_at"))
            .index(&mut unique("tool_versions", &["tool_id", "version"]))
            .foreign_key(&mut fk(
                "tool_versions",
                "tool_id",
                "custom_tools",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "tool_versions",
                "created_by",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "tool_versions", "created_by").await?;
    Ok(())
}

async fn create_tool_execution_logs(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("tool_execution_logs")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("tool_id"))
            .col(integer("tool_version"))
            .col(id_ref_null("execution_id"))
            .col(string_null("node_id"))
            .col(json_binary("input"))
            .col(json_binary_null("output"))
            .col(json_binary("logs"))
            .col(string_null("error"))
            .col(big_integer("duration_ms"))
            .col(id_ref("created_by"))
            .col(t.ts("created_at"))
            .foreign_key(&mut fk(
                "tool_execution_logs",
                "tool_id",
                "custom_tools",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    create_index(m, "tool_execution_logs", &["tool_id", "id"]).await?;
    Ok(())
}

pub(crate) async fn create_api_connectors(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("api_connectors")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("tool_id"))
            .col(string("base_url"))
            .col(string("method"))
            .col(string("path_template"))
            .col(json_binary("query_template"))
            .col(json_binary("headers"))
            .col(id_ref_null("credential_id"))
            .col(string_null("response_mapping"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "api_connectors",
                "tool_id",
                "custom_tools",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "api_connectors",
                "credential_id",
                "credentials",
                ForeignKeyAction::SetNull,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "api_connectors", "tool_id").await?;
    index_fk(m, "api_connectors", "credential_id").await?;
    Ok(())
}

pub(crate) async fn create_code_snippets(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("code_snippets")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("tool_id"))
            .col(string("language"))
            .col(t.long_text("source"))
            .col(t.bytes_null("wasm"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "code_snippets",
                "tool_id",
                "custom_tools",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "code_snippets", "tool_id").await?;
    Ok(())
}

async fn create_database_connections(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("database_connections")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("owner_id"))
            .col(string("name"))
            .col(string("kind"))
            .col(string("host"))
            .col(integer("port"))
            .col(string("database"))
            .col(string("username"))
            .col(id_ref_null("credential_id"))
            .col(string("tls_mode"))
            .col(integer("pool_size"))
            .col(json_binary("options"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "database_connections",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "database_connections",
                "credential_id",
                "credentials",
                ForeignKeyAction::SetNull,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "database_connections", "owner_id").await?;
    index_fk(m, "database_connections", "credential_id").await?;
    Ok(())
}

async fn create_database_queries(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("database_queries")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref_null("tool_id"))
            .col(id_ref("owner_id"))
            .col(string_len("name", 100))
            .col(id_ref("connection_id"))
            .col(t.long_text("query"))
            .col(string("query_type"))
            .col(json_binary("parameters"))
            .col(string("result_format").default("json").take())
            .col(integer("timeout").default(30000).take())
            .col(integer("page_size"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "database_queries",
                "tool_id",
                "custom_tools",
                ForeignKeyAction::SetNull,
            ))
            .foreign_key(&mut fk(
                "database_queries",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "database_queries",
                "connection_id",
                "database_connections",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "database_queries", "tool_id").await?;
    index_fk(m, "database_queries", "owner_id").await?;
    index_fk(m, "database_queries", "connection_id").await?;
    Ok(())
}

async fn create_webhooks(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("webhooks")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref_null("tool_id"))
            .col(id_ref("owner_id"))
            .col(string_len("name", 100))
            .col(t.long_text("url"))
            .col(string("method"))
            .col(json_binary("headers"))
            .col(t.long_text_null("payload_template"))
            .col(string("payload_format").default("json").take())
            .col(string_null("auth_type"))
            .col(json_binary_null("auth_config"))
            .col(json_binary("retry_config"))
            .col(integer("timeout").default(10000).take())
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "webhooks",
                "tool_id",
                "custom_tools",
                ForeignKeyAction::SetNull,
            ))
            .foreign_key(&mut fk(
                "webhooks",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "webhooks", "tool_id").await?;
    index_fk(m, "webhooks", "owner_id").await?;
    Ok(())
}
