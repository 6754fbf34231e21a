//! Palette favourites and recents: one row per (user, palette entry).
//!
//! One row carries both facts (starred, last placed) so that starring a tool the user also
//! placed recently is one upsert, and a row with neither is deleted rather than kept.
//! `entry_key` (the node type, or `custom:<tool id>`) is the uniqueness key because a unique
//! index over a nullable `tool_id` would let duplicates through on PostgreSQL and MySQL,
//! where NULLs never collide.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{Types, drop_tables, fk, id_ref, id_ref_null, index_fk, pk, unique};

/// Node types are short palette names; a custom entry adds `custom:` and a 64-char id.
const ENTRY_KEY_LEN: u32 = 100;
const NODE_TYPE_LEN: u32 = 32;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = Types::new(manager);
        manager
            .create_table(
                Table::create()
                    .table("palette_entries")
                    .if_not_exists()
                    .col(pk("id"))
                    .col(id_ref("user_id"))
                    .col(string_len("entry_key", ENTRY_KEY_LEN))
                    .col(string_len("node_type", NODE_TYPE_LEN))
                    .col(id_ref_null("tool_id"))
                    .col(boolean("favorite"))
                    .col(t.ts_null("favorited_at"))
                    .col(t.ts_null("last_placed_at"))
                    // Every read and write is per user; this index serves both.
                    .index(&mut unique("palette_entries", &["user_id", "entry_key"]))
                    .foreign_key(&mut fk(
                        "palette_entries",
                        "user_id",
                        "users",
                        ForeignKeyAction::Cascade,
                    ))
                    // A deleted tool leaves both lists with its rows.
                    .foreign_key(&mut fk(
                        "palette_entries",
                        "tool_id",
                        "custom_tools",
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        index_fk(manager, "palette_entries", "tool_id").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["palette_entries"]).await
    }
}
