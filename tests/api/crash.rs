//! A process-level crash: `weft` runs as a child process, is killed with SIGKILL while 50
//! executions are in flight, and is started again on the same database.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;

use crate::*;

const EXECUTIONS: usize = 50;

/// The `weft` binary next to this test's executable (`target/<profile>/weft`).
fn weft_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("weft");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p weft` (./scripts/test does)",
        bin.display()
    );
    bin
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    /// A failed assertion must not leave a server running after the test.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_weft(database_url: &str, data_dir: &std::path::Path, token: &str) -> Server {
    let mut child = Command::new(weft_binary())
        .env("WEFT_DATABASE_URL", database_url)
        .env("WEFT_DATA_DIR", data_dir)
        .env("WEFT_LISTEN", "127.0.0.1:0")
        .env("WEFT_ADMIN_TOKEN", token)
        .env("WEFT_ALLOW_HTTP", "1")
        .env("WEFT_OUTBOUND_ALLOWLIST", "127.0.0.1")
        .env(
            "RUST_LOG",
            std::env::var("WEFT_CHILD_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting weft");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("weft exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("weft listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

#[derive(Default)]
struct Calls {
    by_key: Mutex<HashMap<String, usize>>,
}

/// `/step/{ms}` answers after `ms` milliseconds and counts calls per Idempotency-Key.
async fn step(
    State(calls): State<Arc<Calls>>,
    Path(ms): Path<u64>,
    headers: HeaderMap,
) -> axum::Json<Value> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    *calls.by_key.lock().unwrap().entry(key).or_default() += 1;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    axum::Json(json!({ "waited": ms }))
}

const READ_EXECUTION: &str = "query($id: ID!) { execution(id: $id) { status error output
    nodeRuns { nodeId attempt status error finishedAt }
    events { sequence kind nodeId attempt willRetry error } } }";

/// No attempt is left running: every node run has ended and every `NODE_START` has its
/// `NODE_COMPLETE` or `NODE_ERROR` (same node, same attempt); sequences have no gap.
fn assert_every_attempt_ended(execution: &Value) {
    for run in execution["nodeRuns"].as_array().unwrap() {
        assert!(
            run["status"] != "running" && !run["finishedAt"].is_null(),
            "an attempt without an end: {run}"
        );
    }
    let events = execution["events"].as_array().unwrap();
    for start in events.iter().filter(|e| e["kind"] == "NODE_START") {
        let ended = events.iter().any(|e| {
            (e["kind"] == "NODE_COMPLETE" || e["kind"] == "NODE_ERROR")
                && e["nodeId"] == start["nodeId"]
                && (e["attempt"] == start["attempt"] || e["kind"] == "NODE_COMPLETE")
        });
        assert!(ended, "a NODE_START without an end event: {start}");
    }
    let sequences: Vec<i64> = events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=sequences.len() as i64).collect::<Vec<_>>());
}

/// Waits until `key`'s call of the slow endpoint has been made `times` times.
async fn wait_for_calls(calls: &Calls, suffix: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let made: usize = calls
            .by_key
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with(suffix))
            .map(|(_, n)| *n)
            .sum();
        if made >= times {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{suffix} was called {made} times, not {times}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A node during which the process dies every time (SIGKILL while it runs, twice) ends
/// failed with a clear error instead of being run again at every start.
async fn a_node_that_keeps_killing_the_process_fails_instead_of_looping(
    backend: weft_e2e::Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, pg)) = weft_e2e::fresh_database(backend, dir.path()).await else {
        return;
    };
    let calls = Arc::new(Calls::default());
    let slow = weft_e2e::serve(
        axum::Router::new()
            .route("/step/{ms}", get(step))
            .with_state(calls.clone()),
    )
    .await;
    let token = domain::auth::generate_token();
    let client = reqwest::Client::new();
    let mut server = start_weft(&url, dir.path(), &token);
    let document = json!({ "version": 1,
        "nodes": [
            { "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } },
            { "id": "deadly", "type": "api-call", "name": "deadly", "config": { "method": "GET", "url": format!("{slow}/step/60000") } },
            { "id": "done", "type": "output", "name": "done", "inputs": { "value": { "ref": "deadly.output.body" } } }
        ],
        "edges": [ { "source": "start", "target": "deadly" }, { "source": "deadly", "target": "done" } ] });
    let created = gql(
        &client,
        &server.base,
        &token,
        CREATE_WORKFLOW,
        json!({ "i": { "name": "deadly", "document": document } }),
    )
    .await;
    let wf = created["createWorkflow"]["id"].as_str().unwrap().to_owned();
    let started = gql(
        &client,
        &server.base,
        &token,
        "mutation($id: ID!) { executeWorkflow(id: $id) { id } }",
        json!({ "id": wf }),
    )
    .await;
    let id = started["executeWorkflow"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The node is running when the process dies; after a restart it runs once more and the
    // process dies again.
    for times in 1..=2 {
        wait_for_calls(&calls, ":deadly", times).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        server = start_weft(&url, dir.path(), &token);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let execution = loop {
        let read = gql(
            &client,
            &server.base,
            &token,
            READ_EXECUTION,
            json!({ "id": id }),
        )
        .await;
        if read["execution"]["status"] != "RUNNING" {
            break read["execution"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the execution never ended: {read:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(execution["status"], "FAILED", "{execution:#}");
    assert_eq!(
        execution["error"],
        "node `deadly` failed: the process exited while this node was running (2 times)"
    );
    assert_every_attempt_ended(&execution);
    let deadly: Vec<_> = execution["nodeRuns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["nodeId"] == "deadly")
        .map(|r| (r["attempt"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        deadly,
        vec![(json!(1), json!("failed")), (json!(2), json!("failed"))]
    );
    let errors: Vec<_> = execution["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "NODE_ERROR")
        .map(|e| (e["attempt"].clone(), e["willRetry"].clone()))
        .collect();
    assert_eq!(
        errors,
        vec![(json!(1), json!(true)), (json!(2), json!(false))]
    );
    // The third process did not run the node again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let made: usize = calls.by_key.lock().unwrap().values().sum();
    assert_eq!(made, 2, "the node ran again after its second interruption");
    drop(server);
    if let Some((admin_url, name)) = pg {
        weft_e2e::drop_database(&admin_url, &name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_node_that_keeps_killing_the_process_fails_instead_of_looping() {
    a_node_that_keeps_killing_the_process_fails_instead_of_looping(weft_e2e::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_node_that_keeps_killing_the_process_fails_instead_of_looping() {
    a_node_that_keeps_killing_the_process_fails_instead_of_looping(weft_e2e::Backend::Postgres)
        .await;
}

async fn gql(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let body: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ok(body)
}

async fn a_killed_server_resumes_every_execution_without_rerunning_completed_nodes(
    backend: weft_e2e::Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, pg)) = weft_e2e::fresh_database(backend, dir.path()).await else {
        return;
    };
    let calls = Arc::new(Calls::default());
    let slow = weft_e2e::serve(
        axum::Router::new()
            .route("/step/{ms}", get(step))
            .with_state(calls.clone()),
    )
    .await;
    let token = domain::auth::generate_token();
    let client = reqwest::Client::new();

    let mut server = start_weft(&url, dir.path(), &token);
    let document = json!({ "version": 1,
        "nodes": [
            { "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } },
            { "id": "fast", "type": "api-call", "name": "fast", "config": { "method": "GET", "url": format!("{slow}/step/10") } },
            { "id": "slow", "type": "api-call", "name": "slow", "config": { "method": "GET", "url": format!("{slow}/step/3000") } },
            { "id": "done", "type": "output", "name": "done", "inputs": { "value": { "ref": "slow.output.body" } } }
        ],
        "edges": [ { "source": "start", "target": "fast" }, { "source": "fast", "target": "slow" }, { "source": "slow", "target": "done" } ] });
    let created = gql(
        &client,
        &server.base,
        &token,
        CREATE_WORKFLOW,
        json!({ "i": { "name": "crash", "document": document } }),
    )
    .await;
    let wf = created["createWorkflow"]["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for i in 0..EXECUTIONS {
        let started = gql(
            &client,
            &server.base,
            &token,
            "mutation($id: ID!, $input: JSON) { executeWorkflow(id: $id, input: $input) { id } }",
            json!({ "id": wf, "input": { "n": i } }),
        )
        .await;
        ids.push(
            started["executeWorkflow"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Kill once every `fast` node has been called and `slow` calls are in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let slow_calls = calls
            .by_key
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.ends_with(":slow"))
            .count();
        if slow_calls == EXECUTIONS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the executions never reached the slow node ({slow_calls} did)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().unwrap(); // SIGKILL: no shutdown code runs.
    server.child.wait().unwrap();

    let mut server = start_weft(&url, dir.path(), &token);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut remaining: Vec<String> = ids.clone();
    while !remaining.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} executions did not finish after the restart",
            remaining.len()
        );
        let mut still = Vec::new();
        for id in &remaining {
            let read = gql(
                &client,
                &server.base,
                &token,
                "query($id: ID!) { execution(id: $id) { status } }",
                json!({ "id": id }),
            )
            .await;
            match read["execution"]["status"].as_str().unwrap() {
                "SUCCEEDED" => {}
                "RUNNING" | "PENDING" => still.push(id.clone()),
                other => panic!("execution {id} ended {other}"),
            }
        }
        remaining = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &ids {
        let read = gql(
            &client,
            &server.base,
            &token,
            READ_EXECUTION,
            json!({ "id": id }),
        )
        .await;
        let execution = &read["execution"];
        assert_every_attempt_ended(execution);
        let interrupted: Vec<_> = execution["nodeRuns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "failed")
            .collect();
        assert_eq!(
            interrupted.len(),
            1,
            "the slow node's interrupted attempt is closed: {execution:#}"
        );
        assert_eq!(interrupted[0]["nodeId"], "slow");
        assert_eq!(
            interrupted[0]["error"],
            "the process exited while this node was running (1 time)"
        );
        assert_eq!(execution["output"], json!({ "waited": 3000 }));
        let runs = execution["nodeRuns"].as_array().unwrap();
        for node in ["start", "fast", "slow", "done"] {
            let succeeded = runs
                .iter()
                .filter(|r| r["nodeId"] == node && r["status"] == "succeeded")
                .count();
            assert_eq!(succeeded, 1, "{node} completed {succeeded} times in {id}");
        }
        let sequences: Vec<i64> = execution["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(
            sequences,
            (1..=sequences.len() as i64).collect::<Vec<_>>(),
            "events stay contiguous across the crash"
        );
    }
    let by_key = calls.by_key.lock().unwrap().clone();
    let fast_repeats: Vec<_> = by_key
        .iter()
        .filter(|(k, n)| k.ends_with(":fast") && **n != 1)
        .collect();
    assert!(
        fast_repeats.is_empty(),
        "completed nodes were called again: {fast_repeats:?}"
    );
    assert_eq!(
        by_key.keys().filter(|k| k.ends_with(":fast")).count(),
        EXECUTIONS
    );
    server.child.kill().ok();
    server.child.wait().ok();
    if let Some((admin_url, name)) = pg {
        weft_e2e::drop_database(&admin_url, &name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_on_sqlite_resumes_every_execution_without_rerunning_completed_nodes() {
    a_killed_server_resumes_every_execution_without_rerunning_completed_nodes(
        weft_e2e::Backend::Sqlite,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_on_postgres_resumes_every_execution_without_rerunning_completed_nodes() {
    a_killed_server_resumes_every_execution_without_rerunning_completed_nodes(
        weft_e2e::Backend::Postgres,
    )
    .await;
}
