//! Incoming webhook triggers: `POST /hooks/{token}` starts the workflow, over real HTTP.

use std::time::Duration;

use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use sha2::Sha256;

use crate::engine::{edge, transform};
use crate::*;

const TRIGGERS: &str = "query($id: ID!) { workflow(id: $id) {
    webhookTriggers { nodeId path methods respond timeoutMs maxBodyBytes signed rotatedAt } } }";
const ROTATE: &str = "mutation($id: ID!, $node: String!) {
    rotateWebhookTriggerToken(input: { workflowId: $id, nodeId: $node }) { nodeId path rotatedAt } }";
const EXECUTION: &str = "query($id: ID!) { execution(id: $id) { status output input } }";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn hook_trigger(config: Value) -> Value {
    let mut config = config;
    config["kind"] = json!("webhook");
    json!({ "id": "hook", "type": "trigger", "name": "Incoming", "config": config })
}

fn output(value: Value) -> Value {
    json!({ "id": "done", "type": "output", "name": "done", "inputs": { "value": value } })
}

/// trigger → data-transform (reads method, query, a header and the JSON body) → output.
async fn summing_workflow(app: &TestApp, token: &str, config: Value) -> String {
    let nodes = vec![
        hook_trigger(config),
        transform(
            "sum",
            "{ total: (.body.items | map(.price) | add), method, source: .query.source, agent: .headers[\"x-agent\"] }",
            json!({ "ref": "hook.output" }),
        ),
        output(json!({ "ref": "sum.output" })),
    ];
    let document = json!({ "version": 1, "nodes": nodes, "edges": [edge("hook", "sum"), edge("sum", "done")] });
    let data = app
        .as_ok(
            token,
            CREATE_WORKFLOW,
            json!({ "i": { "name": "hooked", "document": document } }),
        )
        .await;
    data["createWorkflow"]["id"].as_str().unwrap().to_owned()
}

/// The URL of the workflow's only webhook trigger, as its owner sees it.
async fn hook_url(app: &TestApp, token: &str, workflow: &str) -> String {
    let data = app.as_ok(token, TRIGGERS, json!({ "id": workflow })).await;
    let path = data["workflow"]["webhookTriggers"][0]["path"]
        .as_str()
        .expect("a path")
        .to_owned();
    assert!(
        path.starts_with("/hooks/") && path.len() >= "/hooks/".len() + 22,
        "{path}"
    );
    format!("{}{path}", app.base_url)
}

fn order() -> Value {
    json!({ "items": [{ "price": 2 }, { "price": 3.5 }] })
}

async fn execution_count(app: &TestApp) -> i64 {
    app.row_counts().await["workflow_executions"]
}

/// Standard Webhooks headers for `body`, signed with [`SECRET`] at `timestamp`.
fn signed(id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", format!("v1,{signature}")),
    ]
}

async fn post(
    app: &TestApp,
    url: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("sending to the webhook")
}

/// POSTs `chunks` chunks of `size` spaces with `Transfer-Encoding: chunked` (no
/// `Content-Length`) over a plain socket and returns the response status.
async fn post_chunked(url: &str, chunks: usize, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = reqwest::Url::parse(url).unwrap();
    let mut socket = tokio::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap()))
        .await
        .unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        url.path()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        // The server may answer and close before every chunk is sent.
        if socket
            .write_all(format!("{size:x}\r\n{}\r\n", " ".repeat(size)).as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = socket.read_to_end(&mut response).await;
    let status_line = String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {status_line:?}"))
}

async fn wait_for_status(app: &TestApp, execution: &str, status: &str) -> Value {
    for _ in 0..200 {
        let data = app.admin_ok(EXECUTION, json!({ "id": execution })).await;
        if data["execution"]["status"] == status {
            return data["execution"].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("execution {execution} never reached {status}");
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3)).await;
    "late"
}

