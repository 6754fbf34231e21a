//! `Subscription.executionEvents` over real WebSockets: order, resumption, access and
//! authentication, and many subscribers at once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::time::timeout;
use weft_e2e::ws::{Delivery, Frame, Protocol, WsClient};

use crate::engine::{EXECUTE, edge, edge_from, save, transform, trigger};
use crate::*;

const EVENTS: &str = "subscription($executionId: ID, $workflowId: ID, $afterSequence: Int) {
    executionEvents(executionId: $executionId, workflowId: $workflowId, afterSequence: $afterSequence) {
        executionId workflowId sequence kind nodeId nodeName attempt willRetry status at
    } }";

const STORED_EVENTS: &str = "query($id: ID!) { execution(id: $id) {
    status events(first: 1000) { sequence kind nodeId } } }";

/// How long any single wait in these tests may take before the test fails instead of
/// hanging.
const PATIENCE: Duration = Duration::from_secs(30);

/// trigger → condition; its `true` branch runs a node that fails into a fallback; both
/// branches meet at the output. Five nodes.
async fn branching_workflow_with_a_fallback(app: &TestApp) -> String {
    save(
        app,
        vec![
            trigger(),
            json!({ "id": "check", "type": "condition", "name": "check", "config": { "expr": ".total > 100" },
                    "inputs": { "value": { "ref": "start.output" } } }),
            transform("explode", "error(\"x\")", json!({ "ref": "check.output" })),
            transform("recover", "{ recovered: .error }", json!({ "ref": "explode.output" })),
            json!({ "id": "done", "type": "output", "name": "done",
                    "inputs": { "value": { "expr": ".nodes.recover.output" } } }),
        ],
        vec![
            edge("start", "check"),
            edge_from("check", "true", "explode"),
            edge_from("explode", "error", "recover"),
            edge("recover", "done"),
            edge_from("check", "false", "done"),
        ],
    )
    .await
}

/// Gates that hold `/gate/{n}` requests until the test opens them, so a run stays in
/// flight exactly as long as a test needs.
#[derive(Default)]
struct Gates {
    gates: [Notify; 2],
}

async fn gated(State(gates): State<Arc<Gates>>, Path(n): Path<usize>) -> axum::Json<Value> {
    gates.gates[n].notified().await;
    axum::Json(json!({ "gate": n }))
}

/// trigger → first → gate 0 → middle → gate 1 → done.
async fn gated_workflow(app: &TestApp) -> (String, Arc<Gates>) {
    let gates = Arc::new(Gates::default());
    let base = weft_e2e::serve(
        axum::Router::new()
            .route("/gate/{n}", get(gated))
            .with_state(gates.clone()),
    )
    .await;
    let call = |id: &str, n: usize| {
        json!({ "id": id, "type": "api-call", "name": id,
                "config": { "method": "GET", "url": format!("{base}/gate/{n}") } })
    };
    let workflow = save(
        app,
        vec![
            trigger(),
            transform("first", "{ a: 1 }", json!({ "ref": "start.output" })),
            call("wait0", 0),
            transform("middle", "{ b: 2 }", json!({ "ref": "first.output" })),
            call("wait1", 1),
            json!({ "id": "done", "type": "output", "name": "done", "inputs": { "value": { "ref": "middle.output" } } }),
        ],
        vec![
            edge("start", "first"),
            edge("first", "wait0"),
            edge("wait0", "middle"),
            edge("middle", "wait1"),
            edge("wait1", "done"),
        ],
    )
    .await;
    (workflow, gates)
}

async fn start_run(app: &TestApp, token: &str, workflow: &str, input: Value) -> String {
    let data = app
        .as_ok(
            token,
            EXECUTE,
            json!({ "id": workflow, "input": input, "wait": false }),
        )
        .await;
    data["executeWorkflow"]["id"].as_str().unwrap().to_owned()
}

