//! Engine behaviour that needs a real service on the other end: retries with backoff,
//! timeouts, cancellation and idempotency keys. The services are HTTP servers on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

use crate::engine::{EXECUTE, edge, run, save, statuses, trigger};
use crate::*;

fn call(id: &str, url: &str, extra: Value) -> Value {
    let mut node = json!({ "id": id, "type": "api-call", "name": id, "config": { "method": "GET", "url": url } });
    if let (Some(node), Some(extra)) = (node.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            node.insert(k.clone(), v.clone());
        }
    }
    node
}

#[derive(Default)]
struct Flaky {
    calls: AtomicUsize,
    keys: std::sync::Mutex<Vec<String>>,
}

/// Fails twice with 503, then answers; records every Idempotency-Key it saw.
async fn flaky(State(state): State<Arc<Flaky>>, headers: HeaderMap) -> (StatusCode, String) {
    let n = state.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    state.keys.lock().unwrap().push(key);
    if n <= 2 {
        (StatusCode::SERVICE_UNAVAILABLE, "busy".into())
    } else {
        (StatusCode::OK, r#"{"stock": 7}"#.into())
    }
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

on_both_databases! {
    async fn a_node_is_retried_with_backoff_and_the_same_idempotency_key(app: TestApp) {
        let state = Arc::new(Flaky::default());
        let base = weft_e2e::serve(axum::Router::new().route("/stock", get(flaky)).with_state(state.clone())).await;
        let wf = save(&app, vec![
            trigger(),
            call("stock", &format!("{base}/stock"), json!({ "retry": { "maxAttempts": 3, "backoffMs": 50 } })),
        ], vec![edge("start", "stock")]).await;
        let started = Instant::now();
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert_eq!(state.calls.load(Ordering::SeqCst), 3, "exactly three attempts");
        // Backoff: at least half of 50 ms, then half of 100 ms, between attempts.
        assert!(started.elapsed() >= Duration::from_millis(75));
        let keys = state.keys.lock().unwrap().clone();
        let execution_id = execution["id"].as_str().unwrap();
        assert!(keys.iter().all(|k| k == &keys[0]) && keys[0].ends_with(":stock"), "{keys:?}");
        assert!(!keys[0].is_empty() && !execution_id.is_empty());
        let attempts: Vec<_> = execution["nodeRuns"].as_array().unwrap().iter()
            .filter(|r| r["nodeId"] == "stock").map(|r| (r["attempt"].as_i64().unwrap(), r["status"].as_str().unwrap().to_owned())).collect();
        assert_eq!(attempts, vec![(1, "failed".into()), (2, "failed".into()), (3, "succeeded".into())]);
        let retries: Vec<_> = execution["events"].as_array().unwrap().iter()
            .filter(|e| e["kind"] == "NODE_ERROR").map(|e| e["willRetry"].as_bool().unwrap()).collect();
        assert_eq!(retries, vec![true, true]);
    }

    async fn the_last_failed_attempt_takes_the_error_edge(app: TestApp) {
        let state = Arc::new(Flaky::default());
        let base = weft_e2e::serve(axum::Router::new().route("/stock", get(flaky)).with_state(state.clone())).await;
        let wf = save(&app, vec![
            trigger(),
            call("stock", &format!("{base}/stock"), json!({ "retry": { "maxAttempts": 2, "backoffMs": 1 } })),
            json!({ "id": "fallback", "type": "output", "name": "fallback", "inputs": { "value": { "value": "used the fallback" } } }),
        ], vec![edge("start", "stock"), json!({ "source": "stock", "sourceHandle": "error", "target": "fallback" })]).await;
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert_eq!(execution["output"], json!("used the fallback"));
        assert_eq!(state.calls.load(Ordering::SeqCst), 2);
    }

    async fn a_node_past_its_timeout_fails_like_any_other_failure(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/slow", get(slow))).await;
        let wf = save(&app, vec![trigger(), call("slow", &format!("{base}/slow"), json!({ "timeoutMs": 300 }))], vec![edge("start", "slow")]).await;
        let started = Instant::now();
        let execution = run(&app, &wf, json!({})).await;
        assert!(started.elapsed() < Duration::from_secs(3), "the timeout did not stop the node");
        assert_eq!(execution["status"], "FAILED");
        assert!(execution["error"].as_str().unwrap().contains("timed out"), "{execution:#}");
    }

    async fn stopping_an_execution_interrupts_its_running_nodes(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/slow", get(slow))).await;
        let wf = save(&app, vec![
            trigger(),
            call("slow", &format!("{base}/slow"), json!({})),
            json!({ "id": "after", "type": "output", "name": "after", "inputs": { "value": { "ref": "slow.output" } } }),
        ], vec![edge("start", "slow"), edge("slow", "after")]).await;
        let started = app.admin_ok(EXECUTE, json!({ "id": wf, "wait": false })).await;
        let id = started["executeWorkflow"]["id"].as_str().unwrap().to_owned();
        // Wait until the slow call is in flight.
        for _ in 0..100 {
            let read = app.admin_ok("query($id: ID!) { execution(id: $id) { nodeRuns { nodeId status } } }", json!({ "id": id })).await;
            if read["execution"]["nodeRuns"].as_array().unwrap().iter().any(|r| r["nodeId"] == "slow") { break; }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let t = Instant::now();
        let stopped = app.admin_ok("mutation($id: ID!) { stopExecution(input: { id: $id }) { status nodeRuns { nodeId status } } }", json!({ "id": id })).await;
        assert!(t.elapsed() < Duration::from_secs(2), "stop waited for the slow call");
        assert_eq!(stopped["stopExecution"]["status"], "CANCELLED");
        let s = statuses(&stopped["stopExecution"]);
        assert_eq!(s["slow"], "cancelled");
        assert!(!s.contains_key("after"));
    }
}
