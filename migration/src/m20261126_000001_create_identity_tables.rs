//! Users plus the tables hanging only off users: API keys and encrypted credentials.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{Types, drop_tables, fk, id_ref, index_fk, pk, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = Types::new(manager);
        // Parents before children: PostgreSQL checks foreign key targets at CREATE time.
        create_users(manager, t).await?;
        create_api_keys(manager, t).await?;
        create_credentials(manager, t).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["credentials", "api_keys", "users"]).await
    }
}

async fn create_users(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("users")
            .if_not_exists()
            .col(pk("id"))
            .col(string("email"))
            .col(string("name"))
            .col(string("role"))
            .col(t.ts("created_at"))
            .index(&mut unique("users", &["email"]))
            .take(),
    )
    .await?;
    Ok(())
}

async fn create_api_keys(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("api_keys")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("user_id"))
            .col(string("name"))
            .col(string("token_hash"))
            .col(string("prefix"))
            .col(t.ts("created_at"))
            .col(t.ts_null("last_used_at"))
            .col(t.ts_null("expires_at"))
            .col(t.ts_null("revoked_at"))
            .index(&mut unique("api_keys", &["token_hash"]))
            .foreign_key(&mut fk(
                "api_keys",
                "user_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "api_keys", "user_id").await?;
    Ok(())
}

async fn create_credentials(m: &SchemaManager<'_>, t: Types) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("credentials")
            .if_not_exists()
            .col(pk("id"))
            .col(id_ref("owner_id"))
            .col(string("name"))
            .col(string("kind"))
            .col(string("key_id"))
            .col(t.bytes("nonce"))
            .col(t.bytes("ciphertext"))
            .col(t.ts("created_at"))
            .col(t.ts("updated_at"))
            .foreign_key(&mut fk(
                "credentials",
                "owner_id",
                "users",
                ForeignKeyAction::Cascade,
            ))
            .take(),
    )
    .await?;
    index_fk(m, "credentials", "owner_id").await?;
    Ok(())
}
