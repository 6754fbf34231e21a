//! The calling executors (`api-call`, `llm-agent`, `web-search`, `custom` with `api` tools)
//! against real HTTP servers on 127.0.0.1 that speak the real protocols: REST, GraphQL,
//! OAuth2 client credentials, OpenAI-compatible chat completions, SearXNG and Brave.
//!
//! Every server here listens on 127.0.0.1; every other address in these tests is refused by
//! the guard before any connection is attempted, which is what those tests assert.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use domain::auth::{NewUser, Principal, Role, bootstrap_admin, create_user};
use domain::executors::{NodeContext, NodeFailure, NodeResult, Services, registry};
use domain::outbound::{OutboundClient, OutboundPolicy};
use domain::store::tools::{self, ToolDraft, ToolPatch};
use domain::vault::{MasterKey, Vault};
use domain::workflow::{WorkflowDocument, referenced_tool_ids};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------
// A recording HTTP server.

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    /// The path as sent on the wire, percent-encoding intact.
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

struct TestServer {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    /// Serves every request with `respond`, recording it first.
    async fn start(respond: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Self {
        let respond = Arc::new(respond);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let recorded = seen.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let respond = respond.clone();
                let recorded = recorded.clone();
                async move {
                    let query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect();
                    let request = Seen {
                        method,
                        path: uri.path().to_owned(),
                        query,
                        headers,
                        body,
                    };
                    recorded.lock().unwrap().push(request.clone());
                    respond(&request)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn requests_to(&self, path: &str) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

fn json_reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn text_reply(status: u16, body: &str) -> Response {
    (StatusCode::from_u16(status).unwrap(), body.to_owned()).into_response()
}

// ---------------------------------------------------------------------------------------
// The executors' surroundings: a database with an admin, a vault, a guarded client.

/// Lets the tests reach their own servers on 127.0.0.1 and nothing else non-public.
fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy {
        allow_http: true,
        allowed_hosts: vec!["127.0.0.1".parse().unwrap()],
        timeout: Duration::from_secs(10),
        ..OutboundPolicy::default()
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    services: Services,
    admin: Principal,
}

impl Harness {
    async fn new() -> Self {
        Self::with(loopback_policy(), true).await
    }

    async fn with(policy: OutboundPolicy, vault: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let db = domain::db::connect(&url).await.unwrap();
        <migration::Migrator as migration::MigratorTrait>::up(&db, None)
            .await
            .unwrap();
        let admin = bootstrap_admin(&db, None).await.unwrap().unwrap();
        let services = Services::new(
            db,
            OutboundClient::with_policy(policy).unwrap(),
            vault.then(|| Vault::new(MasterKey::generate(), [])),
            domain::sandbox::Sandbox::shared().unwrap(),
        );
        Self {
            _dir: dir,
            services,
            admin: Principal {
                user_id: admin.admin_id,
                role: Role::Admin,
            },
        }
    }

    fn db(&self) -> &DatabaseConnection {
        &self.services.db
    }

    async fn credential(&self, kind: &str, secret: Value) -> String {
        let vault = self.services.vault.as_ref().unwrap();
        vault
            .create(
                self.db(),
                &self.admin,
                &format!("{kind} credential"),
                kind,
                &secret,
            )
            .await
            .unwrap()
            .id
    }

    async fn tool(&self, name: &str, kind: &str, schemas: (Value, Value), config: Value) -> String {
        let (input_schema, output_schema) = schemas;
        let draft = ToolDraft {
            name: name.into(),
            description: format!("{name}, for tests"),
            category: "test".into(),
            icon: "wrench".into(),
            kind: kind.into(),
            input_schema,
            output_schema,
            config,
        };
        tools::create(self.db(), &self.admin, draft)
            .await
            .unwrap()
            .id
    }

    /// Runs `node` (a workflow document node) on `input` as the admin.
    /// The stored tool execution logs, oldest first, once there are at least `n` (they
    /// are written in the background).
    async fn tool_logs(&self, n: usize) -> Vec<entity::tool_execution_logs::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        for _ in 0..200 {
            let rows = entity::tool_execution_logs::Entity::find()
                .order_by_asc(entity::tool_execution_logs::Column::Id)
                .all(self.db())
                .await
                .unwrap();
            if rows.len() >= n {
                return rows;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("fewer than {n} tool execution logs were written");
    }

    async fn run(&self, node: Value, input: Value) -> NodeResult {
        self.run_as(&self.admin, node, input).await
    }

    async fn run_as(&self, owner: &Principal, node: Value, input: Value) -> NodeResult {
        let raw = json!({ "version": 1, "nodes": [node], "edges": [] });
        let tool_ids = referenced_tool_ids(&raw);
        let signatures = tools::signatures(self.db(), owner, &tool_ids)
            .await
            .unwrap();
        let document = WorkflowDocument::parse(&raw, &signatures)
            .unwrap_or_else(|problems| panic!("the test node is invalid: {problems:?}"));
        let node = &document.nodes()[0];
        let ctx = NodeContext {
            execution_id: "exec-1",
            workflow_id: "wf-1",
            node,
            attempt: 1,
            execution_input: &Value::Null,
            owner,
            services: &self.services,
            cancel: CancellationToken::new(),
        };
        let executors = registry();
        let executor = executors
            .get(node.node_type())
            .unwrap_or_else(|| panic!("no executor for {}", node.node_type()));
        let Value::Object(input) = input else {
            panic!("the input must be an object");
        };
        executor.execute(&ctx, input).await
    }
}

fn output(result: NodeResult) -> Value {
    match result {
        Ok(outcome) => {
            assert_eq!(outcome.handle, "main");
            outcome.output
        }
        Err(failure) => panic!("the node failed: {failure:?}"),
    }
}

fn failure(result: NodeResult) -> NodeFailure {
    match result {
        Ok(outcome) => panic!("the node succeeded: {:?}", outcome.output),
        Err(failure) => failure,
    }
}

fn api_call(config: Value) -> Value {
    json!({ "id": "call", "type": "api-call", "name": "Call", "config": config })
}

fn basic_header(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

// ---------------------------------------------------------------------------------------
// api-call: REST

#[tokio::test]
async fn a_rest_call_arrives_with_its_method_query_headers_json_body_idempotency_key_and_bearer_token()
 {
    let h = Harness::new().await;
    let server = TestServer::start(|_| {
        let mut response = json_reply(201, json!({ "created": true, "id": 7 }));
        response
            .headers_mut()
            .insert("x-request-id", "req-42".parse().unwrap());
        response
    })
    .await;
    let credential = h
        .credential("bearer", json!({ "token": "tok-secret-1234" }))
        .await;
    let node = api_call(json!({
        "method": "POST",
        "url": server.url("/orders?source=weft"),
        "headers": { "X-Team": "core", "X-Trace": "from-config" },
        "credentialId": credential,
    }));
    let input = json!({
        "query": { "page": 2, "q": "red shoes & socks", "urgent": true },
        "headers": { "X-Trace": "t-1" },
        "body": { "sku": "A1", "qty": 3 },
    });

    let out = output(h.run(node, input).await);

    assert_eq!(out["status"], 201);
    assert_eq!(out["headers"]["x-request-id"], "req-42");
    assert_eq!(out["headers"]["content-type"], "application/json");
    assert_eq!(out["body"], json!({ "created": true, "id": 7 }));
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/orders");
    assert_eq!(request.query("source"), Some("weft"));
    assert_eq!(request.query("page"), Some("2"));
    assert_eq!(request.query("q"), Some("red shoes & socks"));
    assert_eq!(request.query("urgent"), Some("true"));
    assert_eq!(request.header("x-team"), Some("core"));
    assert_eq!(
        request.header("x-trace"),
        Some("t-1"),
        "inputs win over config"
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer tok-secret-1234")
    );
    assert_eq!(request.header("idempotency-key"), Some("exec-1:call"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.json(), json!({ "sku": "A1", "qty": 3 }));
}

#[tokio::test]
async fn basic_and_api_key_credentials_arrive_as_the_receiver_expects_them() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| text_reply(200, "plain text answer")).await;
    let basic = h
        .credential(
            "basic",
            json!({ "username": "alice", "password": "wonder land:pw" }),
        )
        .await;
    let api_key = h
        .credential(
            "api-key",
            json!({ "header": "X-Api-Token", "value": "key-9876-abcd" }),
        )
        .await;

    let out = output(
        h.run(
            api_call(json!({ "url": server.url("/basic"), "credentialId": basic })),
            json!({}),
        )
        .await,
    );
    output(
        h.run(
            api_call(json!({ "url": server.url("/key"), "credentialId": api_key })),
            json!({}),
        )
        .await,
    );

    assert_eq!(
        out["body"], "plain text answer",
        "non-JSON bodies stay text"
    );
    let [basic_request, key_request] = server.requests().try_into().unwrap();
    assert_eq!(basic_request.method, Method::GET);
    assert_eq!(
        basic_request.header("authorization"),
        Some(basic_header("alice", "wonder land:pw").as_str())
    );
    assert!(basic_request.body.is_empty());
    assert_eq!(basic_request.header("content-type"), None);
    assert_eq!(key_request.header("x-api-token"), Some("key-9876-abcd"));
    assert_eq!(key_request.header("authorization"), None);
}

#[tokio::test]
async fn oauth2_client_credentials_fetch_a_token_once_reuse_it_and_refresh_it_once_on_401() {
    let h = Harness::new().await;
    let issued = Arc::new(AtomicUsize::new(0));
    let accepted: Arc<Mutex<String>> = Arc::default();
    let refuse_all = Arc::new(AtomicBool::new(false));
    let server = {
        let (issued, accepted, refuse_all) = (issued.clone(), accepted.clone(), refuse_all.clone());
        TestServer::start(move |request| match request.path.as_str() {
            "/oauth/token" => {
                let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
                if request.header("authorization")
                    != Some(basic_header("client-a", "shh-client-secret").as_str())
                    || form.get("grant_type").map(String::as_str) != Some("client_credentials")
                {
                    return json_reply(401, json!({ "error": "invalid_client" }));
                }
                assert_eq!(form.get("scope").map(String::as_str), Some("orders:read"));
                let token = format!("access-{}", issued.fetch_add(1, Ordering::SeqCst) + 1);
                *accepted.lock().unwrap() = token.clone();
                json_reply(
                    200,
                    json!({ "access_token": token, "token_type": "Bearer", "expires_in": 3600 }),
                )
            }
            _ => {
                let expected = format!("Bearer {}", accepted.lock().unwrap());
                match request.header("authorization") {
                    // Echoing the header back checks that the token is redacted from output.
                    Some(auth) if auth == expected && !refuse_all.load(Ordering::SeqCst) => {
                        json_reply(200, json!({ "auth": auth }))
                    }
                    _ => json_reply(401, json!({ "error": "invalid_token" })),
                }
            }
        })
        .await
    };
    let credential = h
        .credential(
            "oauth2-client-credentials",
            json!({
                "tokenUrl": server.url("/oauth/token"),
                "clientId": "client-a",
                "clientSecret": "shh-client-secret",
                "scope": "orders:read",
            }),
        )
        .await;
    let node = api_call(json!({ "url": server.url("/api/data"), "credentialId": credential }));

    let first = output(h.run(node.clone(), json!({})).await);
    let second = output(h.run(node.clone(), json!({})).await);
    assert_eq!(first["body"]["auth"], "Bearer ***");
    assert_eq!(second["status"], 200);
    assert_eq!(issued.load(Ordering::SeqCst), 1, "the token is reused");

    // The provider revokes the token: the next call gets a 401, fetches a new token and
    // succeeds with it.
    *accepted.lock().unwrap() = "revoked".into();
    let third = output(h.run(node.clone(), json!({})).await);
    assert_eq!(third["status"], 200);
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    let api = server.requests_to("/api/data");
    assert_eq!(api.len(), 4);
    assert_eq!(api[2].header("authorization"), Some("Bearer access-1"));
    assert_eq!(api[3].header("authorization"), Some("Bearer access-2"));
    assert_eq!(
        api[3].header("idempotency-key"),
        Some("exec-1:call"),
        "the resent request is the same call"
    );

    // An API that refuses every token is asked once more with a fresh one, not forever.
    refuse_all.store(true, Ordering::SeqCst);
    let refused = h.run(node, json!({})).await;
    let refused_failure = failure(refused);
    assert!(!refused_failure.retryable);
    assert!(
        refused_failure.message.contains("401 Unauthorized"),
        "{}",
        refused_failure.message
    );
    assert_eq!(issued.load(Ordering::SeqCst), 3);
    assert_eq!(server.requests_to("/api/data").len(), 6);
}

#[tokio::test]
async fn a_rejected_oauth2_client_fails_permanently_with_the_providers_reason() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| {
        json_reply(
            401,
            json!({ "error": "invalid_client", "error_description": "unknown client" }),
        )
    })
    .await;
    let credential = h
        .credential(
            "oauth2-client-credentials",
            json!({ "tokenUrl": server.url("/token"), "clientId": "c",
                    "clientSecret": "wrong-secret-value" }),
        )
        .await;

    let failed = failure(
        h.run(
            api_call(json!({ "url": server.url("/api"), "credentialId": credential })),
            json!({}),
        )
        .await,
    );

    assert!(!failed.retryable);
    assert!(
        failed.message.contains("invalid_client: unknown client"),
        "{}",
        failed.message
    );
    assert!(server.requests_to("/api").is_empty());
}

// ---------------------------------------------------------------------------------------
// api-call: GraphQL

#[tokio::test]
async fn a_graphql_call_posts_query_operation_and_variables_and_returns_the_data() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| {
        let payload = request.json();
        let id = payload["variables"]["id"].clone();
        json_reply(
            200,
            json!({ "data": { "user": { "id": id, "name": "Ada", "tags": payload["variables"]["tags"] } } }),
        )
    })
    .await;
    let query = "query User($id: ID!, $tags: [String!]) { user(id: $id) { id name } }";
    let node = api_call(json!({
        "url": server.url("/graphql"),
        "method": "GET",
        "graphql": { "query": query, "operationName": "User" },
    }));

    let out = output(
        h.run(
            node,
            json!({ "variables": { "id": "u-1", "tags": ["a", "b"] } }),
        )
        .await,
    );

    assert_eq!(
        out["body"]["data"]["user"],
        json!({ "id": "u-1", "name": "Ada", "tags": ["a", "b"] })
    );
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.method, Method::POST, "GraphQL is always POSTed");
    assert_eq!(
        request.json(),
        json!({ "query": query, "operationName": "User",
                "variables": { "id": "u-1", "tags": ["a", "b"] } })
    );
    assert!(
        request
            .header("accept")
            .is_some_and(|a| a.contains("application/graphql-response+json"))
    );
    assert_eq!(request.header("idempotency-key"), Some("exec-1:call"));
}

