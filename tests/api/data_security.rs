//! Hostile input against the data paths: database connections that aim at the Weft host,
//! its network or its own database; credentials used where their owner did not mean;
//! redirects that would carry a secret to another host. Every probe goes to 127.0.0.1;
//! other addresses are tried through the decision functions in `domain`.

use std::net::TcpListener;

use crate::*;
use weft_e2e::{Backend, spawn_app_with};

const CREATE_CONNECTION: &str = "mutation($i: CreateDatabaseConnectionInput!) {
    createDatabaseConnection(input: $i) { id host } }";
const UPDATE_CONNECTION: &str = "mutation($i: UpdateDatabaseConnectionInput!) {
    updateDatabaseConnection(input: $i) { id host } }";
const TEST_CONNECTION: &str = "mutation($id: ID!) {
    testDatabaseConnection(id: $id) { ok error { code message } } }";

fn connection(kind: &str, host: &str, port: u16, database: &str) -> Value {
    json!({ "name": "probe", "kind": kind, "host": host, "port": port, "database": database,
            "username": if kind == "MYSQL" { "root" } else { "postgres" }, "tlsMode": "DISABLE" })
}

/// The one problem of a refused call, as (code, path, message).
fn refusal(body: &Value) -> (String, String, String) {
    let error = first_error(body);
    (
        error_code(body).to_owned(),
        error["extensions"]["path"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        error["message"].as_str().unwrap_or("").to_owned(),
    )
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn loopback_is_refused_to_a_plain_user_with_the_reason(backend: Backend) {
    // The secure default: no database allowlist at all.
    let Some(app) = spawn_app_with(backend, |c| c.databases = Default::default()).await else {
        return;
    };
    let user = app.new_user("scanner@example.com").await;
    let before = app.row_counts().await;
    for (kind, host, port) in [
        ("POSTGRES", "127.0.0.1", 5432),
        ("POSTGRES", "localhost", 5432),
        ("MYSQL", "127.0.0.1", 3306),
        ("MONGODB", "::1", 27017),
        ("POSTGRES", "127.1", 22),
        ("POSTGRES", "0.0.0.0", 5432),
    ] {
        let body = app
            .gql(
                Some(&user),
                CREATE_CONNECTION,
                json!({ "i": connection(kind, host, port, "test") }),
            )
            .await;
        let (code, path, message) = refusal(&body);
        assert_eq!(
            (code.as_str(), path.as_str()),
            ("BAD_USER_INPUT", "input.host"),
            "{host}: {body:#}"
        );
        assert!(
            message.contains("refused to connect to"),
            "{host}: {message}"
        );
        assert!(
            message.contains("WEFT_DATABASE_ALLOWED_HOSTS"),
            "{host}: {message}"
        );
    }
    // The administrator is held to the same policy.
    let body = app
        .gql(
            Some(&app.admin_token.clone()),
            CREATE_CONNECTION,
            json!({ "i": connection("POSTGRES", "127.0.0.1", 5432, "test") }),
        )
        .await;
    assert!(refusal(&body).2.contains("loopback address"), "{body:#}");
    assert_eq!(app.row_counts().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_user_cannot_point_a_database_connection_at_loopback_sqlite() {
    loopback_is_refused_to_a_plain_user_with_the_reason(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_user_cannot_point_a_database_connection_at_loopback_postgres() {
    loopback_is_refused_to_a_plain_user_with_the_reason(Backend::Postgres).await;
}

/// Weft on PostgreSQL keeps its data on the very server the tests allowlist (127.0.0.1):
/// its own database must stay out of reach, by address or by name, at save and on update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weft_s_own_database_is_refused_even_when_loopback_is_allowlisted() {
    let Some(app) = spawn_app_with(Backend::Postgres, |c| {
        c.databases = domain::dbquery::DatabasePolicy::allowing("127.0.0.0/8,::1").unwrap();
    })
    .await
    else {
        return;
    };
    let own = app.database_url.rsplit('/').next().unwrap().to_owned();
    let user = app.new_user("climber@example.com").await;
    let before = app.row_counts().await;
    for host in ["127.0.0.1", "localhost", "127.0.0.2", "::1"] {
        for token in [user.as_str(), app.admin_token.as_str()] {
            let body = app
                .gql(
                    Some(token),
                    CREATE_CONNECTION,
                    json!({ "i": connection("POSTGRES", host, 5432, &own) }),
                )
                .await;
            let (code, path, message) = refusal(&body);
            assert_eq!(
                (code.as_str(), path.as_str()),
                ("BAD_USER_INPUT", "input.host"),
                "{host}: {body:#}"
            );
            assert!(message.contains("Weft's own database"), "{host}: {message}");
        }
    }
    assert_eq!(app.row_counts().await, before);

    // Another database of the same server is an ordinary target; moving it onto Weft's
    // own database is refused the same way.
    let created = app
        .as_ok(
            &user,
            CREATE_CONNECTION,
            json!({ "i": connection("POSTGRES", "127.0.0.1", 5432, "test") }),
        )
        .await;
    let id = created["createDatabaseConnection"]["id"].clone();
    let before = app.row_counts().await;
    let body = app
        .gql(
            Some(&user),
            UPDATE_CONNECTION,
            json!({ "i": { "id": id, "database": own } }),
        )
        .await;
    let (_, path, message) = refusal(&body);
    assert_eq!(path, "input.host");
    assert!(message.contains("Weft's own database"), "{message}");
    assert_eq!(app.row_counts().await, before);
}

/// A loopback port that accepts connections and closes them at once, as many services
/// that are not databases do.
async fn accept_and_close_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    port
}

on_both_databases! {
    async fn connection_errors_do_not_tell_a_plain_user_an_open_port_from_a_closed_one(app: TestApp) {
        // Open ports with something other than a database behind them (one that hangs up,
        // one that waits for an HTTP request), and a closed one.
        let hangs_up = accept_and_close_port().await;
        let http: u16 = weft_e2e::serve(axum::Router::new()).await.rsplit(':').next().unwrap().parse().unwrap();
        let closed = closed_port();
        let user = app.new_user("prober@example.com").await;
        let test = |token: String, kind: &'static str, port: u16| {
            let app = &app;
            async move {
                let created = app.as_ok(&token, CREATE_CONNECTION, json!({ "i": connection(kind, "127.0.0.1", port, "test") })).await;
                let id = created["createDatabaseConnection"]["id"].clone();
                let tested = app.as_ok(&token, TEST_CONNECTION, json!({ "id": id })).await;
                let result = tested["testDatabaseConnection"].clone();
                assert_eq!(result["ok"], false, "{kind} {port}: {result}");
                (result["error"]["code"].clone(), result["error"]["message"].clone())
            }
        };
        for kind in ["POSTGRES", "MYSQL"] {
            let mut seen = Vec::new();
            for port in [hangs_up, http, closed] {
                seen.push(test(user.clone(), kind, port).await);
            }
            for answer in &seen {
                assert_eq!(answer.0, "CONNECTION_FAILED", "{kind}: {seen:?}");
                assert_eq!(answer.1, domain::dbquery::CONNECTION_FAILED_MESSAGE, "{kind}: {seen:?}");
            }
            // Administrators keep the detail they need to fix a connection.
            let open = test(app.admin_token.clone(), kind, hangs_up).await;
            let shut = test(app.admin_token.clone(), kind, closed).await;
            assert_ne!(open.1, shut.1, "{kind}");
        }
    }
}
