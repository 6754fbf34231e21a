//! The parameter mapping dialog's queries: the save-time checker per input (`nodeMapping`).

use crate::engine::{edge, transform};
use crate::*;

const NODE_MAPPING: &str = "query($d: JSON!, $n: String!) { nodeMapping(document: $d, nodeId: $n) {
    nodeId
    inputs { name schema required default description binding sourceType targetType
             verdict { status reason path } }
    upstream { nodeId nodeName nodeType schema fieldsTruncated
               fields { ref name type depth description } }
    problems { path message } } }";

const VALIDATE: &str =
    "query($d: JSON!) { validateWorkflow(document: $d) { valid problems { path message } } }";

fn typed_trigger() -> Value {
    json!({ "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual", "inputSchema": {
        "type": "object",
        "properties": {
            "customer": { "type": "object", "description": "Who ordered",
                          "properties": { "name": { "type": "string" } } },
            "query": { "type": "string" }
        }
    } } })
}

/// start → search, start → side: `side` is not upstream of `search`.
fn document(search_inputs: Value) -> Value {
    json!({ "version": 1,
        "nodes": [
            typed_trigger(),
            { "id": "search", "type": "web-search", "name": "Search",
              "config": { "provider": "searxng", "baseUrl": "https://search.example.com" },
              "inputs": search_inputs },
            transform("side", ".", json!({ "ref": "start.output" }))
        ],
        "edges": [edge("start", "search"), edge("start", "side")] })
}

async fn mapping(app: &TestApp, document: &Value, node: &str) -> Value {
    let data = app
        .admin_ok(NODE_MAPPING, json!({ "d": document, "n": node }))
        .await;
    data["nodeMapping"].clone()
}

fn input<'m>(mapping: &'m Value, name: &str) -> &'m Value {
    mapping["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no input {name} in {mapping:#}"))
}

