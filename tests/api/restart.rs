use secrecy::SecretString;

use crate::*;

fn config(dir: &std::path::Path, url: &str, token: Option<String>) -> weft::Config {
    weft::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: Some(url.to_owned()),
        master_key: None,
        master_key_previous: None,
        admin_token: token.map(SecretString::from),
        outbound: weft_e2e::loopback_policy(),
        ..Default::default()
    }
}

async fn restart_keeps_data_and_prints_no_second_token(backend: weft_e2e::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, _pg)) = weft_e2e::fresh_database(backend, dir.path()).await else {
        return;
    };
    // First start without a preset token: one is generated to be printed once.
    let first = weft::Application::build(config(dir.path(), &url, None))
        .await
        .unwrap();
    let token = first
        .generated_admin_token()
        .expect("a generated token on first start")
        .to_owned();
    assert!(token.starts_with("weft_"));
    drop(first);
    // Second start: migrations are idempotent, nothing new is generated, the token still works.
    let second = weft::Application::build(config(dir.path(), &url, None))
        .await
        .unwrap();
    assert!(second.generated_admin_token().is_none());
    let base = format!("http://{}", second.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(second.run_until(async {
        let _ = rx.await;
    }));
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { email role } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ok(body)["viewer"],
        json!({ "email": "admin@localhost", "role": "ADMIN" })
    );
    let _ = tx.send(());
    server.await.unwrap().unwrap();
    if let Some((admin_url, name)) = _pg {
        weft_e2e::drop_database(&admin_url, &name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_on_sqlite_keeps_data_and_generates_no_second_token() {
    restart_keeps_data_and_prints_no_second_token(weft_e2e::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_on_postgres_keeps_data_and_generates_no_second_token() {
    restart_keeps_data_and_prints_no_second_token(weft_e2e::Backend::Postgres).await;
}

#[tokio::test]
async fn a_weak_preset_admin_token_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("weft.db").display());
    let Err(error) = weft::Application::build(config(dir.path(), &url, Some("short".into()))).await
    else {
        panic!("a weak token was accepted");
    };
    assert!(
        format!("{error:#}").contains("WEFT_ADMIN_TOKEN"),
        "{error:#}"
    );
}
