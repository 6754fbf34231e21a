//! Callers that hang up: a client that closes its connection while its execution is being
//! stored must not leave a `running` execution that nothing runs.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::engine::{edge, save, transform, trigger};
use crate::*;

const CALLS: usize = 200;
const CONCURRENT_CALLERS: usize = 8;

fn raw_request(base: &str, path: &str, headers: &str, body: &str) -> (String, String) {
    let addr = base.trim_start_matches("http://").to_owned();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    (addr, request)
}

/// Writes one raw HTTP request and closes the socket `after` later, without reading the
/// answer: the server sees the client vanish at that point of its work.
async fn send_and_hang_up(base: &str, path: &str, headers: &str, body: &str, after: Duration) {
    let (addr, request) = raw_request(base, path, headers, body);
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(after).await;
    // Dropping the socket closes it: hyper then drops the request's future wherever it is.
    drop(socket);
}

/// Sends the request and reads the whole answer; returns how long that took.
async fn send_and_wait(base: &str, path: &str, headers: &str, body: &str) -> Duration {
    let (addr, request) = raw_request(base, path, headers, body);
    let started = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 2"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    started.elapsed()
}

/// Hang-up points spread evenly from 0 to twice the time a whole call takes, so they fall
/// before, during and after the store-and-start on a fast or a slow machine alike.
fn hang_up_after(i: usize, whole_call: Duration) -> Duration {
    whole_call * 2 * ((i * 7919) % CALLS) as u32 / CALLS as u32
}

async fn unfinished(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.backend(),
            "SELECT COUNT(*) AS n FROM workflow_executions WHERE status IN ('running', 'pending')",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

on_both_databases! {
    async fn callers_hanging_up_at_any_moment_leave_no_execution_unfinished(app: TestApp) {
        let manual = save(&app, vec![trigger(), transform("t", "{ doubled: (.n * 2) }", json!({ "ref": "start.output" }))],
            vec![edge("start", "t")]).await;
        let hooked = save(&app, vec![
                json!({ "id": "hook", "type": "trigger", "name": "Incoming", "config": { "kind": "webhook" } }),
                transform("t", "{ got: .body }", json!({ "ref": "hook.output" })),
            ], vec![edge("hook", "t")]).await;
        let triggers = app.admin_ok("query($id: ID!) { workflow(id: $id) { webhookTriggers { path } } }",
            json!({ "id": hooked })).await;
        let hook_path = triggers["workflow"]["webhookTriggers"][0]["path"].as_str().unwrap().to_owned();
        let auth = format!("authorization: Bearer {}\r\n", app.admin_token);
        let execute = json!({ "query": "mutation($id: ID!, $input: JSON) { executeWorkflow(id: $id, input: $input) { id } }",
            "variables": { "id": manual, "input": { "n": 1 } } }).to_string();

        let call = |i: usize| {
            if i.is_multiple_of(2) {
                ("/graphql".to_owned(), auth.clone(), execute.clone())
            } else {
                (hook_path.clone(), String::new(), json!({ "i": i }).to_string())
            }
        };
        // Calls that are not cut off, as many at once as below: how long the quickest whole
        // call takes.
        let mut warm_up = tokio::task::JoinSet::new();
        for i in 0..CONCURRENT_CALLERS {
            let base = app.base_url.clone();
            let (path, headers, body) = call(i);
            warm_up.spawn(async move { send_and_wait(&base, &path, &headers, &body).await });
        }
        let mut whole_call = Duration::MAX;
        while let Some(took) = warm_up.join_next().await {
            whole_call = whole_call.min(took.unwrap());
        }
        let warmed_up = app.row_counts().await["workflow_executions"];

        // A few callers at a time, so a call's own work (not a queue behind 200 others)
        // is what the hang-up points fall into.
        let callers = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_CALLERS));
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..CALLS {
            let base = app.base_url.clone();
            let (path, headers, body) = call(i);
            let slot = callers.clone().acquire_owned().await.unwrap();
            calls.spawn(async move {
                send_and_hang_up(&base, &path, &headers, &body, hang_up_after(i, whole_call)).await;
                drop(slot);
            });
        }
        while let Some(done) = calls.join_next().await {
            done.unwrap();
        }

        // Every execution that was stored runs to its end; none is left `running`.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = unfinished(&app).await;
            if left == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{left} executions are still unfinished 30 s after their callers hung up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stored = app.row_counts().await["workflow_executions"] - warmed_up;
        assert!(stored > 0, "no call got far enough to store an execution");
        eprintln!("{stored} of {CALLS} hung-up calls stored an execution");
        let stranded = app.db.query_one_raw(sea_orm::Statement::from_string(app.backend(),
            "SELECT COUNT(*) AS n FROM workflow_executions e WHERE NOT EXISTS \
             (SELECT 1 FROM node_executions n WHERE n.execution_id = e.id)")).await.unwrap().unwrap();
        let stranded: i64 = stranded.try_get("", "n").unwrap();
        assert_eq!(stranded, 0, "executions without a single node attempt");
    }
}