on_both_databases! {
    async fn a_string_mapped_onto_a_string_input_is_ok_with_both_types_named(app: TestApp) {
        let doc = document(json!({ "query": { "ref": "start.output.query" } }));
        let found = mapping(&app, &doc, "search").await;
        assert_eq!(found["nodeId"], "search");
        let query = input(&found, "query");
        assert_eq!(query["verdict"]["status"], "OK", "{found:#}");
        assert_eq!(query["sourceType"], "string");
        assert_eq!(query["targetType"], "string");
        assert_eq!(query["required"], true);
        assert_eq!(query["binding"], json!({ "ref": "start.output.query" }));
        assert_eq!(query["schema"]["minLength"], 1);
        // Every declared input is listed, bound or not, in the schema's order.
        let names: Vec<&str> = found["inputs"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["query", "count"]);
        let count = input(&found, "count");
        assert_eq!(count["verdict"]["status"], "UNCHECKED");
        assert_eq!(count["targetType"], "integer");
        assert_eq!(count["description"], "Overrides the configured result count.");
        assert!(found["problems"].as_array().unwrap().is_empty(), "{found:#}");
    }

    async fn an_object_mapped_onto_a_string_input_is_an_error_naming_both_types_as_validation_does(app: TestApp) {
        let doc = document(json!({ "query": { "ref": "start.output.customer" } }));
        let found = mapping(&app, &doc, "search").await;
        let query = input(&found, "query");
        assert_eq!(query["verdict"]["status"], "ERROR");
        assert_eq!(query["sourceType"], "object");
        assert_eq!(query["targetType"], "string");
        let reason = query["verdict"]["reason"].as_str().unwrap();
        assert!(reason.contains("gets object") && reason.contains("needs string"), "{reason}");
        assert_eq!(query["verdict"]["path"], "nodes[1].inputs.query");

        // The dialog and validateWorkflow say the same thing, word for word.
        let validated = app.admin_ok(VALIDATE, json!({ "d": doc })).await;
        let problems = &validated["validateWorkflow"]["problems"];
        assert_eq!(problems, &found["problems"]);
        assert_eq!(problems[0]["message"], query["verdict"]["reason"]);
        assert_eq!(problems[0]["path"], query["verdict"]["path"]);
    }

    async fn a_missing_required_input_is_an_error(app: TestApp) {
        let found = mapping(&app, &document(json!({})), "search").await;
        let query = input(&found, "query");
        assert_eq!(query["verdict"]["status"], "ERROR");
        assert_eq!(query["binding"], Value::Null);
        assert!(query["verdict"]["reason"].as_str().unwrap().contains("missing its required input `query`"), "{found:#}");
        assert_eq!(query["verdict"]["path"], "nodes[1].inputs");
        assert_eq!(found["problems"][0]["path"], "nodes[1].inputs");
    }

    async fn expressions_and_templates_are_unchecked_until_the_run(app: TestApp) {
        let doc = document(json!({
            "query": { "template": "news about {{ start.output.query }}" },
            "count": { "expr": ".nodes.start.output.query | length" } }));
        let found = mapping(&app, &doc, "search").await;
        let query = input(&found, "query");
        assert_eq!(query["verdict"]["status"], "UNCHECKED", "{found:#}");
        assert_eq!(query["sourceType"], "string");
        assert!(query["verdict"]["reason"].as_str().unwrap().contains("template"));
        let count = input(&found, "count");
        assert_eq!(count["verdict"]["status"], "UNCHECKED");
        assert!(count["verdict"]["reason"].as_str().unwrap().contains("expression"));
    }

    async fn upstream_lists_only_ancestors_with_fields_ready_to_bind(app: TestApp) {
        let doc = document(json!({ "query": { "ref": "start.output.query" } }));
        let found = mapping(&app, &doc, "search").await;
        let upstream = found["upstream"].as_array().unwrap();
        let ids: Vec<&str> = upstream.iter().map(|u| u["nodeId"].as_str().unwrap()).collect();
        assert_eq!(ids, ["start"], "`side` is not upstream of `search`");
        let start = &upstream[0];
        assert_eq!(start["nodeName"], "Start");
        assert_eq!(start["nodeType"], "trigger");
        assert_eq!(start["fieldsTruncated"], false);
        assert_eq!(start["schema"]["properties"]["query"]["type"], "string");
        let fields: Vec<(&str, &str, i64)> = start["fields"].as_array().unwrap().iter()
            .map(|f| (f["ref"].as_str().unwrap(), f["type"].as_str().unwrap(), f["depth"].as_i64().unwrap()))
            .collect();
        assert_eq!(fields, [
            ("start.output", "object", 0),
            ("start.output.customer", "object", 1),
            ("start.output.customer.name", "string", 2),
            ("start.output.query", "string", 1),
        ]);
        assert_eq!(start["fields"][1]["description"], "Who ordered");
        assert_eq!(start["fields"][2]["name"], "name");
        // The trigger itself has nothing upstream.
        assert!(mapping(&app, &doc, "start").await["upstream"].as_array().unwrap().is_empty());
    }

    async fn a_node_is_checked_even_when_another_part_of_the_document_is_broken(app: TestApp) {
        let mut doc = document(json!({ "query": { "ref": "start.output.customer" } }));
        // `side` loses its required config: the document no longer parses.
        doc["nodes"][2]["config"] = json!({});
        let found = mapping(&app, &doc, "search").await;
        assert_eq!(input(&found, "query")["verdict"]["status"], "ERROR", "{found:#}");
        assert_eq!(input(&found, "query")["verdict"]["path"], "nodes[1].inputs.query");
        assert_eq!(found["upstream"][0]["nodeId"], "start");
        // Problems of other nodes are theirs, not this node's.
        let side = mapping(&app, &doc, "side").await;
        assert!(side["problems"].as_array().unwrap().iter().all(|p| p["path"].as_str().unwrap().starts_with("nodes[2]")), "{side:#}");
        assert!(!side["problems"].as_array().unwrap().is_empty());
        assert_eq!(input(&side, "data")["verdict"]["status"], "UNCHECKED");
    }

    async fn an_unknown_node_id_is_bad_input_at_node_id(app: TestApp) {
        let body = app.gql(Some(&app.admin_token.clone()), NODE_MAPPING,
            json!({ "d": document(json!({})), "n": "ghost" })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "nodeId");
        let message = first_error(&body)["message"].as_str().unwrap();
        assert!(message.contains("ghost") && message.contains("`search`"), "{message}");
    }
}