on_both_databases! {
    async fn a_post_starts_the_workflow_and_respond_when_done_returns_its_output(app: TestApp) {
        let admin = app.admin_token.clone();
        let workflow = summing_workflow(&app, &admin, json!({ "respond": "whenDone" })).await;
        let url = hook_url(&app, &admin, &workflow).await;
        let response = app.client.post(format!("{url}?source=shop"))
            .header("x-agent", "shop/1.0")
            .header("authorization", "Bearer caller-secret-token")
            .json(&order())
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let execution_id = response.headers()["weft-execution-id"].to_str().unwrap().to_owned();
        let output: Value = response.json().await.unwrap();
        assert_eq!(output, json!({ "total": 5.5, "method": "POST", "source": "shop", "agent": "shop/1.0" }));

        let stored = app.admin_ok(EXECUTION, json!({ "id": execution_id })).await;
        assert_eq!(stored["execution"]["status"], "SUCCEEDED");
        assert_eq!(stored["execution"]["input"]["body"], order());
        // The caller's own credentials are not kept in the execution history.
        assert!(!stored.to_string().contains("caller-secret-token"), "{stored}");
        let kinds = app.db.query_all_raw(sea_orm::Statement::from_string(app.backend(),
            "SELECT trigger_kind FROM workflow_executions")).await.unwrap();
        assert_eq!(kinds.len(), 1);
        assert_eq!(kinds[0].try_get::<String>("", "trigger_kind").unwrap(), "webhook");
    }

    async fn respond_immediately_answers_202_with_an_execution_that_then_completes(app: TestApp) {
        let admin = app.admin_token.clone();
        let workflow = summing_workflow(&app, &admin, json!({})).await;
        let url = hook_url(&app, &admin, &workflow).await;
        let response = post(&app, &url, order().to_string().as_bytes(), &[]).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        let execution_id = body["executionId"].as_str().expect("an execution id");
        let finished = wait_for_status(&app, execution_id, "SUCCEEDED").await;
        assert_eq!(finished["output"]["total"], 5.5);
    }

    async fn a_failing_workflow_answers_500_with_its_error_and_a_slow_one_202_on_timeout(app: TestApp) {
        let admin = app.admin_token.clone();
        // `.body.items` is null for this body, so `map` fails at run time.
        let failing = summing_workflow(&app, &admin, json!({ "respond": "whenDone" })).await;
        let url = hook_url(&app, &admin, &failing).await;
        let response = post(&app, &url, b"{\"items\": 7}", &[]).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "failed");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{body}");

        let base = weft_e2e::serve(axum::Router::new().route("/slow", get(slow))).await;
        let nodes = vec![
            hook_trigger(json!({ "respond": "whenDone", "timeoutMs": 300 })),
            json!({ "id": "call", "type": "api-call", "name": "call", "config": { "method": "GET", "url": format!("{base}/slow") } }),
        ];
        let document = json!({ "version": 1, "nodes": nodes, "edges": [edge("hook", "call")] });
        let data = app.admin_ok(CREATE_WORKFLOW, json!({ "i": { "name": "slow", "document": document } })).await;
        let slow_workflow = data["createWorkflow"]["id"].as_str().unwrap().to_owned();
        let url = hook_url(&app, &admin, &slow_workflow).await;
        let started = std::time::Instant::now();
        let response = post(&app, &url, b"{}", &[]).await;
        assert!(started.elapsed() < Duration::from_secs(2), "waited past the trigger's timeout");
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        assert!(body["note"].as_str().unwrap().contains("300 ms"), "{body}");
        wait_for_status(&app, body["executionId"].as_str().unwrap(), "SUCCEEDED").await;
    }

    async fn signatures_are_verified_and_a_bad_or_missing_one_gets_401_and_starts_nothing(app: TestApp) {
        let admin = app.admin_token.clone();
        let credential = app.admin_ok(
            "mutation($i: CreateCredentialInput!) { createCredential(input: $i) { uuid } }",
            json!({ "i": { "name": "hook secret", "kind": "generic", "secret": { "secret": SECRET } } }),
        ).await["createCredential"]["uuid"].as_str().unwrap().to_owned();
        let workflow = summing_workflow(&app, &admin, json!({ "respond": "whenDone", "secretCredentialId": credential })).await;
        let url = hook_url(&app, &admin, &workflow).await;
        let body = order().to_string();
        let now = chrono::Utc::now().timestamp();
        let before = execution_count(&app).await;

        let missing = post(&app, &url, body.as_bytes(), &[]).await;
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        let tampered = post(&app, &url, b"{\"items\": [{\"price\": 1000}]}", &signed("msg_1", now, body.as_bytes())).await;
        assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
        let stale = post(&app, &url, body.as_bytes(), &signed("msg_2", now - 301, body.as_bytes())).await;
        assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
        let message: Value = stale.json().await.unwrap();
        assert!(message["error"].as_str().unwrap().contains("webhook-timestamp"), "{message}");
        assert_eq!(execution_count(&app).await, before, "a refused request started an execution");

        let accepted = post(&app, &url, body.as_bytes(), &signed("msg_3", now, body.as_bytes())).await;
        assert_eq!(accepted.status(), StatusCode::OK);
        let execution_id = accepted.headers()["weft-execution-id"].to_str().unwrap().to_owned();
        assert_eq!(accepted.json::<Value>().await.unwrap()["total"], 5.5);
        // The verified signature is not passed on; the message id is.
        let stored = app.admin_ok(EXECUTION, json!({ "id": execution_id })).await;
        let headers = &stored["execution"]["input"]["headers"];
        assert_eq!(headers["webhook-id"], "msg_3");
        assert!(headers.get("webhook-signature").is_none(), "{headers}");

        // A sender's retry with the same webhook-id starts nothing new and names the first run.
        let before = execution_count(&app).await;
        let retried = post(&app, &url, body.as_bytes(), &signed("msg_3", now, body.as_bytes())).await;
        assert_eq!(retried.status(), StatusCode::ACCEPTED);
        assert_eq!(retried.headers()["weft-execution-id"].to_str().unwrap(), execution_id);
        assert_eq!(retried.json::<Value>().await.unwrap()["status"], "duplicate");
        assert_eq!(execution_count(&app).await, before);
    }

    async fn an_oversized_body_gets_413_and_starts_nothing(app: TestApp) {
        let admin = app.admin_token.clone();
        let workflow = summing_workflow(&app, &admin, json!({ "maxBodyBytes": 1024 })).await;
        let url = hook_url(&app, &admin, &workflow).await;
        let before = app.row_counts().await;
        let big = format!("{{\"items\": [], \"pad\": \"{}\"}}", "x".repeat(4096));
        let declared = post(&app, &url, big.as_bytes(), &[]).await;
        assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Without Content-Length the limit holds while reading.
        assert_eq!(post_chunked(&url, 8, 512).await, 413);
        assert_eq!(app.row_counts().await, before);
        let fits = post(&app, &url, order().to_string().as_bytes(), &[]).await;
        assert_eq!(fits.status(), StatusCode::ACCEPTED);
    }

    async fn unknown_tokens_get_404_and_methods_the_trigger_does_not_allow_405(app: TestApp) {
        let admin = app.admin_token.clone();
        let before = app.row_counts().await;
        for path in ["/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/hooks/..%2Fgraphql", "/hooks/x"] {
            let response = post(&app, &format!("{}{path}", app.base_url), b"{}", &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let post_only = summing_workflow(&app, &admin, json!({})).await;
        let url = hook_url(&app, &admin, &post_only).await;
        let refused = app.client.get(&url).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(refused.headers()["allow"], "POST");
        assert_eq!(app.row_counts().await["workflow_executions"], before["workflow_executions"]);

        let nodes = vec![
            hook_trigger(json!({ "methods": ["POST", "GET"], "respond": "whenDone" })),
            output(json!({ "ref": "hook.output.query" })),
        ];
        let document = json!({ "version": 1, "nodes": nodes, "edges": [edge("hook", "done")] });
        let data = app.admin_ok(CREATE_WORKFLOW, json!({ "i": { "name": "get", "document": document } })).await;
        let with_get = data["createWorkflow"]["id"].as_str().unwrap().to_owned();
        let listed = app.admin_ok(TRIGGERS, json!({ "id": with_get })).await;
        assert_eq!(listed["workflow"]["webhookTriggers"][0]["methods"], json!(["POST", "GET"]));
        let url = hook_url(&app, &admin, &with_get).await;
        let answered = app.client.get(format!("{url}?page=2&tag=a&tag=b")).send().await.unwrap();
        assert_eq!(answered.status(), StatusCode::OK);
        assert_eq!(answered.json::<Value>().await.unwrap(), json!({ "page": "2", "tag": ["a", "b"] }));
    }

    async fn a_token_survives_edits_and_rotation_retires_the_old_url(app: TestApp) {
        let admin = app.admin_token.clone();
        let workflow = summing_workflow(&app, &admin, json!({})).await;
        let url = hook_url(&app, &admin, &workflow).await;
        app.admin_ok("mutation($id: ID!) { updateWorkflow(input: { id: $id, name: \"renamed\" }) { version } }",
            json!({ "id": workflow })).await;
        assert_eq!(hook_url(&app, &admin, &workflow).await, url, "an edit changed the URL");

        let rotated = app.admin_ok(ROTATE, json!({ "id": workflow, "node": "hook" })).await;
        let new_url = format!("{}{}", app.base_url, rotated["rotateWebhookTriggerToken"]["path"].as_str().unwrap());
        assert_ne!(new_url, url);
        assert!(rotated["rotateWebhookTriggerToken"]["rotatedAt"].is_string());
        assert_eq!(hook_url(&app, &admin, &workflow).await, new_url);
        let body = order().to_string();
        assert_eq!(post(&app, &url, body.as_bytes(), &[]).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(post(&app, &new_url, body.as_bytes(), &[]).await.status(), StatusCode::ACCEPTED);

        let bad = app.gql(Some(&admin), ROTATE, json!({ "id": workflow, "node": "sum" })).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
        assert_eq!(first_error(&bad)["extensions"]["path"], "input.nodeId");
    }

    async fn only_owners_and_editors_can_read_or_rotate_the_url(app: TestApp) {
        let alice = app.new_user("alice@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let carol = app.new_user("carol@example.com").await;
        let workflow = summing_workflow(&app, &alice, json!({})).await;
        let url = hook_url(&app, &alice, &workflow).await;
        let share = "mutation($id: ID!, $email: String!, $role: ShareRole!) {
            shareWorkflow(input: { workflowId: $id, userEmail: $email, role: $role }) { role } }";
        app.as_ok(&alice, share, json!({ "id": workflow, "email": "bob@example.com", "role": "RUNNER" })).await;

        let seen = app.as_ok(&bob, TRIGGERS, json!({ "id": workflow })).await;
        let trigger = &seen["workflow"]["webhookTriggers"][0];
        assert_eq!(trigger["nodeId"], "hook");
        assert_eq!(trigger["path"], Value::Null);
        assert!(!seen.to_string().contains(url.trim_start_matches(&app.base_url)));
        let rotate = app.gql(Some(&bob), ROTATE, json!({ "id": workflow, "node": "hook" })).await;
        assert_eq!(error_code(&rotate), "FORBIDDEN");
        let rotate = app.gql(Some(&carol), ROTATE, json!({ "id": workflow, "node": "hook" })).await;
        assert_eq!(error_code(&rotate), "NOT_FOUND");
        let read = app.gql(Some(&carol), TRIGGERS, json!({ "id": workflow })).await;
        assert_eq!(error_code(&read), "NOT_FOUND");
        assert_eq!(hook_url(&app, &alice, &workflow).await, url, "a refused rotation changed the URL");

        app.as_ok(&alice, share, json!({ "id": workflow, "email": "bob@example.com", "role": "EDITOR" })).await;
        assert_eq!(hook_url(&app, &bob, &workflow).await, url);
    }
}

on_both_databases! {
    async fn beyond_the_in_flight_bound_callers_get_503_with_retry_after(app: TestApp) {
        let admin = app.admin_token.clone();
        let base = weft_e2e::serve(axum::Router::new().route("/slow", get(slow))).await;
        let nodes = vec![
            hook_trigger(json!({})),
            json!({ "id": "call", "type": "api-call", "name": "call", "config": { "method": "GET", "url": format!("{base}/slow") } }),
        ];
        let document = json!({ "version": 1, "nodes": nodes, "edges": [edge("hook", "call")] });
        let data = app.admin_ok(CREATE_WORKFLOW, json!({ "i": { "name": "slow", "document": document } })).await;
        let workflow = data["createWorkflow"]["id"].as_str().unwrap().to_owned();
        let url = hook_url(&app, &admin, &workflow).await;
        // Respond-immediately runs keep their slot until they end (3 s here).
        let accepted = futures::future::join_all(
            (0..weft::hooks::MAX_IN_FLIGHT).map(|_| post(&app, &url, b"{}", &[])),
        ).await;
        assert!(accepted.iter().all(|r| r.status() == StatusCode::ACCEPTED));
        let before = execution_count(&app).await;
        let refused = post(&app, &url, b"{}", &[]).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()["retry-after"], "1");
        assert_eq!(execution_count(&app).await, before);
    }
}

/// Latency of respond-when-done calls through the whole HTTP path (trigger → transform →
/// output). A measurement, not a check: `cargo test --release -p weft-e2e --test api
/// incoming_hooks::latency -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn latency_of_respond_when_done_calls() {
    for backend in [weft_e2e::Backend::Sqlite, weft_e2e::Backend::Postgres] {
        let Some(app) = weft_e2e::spawn_app(backend).await else {
            continue;
        };
        let admin = app.admin_token.clone();
        let workflow = summing_workflow(&app, &admin, json!({ "respond": "whenDone" })).await;
        let url = hook_url(&app, &admin, &workflow).await;
        let body = order().to_string();
        for _ in 0..20 {
            post(&app, &url, body.as_bytes(), &[]).await;
        }
        let mut samples = Vec::new();
        for _ in 0..300 {
            let started = std::time::Instant::now();
            let response = post(&app, &url, body.as_bytes(), &[]).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.bytes().await.unwrap();
            samples.push(started.elapsed());
        }
        samples.sort();
        let at =
            |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1000.0;
        println!(
            "{backend:?}: respond-when-done, 3 nodes, sequential: p50 {:.2} ms, p99 {:.2} ms",
            at(0.5),
            at(0.99)
        );

        // Throughput with 16 callers at a time (under the in-flight bound of 64).
        use futures::StreamExt;
        let runs = 400;
        let started = std::time::Instant::now();
        let ok = futures::stream::iter(0..runs)
            .map(|_| async {
                post(&app, &url, body.as_bytes(), &[]).await.status() == StatusCode::OK
            })
            .buffer_unordered(16)
            .filter(|ok| std::future::ready(*ok))
            .count()
            .await;
        assert_eq!(ok, runs);
        println!(
            "{backend:?}: respond-when-done, 16 concurrent callers: {:.0} calls/s",
            runs as f64 / started.elapsed().as_secs_f64()
        );
    }
}
