//! Mappings are checked when a workflow is saved or validated, before anything runs.

use crate::engine::{edge, run, save, trigger};
use crate::*;

const VALIDATE: &str =
    "query($d: JSON!) { validateWorkflow(document: $d) { valid problems { path message } } }";

fn typed_trigger() -> Value {
    json!({ "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual", "inputSchema": {
        "type": "object",
        "properties": { "customer": { "type": "object", "properties": { "name": { "type": "string" } } }, "query": { "type": "string" } }
    } } })
}

fn search(query: Value) -> Value {
    json!({ "id": "search", "type": "web-search", "name": "Search",
            "config": { "provider": "searxng", "baseUrl": "https://search.example.com" },
            "inputs": { "query": query } })
}

async fn problems(app: &TestApp, nodes: Vec<Value>, edges: Vec<Value>) -> Vec<(String, String)> {
    let data = app
        .admin_ok(
            VALIDATE,
            json!({ "d": { "version": 1, "nodes": nodes, "edges": edges } }),
        )
        .await;
    data["validateWorkflow"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_owned(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

on_both_databases! {
    async fn a_string_mapped_onto_a_string_input_is_accepted(app: TestApp) {
        let found = problems(&app, vec![typed_trigger(), search(json!({ "ref": "start.output.query" }))], vec![edge("start", "search")]).await;
        assert!(found.is_empty(), "{found:?}");
    }

    async fn an_object_mapped_onto_a_string_input_is_rejected_naming_node_input_and_both_types(app: TestApp) {
        let nodes = vec![typed_trigger(), search(json!({ "ref": "start.output.customer" }))];
        let found = problems(&app, nodes.clone(), vec![edge("start", "search")]).await;
        let (path, message) = found.iter().find(|(p, _)| p.starts_with("nodes[1].inputs.query")).unwrap_or_else(|| panic!("{found:?}"));
        assert!(path.starts_with("nodes[1].inputs.query"));
        for needle in ["search", "query", "object", "string"] {
            assert!(message.contains(needle), "`{needle}` missing from: {message}");
        }
        // Saving is refused the same way, and stores nothing.
        let before = app.row_counts().await;
        let body = app.gql(Some(&app.admin_token.clone()), CREATE_WORKFLOW,
            json!({ "i": { "name": "typed", "document": { "version": 1, "nodes": nodes, "edges": [edge("start", "search")] } } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(app.row_counts().await, before);
    }

    async fn a_missing_required_input_is_rejected(app: TestApp) {
        let node = json!({ "id": "search", "type": "web-search", "name": "Search",
            "config": { "provider": "searxng", "baseUrl": "https://search.example.com" } });
        let found = problems(&app, vec![typed_trigger(), node], vec![edge("start", "search")]).await;
        assert!(found.iter().any(|(p, m)| p.starts_with("nodes[1].inputs") && m.contains("query")), "{found:?}");
    }

    async fn a_ref_to_a_node_that_is_not_upstream_is_rejected(app: TestApp) {
        let nodes = vec![
            typed_trigger(),
            search(json!({ "ref": "later.output" })),
            json!({ "id": "later", "type": "data-transform", "name": "later", "config": { "expr": "\"q\"" }, "inputs": { "data": { "ref": "start.output" } } }),
        ];
        let found = problems(&app, nodes, vec![edge("start", "search"), edge("search", "later")]).await;
        assert!(found.iter().any(|(p, m)| p.starts_with("nodes[1].inputs.query") && m.contains("later") && m.contains("upstream")), "{found:?}");
    }

    async fn an_expression_that_does_not_parse_is_rejected_with_its_position(app: TestApp) {
        let nodes = vec![trigger(), json!({ "id": "t", "type": "data-transform", "name": "t", "config": { "expr": "." },
            "inputs": { "data": { "expr": ".nodes.start.output | map(" } } })];
        let found = problems(&app, nodes, vec![edge("start", "t")]).await;
        assert!(found.iter().any(|(p, m)| p.starts_with("nodes[1].inputs.data") && m.contains("column")), "{found:?}");
    }

    async fn a_template_that_references_nothing_known_is_rejected(app: TestApp) {
        let nodes = vec![typed_trigger(), search(json!({ "template": "news about {{ nowhere.output.topic }}" }))];
        let found = problems(&app, nodes, vec![edge("start", "search")]).await;
        assert!(found.iter().any(|(p, m)| p.starts_with("nodes[1].inputs.query") && m.contains("nowhere")), "{found:?}");
    }

    async fn templates_and_expressions_are_resolved_at_run_time(app: TestApp) {
        let wf = save(&app, vec![
            trigger(),
            json!({ "id": "greet", "type": "data-transform", "name": "greet", "config": { "expr": "{ text: .greeting, total: .total }" },
                "inputs": { "data": { "expr": "{ greeting: \"unused\", total: (.nodes.start.output.items | map(.price) | add) }" } } }),
            json!({ "id": "done", "type": "output", "name": "done", "inputs": {
                "value": { "template": "Order for {{ start.output.name }}: {{ greet.output.total }}" } } }),
        ], vec![edge("start", "greet"), edge("greet", "done")]).await;
        let execution = run(&app, &wf, json!({ "name": "Ada", "items": [{ "price": 2 }, { "price": 3 }] })).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert_eq!(execution["output"], json!("Order for Ada: 5"));
    }

    async fn an_api_call_to_a_private_address_fails_naming_the_node(app: TestApp) {
        let wf = save(&app, vec![trigger(),
            json!({ "id": "metadata", "type": "api-call", "name": "metadata", "config": { "method": "GET", "url": "http://169.254.169.254/latest/meta-data/" } })],
            vec![edge("start", "metadata")]).await;
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "FAILED");
        let error = execution["error"].as_str().unwrap();
        assert!(error.contains("metadata") && error.contains("169.254.169.254") && error.contains("refused"), "{error}");
    }

    async fn a_schedule_trigger_fires_on_its_cron_expression(app: TestApp) {
        let wf = save(&app, vec![
            json!({ "id": "tick", "type": "trigger", "name": "Every second", "config": { "kind": "schedule", "cron": "* * * * * *" } }),
            json!({ "id": "done", "type": "output", "name": "done", "inputs": { "value": { "ref": "tick.output" } } }),
        ], vec![edge("tick", "done")]).await;
        let mut fired = Value::Null;
        for _ in 0..60 {
            let data = app.admin_ok("query($w: ID!) { executions(workflowId: $w) { edges { node { triggerKind status output } } } }", json!({ "w": wf })).await;
            if let Some(done) = data["executions"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["status"] == "SUCCEEDED") {
                fired = done["node"].clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert_eq!(fired["triggerKind"], "schedule", "no scheduled run within 15 s");
        assert!(fired["output"]["firedAt"].is_string());
    }
}

on_both_databases! {
    async fn a_schedule_with_an_invalid_cron_expression_is_rejected(app: TestApp) {
        let document = json!({ "version": 1, "nodes": [
            { "id": "tick", "type": "trigger", "name": "tick", "config": { "kind": "schedule", "cron": "every tuesday" } } ], "edges": [] });
        let data = app.admin_ok(VALIDATE, json!({ "d": document })).await;
        let problems = data["validateWorkflow"]["problems"].as_array().unwrap().clone();
        assert!(problems.iter().any(|p| p["path"] == "nodes[0].config.cron" && p["message"].as_str().unwrap().contains("every tuesday")), "{problems:?}");
    }
}