#[tokio::test]
async fn graphql_errors_fail_the_node_permanently_even_with_status_200() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| {
        json_reply(
            200,
            json!({ "data": null, "errors": [
                { "message": "Cannot query field \"nope\" on type \"Query\".",
                  "locations": [{ "line": 1, "column": 3 }], "path": ["nope"] }
            ] }),
        )
    })
    .await;
    let node = api_call(json!({
        "url": server.url("/graphql"),
        "graphql": { "query": "{ nope }" },
    }));

    let failed = failure(h.run(node, json!({})).await);

    assert!(!failed.retryable);
    assert!(
        failed
            .message
            .contains("Cannot query field \"nope\" on type \"Query\". (at nope)"),
        "{}",
        failed.message
    );
}

// ---------------------------------------------------------------------------------------
// api-call: failures

#[tokio::test]
async fn busy_servers_are_retryable_and_rejected_requests_are_permanent() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| match request.path.as_str() {
        "/busy" => text_reply(503, "try again later"),
        "/slow-down" => json_reply(429, json!({ "error": "rate limited" })),
        _ => json_reply(400, json!({ "error": "missing sku" })),
    })
    .await;

    let busy = failure(
        h.run(api_call(json!({ "url": server.url("/busy") })), json!({}))
            .await,
    );
    let limited = failure(
        h.run(
            api_call(json!({ "url": server.url("/slow-down") })),
            json!({}),
        )
        .await,
    );
    let bad = failure(
        h.run(api_call(json!({ "url": server.url("/bad") })), json!({}))
            .await,
    );

    assert!(busy.retryable);
    assert!(
        busy.message
            .contains("503 Service Unavailable: try again later"),
        "{}",
        busy.message
    );
    assert!(limited.retryable);
    assert!(!bad.retryable);
    assert!(
        bad.message.contains("400 Bad Request") && bad.message.contains("missing sku"),
        "{}",
        bad.message
    );
    assert!(
        !bad.message.contains("/bad"),
        "messages name the origin, not the path: {}",
        bad.message
    );
}

