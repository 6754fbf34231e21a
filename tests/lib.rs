//! Test harness: starts the real Weft server on an ephemeral port with a fresh database
//! (an SQLite file, or a new PostgreSQL database when `WEFT_TEST_POSTGRES_URL` is set)
//! and speaks GraphQL to it over HTTP and WebSocket.

pub mod ws;

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};

/// Every table the migrations create; row counts over these prove "nothing was written".
pub const TABLES: &[&str] = &[
    "users",
    "api_keys",
    "custom_tools",
    "tool_versions",
    "tool_execution_logs",
    "credentials",
    "database_connections",
    "database_queries",
    "webhooks",
    "webhook_triggers",
    "workflows",
    "workflow_versions",
    "workflow_shares",
    "workflow_executions",
    "node_executions",
    "execution_events",
    "templates",
    "palette_entries",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base_url: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    /// A separate connection to the same database, for checking what was stored.
    pub db: DatabaseConnection,
    pub database_url: String,
    pub data_dir: tempfile::TempDir,
    /// The running server's engine, for waiting on what it does (e.g. its subscriber count).
    pub engine: domain::engine::Engine,
    postgres: Option<PostgresDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

struct PostgresDatabase {
    admin_url: String,
    name: String,
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("WEFT_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Replaces the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// A fresh database URL for `backend`, or `None` when PostgreSQL is not configured.
/// Under CI a missing PostgreSQL is an error, not a skip.
pub async fn fresh_database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((
            format!("sqlite://{}?mode=rwc", dir.join("weft.db").display()),
            None,
        )),
        Backend::Postgres => {
            let Some(admin_url) = postgres_admin_url() else {
                assert!(
                    std::env::var("CI").is_err(),
                    "CI must set WEFT_TEST_POSTGRES_URL so storage tests run on PostgreSQL"
                );
                eprintln!("skipped on PostgreSQL: WEFT_TEST_POSTGRES_URL is not set");
                return None;
            };
            let name = format!("weft_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("connecting to WEFT_TEST_POSTGRES_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("creating a test database");
            admin.close().await.ok();
            Some((with_database(&admin_url, &name), Some((admin_url, name))))
        }
    }
}

/// Starts Weft on 127.0.0.1:0 with a fresh database. `None` means "skip this backend".
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with the test's own settings on top of the harness's (retention, the
/// metrics token, …).
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut weft::Config),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres) = fresh_database(backend, data_dir.path()).await?;
    let admin_token = domain::auth::generate_token();
    let mut config = weft::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(database_url.clone()),
        master_key: None,
        master_key_previous: None,
        admin_token: Some(SecretString::from(admin_token.clone())),
        outbound: loopback_policy(),
        databases: loopback_databases(),
        ..Default::default()
    };
    configure(&mut config);
    let app = weft::Application::build(config)
        .await
        .expect("building the app");
    let base_url = format!("http://{}", app.local_addr());
    let engine = app.engine().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let db = domain::db::connect(&database_url)
        .await
        .expect("test connection");
    Some(TestApp {
        base_url,
        admin_token,
        client: reqwest::Client::new(),
        db,
        database_url,
        data_dir,
        engine,
        postgres: postgres.map(|(admin_url, name)| PostgresDatabase { admin_url, name }),
        shutdown: Some(tx),
    })
}

impl TestApp {
    /// Sends one GraphQL request and returns the whole response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.base_url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("sending a GraphQL request");
        response.json().await.expect("a JSON response")
    }

    /// As the administrator; panics on any GraphQL error and returns `data`.
    pub async fn admin_ok(&self, query: &str, variables: Value) -> Value {
        let body = self
            .gql(Some(&self.admin_token.clone()), query, variables)
            .await;
        ok(body)
    }

    pub async fn as_ok(&self, token: &str, query: &str, variables: Value) -> Value {
        ok(self.gql(Some(token), query, variables).await)
    }

    /// Creates a regular user and returns their token.
    pub async fn new_user(&self, email: &str) -> String {
        let data = self
            .admin_ok(
                "mutation($i: CreateUserInput!) { createUser(input: $i) { token } }",
                json!({ "i": { "email": email, "name": email } }),
            )
            .await;
        data["createUser"]["token"].as_str().unwrap().to_owned()
    }

    /// Row count of every table, to prove a rejected call wrote nothing.
    pub async fn row_counts(&self) -> BTreeMap<&'static str, i64> {
        let backend = self.db.get_database_backend();
        let mut counts = BTreeMap::new();
        for table in TABLES {
            let row = self
                .db
                .query_one_raw(Statement::from_string(
                    backend,
                    format!("SELECT COUNT(*) AS n FROM {table}"),
                ))
                .await
                .expect("counting rows")
                .expect("a row");
            let n: i64 = row.try_get("", "n").expect("a count");
            counts.insert(*table, n);
        }
        counts
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(pg) = self.postgres.take() {
            // Dropping needs async I/O; a short-lived runtime on its own thread keeps this
            // independent of the test's runtime, which may be shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(drop_database(&pg.admin_url, &pg.name));
            })
            .join();
        }
    }
}

/// Drops a database [`fresh_database`] made, best effort: a test's clean-up must not
/// fail the test.
pub async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(admin) = sea_orm::Database::connect(admin_url).await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        admin.close().await.ok();
    }
}

/// `data` of a response that must have no errors.
pub fn ok(body: Value) -> Value {
    assert!(
        body.get("errors").is_none_or(Value::is_null),
        "unexpected GraphQL errors: {body:#}"
    );
    body["data"].clone()
}

/// The first error of a response that must have failed.
pub fn first_error(body: &Value) -> &Value {
    body["errors"]
        .get(0)
        .unwrap_or_else(|| panic!("expected a GraphQL error, got {body:#}"))
}

pub fn error_code(body: &Value) -> &str {
    first_error(body)["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error without extensions.code: {body:#}"))
}

/// Runs each test body once per storage backend: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn scenario($app: $crate::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    scenario($crate::spawn_app($crate::Backend::Sqlite).await.expect("sqlite")).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::spawn_app($crate::Backend::Postgres).await {
                        scenario(app).await
                    }
                }
            }
        )*
    };
}

/// The outbound policy tests run with: plain HTTP to 127.0.0.1 only, where the test
/// servers listen. Everything else keeps the secure defaults.
pub fn loopback_policy() -> domain::outbound::OutboundPolicy {
    domain::outbound::OutboundPolicy {
        allow_http: true,
        allowed_hosts: domain::outbound::HostRule::parse_list("127.0.0.1").expect("a valid rule"),
        ..Default::default()
    }
}

/// The database servers tests may connect to: those on 127.0.0.1 (PostgreSQL, MariaDB,
/// `nx-27017`), as an explicit allowlist entry; everything else keeps the secure default,
/// and Weft's own database stays refused.
pub fn loopback_databases() -> domain::dbquery::DatabasePolicy {
    domain::dbquery::DatabasePolicy::allowing("127.0.0.1").expect("a valid rule")
}

/// Serves `router` on 127.0.0.1 on an ephemeral port until the test ends; returns its
/// base URL. Stands in for the third-party services Weft calls.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}
