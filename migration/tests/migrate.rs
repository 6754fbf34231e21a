//! Runs the migrator against real databases and checks that the schema matches the entities.
//!
//! SQLite always runs. PostgreSQL runs when `WEFT_TEST_POSTGRES_URL` points at a server whose
//! user may create databases; each run uses a fresh throwaway database.

use chrono::{SubsecRound, Utc};
use entity::{users, workflows};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, IdenStatic, Iterable, PaginatorTrait, Set, Statement, sea_query::ColumnType,
};
use serde_json::json;

/// Tables the first schema created and a later migration dropped, unused.
const DROPPED_TABLES: [&str; 3] = ["jobs", "api_connectors", "code_snippets"];

const TABLES: [&str; 17] = [
    "users",
    "api_keys",
    "credentials",
    "custom_tools",
    "tool_versions",
    "tool_execution_logs",
    "database_connections",
    "database_queries",
    "webhooks",
    "workflows",
    "workflow_versions",
    "workflow_shares",
    "workflow_executions",
    "node_executions",
    "execution_events",
    "templates",
    "palette_entries",
];

/// Secondary indexes the spec asks for (unique constraints are checked behaviourally, since
/// SQLite does not keep the names of inline UNIQUE constraints).
const SPEC_INDEXES: [&str; 9] = [
    "idx_custom_tools_owner_id_id",
    "idx_tool_execution_logs_tool_id_id",
    "idx_workflows_owner_id_id",
    "idx_workflow_shares_user_id",
    "idx_workflow_executions_workflow_id_id",
    "idx_workflow_executions_status_id",
    "idx_workflow_executions_started_at",
    "idx_node_executions_execution_id_id",
    "idx_execution_events_workflow_id_at",
];

#[tokio::test]
async fn migrates_sqlite() {
    // A file rather than `sqlite::memory:` so that every pooled connection sees the same
    // database, as in production.
    let file = TempDbFile(
        std::env::temp_dir().join(format!("weft_mig_{}.db", uuid::Uuid::new_v4().simple())),
    );
    let db = Database::connect(format!("sqlite://{}?mode=rwc", file.0.display()))
        .await
        .expect("open sqlite");
    exercise(&db).await;
    db.close().await.expect("close sqlite");
}

/// Removes the SQLite file (and its WAL side files) even when the test panics.
struct TempDbFile(std::path::PathBuf);

impl Drop for TempDbFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[tokio::test]
async fn migrates_postgres() {
    let Ok(url) = std::env::var("WEFT_TEST_POSTGRES_URL") else {
        eprintln!("WEFT_TEST_POSTGRES_URL not set; skipping PostgreSQL migration test");
        return;
    };
    let admin = Database::connect(&url).await.expect("connect to postgres");
    let name = format!("weft_mig_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");

    let base = url.split('?').next().unwrap_or(&url);
    let (server, _) = base.rsplit_once('/').expect("url has a database path");
    let db_url = format!("{server}/{name}");

    // Run in a task so the database is dropped even when an assertion fails.
    let outcome = tokio::spawn(async move {
        let db = Database::connect(&db_url).await.expect("connect to new db");
        exercise(&db).await;
        db.close().await.expect("close");
    })
    .await;

    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop database");
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("first migration run");
    Migrator::up(db, None).await.expect("second migration run");
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );

    let tables = names(db, "table").await;
    for table in TABLES {
        assert!(tables.contains(&table.to_owned()), "missing table {table}");
    }
    for table in DROPPED_TABLES {
        assert!(
            !tables.contains(&table.to_owned()),
            "{table} was not dropped"
        );
    }
    let indexes = names(db, "index").await;
    for index in SPEC_INDEXES {
        assert!(indexes.contains(&index.to_owned()), "missing index {index}");
    }

    check_entity(db, entity::users::Entity).await;
    check_entity(db, entity::api_keys::Entity).await;
    check_entity(db, entity::credentials::Entity).await;
    check_entity(db, entity::custom_tools::Entity).await;
    check_entity(db, entity::tool_versions::Entity).await;
    check_entity(db, entity::tool_execution_logs::Entity).await;
    check_entity(db, entity::database_connections::Entity).await;
    check_entity(db, entity::database_queries::Entity).await;
    check_entity(db, entity::webhooks::Entity).await;
    check_entity(db, entity::webhook_triggers::Entity).await;
    check_entity(db, entity::workflows::Entity).await;
    check_entity(db, entity::workflow_versions::Entity).await;
    check_entity(db, entity::workflow_shares::Entity).await;
    check_entity(db, entity::workflow_executions::Entity).await;
    check_entity(db, entity::node_executions::Entity).await;
    check_entity(db, entity::execution_events::Entity).await;
    check_entity(db, entity::templates::Entity).await;
    check_entity(db, entity::palette_entries::Entity).await;

    round_trip(db).await;

    Migrator::down(db, None)
        .await
        .expect("roll back everything");
    let tables = names(db, "table").await;
    for table in TABLES {
        assert!(
            !tables.contains(&table.to_owned()),
            "{table} survived down()"
        );
    }
    Migrator::up(db, None)
        .await
        .expect("migrate again after rollback");
}