#[tokio::test]
async fn expect_status_decides_what_counts_as_success() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| match request.path.as_str() {
        "/missing" => json_reply(404, json!({ "found": false })),
        _ => json_reply(200, json!({})),
    })
    .await;

    let out = output(
        h.run(
            api_call(json!({ "url": server.url("/missing"), "expectStatus": [200, 404] })),
            json!({}),
        )
        .await,
    );
    let failed = failure(
        h.run(
            api_call(json!({ "url": server.url("/ok"), "expectStatus": [201] })),
            json!({}),
        )
        .await,
    );

    assert_eq!(out["status"], 404);
    assert_eq!(out["body"], json!({ "found": false }));
    assert!(!failed.retryable);
    assert!(
        failed.message.contains("expected status 201"),
        "{}",
        failed.message
    );
}

#[tokio::test]
async fn a_connection_refused_is_retryable() {
    let h = Harness::new().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };

    let failed = failure(
        h.run(
            api_call(json!({ "url": format!("http://127.0.0.1:{port}/") })),
            json!({}),
        )
        .await,
    );

    assert!(failed.retryable, "{}", failed.message);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_retryably_within_the_nodes_timeout() {
    let h = Harness::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // Accepts, reads nothing, answers nothing.
        let _connection = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut node = api_call(json!({ "url": url }));
    node["timeoutMs"] = json!(300);

    let started = Instant::now();
    let failed = failure(h.run(node, json!({})).await);

    assert!(failed.retryable, "{}", failed.message);
    assert!(failed.message.contains("timed out"), "{}", failed.message);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_default_policy_refuses_private_metadata_and_loopback_addresses_before_connecting() {
    let h = Harness::with(OutboundPolicy::default(), true).await;
    let server = TestServer::start(|_| text_reply(200, "should never be reached")).await;

    for (url, expected) in [
        ("http://10.0.0.1/", "refused to connect to 10.0.0.1"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "refused to connect to 169.254.169.254",
        ),
        ("https://10.0.0.1/", "refused to connect to 10.0.0.1"),
        (&server.url("/"), "refused to connect to 127.0.0.1"),
    ] {
        let started = Instant::now();
        let failed = failure(h.run(api_call(json!({ "url": url })), json!({})).await);
        assert!(!failed.retryable, "{url}");
        assert!(
            failed.message.contains(expected),
            "{url}: {}",
            failed.message
        );
        // A connection attempt to an unroutable address would take seconds to time out.
        assert!(started.elapsed() < Duration::from_secs(1), "{url}");
    }
    let metadata = failure(
        h.run(
            api_call(json!({ "url": "http://169.254.169.254/" })),
            json!({}),
        )
        .await,
    );
    assert!(
        metadata.message.contains("metadata"),
        "{}",
        metadata.message
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn secrets_never_reach_the_output_or_the_failure_message() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| {
        let auth = request
            .header("authorization")
            .unwrap_or_default()
            .to_owned();
        match request.path.as_str() {
            "/echo" => json_reply(200, json!({ "youSent": auth, "nested": [{ "k": auth }] })),
            _ => text_reply(401, &format!("token {auth} is not valid")),
        }
    })
    .await;
    let credential = h
        .credential("bearer", json!({ "token": "very-secret-token-5678" }))
        .await;

    let out = output(
        h.run(
            api_call(json!({ "url": server.url("/echo"), "credentialId": credential })),
            json!({}),
        )
        .await,
    );
    let failed = failure(
        h.run(
            api_call(json!({ "url": server.url("/reject"), "credentialId": credential })),
            json!({}),
        )
        .await,
    );

    assert_eq!(out["body"]["youSent"], "Bearer ***");
    assert!(!out.to_string().contains("very-secret-token-5678"));
    assert!(
        !failed.message.contains("very-secret-token-5678"),
        "{}",
        failed.message
    );
    assert!(
        failed.message.contains("token Bearer *** is not valid"),
        "{}",
        failed.message
    );
}

#[tokio::test]
async fn a_credential_is_usable_only_by_its_owner_and_only_with_a_vault() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| json_reply(200, json!({}))).await;
    let credential = h
        .credential("bearer", json!({ "token": "admins-token" }))
        .await;
    let (user, _) = create_user(
        h.db(),
        &h.admin,
        NewUser {
            email: "bob@example.com".into(),
            name: "Bob".into(),
            role: Role::User,
        },
    )
    .await
    .unwrap();
    let bob = Principal {
        user_id: user.id,
        role: Role::User,
    };
    let node = api_call(json!({ "url": server.url("/"), "credentialId": credential }));

    let failed = failure(h.run_as(&bob, node.clone(), json!({})).await);
    assert!(!failed.retryable);
    assert!(
        failed
            .message
            .contains("does not belong to the workflow's owner"),
        "{}",
        failed.message
    );

    let without_vault = Harness::with(loopback_policy(), false).await;
    let failed = failure(without_vault.run(node, json!({})).await);
    assert!(
        failed.message.contains("no credential vault"),
        "{}",
        failed.message
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_credential_that_cannot_authenticate_http_is_refused_clearly() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| json_reply(200, json!({}))).await;
    let credential = h
        .credential("database-password", json!({ "password": "pg-password" }))
        .await;

    let failed = failure(
        h.run(
            api_call(json!({ "url": server.url("/"), "credentialId": credential })),
            json!({}),
        )
        .await,
    );

    assert!(!failed.retryable);
    assert!(
        failed.message.contains("`database-password`"),
        "{}",
        failed.message
    );
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------
// custom: api tools