/// The stored events of a finished execution (waits for it to finish).
async fn stored_events(app: &TestApp, execution: &str) -> Vec<Value> {
    let finished = timeout(PATIENCE, async {
        loop {
            let data = app
                .admin_ok(STORED_EVENTS, json!({ "id": execution }))
                .await;
            if !matches!(
                data["execution"]["status"].as_str(),
                Some("RUNNING" | "PENDING")
            ) {
                return data["execution"]["events"].as_array().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    finished.expect("the execution finished")
}

/// Waits until the server holds `n` live subscriptions, so a run started afterwards is
/// seen by all of them from its first event.
async fn until_subscribed(app: &TestApp, n: usize) {
    timeout(PATIENCE, async {
        while app.engine.events().subscriber_count() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "only {} of {n} subscriptions became live",
            app.engine.events().subscriber_count()
        )
    });
}

/// The events a subscription delivers until it completes; panics on an error.
async fn until_complete(client: &mut WsClient, id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    timeout(PATIENCE, async {
        while let Delivery::Result(payload) = client.next_of(id).await {
            assert!(payload.get("errors").is_none(), "{payload:#}");
            events.push(payload["data"]["executionEvents"].clone());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the subscription did not complete; got {events:#?}"));
    events
}

/// Events of one execution from a subscription that sees more, up to its end.
async fn events_of(client: &mut WsClient, id: &str, execution: &str) -> Vec<Value> {
    let mut events = Vec::new();
    timeout(PATIENCE, async {
        loop {
            let Delivery::Result(payload) = client.next_of(id).await else {
                panic!("the subscription completed early");
            };
            assert!(payload.get("errors").is_none(), "{payload:#}");
            let event = payload["data"]["executionEvents"].clone();
            if event["executionId"] == execution {
                let last = event["kind"] == "EXECUTION_COMPLETE";
                events.push(event);
                if last {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the execution's events stopped; got {events:#?}"));
    events
}

fn sequences(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect()
}

/// (sequence, kind, nodeId) of each event, the shape both sources share.
fn shape(events: &[Value]) -> Vec<(i64, String, Value)> {
    events
        .iter()
        .map(|e| {
            (
                e["sequence"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_owned(),
                e["nodeId"].clone(),
            )
        })
        .collect()
}

/// Whether anything arrives on `client` within `window`.
async fn silent_for(client: &mut WsClient, window: Duration) -> Result<(), Frame> {
    match timeout(window, client.frame()).await {
        Err(_) => Ok(()),
        Ok(frame) => Err(frame),
    }
}

/// Reads until the server ends the connection, failing on any data or acknowledgement.
async fn refused(client: &mut WsClient) {
    let outcome = timeout(PATIENCE, async {
        loop {
            match client.frame().await {
                Frame::Closed(code) => return code,
                Frame::Message(m) if m["type"] == "connection_error" => {}
                Frame::Message(m) => panic!("the server answered an unauthenticated client: {m}"),
            }
        }
    })
    .await;
    outcome.expect("the server closed the connection");
}

on_both_databases! {
    async fn a_subscriber_opened_before_a_run_receives_every_event_in_order(app: TestApp) {
        let workflow = branching_workflow_with_a_fallback(&app).await;
        let mut by_workflow = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        by_workflow.subscribe("w", EVENTS, json!({ "workflowId": workflow })).await;
        until_subscribed(&app, 1).await;

        let execution = start_run(&app, &app.admin_token, &workflow, json!({ "total": 150 })).await;
        // Subscribing by execution after it started: the store supplies what already happened.
        let mut by_execution = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        by_execution.subscribe("e", EVENTS, json!({ "executionId": execution, "afterSequence": 0 })).await;

        let live = events_of(&mut by_workflow, "w", &execution).await;
        let caught_up = until_complete(&mut by_execution, "e").await;
        let stored = stored_events(&app, &execution).await;

        let n = stored.len() as i64;
        assert_eq!(sequences(&live), (1..=n).collect::<Vec<_>>(), "{live:#?}");
        assert_eq!(shape(&live), shape(&stored));
        assert_eq!(shape(&caught_up), shape(&stored));
        assert_eq!(live.last().unwrap()["kind"], "EXECUTION_COMPLETE");
        assert_eq!(live.last().unwrap()["status"], "succeeded");
        assert!(live.iter().all(|e| e["workflowId"] == workflow && e["executionId"] == execution));
        // The branch was taken, the failure went to its fallback, and nothing else ran.
        let failure = live.iter().find(|e| e["kind"] == "NODE_ERROR").expect("a NODE_ERROR");
        assert_eq!(failure["nodeId"], "explode");
        assert_eq!(failure["willRetry"], false);
        let completed: Vec<_> = live.iter().filter(|e| e["kind"] == "NODE_COMPLETE").map(|e| e["nodeId"].as_str().unwrap()).collect();
        assert_eq!(completed, ["start", "check", "recover", "done"]);
        let started = live.iter().find(|e| e["kind"] == "NODE_START" && e["nodeId"] == "check").unwrap();
        assert_eq!(started["nodeName"], "check");
        assert_eq!(started["attempt"], 1);
    }

    async fn a_client_that_reconnects_with_after_sequence_gets_exactly_the_rest(app: TestApp) {
        let (workflow, gates) = gated_workflow(&app).await;
        let execution = start_run(&app, &app.admin_token, &workflow, json!({})).await;

        let mut first = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        first.subscribe("1", EVENTS, json!({ "executionId": execution })).await;
        let mut seen = Vec::new();
        timeout(PATIENCE, async {
            loop {
                let Delivery::Result(payload) = first.next_of("1").await else { panic!("completed early") };
                let event = payload["data"]["executionEvents"].clone();
                let waiting = event["kind"] == "NODE_START" && event["nodeId"] == "wait0";
                seen.push(event);
                if waiting { break; }
            }
        }).await.expect("the run reached the first gate");
        // The connection drops mid-run; the run goes on without it.
        first.abandon();
        let last_seen = *sequences(&seen).last().unwrap();

        gates.gates[0].notify_one();
        // Wait until the run is held at the second gate, so the reconnecting client needs
        // both what it missed (from the store) and what is still to come (live).
        timeout(PATIENCE, async {
            loop {
                let data = app.admin_ok(STORED_EVENTS, json!({ "id": execution })).await;
                if data["execution"]["events"].as_array().unwrap().iter().any(|e| e["kind"] == "NODE_START" && e["nodeId"] == "wait1") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }).await.expect("the run reached the second gate");

        let mut second = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        second.subscribe("2", EVENTS, json!({ "executionId": execution, "afterSequence": last_seen })).await;
        let Delivery::Result(payload) = second.next_of("2").await else { panic!("completed early") };
        let mut rest = vec![payload["data"]["executionEvents"].clone()];
        gates.gates[1].notify_one();
        rest.extend(until_complete(&mut second, "2").await);

        let stored = stored_events(&app, &execution).await;
        let n = stored.len() as i64;
        assert_eq!(sequences(&rest), (last_seen + 1..=n).collect::<Vec<_>>(), "no gap, no duplicate: {rest:#?}");
        assert_eq!(shape(&rest), shape(&stored[last_seen as usize..]));
        assert_eq!(rest.last().unwrap()["kind"], "EXECUTION_COMPLETE");
        assert!(n > last_seen + 4, "events came both from the store and live");
    }

    async fn a_subscriber_never_receives_events_of_a_workflow_it_cannot_see(app: TestApp) {
        let outsider = app.new_user("outsider@example.com").await;
        let secret = branching_workflow_with_a_fallback(&app).await;
        let own = create_workflow(&app, &outsider, "mine").await;

        let mut everything = WsClient::connect_as(&app.base_url, &outsider, Protocol::TransportWs).await;
        everything.subscribe("all", EVENTS, json!({})).await;
        until_subscribed(&app, 1).await;

        let hidden = start_run(&app, &app.admin_token, &secret, json!({ "total": 150 })).await;
        stored_events(&app, &hidden).await;
        let silence = silent_for(&mut everything, Duration::from_millis(300)).await;
        assert!(silence.is_ok(), "an invisible workflow's event arrived: {silence:?}");

        // The subscription is alive: the outsider's own run comes through, and only it.
        let visible = start_run(&app, &outsider, &own, json!({ "total": 150 })).await;
        let Delivery::Result(payload) = everything.next_of("all").await else { panic!("completed") };
        let event = &payload["data"]["executionEvents"];
        assert_eq!(event["executionId"], visible, "{payload:#}");
        assert_eq!(event["sequence"], 1);

        // Asking for the hidden execution or workflow directly is NOT_FOUND, with no data.
        for (id, variables) in [("x", json!({ "executionId": hidden })), ("y", json!({ "workflowId": secret }))] {
            let mut probe = WsClient::connect_as(&app.base_url, &outsider, Protocol::TransportWs).await;
            probe.subscribe(id, EVENTS, variables).await;
            let Delivery::Result(payload) = probe.next_of(id).await else { panic!("completed without an answer") };
            assert!(payload["data"].is_null(), "{payload:#}");
            assert_eq!(payload["errors"][0]["extensions"]["code"], "NOT_FOUND", "{payload:#}");
            assert!(matches!(probe.next_of(id).await, Delivery::Complete));
        }
    }

    async fn missing_forged_and_expired_tokens_close_the_socket_before_any_data(app: TestApp) {
        let expiring = app.admin_ok("mutation { createApiKey(input: { name: \"soon\", expiresAt: \"2999-01-01T00:00:00Z\" }) { token } }", json!({})).await;
        let expired = expiring["createApiKey"]["token"].as_str().unwrap().to_owned();
        app.db.execute_unprepared("UPDATE api_keys SET expires_at = created_at WHERE name = 'soon'").await.unwrap();

        let payloads = [
            json!({}),
            json!({ "Authorization": "Bearer weft_forged0000000000000000000000000000" }),
            json!({ "token": "weft_forged0000000000000000000000000000" }),
            json!({ "authorization": format!("Basic {}", app.admin_token) }),
            json!({ "Authorization": format!("Bearer {expired}") }),
        ];
        for protocol in [Protocol::TransportWs, Protocol::LegacyWs] {
            for payload in &payloads {
                let mut client = WsClient::connect(&app.base_url, protocol).await;
                client.send(json!({ "type": "connection_init", "payload": payload })).await;
                // A subscription sent right behind the init must not run either.
                client.subscribe("1", EVENTS, json!({})).await;
                refused(&mut client).await;
            }
        }
        // The same connection with a real token works, under each accepted spelling.
        for payload in [
            json!({ "Authorization": format!("Bearer {}", app.admin_token) }),
            json!({ "authorization": format!("bearer {}", app.admin_token) }),
            json!({ "token": app.admin_token }),
        ] {
            let mut client = WsClient::connect(&app.base_url, Protocol::TransportWs).await;
            client.init(payload).await;
            client.ping().await;
        }
    }

    async fn a_socket_that_never_initialises_is_closed_after_the_init_timeout(app: TestApp) {
        let mut client = WsClient::connect(&app.base_url, Protocol::TransportWs).await;
        let closed = timeout(weft::graphql_ws::CONNECTION_INIT_TIMEOUT + Duration::from_secs(5), client.frame()).await;
        assert!(matches!(closed, Ok(Frame::Closed(Some(4408)))), "{closed:?}");
    }

    async fn the_legacy_graphql_ws_protocol_delivers_a_subscription(app: TestApp) {
        let workflow = branching_workflow_with_a_fallback(&app).await;
        let execution = start_run(&app, &app.admin_token, &workflow, json!({ "total": 5 })).await;
        let mut client = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::LegacyWs).await;
        client.subscribe("legacy", EVENTS, json!({ "executionId": execution })).await;
        let events = until_complete(&mut client, "legacy").await;
        let stored = stored_events(&app, &execution).await;
        assert_eq!(shape(&events), shape(&stored));
        assert_eq!(events.last().unwrap()["kind"], "EXECUTION_COMPLETE");
        // The `false` branch went straight to the output.
        assert!(events.iter().all(|e| e["nodeId"] != "explode"));
    }

    async fn after_sequence_without_an_execution_is_bad_input(app: TestApp) {
        let workflow = branching_workflow_with_a_fallback(&app).await;
        let mut client = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        client.subscribe("1", EVENTS, json!({ "workflowId": workflow, "afterSequence": 3 })).await;
        let Delivery::Result(payload) = client.next_of("1").await else { panic!("completed without an answer") };
        assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{payload:#}");
        assert_eq!(payload["errors"][0]["extensions"]["path"], "afterSequence");
    }

    async fn a_subscription_to_a_finished_execution_replays_it_and_completes(app: TestApp) {
        let workflow = branching_workflow_with_a_fallback(&app).await;
        let execution = start_run(&app, &app.admin_token, &workflow, json!({ "total": 150 })).await;
        let stored = stored_events(&app, &execution).await;
        let mut client = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        client.subscribe("all", EVENTS, json!({ "executionId": execution })).await;
        assert_eq!(shape(&until_complete(&mut client, "all").await), shape(&stored));
        // Resuming after the very last event: nothing more, and the stream still ends.
        let n = stored.len() as i64;
        client.subscribe("none", EVENTS, json!({ "executionId": execution, "afterSequence": n })).await;
        assert!(until_complete(&mut client, "none").await.is_empty());
    }

    async fn subscriptions_selecting_different_fields_each_get_their_own_shape_of_an_event(app: TestApp) {
        let workflow = branching_workflow_with_a_fallback(&app).await;
        let mut client = WsClient::connect_as(&app.base_url, &app.admin_token, Protocol::TransportWs).await;
        let optional = "subscription($w: ID, $full: Boolean!) { executionEvents(workflowId: $w) {
            sequence ... @include(if: $full) { kind } } }";
        // Four subscriptions multiplexed on one connection.
        client.subscribe("plain", "subscription($w: ID) { executionEvents(workflowId: $w) { sequence kind } }", json!({ "w": workflow })).await;
        client.subscribe("aliased", "subscription($w: ID) { e: executionEvents(workflowId: $w) { seq: sequence nodeId } }", json!({ "w": workflow })).await;
        client.subscribe("without", optional, json!({ "w": workflow, "full": false })).await;
        client.subscribe("with", optional, json!({ "w": workflow, "full": true })).await;
        until_subscribed(&app, 4).await;
        let execution = start_run(&app, &app.admin_token, &workflow, json!({ "total": 150 })).await;
        let n = stored_events(&app, &execution).await.len();

        let mut got: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
        timeout(PATIENCE, async {
            while got.values().map(Vec::len).sum::<usize>() < 4 * n {
                let (id, delivery) = client.delivery().await;
                let Delivery::Result(payload) = delivery else { panic!("{id} completed") };
                assert!(payload.get("errors").is_none(), "{payload:#}");
                got.entry(id).or_default().push(payload["data"].clone());
            }
        }).await.expect("every subscription got every event");
        let keys = |id: &str, field: &str| -> Vec<Vec<String>> {
            got[id].iter().map(|d| d[field].as_object().unwrap().keys().cloned().collect()).collect()
        };
        // Fields arrive in selection order, as GraphQL asks.
        assert!(keys("plain", "executionEvents").iter().all(|k| k == &["sequence", "kind"]));
        assert!(keys("aliased", "e").iter().all(|k| k == &["seq", "nodeId"]));
        assert!(keys("without", "executionEvents").iter().all(|k| k == &["sequence"]));
        assert!(keys("with", "executionEvents").iter().all(|k| k == &["sequence", "kind"]));
        let seqs: Vec<i64> = got["aliased"].iter().map(|d| d["e"]["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=n as i64).collect::<Vec<_>>());
    }

    async fn a_thousand_subscribers_all_receive_every_event_of_a_run(app: TestApp) {
        const SUBSCRIBERS: usize = 1_000;
        let (workflow, gates) = gated_workflow(&app).await;
        let execution = start_run(&app, &app.admin_token, &workflow, json!({})).await;
        let base_url = app.base_url.clone();
        let token = app.admin_token.clone();
        let clients: Vec<WsClient> = timeout(Duration::from_secs(60), futures::stream::iter(0..SUBSCRIBERS)
            .map(|_| {
                let (base_url, token, execution) = (base_url.clone(), token.clone(), execution.clone());
                async move {
                    let mut client = WsClient::connect_as(&base_url, &token, Protocol::TransportWs).await;
                    client.subscribe("s", EVENTS, json!({ "executionId": execution, "afterSequence": 0 })).await;
                    client
                }
            })
            .buffer_unordered(50)
            .collect())
            .await
            .expect("1,000 WebSocket connections within 60 s");
        until_subscribed(&app, SUBSCRIBERS).await;
        // Everything after the first gate happens while all of them listen live.
        gates.gates[0].notify_one();
        gates.gates[1].notify_one();

        let received = timeout(Duration::from_secs(60), futures::future::join_all(clients.into_iter().map(|mut client| {
            tokio::spawn(async move { until_complete(&mut client, "s").await })
        })))
        .await
        .expect("every subscriber got the whole run within 60 s");
        let stored = stored_events(&app, &execution).await;
        let expected = shape(&stored);
        for events in received {
            assert_eq!(shape(&events.expect("a subscriber task")), expected);
        }
    }
}
