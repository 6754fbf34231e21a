//! Tool runs: `testTool`, execution logs for every run, pinned versions, master key
//! rotation, and a canary secret that must appear nowhere a run could leak it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use sea_orm::FromQueryResult;
use secrecy::{ExposeSecret, SecretString};

use crate::engine::{EXECUTE, edge, save, trigger};
use crate::*;

const CREATE_TOOL: &str =
    "mutation($i: CreateToolInput!) { createTool(input: $i) { id uuid version } }";
const UPDATE_TOOL: &str = "mutation($i: UpdateToolInput!) { updateTool(input: $i) { version } }";
const CREATE_CREDENTIAL: &str =
    "mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id uuid name kind } }";
const TEST_TOOL: &str = "mutation($id: ID!, $input: JSON!, $version: Int) {
    testTool(id: $id, input: $input, version: $version) {
        output logs durationMs version error { code message retryable }
        log { id toolVersion executionId nodeId input output logs error durationMs createdAt createdBy { email } }
    } }";
const LOGS: &str = "query($id: ID!, $first: Int, $after: String) { tool(id: $id) {
    executionLogs(first: $first, after: $after) {
        edges { cursor node { id toolVersion executionId nodeId input output logs error durationMs createdAt createdBy { email } } }
        pageInfo { hasNextPage endCursor }
    } } }";