fn weather_schemas() -> (Value, Value) {
    (
        json!({
            "type": "object",
            "properties": {
                "city": { "type": "string", "description": "City name" },
                "units": { "enum": ["metric", "imperial"] }
            },
            "required": ["city", "units"],
            "additionalProperties": false
        }),
        json!({
            "type": "object",
            "properties": {
                "status": { "type": "integer" },
                "body": {
                    "type": "object",
                    "properties": { "tempC": { "type": "number" } },
                    "required": ["tempC"]
                }
            },
            "required": ["status", "body"]
        }),
    )
}

fn weather_config(server: &TestServer) -> Value {
    json!({
        "baseUrl": server.url("/weather-api/"),
        "method": "GET",
        "path": "/cities/{{ input.city }}",
        "query": { "units": "{{ input.units }}" },
        "headers": { "X-Client": "weft {{ input.units }}" },
    })
}

fn weather_server_reply(request: &Seen) -> Option<Response> {
    request
        .path
        .starts_with("/weather-api/")
        .then(|| json_reply(200, json!({ "tempC": 21.5, "city": request.path })))
}

fn custom_node(tool_id: &str, version: Option<i64>) -> Value {
    let mut config = json!({ "toolId": tool_id });
    if let Some(version) = version {
        config["toolVersion"] = json!(version);
    }
    json!({ "id": "tool", "type": "custom", "name": "Tool", "config": config })
}