/// Names of all tables or indexes in the current database/schema.
async fn names(db: &DatabaseConnection, kind: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let sql = match (backend, kind) {
        (DbBackend::Sqlite, _) => format!("SELECT name FROM sqlite_master WHERE type = '{kind}'"),
        (DbBackend::Postgres, "table") => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema()"
                .to_owned()
        }
        (DbBackend::Postgres, _) => "SELECT indexname::text AS name FROM pg_indexes \
             WHERE schemaname = current_schema()"
            .to_owned(),
        other => panic!("unsupported {other:?}"),
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("list names")
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect()
}

/// Asserts that the table has exactly the entity's columns, with the same nullability and a
/// storage type matching the entity's column type.
async fn check_entity<E: EntityTrait>(db: &DatabaseConnection, entity: E) {
    let table = entity.table_name();
    let backend = db.get_database_backend();
    let stmt = match backend {
        DbBackend::Sqlite => Statement::from_sql_and_values(
            backend,
            "SELECT name, type, \"notnull\" = 0 AS nullable FROM pragma_table_info(?)",
            [table.into()],
        ),
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT column_name::text AS name, data_type::text AS type, \
             is_nullable = 'YES' AS nullable FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
            [table.into()],
        ),
    };
    let mut actual: Vec<(String, String, bool)> = db
        .query_all_raw(stmt)
        .await
        .expect("read columns")
        .iter()
        .map(|row| {
            let ty: String = row.try_get("", "type").unwrap();
            // SQLite reports the declared type verbatim, e.g. `varchar(64)`.
            let ty = ty.split('(').next().unwrap().to_lowercase();
            (
                row.try_get("", "name").unwrap(),
                ty,
                row.try_get("", "nullable").unwrap(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String, bool)> = E::Column::iter()
        .map(|col| {
            let def = col.def();
            let ty = storage_type(backend, def.get_column_type());
            (col.as_str().to_owned(), ty.to_owned(), def.is_null())
        })
        .collect();
    actual.sort();
    expected.sort();
    assert_eq!(
        actual, expected,
        "schema of {table} differs from its entity"
    );
}

fn storage_type(backend: DbBackend, ty: &ColumnType) -> &'static str {
    let pg = backend == DbBackend::Postgres;
    match ty {
        ColumnType::String(_) if pg => "character varying",
        ColumnType::String(_) => "varchar",
        ColumnType::Text => "text",
        ColumnType::JsonBinary if pg => "jsonb",
        ColumnType::JsonBinary => "jsonb_text",
        ColumnType::TimestampWithTimeZone if pg => "timestamp with time zone",
        ColumnType::TimestampWithTimeZone => "timestamp_with_timezone_text",
        ColumnType::Integer => "integer",
        ColumnType::BigInteger if pg => "bigint",
        ColumnType::BigInteger => "integer",
        ColumnType::Boolean => "boolean",
        ColumnType::Blob if pg => "bytea",
        ColumnType::Blob => "blob",
        other => panic!("entity uses a column type the test does not know: {other:?}"),
    }
}

/// Writes and reads rows through the entities, then checks the unique and cascade rules.
async fn round_trip(db: &DatabaseConnection) {
    // PostgreSQL keeps microseconds; truncate so the read-back value compares equal.
    let now = Utc::now().trunc_subsecs(6);
    let user = users::ActiveModel {
        id: Set("0190f5a0-0000-7000-8000-000000000001".to_owned()),
        email: Set("ada@example.com".to_owned()),
        name: Set("Ada".to_owned()),
        role: Set("admin".to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert user");
    assert_eq!(
        users::Entity::find_by_id(user.id.clone())
            .one(db)
            .await
            .unwrap(),
        Some(user.clone())
    );

    let workflow = workflows::ActiveModel {
        id: Set("0190f5a0-0000-7000-8000-000000000002".to_owned()),
        owner_id: Set(user.id.clone()),
        name: Set("Nightly sync".to_owned()),
        description: Set(String::new()),
        document: Set(json!({"nodes": [{"id": "a", "type": "http"}], "edges": []})),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert workflow");
    assert_eq!(
        workflows::Entity::find_by_id(workflow.id.clone())
            .one(db)
            .await
            .unwrap(),
        Some(workflow)
    );

    let duplicate = users::ActiveModel {
        id: Set("0190f5a0-0000-7000-8000-000000000003".to_owned()),
        email: Set("ada@example.com".to_owned()),
        name: Set("Other".to_owned()),
        role: Set("user".to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await;
    assert!(duplicate.is_err(), "users.email must be unique");

    users::Entity::delete_by_id(user.id)
        .exec(db)
        .await
        .expect("delete user");
    assert_eq!(
        workflows::Entity::find().count(db).await.unwrap(),
        0,
        "deleting a user must cascade to their workflows"
    );
}