/// An `api` tool calling `{base}{path}` with GET; its output is the response body.
fn api_tool(name: &str, base: &str, path: &str, credential: Option<&str>) -> Value {
    let mut config =
        json!({ "baseUrl": base, "path": path, "method": "GET", "responseMapping": ".body" });
    if let Some(credential) = credential {
        config["credentialId"] = json!(credential);
    }
    json!({
        "name": name,
        "kind": "API",
        "inputSchema": { "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] },
        "outputSchema": { "type": "object" },
        "config": config,
    })
}

async fn create_tool(app: &TestApp, input: Value) -> (String, String) {
    let data = app.admin_ok(CREATE_TOOL, json!({ "i": input })).await;
    let tool = &data["createTool"];
    (
        tool["id"].as_str().unwrap().to_owned(),
        tool["uuid"].as_str().unwrap().to_owned(),
    )
}

fn custom(id: &str, tool: &str, version: Option<i64>, name_ref: Value) -> Value {
    let mut config = json!({ "toolId": tool });
    if let Some(version) = version {
        config["toolVersion"] = json!(version);
    }
    json!({ "id": id, "type": "custom", "name": id, "config": config, "inputs": { "name": name_ref } })
}

/// `/greet/{name}` answers `{"greeting": "hello <name>", "path": <the path>}`.
async fn greet(Path(name): Path<String>) -> axum::Json<Value> {
    axum::Json(json!({ "greeting": format!("hello {name}") }))
}

/// `/v/{n}/{name}`: which version's path was called.
async fn versioned(Path((n, name)): Path<(String, String)>) -> axum::Json<Value> {
    axum::Json(json!({ "servedBy": n, "name": name }))
}

async fn slow() -> axum::Json<Value> {
    tokio::time::sleep(Duration::from_secs(5)).await;
    axum::Json(json!({ "late": true }))
}

async fn broken() -> (StatusCode, &'static str) {
    (StatusCode::BAD_REQUEST, "no such customer")
}

/// The execution logs of a tool, newest first; waits until at least `n` exist, because
/// workflow runs write their logs in the background.
async fn logs_of(app: &TestApp, tool: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let data = app.admin_ok(LOGS, json!({ "id": tool, "first": 50 })).await;
        let logs: Vec<Value> = data["tool"]["executionLogs"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        if logs.len() >= n {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("tool {tool} never got {n} execution log(s)");
}

on_both_databases! {
    async fn testing_a_tool_returns_its_output_and_stores_a_readable_log(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/greet/{name}", get(greet))).await;
        let (tool, _) = create_tool(&app, api_tool("Greeter", &base, "/greet/{{ input.name }}", None)).await;

        let data = app.admin_ok(TEST_TOOL, json!({ "id": tool, "input": { "name": "Ada" } })).await;
        let result = &data["testTool"];
        assert_eq!(result["output"], json!({ "greeting": "hello Ada" }), "{result:#}");
        assert_eq!(result["error"], Value::Null);
        assert_eq!(result["version"], 1);
        assert_eq!(result["logs"], json!([]));
        assert!(result["durationMs"].as_i64().unwrap() >= 0);
        let log = &result["log"];
        assert_eq!(log["input"], json!({ "name": "Ada" }));
        assert_eq!(log["output"], json!({ "greeting": "hello Ada" }));
        assert_eq!(log["executionId"], Value::Null);
        assert_eq!(log["nodeId"], Value::Null);
        assert_eq!(log["createdBy"]["email"], "admin@localhost");

        let logs = logs_of(&app, &tool, 1).await;
        assert_eq!(logs, vec![log.clone()], "the list shows the stored row as testTool returned it");
        let by_node = app.admin_ok("query($id: ID!) { node(id: $id) { id ... on ToolExecutionLog { toolVersion } } }", json!({ "id": log["id"] })).await;
        assert_eq!(by_node["node"]["toolVersion"], 1);
    }

    async fn a_failing_tool_is_a_successful_response_with_the_error_but_bad_arguments_are_errors(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/broken/{name}", get(broken))).await;
        let (tool, _) = create_tool(&app, api_tool("Broken", &base, "/broken/{{ input.name }}", None)).await;

        let data = app.admin_ok(TEST_TOOL, json!({ "id": tool, "input": { "name": "Ada" } })).await;
        let result = &data["testTool"];
        assert_eq!(result["output"], Value::Null);
        assert_eq!(result["error"]["code"], "TOOL_ERROR");
        assert_eq!(result["error"]["retryable"], false);
        let message = result["error"]["message"].as_str().unwrap();
        assert!(message.contains("400 Bad Request") && message.contains("no such customer"), "{message}");
        assert_eq!(result["log"]["error"], message);

        // An input that breaks the schema is what the tester wants to see, too.
        let data = app.admin_ok(TEST_TOOL, json!({ "id": tool, "input": { "name": 7 } })).await;
        let result = &data["testTool"];
        assert_eq!(result["error"]["code"], "INVALID_INPUT");
        assert!(result["error"]["message"].as_str().unwrap().contains("input schema"), "{result:#}");
        assert_eq!(logs_of(&app, &tool, 2).await.len(), 2);

        // A version the tool does not have, or a tool that is not there, is a bad call.
        let before = app.row_counts().await;
        let body = app.gql(Some(&app.admin_token.clone()), TEST_TOOL, json!({ "id": tool, "input": { "name": "Ada" }, "version": 9 })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "version");
        assert!(first_error(&body)["message"].as_str().unwrap().contains("no version 9"), "{body:#}");
        let stranger = app.new_user("stranger@example.com").await;
        let body = app.gql(Some(&stranger), TEST_TOOL, json!({ "id": tool, "input": { "name": "Ada" } })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        let mut after = app.row_counts().await;
        after.insert("users", before["users"]);
        after.insert("api_keys", before["api_keys"]);
        assert_eq!(after, before, "a refused test run stores nothing");

        // Logs are the tool owner's: a stranger cannot list them or fetch one.
        let body = app.gql(Some(&stranger), LOGS, json!({ "id": tool })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        let log_id = logs_of(&app, &tool, 2).await[0]["id"].clone();
        let body = app.gql(Some(&stranger), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": log_id })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
    }

    async fn every_run_in_a_workflow_is_logged_with_its_execution_and_node(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/greet/{name}", get(greet))).await;
        let (tool, tool_uuid) = create_tool(&app, api_tool("Greeter", &base, "/greet/{{ input.name }}", None)).await;
        let wf = save(&app, vec![trigger(), custom("hello", &tool_uuid, None, json!({ "ref": "start.output.name" }))],
            vec![edge("start", "hello")]).await;
        let mut executions = Vec::new();
        for name in ["Ada", "Grace", "Edsger"] {
            let data = app.admin_ok(EXECUTE, json!({ "id": wf, "input": { "name": name }, "wait": true })).await;
            assert_eq!(data["executeWorkflow"]["status"], "SUCCEEDED", "{data:#}");
            executions.push(data["executeWorkflow"]["id"].clone());
        }
        let logs = logs_of(&app, &tool, 3).await;
        assert_eq!(logs.len(), 3);
        let mut seen: Vec<(Value, Value)> = logs.iter().map(|l| (l["executionId"].clone(), l["input"]["name"].clone())).collect();
        seen.reverse();
        assert_eq!(seen, vec![
            (executions[0].clone(), json!("Ada")),
            (executions[1].clone(), json!("Grace")),
            (executions[2].clone(), json!("Edsger")),
        ]);
        assert!(logs.iter().all(|l| l["nodeId"] == "hello" && l["toolVersion"] == 1 && l["error"].is_null()));
        assert_eq!(logs[0]["output"], json!({ "greeting": "hello Edsger" }));

        // Keyset pages: newest first, no gaps, no repeats.
        let first = app.admin_ok(LOGS, json!({ "id": tool, "first": 2 })).await;
        let page = &first["tool"]["executionLogs"];
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        let rest = app.admin_ok(LOGS, json!({ "id": tool, "first": 2, "after": page["pageInfo"]["endCursor"] })).await;
        let rest = &rest["tool"]["executionLogs"];
        assert_eq!(rest["pageInfo"]["hasNextPage"], false);
        let ids: Vec<Value> = page["edges"].as_array().unwrap().iter().chain(rest["edges"].as_array().unwrap())
            .map(|e| e["node"]["id"].clone()).collect();
        assert_eq!(ids, logs.iter().map(|l| l["id"].clone()).collect::<Vec<_>>());
    }

    async fn a_pinned_workflow_runs_its_version_an_unpinned_one_the_latest(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/v/{n}/{name}", get(versioned))).await;
        let (tool, tool_uuid) = create_tool(&app, api_tool("Versioned", &base, "/v/1/{{ input.name }}", None)).await;
        for n in [2, 3] {
            let config = json!({ "baseUrl": base, "path": format!("/v/{n}/{{{{ input.name }}}}"), "method": "GET", "responseMapping": ".body" });
            let data = app.admin_ok(UPDATE_TOOL, json!({ "i": { "id": tool, "config": config } })).await;
            assert_eq!(data["updateTool"]["version"], n);
        }
        let pinned = save(&app, vec![trigger(), custom("t", &tool_uuid, Some(1), json!({ "value": "x" }))], vec![edge("start", "t")]).await;
        let latest = save(&app, vec![trigger(), custom("t", &tool_uuid, None, json!({ "value": "x" }))], vec![edge("start", "t")]).await;
        let output_of = |execution: &Value| {
            assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
            execution["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "t").unwrap()["output"]["servedBy"].clone()
        };
        let run = |wf: String| { let app = &app; async move { app.admin_ok(EXECUTE, json!({ "id": wf, "input": {}, "wait": true })).await["executeWorkflow"].clone() } };
        assert_eq!(output_of(&run(pinned).await), "1");
        assert_eq!(output_of(&run(latest).await), "3");
        let data = app.admin_ok(TEST_TOOL, json!({ "id": tool, "input": { "name": "x" }, "version": 2 })).await;
        assert_eq!(data["testTool"]["output"]["servedBy"], "2");
        assert_eq!(data["testTool"]["version"], 2);
        let versions: Vec<i64> = logs_of(&app, &tool, 3).await.iter().map(|l| l["toolVersion"].as_i64().unwrap()).collect();
        assert_eq!(versions, vec![2, 3, 1]);

        // A pin to a version that does not exist is refused when the workflow is saved.
        let before = app.row_counts().await;
        let document = json!({ "version": 1, "nodes": [trigger(), custom("t", &tool_uuid, Some(9), json!({ "value": "x" }))], "edges": [edge("start", "t")] });
        let body = app.gql(Some(&app.admin_token.clone()), CREATE_WORKFLOW, json!({ "i": { "name": "pinned to nothing", "document": document } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "input.document.nodes[1].config.toolVersion");
        assert!(first_error(&body)["message"].as_str().unwrap().contains("no version 9"), "{body:#}");
        assert_eq!(app.row_counts().await, before);
    }

    async fn a_run_cut_short_by_a_timeout_or_a_stop_is_still_logged(app: TestApp) {
        let base = weft_e2e::serve(axum::Router::new().route("/slow/{name}", get(slow))).await;
        let (tool, tool_uuid) = create_tool(&app, api_tool("Slow", &base, "/slow/{{ input.name }}", None)).await;
        let mut timed = custom("slow", &tool_uuid, None, json!({ "value": "x" }));
        timed["timeoutMs"] = json!(300);
        let wf = save(&app, vec![trigger(), timed], vec![edge("start", "slow")]).await;
        let data = app.admin_ok(EXECUTE, json!({ "id": wf, "input": {}, "wait": true })).await;
        assert_eq!(data["executeWorkflow"]["status"], "FAILED");
        let logs = logs_of(&app, &tool, 1).await;
        assert!(logs[0]["error"].as_str().unwrap().contains("timed out"), "{logs:#?}");
        assert_eq!(logs[0]["output"], Value::Null);

        let wf = save(&app, vec![trigger(), custom("slow", &tool_uuid, None, json!({ "value": "x" }))], vec![edge("start", "slow")]).await;
        let started = app.admin_ok(EXECUTE, json!({ "id": wf, "input": {}, "wait": false })).await;
        let id = started["executeWorkflow"]["id"].clone();
        for _ in 0..200 {
            let read = app.admin_ok("query($id: ID!) { execution(id: $id) { nodeRuns { nodeId } } }", json!({ "id": id })).await;
            if read["execution"]["nodeRuns"].as_array().unwrap().iter().any(|r| r["nodeId"] == "slow") { break; }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stopped = app.admin_ok("mutation($id: ID!) { stopExecution(input: { id: $id }) { status } }", json!({ "id": id })).await;
        assert_eq!(stopped["stopExecution"]["status"], "CANCELLED");
        let logs = logs_of(&app, &tool, 2).await;
        assert_eq!(logs[0]["executionId"], id);
        assert!(logs[0]["error"].as_str().unwrap().contains("stopped"), "{logs:#?}");
    }

    async fn a_canary_secret_used_by_a_run_appears_in_no_response_log_event_or_row(app: TestApp) {
        canary_scenario(app).await;
    }
}

/// Everything the server logs, from the moment the first canary test starts.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static CAPTURE: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let sink = buffer.clone();
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "debug,domain=trace,weft=trace,hyper=info,hyper_util=info,h2=info,rustls=info,tungstenite=info,tokio_tungstenite=info",
                ))
                .with_ansi(false)
                .with_writer(move || CaptureWriter(sink.clone()))
                .try_init()
                .expect("no other test installs a global subscriber");
            buffer
        })
        .clone()
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Echoes every request header back in its body, and fails its first call with a 500
/// whose body echoes them too, so errors have something to quote.
#[derive(Default)]
struct Echo {
    calls: AtomicUsize,
}

fn header_map(headers: &HeaderMap) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect(),
    )
}

async fn echo(
    State(state): State<Arc<Echo>>,
    headers: HeaderMap,
) -> (StatusCode, axum::Json<Value>) {
    let n = state.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let status = if n == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    (
        status,
        axum::Json(json!({ "call": n, "sawHeaders": header_map(&headers) })),
    )
}

async fn reject(headers: HeaderMap) -> (StatusCode, String) {
    (
        StatusCode::FORBIDDEN,
        format!("denied for {:?}", headers.get("authorization")),
    )
}

/// Checks that `text` (what a client, a log or a row holds) does not contain the canary.
fn assert_clean(canary: &str, what: &str, text: &str) {
    assert!(
        !text.contains(canary),
        "the canary leaked into {what}: {text}"
    );
}

async fn canary_scenario(app: TestApp) {
    let logs = captured_logs();
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let token = app.admin_token.clone();
    let mut responses: Vec<(String, Value)> = Vec::new();
    let mut gql = async |what: &str, query: &str, variables: Value| -> Value {
        let body = app.gql(Some(&token), query, variables).await;
        responses.push((what.to_owned(), body.clone()));
        body
    };

    let state = Arc::new(Echo::default());
    let base = weft_e2e::serve(
        axum::Router::new()
            .route("/echo/{name}", get(echo))
            .route("/reject/{name}", get(reject))
            .with_state(state.clone()),
    )
    .await;
    let created = gql(
        "createCredential",
        CREATE_CREDENTIAL,
        json!({ "i": { "name": "canary", "kind": "bearer", "secret": { "token": canary } } }),
    )
    .await;
    let credential = ok(created)["createCredential"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let tool = ok(gql(
        "createTool",
        CREATE_TOOL,
        json!({ "i": api_tool("Echo", &base, "/echo/{{ input.name }}", Some(&credential)) }),
    )
    .await)["createTool"]
        .clone();
    let rejecting = ok(gql(
        "createTool",
        CREATE_TOOL,
        json!({ "i": api_tool("Reject", &base, "/reject/{{ input.name }}", Some(&credential)) }),
    )
    .await)["createTool"]
        .clone();

    // A workflow: the tool fails once (500 quoting the headers), is retried, succeeds;
    // an api-call node with the same credential echoes the headers into its output.
    let mut echo_node = custom(
        "echo",
        tool["uuid"].as_str().unwrap(),
        None,
        json!({ "ref": "start.output.name" }),
    );
    echo_node["retry"] = json!({ "maxAttempts": 2, "backoffMs": 1 });
    let call = json!({ "id": "call", "type": "api-call", "name": "call",
        "config": { "method": "GET", "url": format!("{base}/echo/direct"), "credentialId": credential } });
    let document = json!({ "version": 1, "nodes": [trigger(), echo_node, call], "edges": [edge("start", "echo"), edge("echo", "call")] });
    let created = ok(gql(
        "createWorkflow",
        CREATE_WORKFLOW,
        json!({ "i": { "name": "canary", "document": document } }),
    )
    .await);
    let wf = created["createWorkflow"]["id"].as_str().unwrap().to_owned();
    let executed = ok(gql(
        "executeWorkflow",
        EXECUTE,
        json!({ "id": wf, "input": { "name": "Ada" }, "wait": true }),
    )
    .await);
    let execution = &executed["executeWorkflow"];
    assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
    let execution_id = execution["id"].clone();
    let call_output = execution["nodeRuns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nodeId"] == "call")
        .unwrap()["output"]
        .clone();
    assert_eq!(
        call_output["body"]["sawHeaders"]["authorization"], "Bearer ***",
        "the server did see the secret, redacted in the output"
    );
    let failed_attempt = execution["nodeRuns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nodeId"] == "echo" && r["status"] == "failed")
        .unwrap()["error"]
        .clone();
    assert!(
        failed_attempt.as_str().unwrap().contains("Bearer ***"),
        "{failed_attempt}"
    );

    // Test runs: one that succeeds, one whose error quotes the Authorization header.
    let tested = ok(gql(
        "testTool",
        TEST_TOOL,
        json!({ "id": tool["id"], "input": { "name": "Grace" } }),
    )
    .await);
    assert_eq!(
        tested["testTool"]["output"]["sawHeaders"]["authorization"],
        "Bearer ***"
    );
    let tested = ok(gql(
        "testTool",
        TEST_TOOL,
        json!({ "id": rejecting["id"], "input": { "name": "Grace" } }),
    )
    .await);
    let error = tested["testTool"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("403") && error.contains("Bearer ***"),
        "{error}"
    );

    // Read everything back the ways a client can.
    gql("execution", "query($id: ID!) { execution(id: $id) { id status input output error
        nodeRuns { nodeId nodeType attempt status input output error }
        events(first: 1000) { sequence kind nodeId nodeName attempt input output error willRetry status durationMs totalDurationMs } } }",
        json!({ "id": execution_id })).await;
    gql(
        "executions",
        "{ executions(first: 50) { edges { node { id input output error } } } }",
        json!({}),
    )
    .await;
    gql("tool logs", LOGS, json!({ "id": tool["id"], "first": 50 })).await;
    gql(
        "tool logs",
        LOGS,
        json!({ "id": rejecting["id"], "first": 50 }),
    )
    .await;
    gql("tools", "{ tools(first: 5) { edges { node { id config versions(first: 10) { edges { node { config } } } } } } }", json!({})).await;
    gql(
        "credentials",
        "{ credentials { edges { node { id name kind } } } }",
        json!({}),
    )
    .await;
    let tool_logs = logs_of(&app, tool["id"].as_str().unwrap(), 3).await;
    assert!(
        tool_logs.iter().any(|l| l["error"]
            .as_str()
            .is_some_and(|e| e.contains("Bearer ***"))),
        "{tool_logs:#?}"
    );

    for (what, body) in &responses {
        assert!(
            body.get("errors").is_none_or(Value::is_null),
            "{what} failed: {body:#}"
        );
        assert_clean(&canary, &format!("the {what} response"), &body.to_string());
    }
    assert!(responses.len() >= 12);

    // Every text in every row of every table, read as JSON so nothing hides in a
    // driver's Debug output.
    let mut scanned = String::new();
    for table in weft_e2e::TABLES {
        let rows = sea_orm::JsonValue::find_by_statement(sea_orm::Statement::from_string(
            app.backend(),
            format!("SELECT * FROM {table}"),
        ))
        .all(&app.db)
        .await
        .unwrap();
        for row in rows {
            let text = row.to_string();
            assert_clean(&canary, &format!("table {table}"), &text);
            scanned.push_str(&text);
        }
    }
    // The scan sees what it should: the redacted echo and the stored error text.
    assert!(
        scanned.contains("Bearer ***") && scanned.contains("403 Forbidden"),
        "the row scan reads nothing useful"
    );
    if app.backend() == sea_orm::DbBackend::Sqlite {
        for file in ["weft.db", "weft.db-wal"] {
            if let Ok(bytes) = std::fs::read(app.data_dir.path().join(file)) {
                assert!(
                    !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                    "{file} holds the canary"
                );
            }
        }
    }

    let captured = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert_clean(&canary, "the server's log", &captured);
    assert!(
        captured.contains("tool run failed"),
        "the log capture saw nothing of this run"
    );
}

// ---------------------------------------------------------------------------------------
// weft rotate-key

fn config(
    dir: &std::path::Path,
    url: &str,
    token: &str,
    key: Option<SecretString>,
) -> weft::Config {
    weft::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: Some(url.to_owned()),
        master_key: key,
        master_key_previous: None,
        admin_token: Some(SecretString::from(token.to_owned())),
        outbound: weft_e2e::loopback_policy(),
        ..Default::default()
    }
}