#[tokio::test]
async fn a_custom_node_runs_an_api_tool_with_templated_path_query_and_headers() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| weather_server_reply(request).unwrap()).await;
    let tool = h
        .tool("Weather", "api", weather_schemas(), weather_config(&server))
        .await;

    let out = output(
        h.run(
            custom_node(&tool, None),
            json!({ "city": "São Paulo/../admin", "units": "metric" }),
        )
        .await,
    );

    assert_eq!(out["status"], 200);
    assert_eq!(out["body"]["tempC"], 21.5);
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.method, Method::GET);
    assert_eq!(
        request.path, "/weather-api/cities/S%C3%A3o%20Paulo%2F..%2Fadmin",
        "a placeholder cannot leave its path segment"
    );
    assert_eq!(request.query("units"), Some("metric"));
    assert_eq!(request.header("x-client"), Some("weft metric"));
    assert_eq!(request.header("idempotency-key"), Some("exec-1:tool"));
}

#[tokio::test]
async fn a_custom_node_pinned_to_a_version_runs_that_version() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| weather_server_reply(request).unwrap()).await;
    let tool = h
        .tool("Weather", "api", weather_schemas(), weather_config(&server))
        .await;
    let mut v2 = weather_config(&server);
    v2["path"] = json!("/v2/cities/{{ input.city }}");
    tools::update(
        h.db(),
        &h.admin,
        &tool,
        ToolPatch {
            config: Some(v2),
            ..ToolPatch::default()
        },
    )
    .await
    .unwrap();
    let input = json!({ "city": "Oslo", "units": "metric" });

    output(h.run(custom_node(&tool, Some(1)), input.clone()).await);
    output(h.run(custom_node(&tool, None), input.clone()).await);
    let missing = failure(h.run(custom_node(&tool, Some(9)), input).await);

    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/weather-api/cities/Oslo", "/weather-api/v2/cities/Oslo"]
    );
    assert!(!missing.retryable);
    assert!(
        missing
            .message
            .contains("has no version 9 (its latest is 2)"),
        "{}",
        missing.message
    );
}

#[tokio::test]
async fn a_tool_whose_output_breaks_its_schema_fails_clearly() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| json_reply(200, json!({ "tempF": 70 }))).await;
    let tool = h
        .tool("Weather", "api", weather_schemas(), weather_config(&server))
        .await;

    let failed = failure(
        h.run(
            custom_node(&tool, None),
            json!({ "city": "Oslo", "units": "metric" }),
        )
        .await,
    );

    assert!(!failed.retryable);
    assert!(
        failed.message.contains(
            "tool `Weather` (version 1) produced output that does not match its output schema"
        ),
        "{}",
        failed.message
    );
    assert!(failed.message.contains("tempC"), "{}", failed.message);
}

