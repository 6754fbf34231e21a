//! Graph semantics of the engine, through `executeWorkflow` over GraphQL.

use crate::*;

pub const EXECUTE: &str = "mutation($id: ID!, $input: JSON, $wait: Boolean) {
    executeWorkflow(id: $id, input: $input, wait: $wait) {
        id status output error workflowVersion
        nodeRuns { nodeId status attempt input output error }
        events { sequence kind nodeId attempt willRetry status }
    } }";

pub fn trigger() -> Value {
    json!({ "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } })
}

pub fn transform(id: &str, expr: &str, data: Value) -> Value {
    json!({ "id": id, "type": "data-transform", "name": id, "config": { "expr": expr }, "inputs": { "data": data } })
}

pub fn edge(source: &str, target: &str) -> Value {
    json!({ "source": source, "target": target })
}

pub fn edge_from(source: &str, handle: &str, target: &str) -> Value {
    json!({ "source": source, "sourceHandle": handle, "target": target })
}

pub async fn save(app: &TestApp, nodes: Vec<Value>, edges: Vec<Value>) -> String {
    let document = json!({ "version": 1, "nodes": nodes, "edges": edges });
    let data = app
        .admin_ok(
            CREATE_WORKFLOW,
            json!({ "i": { "name": "engine test", "document": document } }),
        )
        .await;
    data["createWorkflow"]["id"].as_str().unwrap().to_owned()
}

pub async fn run(app: &TestApp, workflow: &str, input: Value) -> Value {
    let data = app
        .admin_ok(
            EXECUTE,
            json!({ "id": workflow, "input": input, "wait": true }),
        )
        .await;
    data["executeWorkflow"].clone()
}

/// Status of each node's last run, by node id.
pub fn statuses(execution: &Value) -> std::collections::BTreeMap<String, String> {
    execution["nodeRuns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["nodeId"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn condition(id: &str, expr: &str, value: Value) -> Value {
    json!({ "id": id, "type": "condition", "name": id, "config": { "expr": expr }, "inputs": { "value": value } })
}

fn output(id: &str, value: Value) -> Value {
    json!({ "id": id, "type": "output", "name": id, "inputs": { "value": value } })
}

fn branching_workflow() -> (Vec<Value>, Vec<Value>) {
    (
        vec![
            trigger(),
            condition("big", ".total > 100", json!({ "ref": "start.output" })),
            transform(
                "vip",
                "{ tier: \"vip\", total }",
                json!({ "ref": "big.output" }),
            ),
            transform(
                "vip_note",
                "\"VIP order of \\(.total)\"",
                json!({ "ref": "vip.output" }),
            ),
            transform(
                "normal",
                "{ tier: \"normal\", total }",
                json!({ "ref": "big.output" }),
            ),
            json!({ "id": "done", "type": "output", "name": "done", "inputs": {
                "value": { "expr": "[.nodes.vip_note.output, .nodes.normal.output] | map(select(. != null))" } } }),
        ],
        vec![
            edge("start", "big"),
            edge_from("big", "true", "vip"),
            edge("vip", "vip_note"),
            edge_from("big", "false", "normal"),
            edge("vip_note", "done"),
            edge("normal", "done"),
        ],
    )
}

on_both_databases! {
    async fn a_diamond_joins_both_branches_before_the_join_runs(app: TestApp) {
        let wf = save(&app, vec![
            trigger(),
            transform("double", ".n * 2", json!({ "ref": "start.output" })),
            transform("square", ".n * .n", json!({ "ref": "start.output" })),
            json!({ "id": "sum", "type": "data-transform", "name": "sum", "config": { "expr": ".a + .b" },
                    "inputs": { "data": { "expr": "{ a: .nodes.double.output, b: .nodes.square.output }" } } }),
            output("done", json!({ "ref": "sum.output" })),
        ], vec![edge("start", "double"), edge("start", "square"), edge("double", "sum"), edge("square", "sum"), edge("sum", "done")]).await;
        let execution = run(&app, &wf, json!({ "n": 7 })).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert_eq!(execution["output"], json!(7 * 2 + 7 * 7));
        let runs = execution["nodeRuns"].as_array().unwrap();
        assert_eq!(runs.iter().filter(|r| r["nodeId"] == "sum").count(), 1);
        // The join started only after both parents completed.
        let events = execution["events"].as_array().unwrap();
        let pos = |kind: &str, node: &str| events.iter().position(|e| e["kind"] == kind && e["nodeId"] == node).unwrap();
        assert!(pos("NODE_START", "sum") > pos("NODE_COMPLETE", "double"));
        assert!(pos("NODE_START", "sum") > pos("NODE_COMPLETE", "square"));
    }

    async fn the_true_branch_runs_and_the_false_branch_is_skipped(app: TestApp) {
        let (nodes, edges) = branching_workflow();
        let wf = save(&app, nodes, edges).await;
        let big = run(&app, &wf, json!({ "total": 150 })).await;
        assert_eq!(big["status"], "SUCCEEDED", "{big:#}");
        assert_eq!(big["output"], json!(["VIP order of 150"]));
        let s = statuses(&big);
        assert_eq!(s["vip"], "succeeded");
        assert_eq!(s["vip_note"], "succeeded");
        assert_eq!(s["normal"], "skipped");
        assert_eq!(s["done"], "succeeded", "a join with one taken path in still runs");

        let small = run(&app, &wf, json!({ "total": 20 })).await;
        assert_eq!(small["output"], json!([{ "tier": "normal", "total": 20 }]));
        let s = statuses(&small);
        assert_eq!(s["vip"], "skipped");
        assert_eq!(s["vip_note"], "skipped", "skips propagate down an untaken branch");
        assert_eq!(s["normal"], "succeeded");
    }

    async fn events_are_stored_in_order_with_contiguous_sequences(app: TestApp) {
        let (nodes, edges) = branching_workflow();
        let wf = save(&app, nodes, edges).await;
        let execution = run(&app, &wf, json!({ "total": 150 })).await;
        let events = execution["events"].as_array().unwrap();
        let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        assert_eq!(sequences, (1..=sequences.len() as i64).collect::<Vec<_>>());
        assert_eq!(events.first().unwrap()["kind"], "EXECUTION_START");
        assert_eq!(events.last().unwrap()["kind"], "EXECUTION_COMPLETE");
        assert_eq!(events.last().unwrap()["status"], "succeeded");
        // start, big, vip, vip_note, done each start and complete once.
        assert_eq!(events.iter().filter(|e| e["kind"] == "NODE_START").count(), 5);
        assert_eq!(events.iter().filter(|e| e["kind"] == "NODE_COMPLETE").count(), 5);
    }

    async fn a_failing_node_follows_its_error_edge_and_the_run_succeeds(app: TestApp) {
        let wf = save(&app, vec![
            trigger(),
            transform("explode", "error(\"stock service said no\")", json!({ "ref": "start.output" })),
            transform("recover", "{ recovered: .error }", json!({ "ref": "explode.output" })),
            transform("after", "\"never\"", json!({ "ref": "explode.output" })),
            output("done", json!({ "ref": "recover.output" })),
        ], vec![edge("start", "explode"), edge_from("explode", "error", "recover"), edge("explode", "after"), edge("recover", "done")]).await;
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert!(execution["output"]["recovered"].as_str().unwrap().contains("stock service said no"));
        let s = statuses(&execution);
        assert_eq!(s["explode"], "failed");
        assert_eq!(s["after"], "skipped");
        let error_event = execution["events"].as_array().unwrap().iter().find(|e| e["kind"] == "NODE_ERROR").unwrap();
        assert_eq!(error_event["willRetry"], false);
    }

    async fn a_failing_node_without_a_fallback_fails_the_execution_naming_it(app: TestApp) {
        let wf = save(&app, vec![
            trigger(),
            transform("explode", "error(\"kaputt\")", json!({ "ref": "start.output" })),
            output("done", json!({ "ref": "explode.output" })),
        ], vec![edge("start", "explode"), edge("explode", "done")]).await;
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "FAILED");
        let error = execution["error"].as_str().unwrap();
        assert!(error.contains("explode") && error.contains("kaputt"), "{error}");
        assert!(!statuses(&execution).contains_key("done"), "nothing after the failure ran");
        let listed = app.admin_ok("{ executions(status: FAILED) { edges { node { id } } } }", json!({})).await;
        assert_eq!(listed["executions"]["edges"].as_array().unwrap().len(), 1);
    }

    async fn an_output_over_the_size_limit_fails_the_node_loudly(app: TestApp) {
        let wf = save(&app, vec![
            trigger(),
            transform("huge", "\"x\" * 2000000", json!({ "ref": "start.output" })),
        ], vec![edge("start", "huge")]).await;
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "FAILED");
        let run = execution["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "huge").unwrap().clone();
        let error = run["error"].as_str().unwrap();
        assert!(error.contains("huge") && error.contains("bytes") && error.contains("limit"), "{error}");
        assert!(run["output"].is_null(), "an oversized output is never stored, not even truncated");
    }

    async fn an_execution_input_that_fails_the_trigger_schema_is_rejected_before_anything_runs(app: TestApp) {
        let wf = save(&app, vec![
            json!({ "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual",
                "inputSchema": { "type": "object", "properties": { "total": { "type": "number" } }, "required": ["total"] } } }),
            output("done", json!({ "ref": "start.output.total" })),
        ], vec![edge("start", "done")]).await;
        let before = app.row_counts().await;
        let body = app.gql(Some(&app.admin_token.clone()), EXECUTE, json!({ "id": wf, "input": { "total": "lots" }, "wait": true })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(first_error(&body)["extensions"]["path"], "input.total");
        assert_eq!(app.row_counts().await, before);
        let ok_run = run(&app, &wf, json!({ "total": 5 })).await;
        assert_eq!(ok_run["output"], json!(5));
    }

    async fn an_execution_started_without_waiting_finishes_in_the_background(app: TestApp) {
        let wf = save(&app, vec![trigger(), output("done", json!({ "ref": "start.output" }))], vec![edge("start", "done")]).await;
        let data = app.admin_ok(EXECUTE, json!({ "id": wf, "input": { "x": 1 }, "wait": false })).await;
        let id = data["executeWorkflow"]["id"].as_str().unwrap().to_owned();
        let mut status = String::new();
        for _ in 0..200 {
            let read = app.admin_ok("query($id: ID!) { execution(id: $id) { status output } }", json!({ "id": id })).await;
            status = read["execution"]["status"].as_str().unwrap().to_owned();
            if status == "SUCCEEDED" {
                assert_eq!(read["execution"]["output"], json!({ "x": 1 }));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(status, "SUCCEEDED");
    }

    async fn a_replay_runs_the_same_version_with_the_same_input(app: TestApp) {
        let wf = save(&app, vec![trigger(), transform("t", ".x + 1", json!({ "ref": "start.output" })), output("done", json!({ "ref": "t.output" }))],
            vec![edge("start", "t"), edge("t", "done")]).await;
        let first = run(&app, &wf, json!({ "x": 41 })).await;
        assert_eq!(first["output"], json!(42));
        // A newer version computes something else; the replay still runs version 1.
        let newer = json!({ "version": 1, "nodes": [trigger(), transform("t", ".x + 100", json!({ "ref": "start.output" })), output("done", json!({ "ref": "t.output" }))],
            "edges": [edge("start", "t"), edge("t", "done")] });
        app.admin_ok("mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) { version } }", json!({ "i": { "id": wf, "document": newer } })).await;
        let replay = app.admin_ok("mutation($id: ID!) { replayExecution(input: { id: $id, wait: true }) { status output workflowVersion replayOf } }", json!({ "id": first["id"] })).await;
        assert_eq!(replay["replayExecution"]["output"], json!(42));
        assert_eq!(replay["replayExecution"]["workflowVersion"], 1);
        assert_eq!(replay["replayExecution"]["replayOf"], first["id"]);
        let fresh = run(&app, &wf, json!({ "x": 41 })).await;
        assert_eq!(fresh["output"], json!(141));
    }

    async fn a_retry_from_a_node_reuses_everything_upstream(app: TestApp) {
        let wf = save(&app, vec![
            trigger(),
            transform("fetch", "{ items: [1, 2, 3] }", json!({ "ref": "start.output" })),
            transform("sum", ".items | add", json!({ "ref": "fetch.output" })),
            output("done", json!({ "ref": "sum.output" })),
        ], vec![edge("start", "fetch"), edge("fetch", "sum"), edge("sum", "done")]).await;
        let first = run(&app, &wf, json!({})).await;
        assert_eq!(first["output"], json!(6));
        let retried = app.admin_ok(
            "mutation($id: ID!) { retryExecution(input: { id: $id, fromNode: \"sum\", wait: true }) { status output nodeRuns { nodeId } } }",
            json!({ "id": first["id"] })).await;
        assert_eq!(retried["retryExecution"]["output"], json!(6));
        let ran: Vec<_> = retried["retryExecution"]["nodeRuns"].as_array().unwrap().iter().map(|r| r["nodeId"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ran, vec!["sum".to_owned(), "done".to_owned()], "nothing upstream of `sum` ran again");
        let bad = app.gql(Some(&app.admin_token.clone()),
            "mutation($id: ID!) { retryExecution(input: { id: $id, fromNode: \"nope\" }) { id } }", json!({ "id": first["id"] })).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
        assert_eq!(first_error(&bad)["extensions"]["path"], "input.fromNode");
    }

    async fn a_viewer_cannot_run_a_workflow_but_a_runner_can(app: TestApp) {
        let wf = save(&app, vec![trigger(), output("done", json!({ "ref": "start.output" }))], vec![edge("start", "done")]).await;
        let bob = app.new_user("bob@example.com").await;
        let share = "mutation($id: ID!, $role: ShareRole!) { shareWorkflow(input: { workflowId: $id, userEmail: \"bob@example.com\", role: $role }) { role } }";
        app.admin_ok(share, json!({ "id": wf, "role": "VIEWER" })).await;
        let denied = app.gql(Some(&bob), EXECUTE, json!({ "id": wf, "wait": true })).await;
        assert_eq!(error_code(&denied), "FORBIDDEN");
        app.admin_ok(share, json!({ "id": wf, "role": "RUNNER" })).await;
        let allowed = app.as_ok(&bob, EXECUTE, json!({ "id": wf, "input": { "a": 1 }, "wait": true })).await;
        assert_eq!(allowed["executeWorkflow"]["status"], "SUCCEEDED");
    }

    async fn stopping_a_finished_execution_is_a_conflict(app: TestApp) {
        let wf = save(&app, vec![trigger()], vec![]).await;
        let done = run(&app, &wf, json!({})).await;
        let body = app.gql(Some(&app.admin_token.clone()), "mutation($id: ID!) { stopExecution(input: { id: $id }) { status } }", json!({ "id": done["id"] })).await;
        assert_eq!(error_code(&body), "CONFLICT");
    }
}
