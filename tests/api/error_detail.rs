//! `nodeRuns.errorDetail`: a failed attempt's error as fields (code, message, retryable,
//! cause chain) beside the message string, and the retry wait on `NODE_ERROR` events.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::engine::{edge, save, trigger};
use crate::*;

const RUN: &str = "mutation($id: ID!) {
    executeWorkflow(id: $id, input: {}, wait: true) {
        status error
        nodeRuns { nodeId attempt status error errorDetail { code message retryable cause } }
        events { kind nodeId attempt willRetry retryDelayMs errorCode error }
    } }";

fn call(id: &str, url: &str, extra: Value) -> Value {
    let mut node = json!({ "id": id, "type": "api-call", "name": id, "config": { "method": "GET", "url": url } });
    if let (Some(node), Some(extra)) = (node.as_object_mut(), extra.as_object()) {
        node.extend(extra.clone());
    }
    node
}

async fn run(app: &TestApp, workflow: &str) -> Value {
    app.admin_ok(RUN, json!({ "id": workflow })).await["executeWorkflow"].clone()
}

fn runs_of(execution: &Value, node: &str) -> Vec<Value> {
    execution["nodeRuns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["nodeId"] == node)
        .cloned()
        .collect()
}

/// Answers 503 on the first call and 400 afterwards.
async fn busy_then_bad(State(calls): State<Arc<AtomicUsize>>) -> (StatusCode, &'static str) {
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        (StatusCode::SERVICE_UNAVAILABLE, "busy")
    } else {
        (StatusCode::BAD_REQUEST, "bad request")
    }
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

on_both_databases! {
    async fn each_failed_attempt_has_a_structured_error_with_its_code_and_retryability(app: TestApp) {
        let calls = Arc::new(AtomicUsize::new(0));
        let base = weft_e2e::serve(axum::Router::new().route("/stock", get(busy_then_bad)).with_state(calls.clone())).await;
        let wf = save(&app, vec![
            trigger(),
            call("stock", &format!("{base}/stock"), json!({ "retry": { "maxAttempts": 3, "backoffMs": 40 } })),
        ], vec![edge("start", "stock")]).await;
        let execution = run(&app, &wf).await;
        assert_eq!(execution["status"], "FAILED", "{execution:#}");
        let runs = runs_of(&execution, "stock");
        assert_eq!(runs.len(), 2, "a 400 is not retried: {runs:#?}");
        let first = &runs[0]["errorDetail"];
        assert_eq!(first["code"], "HTTP_STATUS");
        assert_eq!(first["retryable"], true);
        assert_eq!(first["message"], runs[0]["error"], "the string stays the detail's message");
        assert!(first["message"].as_str().unwrap().contains("503"), "{first:#}");
        let second = &runs[1]["errorDetail"];
        assert_eq!(second["code"], "HTTP_STATUS");
        assert_eq!(second["retryable"], false);
        assert!(second["message"].as_str().unwrap().contains("400"), "{second:#}");
        let start_run = &runs_of(&execution, "start")[0];
        assert!(start_run["errorDetail"].is_null(), "a succeeded attempt has no error detail");

        let errors: Vec<_> = execution["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "NODE_ERROR").collect();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0]["willRetry"], true);
        assert_eq!(errors[0]["errorCode"], "HTTP_STATUS");
        let wait = errors[0]["retryDelayMs"].as_i64().expect("a retried failure says how long it waits");
        assert!((20..=40).contains(&wait), "backoff of the first retry is within [20, 40] ms: {wait}");
        assert_eq!(errors[1]["willRetry"], false);
        assert!(errors[1]["retryDelayMs"].is_null(), "no wait after the last attempt");
    }

    async fn a_timeout_an_unreachable_service_and_an_unresolvable_input_have_their_own_codes(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/slow", get(slow))).await;
        // A port nothing listens on: bound, then released.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let cases = [
            (call("n", &format!("{base}/slow"), json!({ "timeoutMs": 200 })), "TIMEOUT", true),
            (call("n", &format!("http://127.0.0.1:{closed}/"), json!({})), "NETWORK", true),
            (json!({ "id": "n", "type": "data-transform", "name": "n", "config": { "expr": "." },
                     "inputs": { "data": { "ref": "start.output.missing.deeper" } } }), "INVALID_INPUT", false),
        ];
        for (node, code, retryable) in cases {
            let wf = save(&app, vec![trigger(), node], vec![edge("start", "n")]).await;
            let execution = run(&app, &wf).await;
            assert_eq!(execution["status"], "FAILED", "{execution:#}");
            let runs = runs_of(&execution, "n");
            let detail = &runs.last().expect("the node ran")["errorDetail"];
            assert_eq!(detail["code"], code, "{detail:#}");
            assert_eq!(detail["retryable"], retryable, "{detail:#}");
            assert_eq!(detail["message"], runs.last().unwrap()["error"]);
            if code == "NETWORK" {
                assert!(!detail["cause"].as_array().unwrap().is_empty(), "a connection failure names its cause: {detail:#}");
            }
        }
    }
}