#[tokio::test]
async fn an_api_tool_posts_its_input_and_maps_the_response_with_jq() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| {
        let items = request.json()["items"].clone();
        json_reply(200, json!({ "accepted": items }))
    })
    .await;
    let credential = h
        .credential("api-key", json!({ "value": "tool-key-2468" }))
        .await;
    let tool = h
        .tool(
            "Submit",
            "api",
            (
                json!({ "type": "object", "properties": { "items": { "type": "array" } } }),
                json!({ "type": "integer" }),
            ),
            json!({
                "baseUrl": server.url("/submit"),
                "method": "POST",
                "credentialId": credential,
                "responseMapping": ".body.accepted | length",
            }),
        )
        .await;

    let out = output(
        h.run(custom_node(&tool, None), json!({ "items": [1, 2, 3] }))
            .await,
    );

    assert_eq!(out, json!(3));
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.path, "/submit");
    assert_eq!(request.json(), json!({ "items": [1, 2, 3] }));
    assert_eq!(request.header("x-api-key"), Some("tool-key-2468"));
}

#[tokio::test]
async fn a_code_tool_runs_in_the_sandbox_and_its_failures_start_with_the_sandbox_code() {
    let h = Harness::new().await;
    let schemas = (json!({ "type": "object" }), json!({ "type": "object" }));
    let double = h
        .tool(
            "Double",
            "code",
            schemas.clone(),
            json!({ "language": "javascript",
                    "source": "export default function run(input, ctx) { return { n: input.n * 2, tool: ctx.tool.name } }" }),
        )
        .await;
    let spin = h
        .tool(
            "Spin",
            "code",
            schemas,
            json!({ "language": "javascript", "timeoutMs": 100,
                    "source": "export default function run() { for (;;) {} }" }),
        )
        .await;

    let done = h
        .run(custom_node(&double, None), json!({ "n": 21 }))
        .await
        .expect("the tool runs");
    assert_eq!(done.output, json!({ "n": 42, "tool": "Double" }));

    let failed = failure(h.run(custom_node(&spin, None), json!({})).await);
    assert!(!failed.retryable);
    assert!(
        failed.message.starts_with("TIMEOUT: "),
        "{}",
        failed.message
    );
}

#[tokio::test]
async fn a_tool_input_that_breaks_the_pinned_versions_schema_is_refused_before_calling() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| weather_server_reply(request).unwrap()).await;
    let tool = h
        .tool("Weather", "api", weather_schemas(), weather_config(&server))
        .await;

    let failed = failure(
        h.run(
            custom_node(&tool, None),
            json!({ "city": "Oslo", "units": "kelvin" }),
        )
        .await,
    );

    assert!(!failed.retryable);
    assert!(
        failed
            .message
            .contains("does not match the input schema of tool `Weather`"),
        "{}",
        failed.message
    );
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------
// llm-agent

/// An OpenAI-compatible chat server whose model asks for the weather tool until it sees a
/// tool result, then answers; also serves the weather API the tool calls.
fn chat_and_weather(request: &Seen) -> Response {
    if let Some(reply) = weather_server_reply(request) {
        return reply;
    }
    assert_eq!(request.path, "/v1/chat/completions");
    let messages = request.json()["messages"].as_array().unwrap().clone();
    let last = messages.last().unwrap();
    if last["role"] == "tool" {
        let result: Value = serde_json::from_str(last["content"].as_str().unwrap()).unwrap();
        let temp = &result["body"]["tempC"];
        return json_reply(
            200,
            json!({
                "id": "chatcmpl-2", "object": "chat.completion", "model": "test-model",
                "choices": [{ "index": 0, "finish_reason": "stop",
                    "message": { "role": "assistant",
                                 "content": format!("It is {temp} °C in São Paulo.") } }],
                "usage": { "prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38 }
            }),
        );
    }
    json_reply(
        200,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
            "choices": [{ "index": 0, "finish_reason": "tool_calls",
                "message": { "role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": { "name": "Get_weather",
                                  "arguments": "{\"city\":\"São Paulo\",\"units\":\"metric\"}" }
                }] } }],
            "usage": { "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 }
        }),
    )
}

fn agent(config: Value) -> Value {
    json!({ "id": "agent", "type": "llm-agent", "name": "Agent", "config": config })
}

