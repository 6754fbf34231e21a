//! End-to-end tests: the real server, real databases, GraphQL over HTTP and WebSocket.

mod auth;
mod code_tools;
mod crash;
mod credentials;
mod data_security;
mod databases;
mod engine;
mod engine_http;
mod error_detail;
mod hangups;
mod health;
mod history;
mod incoming_hooks;
mod limits;
mod mapping;
mod mapping_dialog;
mod palette;
mod restart;
mod schema;
mod sharing;
mod studio;
mod subscriptions;
mod templates;
mod tool_runs;
mod tools;
mod webhooks;
mod workflows;

pub use sea_orm::ConnectionTrait;
pub use serde_json::{Value, json};
pub use weft_e2e::{TestApp, error_code, first_error, ok, on_both_databases};

/// A small valid document: trigger → condition → output on the `true` branch.
pub fn sample_document() -> Value {
    json!({
        "version": 1,
        "nodes": [
            { "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } },
            { "id": "check", "type": "condition", "name": "Big order?",
              "config": { "expr": ". > 100" },
              "inputs": { "value": { "ref": "start.output.total" } } },
            { "id": "done", "type": "output", "name": "Done",
              "inputs": { "value": { "ref": "start.output" } } }
        ],
        "edges": [
            { "source": "start", "target": "check" },
            { "source": "check", "sourceHandle": "true", "target": "done" }
        ]
    })
}

pub const CREATE_WORKFLOW: &str = "mutation($i: CreateWorkflowInput!) {
    createWorkflow(input: $i) { id name version document } }";

pub async fn create_workflow(app: &TestApp, token: &str, name: &str) -> String {
    let data = app
        .as_ok(
            token,
            CREATE_WORKFLOW,
            json!({ "i": { "name": name, "document": sample_document() } }),
        )
        .await;
    data["createWorkflow"]["id"].as_str().unwrap().to_owned()
}