/// A running server, stopped (and waited for) on [`Running::stop`].
struct Running {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: weft::Config) -> anyhow::Result<Running> {
    let app = weft::Application::build(config).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    Ok(Running { base, stop, task })
}

impl Running {
    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body: Value = reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
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

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn echo_bearer(headers: HeaderMap) -> (StatusCode, axum::Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let status = if auth == "Bearer rotate-me-secret-token" {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    };
    (
        status,
        axum::Json(json!({ "authorized": status == StatusCode::OK })),
    )
}

/// Runs the workflow and returns whether the credential reached the server intact.
async fn credential_works(server: &Running, token: &str, wf: &str) -> bool {
    let data = server
        .gql(
            token,
            EXECUTE,
            json!({ "id": wf, "input": {}, "wait": true }),
        )
        .await;
    data["executeWorkflow"]["status"] == "SUCCEEDED"
}

async fn rotation_keeps_credentials_usable(backend: weft_e2e::Backend, key_in_env: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some((url, pg)) = weft_e2e::fresh_database(backend, dir.path()).await else {
        return;
    };
    let token = domain::auth::generate_token();
    let old_key = domain::vault::MasterKey::generate().to_base64();
    let env_key = |key: &SecretString| key_in_env.then(|| key.clone());
    let api = weft_e2e::serve(axum::Router::new().route("/me", get(echo_bearer))).await;

    let server = start(config(dir.path(), &url, &token, env_key(&old_key)))
        .await
        .unwrap();
    let created = server.gql(&token, CREATE_CREDENTIAL, json!({ "i": { "name": "api", "kind": "bearer", "secret": { "token": "rotate-me-secret-token" } } })).await;
    let credential = created["createCredential"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let document = json!({ "version": 1, "nodes": [trigger(), { "id": "me", "type": "api-call", "name": "me",
        "config": { "method": "GET", "url": format!("{api}/me"), "credentialId": credential } }], "edges": [edge("start", "me")] });
    let wf = server
        .gql(
            &token,
            CREATE_WORKFLOW,
            json!({ "i": { "name": "uses a credential", "document": document } }),
        )
        .await;
    let wf = wf["createWorkflow"]["id"].as_str().unwrap().to_owned();
    assert!(credential_works(&server, &token, &wf).await);
    server.stop().await;
    let key_file = domain::vault::key::key_file_path(dir.path());
    let old_file_key = (!key_in_env).then(|| std::fs::read(&key_file).unwrap());

    let new_key = domain::vault::MasterKey::generate().to_base64();
    let report = weft::rotate_key::rotate_key(
        &config(dir.path(), &url, &token, env_key(&old_key)),
        Some(&new_key),
    )
    .await
    .unwrap();
    assert_eq!((report.rotated, report.already_current), (1, 0));
    let instructions = weft::rotate_key::instructions(&report);
    assert!(
        !instructions.contains(new_key.expose_secret()),
        "a key the operator gave is not printed back"
    );
    if !key_in_env {
        let backup = report.backup.clone().unwrap();
        assert_eq!(
            std::fs::read(&backup).unwrap(),
            old_file_key.clone().unwrap(),
            "the old key is kept"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [&key_file, &backup] {
                let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", file.display());
            }
        }
        assert!(
            instructions.contains(&backup.display().to_string()),
            "{instructions}"
        );
    } else {
        assert!(instructions.contains("WEFT_MASTER_KEY"), "{instructions}");
    }

    // Started again with the new key: the credential still resolves.
    let server = start(config(dir.path(), &url, &token, env_key(&new_key)))
        .await
        .unwrap();
    assert!(credential_works(&server, &token, &wf).await);
    server.stop().await;

    // With the old key only, start-up is refused with a message that says why.
    if !key_in_env {
        std::fs::remove_file(&key_file).unwrap();
    }
    let Err(error) = start(config(dir.path(), &url, &token, Some(old_key.clone()))).await else {
        panic!("the server started with the retired key");
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("does not match the one that encrypted 1 existing credential"),
        "{message}"
    );
    assert!(
        !message.contains(old_key.expose_secret()) && !message.contains(new_key.expose_secret())
    );

    if let Some((admin_url, name)) = pg {
        weft_e2e::drop_database(&admin_url, &name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_a_key_file_key_keeps_credentials_usable_on_sqlite() {
    rotation_keeps_credentials_usable(weft_e2e::Backend::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_a_key_file_key_keeps_credentials_usable_on_postgres() {
    rotation_keeps_credentials_usable(weft_e2e::Backend::Postgres, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_an_environment_key_keeps_credentials_usable_on_sqlite() {
    rotation_keeps_credentials_usable(weft_e2e::Backend::Sqlite, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_an_environment_key_keeps_credentials_usable_on_postgres() {
    rotation_keeps_credentials_usable(weft_e2e::Backend::Postgres, true).await;
}

#[tokio::test]
async fn rotating_without_any_key_is_refused_and_generates_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("weft.db").display());
    let error = weft::rotate_key::rotate_key(
        &config(dir.path(), &url, "unused-token-0123456789abcdef", None),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("there is no master key to rotate"),
        "{error:#}"
    );
    assert!(!domain::vault::key::key_file_path(dir.path()).exists());
}