#[tokio::test]
async fn an_llm_agent_calls_a_registry_tool_and_answers_with_its_result() {
    let h = Harness::new().await;
    let server = TestServer::start(chat_and_weather).await;
    let (input_schema, output_schema) = weather_schemas();
    let tool = h
        .tool(
            "Get weather",
            "api",
            (input_schema.clone(), output_schema),
            weather_config(&server),
        )
        .await;
    let node = agent(json!({
        "model": "test-model",
        "baseUrl": server.url("/v1/"),
        "systemPrompt": "You are terse.",
        "tools": [tool],
        "temperature": 0,
        "maxTokens": 100,
    }));

    let out = output(
        h.run(
            node,
            json!({ "prompt": "Weather in São Paulo?", "context": { "user": "ada" } }),
        )
        .await,
    );

    assert_eq!(out["content"], "It is 21.5 °C in São Paulo.");
    assert_eq!(
        out["toolCalls"],
        json!([{
            "toolId": tool,
            "arguments": { "city": "São Paulo", "units": "metric" },
            "result": { "status": 200,
                        "body": { "tempC": 21.5, "city": "/weather-api/cities/S%C3%A3o%20Paulo" } }
        }])
    );
    assert_eq!(
        out["usage"],
        json!({ "promptTokens": 40, "completionTokens": 13, "totalTokens": 53 })
    );

    let chats = server.requests_to("/v1/chat/completions");
    assert_eq!(chats.len(), 2);
    let first = chats[0].json();
    assert_eq!(first["model"], "test-model");
    assert_eq!(first["temperature"], 0);
    assert_eq!(first["max_tokens"], 100);
    assert_eq!(
        first["tools"],
        json!([{ "type": "function", "function": {
            "name": "Get_weather",
            "description": "Get weather, for tests",
            "parameters": input_schema,
        } }])
    );
    assert_eq!(
        first["messages"],
        json!([
            { "role": "system", "content": "You are terse." },
            { "role": "user",
              "content": "Weather in São Paulo?\n\nContext (JSON):\n{\n  \"user\": \"ada\"\n}" }
        ])
    );
    assert_eq!(
        chats[0].header("authorization"),
        None,
        "no credential, no header"
    );
    assert_eq!(chats[0].header("idempotency-key"), Some("exec-1:agent"));
    assert_eq!(
        chats[1].header("idempotency-key"),
        Some("exec-1:agent:turn-1")
    );

    let second = chats[1].json();
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    let tool_result: Value =
        serde_json::from_str(messages[3]["content"].as_str().unwrap()).unwrap();
    assert_eq!(tool_result, out["toolCalls"][0]["result"]);

    let weather = server
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/weather-api/"))
        .unwrap();
    assert_eq!(weather.query("units"), Some("metric"));
    assert_eq!(
        weather.header("idempotency-key"),
        Some("exec-1:agent:tool-1")
    );

    // The model's tool call is in the tool's history like any other run.
    let [log] = h.tool_logs(1).await.try_into().unwrap();
    assert_eq!(log.tool_id, tool);
    assert_eq!(
        (log.execution_id.as_deref(), log.node_id.as_deref()),
        (Some("exec-1"), Some("agent"))
    );
    assert_eq!(log.input, json!({ "city": "São Paulo", "units": "metric" }));
    assert_eq!(log.output, Some(out["toolCalls"][0]["result"].clone()));
    assert_eq!(log.error, None);
}

#[tokio::test]
async fn an_llm_agent_reports_tool_errors_to_the_model_and_stops_at_max_tool_calls() {
    let h = Harness::new().await;
    let turns = Arc::new(AtomicUsize::new(0));
    let server = {
        let turns = turns.clone();
        TestServer::start(move |request| {
            if let Some(reply) = weather_server_reply(request) {
                return reply;
            }
            // First an unknown tool, then the real one, then it wants more.
            let name = match turns.fetch_add(1, Ordering::SeqCst) {
                0 => "Delete_everything",
                _ => "Get_weather",
            };
            json_reply(
                200,
                json!({ "choices": [{ "message": { "role": "assistant", "content": "",
                    "tool_calls": [{ "id": format!("call_{name}"), "type": "function",
                        "function": { "name": name,
                                      "arguments": "{\"city\":\"Oslo\",\"units\":\"metric\"}" } }]
                } }] }),
            )
        })
        .await
    };
    let tool = h
        .tool(
            "Get weather",
            "api",
            weather_schemas(),
            weather_config(&server),
        )
        .await;
    let credential = h
        .credential("bearer", json!({ "token": "sk-test-llm-key" }))
        .await;
    let node = agent(json!({
        "model": "m",
        "baseUrl": server.url("/v1"),
        "credentialId": credential,
        "tools": [tool],
        "maxToolCalls": 2,
    }));

    let failed = failure(h.run(node, json!({ "prompt": "Go." })).await);

    assert!(!failed.retryable);
    assert!(
        failed
            .message
            .contains("asked for 1 more tool call(s) after 2, but config.maxToolCalls allows 2"),
        "{}",
        failed.message
    );
    let chats = server.requests_to("/v1/chat/completions");
    assert_eq!(chats.len(), 3);
    assert_eq!(
        chats[0].header("authorization"),
        Some("Bearer sk-test-llm-key")
    );
    let second = chats[1].json();
    let unknown: Value =
        serde_json::from_str(second["messages"][2]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        unknown,
        json!({ "error": "there is no tool named `Delete_everything`" })
    );
    let weather_calls = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/weather-api/"))
        .count();
    assert_eq!(weather_calls, 1);
}

#[tokio::test]
async fn an_llm_agent_rate_limit_is_retryable_and_shows_the_apis_message() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| {
        json_reply(
            429,
            json!({ "error": { "message": "Rate limit reached for requests", "type": "requests" } }),
        )
    })
    .await;

    let failed = failure(
        h.run(
            agent(json!({ "model": "m", "baseUrl": server.url("/v1") })),
            json!({ "prompt": "Hi" }),
        )
        .await,
    );

    assert!(failed.retryable);
    assert!(
        failed
            .message
            .contains("429 Too Many Requests: Rate limit reached for requests"),
        "{}",
        failed.message
    );
}

