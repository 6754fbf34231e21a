use crate::*;

use crate::engine::{edge, run, save, transform, trigger};

const VALIDATE: &str =
    "query($d: JSON!) { validateWorkflow(document: $d) { valid problems { path message } } }";

/// A trigger, then a data-transform whose config and `data` input are `config_expr` and
/// `data_expr`.
fn transform_document(config_expr: &str, data_expr: &str) -> Value {
    json!({ "version": 1,
        "nodes": [trigger(), transform("t", config_expr, json!({ "expr": data_expr }))],
        "edges": [edge("start", "t")] })
}

on_both_databases! {
    async fn a_malformed_id_is_bad_input_naming_the_argument(app: TestApp) {
        for bad in ["not-an-id", "V29ya2Zsb3c6MQ", ""] {
            let body = app.gql(Some(&app.admin_token.clone()), "query($id: ID!) { workflow(id: $id) { name } }", json!({ "id": bad })).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{bad}: {body:#}");
            assert_eq!(first_error(&body)["extensions"]["path"], "id");
        }
        let tool_id = app.admin_ok("mutation { createTool(input: { name: \"T\", kind: API }) { id } }", json!({})).await;
        let wrong_kind = app
            .gql(Some(&app.admin_token.clone()), "mutation($id: ID!) { deleteWorkflow(input: { id: $id }) { deletedId } }",
                json!({ "id": tool_id["createTool"]["id"] }))
            .await;
        assert_eq!(error_code(&wrong_kind), "BAD_USER_INPUT");
        assert_eq!(first_error(&wrong_kind)["extensions"]["path"], "input.id");
        let bad_cursor = app.gql(Some(&app.admin_token.clone()), "{ tools(after: \"zzz\") { edges { cursor } } }", json!({})).await;
        assert_eq!(first_error(&bad_cursor)["extensions"]["path"], "after");
        let too_many = app.gql(Some(&app.admin_token.clone()), "{ tools(first: 1000) { edges { cursor } } }", json!({})).await;
        assert_eq!(error_code(&too_many), "BAD_USER_INPUT", "{too_many:#}");
        assert_eq!(first_error(&too_many)["extensions"]["path"], "first");
    }

    async fn a_query_nested_past_the_depth_limit_is_refused(app: TestApp) {
        let deep = "{ workflows(first: 5) { edges { node { versions(first: 5) { edges { node { createdBy { id } } } } owner { id } } } } }";
        app.admin_ok(deep, json!({})).await;
        // Introspection lets a client nest without bound; the depth limit stops it.
        let query = format!("{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}", "ofType { ".repeat(12), "} ".repeat(12));
        let body = app.gql(Some(&app.admin_token.clone()), &query, json!({})).await;
        assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body:#}");
        assert!(first_error(&body)["message"].as_str().unwrap().contains("too deep"));
    }

    async fn a_query_past_the_complexity_limit_is_refused(app: TestApp) {
        let body = app
            .gql(Some(&app.admin_token.clone()),
                "{ workflows(first: 100) { edges { node { id name description document version createdAt updatedAt owner { id email name } versions(first: 100) { edges { node { version document } } } } } } }",
                json!({}))
            .await;
        assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{body:#}");
        assert!(first_error(&body)["message"].as_str().unwrap().contains("complex"));
    }

    async fn a_thousand_aliases_of_one_field_are_refused_before_running(app: TestApp) {
        let aliases: String = (0..1000).map(|i| format!("a{i}: nodeTypes {{ type }} ")).collect();
        let body = app.gql(Some(&app.admin_token.clone()), &format!("{{ {aliases} }}"), json!({})).await;
        assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED", "{}", &body.to_string()[..300.min(body.to_string().len())]);
        assert!(body["data"].is_null());
    }

    async fn a_document_that_does_not_parse_gets_a_parse_error_code(app: TestApp) {
        let body = app.gql(Some(&app.admin_token.clone()), "{ workflows { ", json!({})).await;
        assert_eq!(error_code(&body), "GRAPHQL_PARSE_FAILED");
        let body = app.gql(Some(&app.admin_token.clone()), "{ noSuchField }", json!({})).await;
        assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");
        let body = app.gql(Some(&app.admin_token.clone()), "query($d: JSON!) { validateWorkflow(document: $d) { valid } }", json!({})).await;
        assert!(error_code(&body) == "GRAPHQL_VALIDATION_FAILED" || error_code(&body) == "BAD_USER_INPUT", "{body:#}");
    }

    async fn expressions_nested_a_hundred_thousand_deep_are_bad_input_and_the_server_keeps_serving(app: TestApp) {
        let token = app.admin_token.clone();
        let before = app.row_counts().await;
        for (open, close) in [("(", ")"), ("[", "]"), ("{a:", "}")] {
            let deep = format!("{}.{}", open.repeat(100_000), close.repeat(100_000));
            for (document, path) in [
                (transform_document(".", &deep), "nodes[1].inputs.data.expr"),
                (transform_document(&deep, "."), "nodes[1].config.expr"),
            ] {
                let body = app.admin_ok(VALIDATE, json!({ "d": document })).await;
                assert_eq!(body["validateWorkflow"]["valid"], false);
                let problem = &body["validateWorkflow"]["problems"][0];
                assert_eq!(problem["path"], path, "{problem:#}");
                assert!(problem["message"].as_str().unwrap().contains("more than the limit"), "{problem:#}");

                let body = app
                    .gql(Some(&token), "mutation($d: JSON!) { createWorkflow(input: { name: \"deep\", document: $d }) { id } }", json!({ "d": document }))
                    .await;
                assert_eq!(error_code(&body), "BAD_USER_INPUT", "{open}");
                assert_eq!(first_error(&body)["extensions"]["path"], format!("input.document.{path}"));
            }
        }
        // Within the size limit, the nesting itself is named, with its place.
        let nested = format!("{}.{}", "[".repeat(1_000), "]".repeat(1_000));
        let body = app.admin_ok(VALIDATE, json!({ "d": transform_document(".", &nested) })).await;
        let message = body["validateWorkflow"]["problems"][0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("nests brackets more than 128 levels deep at line 1, column 129"), "{message}");
        assert_eq!(app.row_counts().await, before);
        app.admin_ok("{ viewer { id } }", json!({})).await;
    }

    async fn a_template_nested_a_hundred_thousand_deep_is_bad_input(app: TestApp) {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
        let document = json!({ "version": 1,
            "nodes": [trigger(), { "id": "t", "type": "data-transform", "name": "t", "config": { "expr": "." },
                                   "inputs": { "data": { "template": deep } } }],
            "edges": [edge("start", "t")] });
        let body = app.admin_ok(VALIDATE, json!({ "d": document })).await;
        assert_eq!(body["validateWorkflow"]["problems"][0]["path"], "nodes[1].inputs.data.template");
        app.admin_ok("{ viewer { id } }", json!({})).await;
    }

    async fn operations_that_would_allocate_past_the_output_budget_fail_their_node_with_a_size_error(app: TestApp) {
        for (expr, operation) in [
            ("\"x\" * 100000000000", "`*`"),
            ("reduce range(40) as $i (\"x\"; . + .)", "`+`"),
            ("reduce range(40) as $i (0; [., .]) | tojson", "`tojson`"),
            ("[range(30)] | map(\"x\" * 1000000) | join(\",\")", "`+`"),
        ] {
            let workflow = save(&app, vec![trigger(), transform("t", expr, json!({ "ref": "start.output" }))], vec![edge("start", "t")]).await;
            let execution = run(&app, &workflow, json!({})).await;
            assert_eq!(execution["status"], "FAILED", "{expr}: {execution:#}");
            let error = execution["nodeRuns"][1]["error"].as_str().unwrap();
            assert!(error.contains(&format!("{operation} would build a value of about")), "{expr}: {error}");
            assert!(error.contains("more than the limit of 16777216 bytes"), "{error}");
        }
        app.admin_ok("{ viewer { id } }", json!({})).await;
    }
}
