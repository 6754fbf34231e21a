//! Code tools through the API: saved with `createTool`, checked at save time, run as a
//! `custom` node in a workflow.

use crate::engine::{EXECUTE, edge, save, trigger};
use crate::*;

const CREATE_TOOL: &str =
    "mutation($i: CreateToolInput!) { createTool(input: $i) { id uuid version } }";

fn js_tool(name: &str, source: &str) -> Value {
    json!({
        "name": name,
        "kind": "CODE",
        "inputSchema": { "type": "object", "properties": { "items": { "type": "array" } }, "required": ["items"] },
        "outputSchema": { "type": "object", "properties": { "total": { "type": "number" } }, "required": ["total"] },
        "config": { "language": "javascript", "source": source, "timeoutMs": 500 }
    })
}

fn custom(id: &str, tool: &str, items: Value) -> Value {
    json!({ "id": id, "type": "custom", "name": id, "config": { "toolId": tool },
            "inputs": { "items": items } })
}

on_both_databases! {
    async fn a_javascript_tool_runs_as_a_custom_node_in_a_workflow(app: TestApp) {
        let source = "export default function run(input, ctx) {\n  console.log('summing', input.items.length);\n  return { total: input.items.reduce((a, b) => a + b, 0) };\n}";
        let created = app.admin_ok(CREATE_TOOL, json!({ "i": js_tool("Sum", source) })).await;
        let tool = created["createTool"]["uuid"].as_str().unwrap().to_owned();
        let workflow = save(&app, vec![trigger(), custom("sum", &tool, json!({ "ref": "start.output.items" }))],
            vec![edge("start", "sum")]).await;
        let data = app.admin_ok(EXECUTE, json!({ "id": workflow, "input": { "items": [1, 2, 39.5] }, "wait": true })).await;
        let execution = &data["executeWorkflow"];
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        let run = execution["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "sum").unwrap();
        assert_eq!(run["output"], json!({ "total": 42.5 }));
    }

    async fn a_hostile_tool_fails_its_node_with_the_sandbox_code_and_the_server_keeps_serving(app: TestApp) {
        let created = app.admin_ok(CREATE_TOOL, json!({ "i": js_tool("Spin", "export default function run() { for (;;) {} }") })).await;
        let tool = created["createTool"]["uuid"].as_str().unwrap().to_owned();
        let workflow = save(&app, vec![trigger(), custom("spin", &tool, json!({ "value": [] }))],
            vec![edge("start", "spin")]).await;
        let data = app.admin_ok(EXECUTE, json!({ "id": workflow, "input": {}, "wait": true })).await;
        let execution = &data["executeWorkflow"];
        assert_eq!(execution["status"], "FAILED", "{execution:#}");
        let run = execution["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "spin").unwrap();
        assert!(run["error"].as_str().unwrap().starts_with("TIMEOUT:"), "{run:#}");
        app.admin_ok("{ tools { edges { node { name } } } }", json!({})).await;
    }

    async fn a_tool_whose_script_does_not_parse_is_refused_and_nothing_is_stored(app: TestApp) {
        let before = app.row_counts().await;
        let body = app.gql(Some(&app.admin_token.clone()), CREATE_TOOL,
            json!({ "i": js_tool("Broken", "export default function run(input) {\n  return input +;\n}") })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
        let error = first_error(&body);
        assert_eq!(error["extensions"]["path"], "input.config.source");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("SyntaxError") && message.contains("line 2"), "{message}");
        assert_eq!(app.row_counts().await, before);

        let mut over_cap = js_tool("Greedy", "export default function run() { return { total: 1 } }");
        over_cap["config"]["memoryMb"] = json!(100_000);
        let body = app.gql(Some(&app.admin_token.clone()), CREATE_TOOL, json!({ "i": over_cap })).await;
        assert_eq!(first_error(&body)["extensions"]["path"], "input.config.memoryMb", "{body:#}");
        assert_eq!(app.row_counts().await, before);
    }
}