#[tokio::test]
async fn an_llm_agent_without_tools_returns_the_answer_and_sends_no_tools() {
    let h = Harness::new().await;
    let server = TestServer::start(|_| {
        json_reply(
            200,
            json!({ "choices": [{ "message": { "role": "assistant", "content": "Hello!" } }] }),
        )
    })
    .await;

    let out = output(
        h.run(
            agent(json!({ "model": "llama3", "baseUrl": server.url("/v1") })),
            json!({ "prompt": "Hi" }),
        )
        .await,
    );

    assert_eq!(
        out,
        json!({ "content": "Hello!", "toolCalls": [],
                "usage": { "promptTokens": 0, "completionTokens": 0, "totalTokens": 0 } })
    );
    let [request] = server.requests().try_into().unwrap();
    assert!(request.json().get("tools").is_none());
    assert_eq!(
        request.json()["messages"],
        json!([{ "role": "user", "content": "Hi" }])
    );
}

// ---------------------------------------------------------------------------------------
// web-search

fn search(config: Value) -> Value {
    json!({ "id": "search", "type": "web-search", "name": "Search", "config": config })
}

#[tokio::test]
async fn searxng_results_are_mapped_and_capped_at_count() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| {
        assert_eq!(request.path, "/searx/search");
        json_reply(
            200,
            json!({
                "query": request.query("q"),
                "results": [
                    { "title": "Rust", "url": "https://www.rust-lang.org/", "content": "A language",
                      "engine": "duckduckgo" },
                    { "title": "Book", "url": "https://doc.rust-lang.org/book/", "content": "The book" },
                    { "title": "Crates", "url": "https://crates.io/", "content": "Packages" }
                ]
            }),
        )
    })
    .await;

    let out = output(
        h.run(
            search(json!({ "provider": "searxng", "baseUrl": server.url("/searx/"), "count": 5 })),
            json!({ "query": "rust lang", "count": 2 }),
        )
        .await,
    );

    assert_eq!(
        out,
        json!({ "results": [
            { "title": "Rust", "url": "https://www.rust-lang.org/", "snippet": "A language" },
            { "title": "Book", "url": "https://doc.rust-lang.org/book/", "snippet": "The book" }
        ] })
    );
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.query("q"), Some("rust lang"));
    assert_eq!(request.query("format"), Some("json"));
}

#[tokio::test]
async fn searxng_without_a_base_url_fails_saying_what_is_missing() {
    let h = Harness::new().await;

    let failed = failure(h.run(search(json!({})), json!({ "query": "x" })).await);

    assert!(!failed.retryable);
    assert!(
        failed.message.contains("config.baseUrl is required"),
        "{}",
        failed.message
    );
}

#[tokio::test]
async fn brave_search_sends_the_subscription_token_and_maps_web_results() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| {
        assert_eq!(request.path, "/res/v1/web/search");
        if request.header("x-subscription-token") != Some("brave-key-1357") {
            return json_reply(401, json!({ "type": "ErrorResponse" }));
        }
        json_reply(
            200,
            json!({ "type": "search", "web": { "type": "search", "results": [
                { "title": "The Rust Programming Language", "url": "https://www.rust-lang.org/",
                  "description": "A <strong>language</strong> empowering everyone", "age": "1d" },
                { "title": "Rust &amp; Cargo", "url": "https://doc.rust-lang.org/cargo/",
                  "description": "The <strong>Rust</strong> package manager" }
            ] } }),
        )
    })
    .await;
    let credential = h
        .credential("api-key", json!({ "value": "brave-key-1357" }))
        .await;

    let out = output(
        h.run(
            search(json!({
                "provider": "brave",
                "baseUrl": server.url("/res/v1"),
                "credentialId": credential,
                "count": 5,
            })),
            json!({ "query": "rust" }),
        )
        .await,
    );

    assert_eq!(
        out,
        json!({ "results": [
            { "title": "The Rust Programming Language", "url": "https://www.rust-lang.org/",
              "snippet": "A language empowering everyone" },
            { "title": "Rust & Cargo", "url": "https://doc.rust-lang.org/cargo/",
              "snippet": "The Rust package manager" }
        ] })
    );
    let [request] = server.requests().try_into().unwrap();
    assert_eq!(request.query("q"), Some("rust"));
    assert_eq!(request.query("count"), Some("5"));
    assert_eq!(request.header("accept"), Some("application/json"));

    let without_key = failure(
        h.run(
            search(json!({ "provider": "brave", "baseUrl": server.url("/res/v1") })),
            json!({ "query": "rust" }),
        )
        .await,
    );
    assert!(
        without_key
            .message
            .contains("Brave Search needs config.credentialId"),
        "{}",
        without_key.message
    );
}

#[tokio::test]
async fn a_wrong_brave_key_is_a_permanent_failure_that_does_not_show_the_key() {
    let h = Harness::new().await;
    let server = TestServer::start(|request| {
        let key = request.header("x-subscription-token").unwrap_or_default();
        text_reply(401, &format!("subscription token {key} is invalid"))
    })
    .await;
    let credential = h
        .credential("api-key", json!({ "value": "wrong-brave-key" }))
        .await;

    let failed = failure(
        h.run(
            search(
                json!({ "provider": "brave", "baseUrl": server.url("/res/v1"),
                           "credentialId": credential }),
            ),
            json!({ "query": "rust" }),
        )
        .await,
    );

    assert!(!failed.retryable);
    assert!(
        failed.message.starts_with("Brave Search: "),
        "{}",
        failed.message
    );
    assert!(
        !failed.message.contains("wrong-brave-key"),
        "{}",
        failed.message
    );
}
