//! Incoming webhook triggers: one URL token per (workflow, trigger node).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{Types, drop_tables, fk, id_ref, unique};

/// Tokens are 43 base64url characters today; room for a longer scheme later.
const TOKEN_LEN: u32 = 128;
/// Hex SHA-256.
const HASH_LEN: u32 = 64;
/// Node ids are user-chosen; the document validator bounds them well below this.
const NODE_ID_LEN: u32 = 128;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = Types::new(manager);
        manager
            .create_table(
                Table::create()
                    .table("webhook_triggers")
                    .if_not_exists()
                    .col(crate::common::pk("id"))
                    .col(id_ref("workflow_id"))
                    .col(string_len("node_id", NODE_ID_LEN))
                    .col(string_len("token", TOKEN_LEN))
                    .col(string_len("token_hash", HASH_LEN))
                    .col(t.ts("created_at"))
                    .col(t.ts_null("rotated_at"))
                    // Serves the per-workflow listing and keeps one token per trigger node.
                    .index(&mut unique("webhook_triggers", &["workflow_id", "node_id"]))
                    // Every incoming request is one lookup on this index.
                    .index(&mut unique("webhook_triggers", &["token_hash"]))
                    .foreign_key(&mut fk(
                        "webhook_triggers",
                        "workflow_id",
                        "workflows",
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["webhook_triggers"]).await
    }
}
