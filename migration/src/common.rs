//! Column and constraint helpers shared by the migrations.
//!
//! Everything here must render valid DDL on SQLite, PostgreSQL and MySQL/MariaDB, and every
//! statement must be safe to re-run: SQLite and MySQL run migrations outside a transaction,
//! so a failure half-way through leaves some tables behind and the retry has to skip them.

use sea_orm_migration::{
    prelude::*,
    schema::{blob, blob_null, string_len, string_len_null, text, text_null},
    sea_orm::{DbBackend, Statement},
};

/// Ids are UUIDv7 strings (36 chars); 64 leaves room for other id schemes while staying a
/// varchar, because MySQL refuses TEXT columns in primary keys and unprefixed indexes.
const ID_LEN: u32 = 64;

/// Primary key column holding an application-generated string id.
pub fn pk(col: &'static str) -> ColumnDef {
    string_len(col, ID_LEN).primary_key().take()
}

/// Column holding another row's id (with or without a foreign key); it must have exactly the
/// same type as [`pk`] or MySQL rejects the foreign key.
pub fn id_ref(col: &'static str) -> ColumnDef {
    string_len(col, ID_LEN)
}

pub fn id_ref_null(col: &'static str) -> ColumnDef {
    string_len_null(col, ID_LEN)
}

/// Column types whose portable sea-query mapping is wrong for MySQL/MariaDB.
#[derive(Clone, Copy)]
pub struct Types {
    mysql: bool,
}

impl Types {
    pub fn new(manager: &SchemaManager<'_>) -> Self {
        Self {
            mysql: manager.get_database_backend() == DbBackend::MySql,
        }
    }

    /// UTC timestamp: `timestamp with time zone` on PostgreSQL, text on SQLite. MySQL's
    /// `timestamp` would truncate to seconds and overflow in 2038, so use `datetime(6)` there
    /// (the driver stores DateTime<Utc> as naive UTC).
    pub fn ts(self, col: &'static str) -> ColumnDef {
        self.ts_def(col).not_null().take()
    }

    pub fn ts_null(self, col: &'static str) -> ColumnDef {
        self.ts_def(col).null().take()
    }

    fn ts_def(self, col: &'static str) -> ColumnDef {
        let mut def = ColumnDef::new(col);
        if self.mysql {
            def.custom("datetime(6)");
        } else {
            def.timestamp_with_time_zone();
        }
        def
    }

    /// Unbounded text (source code, SQL, error traces). MySQL's `text` caps at 64 KiB.
    pub fn long_text(self, col: &'static str) -> ColumnDef {
        if self.mysql {
            ColumnDef::new(col).custom("longtext").not_null().take()
        } else {
            text(col)
        }
    }

    pub fn long_text_null(self, col: &'static str) -> ColumnDef {
        if self.mysql {
            ColumnDef::new(col).custom("longtext").null().take()
        } else {
            text_null(col)
        }
    }

    /// Binary payload (`bytea` on PostgreSQL). MySQL's `blob` caps at 64 KiB, too small for
    /// compiled WASM modules.
    pub fn bytes(self, col: &'static str) -> ColumnDef {
        if self.mysql {
            ColumnDef::new(col).custom("longblob").not_null().take()
        } else {
            blob(col)
        }
    }

    pub fn bytes_null(self, col: &'static str) -> ColumnDef {
        if self.mysql {
            ColumnDef::new(col).custom("longblob").null().take()
        } else {
            blob_null(col)
        }
    }
}

/// Inline foreign key `table.col -> ref_table.id`. It is declared inside CREATE TABLE because
/// SQLite cannot add foreign keys to an existing table. The name is prefixed with the table
/// because MySQL requires constraint names to be unique per database.
pub fn fk(
    table: &'static str,
    col: &'static str,
    ref_table: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(table, col)
        .to(ref_table, "id")
        .on_delete(on_delete)
        .take()
}

/// Inline unique constraint; being part of CREATE TABLE IF NOT EXISTS makes it idempotent on
/// every backend.
pub fn unique(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(format!("uq_{table}_{}", cols.join("_")))
        .unique();
    for col in cols {
        index.col(*col);
    }
    index.take()
}

/// Creates a secondary index named `idx_<table>_<cols>` unless it already exists.
pub async fn create_index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let name = format!("idx_{table}_{}", cols.join("_"));
    let mut index = Index::create();
    index.name(&name).table(table);
    for col in cols {
        index.col(*col);
    }

    if manager.get_database_backend() == DbBackend::MySql {
        // MySQL has no CREATE INDEX IF NOT EXISTS (sea-query drops the clause there), and
        // SchemaManager::has_index needs the sqlx-mysql feature, so probe the catalog directly.
        let probe = Statement::from_sql_and_values(
            DbBackend::MySql,
            "SELECT 1 FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? LIMIT 1",
            [table.into(), name.clone().into()],
        );
        if manager
            .get_connection()
            .query_one_raw(probe)
            .await?
            .is_some()
        {
            return Ok(());
        }
    } else {
        index.if_not_exists();
    }
    manager.create_index(index).await
}

/// Indexes a foreign-key column that no other index starts with. Not required by the schema
/// spec, but PostgreSQL (unlike MySQL) does not index referencing columns by itself, so every
/// parent delete (CASCADE / SET NULL) would otherwise scan the whole child table.
pub async fn index_fk(
    manager: &SchemaManager<'_>,
    table: &'static str,
    col: &'static str,
) -> Result<(), DbErr> {
    create_index(manager, table, &[col]).await
}

/// Drops the given tables (children first) if they exist.
pub async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(*table).if_exists().take())
            .await?;
    }
    Ok(())
}
