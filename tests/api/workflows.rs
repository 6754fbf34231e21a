use crate::*;

const UPDATE: &str =
    "mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) { version name document } }";

fn node(id: &str, ty: &str) -> Value {
    let config = match ty {
        "trigger" => json!({ "kind": "manual" }),
        "data-transform" | "condition" => json!({ "expr": "." }),
        _ => json!({}),
    };
    json!({ "id": id, "type": ty, "name": id, "config": config })
}

/// Asserts a document is rejected on create with `BAD_USER_INPUT`, a problem at `path`
/// whose message mentions `mention`, and no rows written.
async fn assert_rejected(app: &TestApp, document: Value, path: &str, mention: &str) {
    let before = app.row_counts().await;
    let body = app
        .gql(
            Some(&app.admin_token.clone()),
            CREATE_WORKFLOW,
            json!({ "i": { "name": "bad", "document": document } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    let problems = first_error(&body)["extensions"]["problems"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        problems
            .iter()
            .any(|p| p["path"] == path && p["message"].as_str().unwrap().contains(mention)),
        "no problem at {path} mentioning {mention}: {problems:#?}"
    );
    assert_eq!(
        app.row_counts().await,
        before,
        "a rejected workflow wrote rows"
    );
}

on_both_databases! {
    async fn a_workflow_can_be_created_read_updated_listed_and_deleted(app: TestApp) {
        let token = app.admin_token.clone();
        let id = create_workflow(&app, &token, "Orders").await;
        let read = app
            .as_ok(&token, "query($id: ID!) { workflow(id: $id) { name version myRole owner { email } document } }", json!({ "id": id }))
            .await;
        assert_eq!(read["workflow"]["version"], 1);
        assert_eq!(read["workflow"]["myRole"], "OWNER");
        assert_eq!(read["workflow"]["document"]["nodes"][1]["inputs"]["value"], json!({ "ref": "start.output.total" }));
        assert_eq!(read["workflow"]["document"]["edges"][1]["sourceHandle"], "true");

        let mut document = sample_document();
        document["nodes"][2]["name"] = json!("Finished");
        let updated = app.as_ok(&token, UPDATE, json!({ "i": { "id": id, "document": document } })).await;
        assert_eq!(updated["updateWorkflow"]["version"], 2);
        assert_eq!(updated["updateWorkflow"]["name"], "Orders");
        assert_eq!(updated["updateWorkflow"]["document"]["nodes"][2]["name"], "Finished");

        let versions = app
            .as_ok(&token, "query($id: ID!) { workflow(id: $id) { versions { edges { node { version document } } } } }", json!({ "id": id }))
            .await;
        let edges = versions["workflow"]["versions"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2);
        assert_eq!(edges[1]["node"]["document"]["nodes"][2]["name"], "Done");

        create_workflow(&app, &token, "Invoices").await;
        let list = app.as_ok(&token, "{ workflows(search: \"voice\") { edges { node { name } } } }", json!({})).await;
        assert_eq!(list["workflows"]["edges"], json!([{ "node": { "name": "Invoices" } }]));

        app.as_ok(&token, "mutation($id: ID!) { deleteWorkflow(input: { id: $id }) { deletedId } }", json!({ "id": id })).await;
        let gone = app.gql(Some(&token), "query($id: ID!) { workflow(id: $id) { name } }", json!({ "id": id })).await;
        assert_eq!(error_code(&gone), "NOT_FOUND");
        assert_eq!(app.row_counts().await["workflow_versions"], 1);
    }

    async fn saving_a_workflow_with_a_cycle_is_rejected_and_stores_nothing(app: TestApp) {
        let document = json!({ "version": 1,
            "nodes": [node("a", "data-transform"), node("b", "data-transform"), node("c", "data-transform")],
            "edges": [ { "source": "a", "target": "b" }, { "source": "b", "target": "c" }, { "source": "c", "target": "a" } ] });
        let before = app.row_counts().await;
        let body = app
            .gql(Some(&app.admin_token.clone()), CREATE_WORKFLOW, json!({ "i": { "name": "loop", "document": document } }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        let message = first_error(&body)["message"].as_str().unwrap().to_owned();
        assert!(message.contains("cycle"), "{message}");
        assert!(first_error(&body)["extensions"]["path"].as_str().unwrap().starts_with("input.document.edges["));
        assert_eq!(app.row_counts().await, before);
    }

    async fn a_dangling_edge_is_rejected_naming_the_missing_node(app: TestApp) {
        let document = json!({ "version": 1, "nodes": [node("a", "trigger")],
            "edges": [ { "source": "a", "target": "ghost" } ] });
        assert_rejected(&app, document, "input.document.edges[0].target", "ghost").await;
    }

    async fn an_unknown_node_type_is_rejected(app: TestApp) {
        let document = json!({ "version": 1, "nodes": [node("a", "teleport")], "edges": [] });
        assert_rejected(&app, document, "input.document.nodes[0].type", "teleport").await;
    }

    async fn a_duplicate_node_id_is_rejected(app: TestApp) {
        let document = json!({ "version": 1, "nodes": [node("a", "trigger"), node("a", "output")], "edges": [] });
        assert_rejected(&app, document, "input.document.nodes[1].id", "a").await;
    }

    async fn an_edge_from_a_handle_the_node_does_not_have_is_rejected(app: TestApp) {
        let document = json!({ "version": 1, "nodes": [node("a", "trigger"), node("b", "output")],
            "edges": [ { "source": "a", "sourceHandle": "true", "target": "b" } ] });
        assert_rejected(&app, document, "input.document.edges[0].sourceHandle", "true").await;
    }

    async fn a_custom_node_needs_a_tool_the_caller_has(app: TestApp) {
        let missing = uuid::Uuid::now_v7().to_string();
        let document = json!({ "version": 1, "nodes": [
            { "id": "t", "type": "custom", "name": "Tool", "config": { "toolId": missing } } ], "edges": [] });
        assert_rejected(&app, document, "input.document.nodes[0].config.toolId", &missing).await;

        let tool = app.admin_ok(
            "mutation { createTool(input: { name: \"Echo\", kind: API }) { id } }", json!({})).await;
        let global = tool["createTool"]["id"].as_str().unwrap();
        let rows = app.db.query_all_raw(sea_orm::Statement::from_string(app.backend(), "SELECT id FROM custom_tools".to_owned())).await.unwrap();
        let raw_id: String = rows[0].try_get("", "id").unwrap();
        assert_ne!(global, raw_id);
        let document = json!({ "version": 1, "nodes": [
            { "id": "t", "type": "custom", "name": "Tool", "config": { "toolId": raw_id } } ], "edges": [] });
        app.admin_ok(CREATE_WORKFLOW, json!({ "i": { "name": "uses tool", "document": document } })).await;
    }

    async fn names_over_one_hundred_characters_are_rejected_everywhere(app: TestApp) {
        let long = "n".repeat(101);
        let before = app.row_counts().await;
        for (query, path) in [
            ("mutation($n: String!) { createTool(input: { name: $n, kind: CODE }) { id } }", "input.name"),
            ("mutation($n: String!, $d: JSON!) { createWorkflow(input: { name: $n, document: $d }) { id } }", "input.name"),
            ("mutation($n: String!, $d: JSON!) { createTemplate(input: { name: $n, document: $d }) { id } }", "input.name"),
        ] {
            let body = app.gql(Some(&app.admin_token.clone()), query, json!({ "n": long, "d": sample_document() })).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
            assert_eq!(first_error(&body)["extensions"]["path"], path);
            assert!(first_error(&body)["message"].as_str().unwrap().contains("100"));
        }
        let mut document = sample_document();
        document["nodes"][0]["name"] = json!(long);
        assert_rejected(&app, document, "input.document.nodes[0].name", "100").await;
        assert_eq!(app.row_counts().await, before);
    }

    async fn a_failed_update_leaves_the_workflow_as_it_was(app: TestApp) {
        let token = app.admin_token.clone();
        let id = create_workflow(&app, &token, "Keep me").await;
        let before = app.row_counts().await;
        let broken = json!({ "version": 1, "nodes": [node("a", "trigger")], "edges": [ { "source": "a", "target": "a" } ] });
        let body = app.gql(Some(&token), UPDATE, json!({ "i": { "id": id, "name": "Renamed", "document": broken } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(app.row_counts().await, before);
        let read = app.as_ok(&token, "query($id: ID!) { workflow(id: $id) { name version document } }", json!({ "id": id })).await;
        assert_eq!(read["workflow"]["name"], "Keep me");
        assert_eq!(read["workflow"]["version"], 1);
        assert_eq!(read["workflow"]["document"]["nodes"].as_array().unwrap().len(), 3);
    }

    async fn a_stale_expected_version_is_a_conflict(app: TestApp) {
        let token = app.admin_token.clone();
        let id = create_workflow(&app, &token, "Shared doc").await;
        app.as_ok(&token, UPDATE, json!({ "i": { "id": id, "name": "First", "expectedVersion": 1 } })).await;
        let before = app.row_counts().await;
        let stale = app.gql(Some(&token), UPDATE, json!({ "i": { "id": id, "name": "Second", "expectedVersion": 1 } })).await;
        assert_eq!(error_code(&stale), "CONFLICT");
        assert_eq!(app.row_counts().await, before);
    }

    async fn validate_workflow_lists_every_problem_without_saving(app: TestApp) {
        let document = json!({ "version": 1, "nodes": [node("a", "teleport"), node("a", "trigger")],
            "edges": [ { "source": "a", "target": "nowhere" } ] });
        let before = app.row_counts().await;
        let data = app.admin_ok("query($d: JSON!) { validateWorkflow(document: $d) { valid problems { path message } } }", json!({ "d": document })).await;
        assert_eq!(data["validateWorkflow"]["valid"], false);
        let paths: Vec<_> = data["validateWorkflow"]["problems"].as_array().unwrap().iter()
            .map(|p| p["path"].as_str().unwrap().to_owned()).collect();
        for expected in ["nodes[0].type", "nodes[1].id", "edges[0].target"] {
            assert!(paths.iter().any(|p| p == expected), "{expected} missing from {paths:?}");
        }
        let good = app.admin_ok("query($d: JSON!) { validateWorkflow(document: $d) { valid problems { path } } }", json!({ "d": sample_document() })).await;
        assert_eq!(good["validateWorkflow"], json!({ "valid": true, "problems": [] }));
        assert_eq!(app.row_counts().await, before);
    }

    async fn an_exported_workflow_imports_as_an_equal_copy(app: TestApp) {
        let token = app.admin_token.clone();
        let id = create_workflow(&app, &token, "Portable").await;
        let exported = app.as_ok(&token, "mutation($id: ID!) { exportWorkflow(input: { id: $id }) { name description document } }", json!({ "id": id })).await;
        let imported = app
            .as_ok(&token, "mutation($w: JSON!) { importWorkflow(input: { workflow: $w }) { id name document } }", json!({ "w": exported["exportWorkflow"] }))
            .await;
        assert_eq!(imported["importWorkflow"]["name"], "Portable");
        assert_ne!(imported["importWorkflow"]["id"], json!(id));
        assert_eq!(imported["importWorkflow"]["document"], exported["exportWorkflow"]["document"]);

        let before = app.row_counts().await;
        let bad = app.gql(Some(&token), "mutation($w: JSON!) { importWorkflow(input: { workflow: $w }) { id } }", json!({ "w": { "name": "x" } })).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
        assert_eq!(first_error(&bad)["extensions"]["path"], "input.workflow.document");
        assert_eq!(app.row_counts().await, before);
    }

    async fn the_palette_lists_every_built_in_node_type_with_schemas(app: TestApp) {
        let data = app.admin_ok("{ nodeTypes { type category icon description inputSchema outputSchema handles } }", json!({})).await;
        let types: Vec<_> = data["nodeTypes"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap().to_owned()).collect();
        for expected in ["trigger", "llm-agent", "data-transform", "condition", "api-call", "web-search", "database-query", "webhook", "custom", "output"] {
            assert!(types.iter().any(|t| t == expected), "{expected} missing");
        }
        let condition = data["nodeTypes"].as_array().unwrap().iter().find(|t| t["type"] == "condition").unwrap();
        let handles: Vec<_> = condition["handles"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
        assert!(handles.contains(&"true") && handles.contains(&"false") && handles.contains(&"error"));
        for t in data["nodeTypes"].as_array().unwrap() {
            assert!(t["inputSchema"].is_object() && t["outputSchema"].is_object(), "{t}");
            assert!(!t["description"].as_str().unwrap().is_empty());
        }
    }

    async fn searching_by_name_matches_wildcard_characters_literally(app: TestApp) {
        let token = app.admin_token.clone();
        create_workflow(&app, &token, "100% done").await;
        create_workflow(&app, &token, "1000 done").await;
        create_workflow(&app, &token, "a_b").await;
        create_workflow(&app, &token, "axb").await;
        for (search, expected) in [("0%", "100% done"), ("a_b", "a_b")] {
            let list = app.as_ok(&token, "query($s: String) { workflows(search: $s) { edges { node { name } } } }", json!({ "s": search })).await;
            assert_eq!(list["workflows"]["edges"], json!([{ "node": { "name": expected } }]), "search {search}");
        }
    }

    async fn executions_are_listed_empty_before_anything_ran(app: TestApp) {
        let data = app.admin_ok("{ executions(status: FAILED) { edges { node { id } } pageInfo { hasNextPage } } }", json!({})).await;
        assert_eq!(data["executions"]["edges"], json!([]));
        assert_eq!(data["executions"]["pageInfo"]["hasNextPage"], false);
    }
}

on_both_databases! {
    async fn a_webhook_or_saved_query_that_does_not_exist_is_refused_at_save(app: TestApp) {
        for (node_type, field, what) in [
            ("webhook", "webhookId", "webhook"),
            ("database-query", "queryId", "database query"),
        ] {
            let missing = uuid::Uuid::now_v7().to_string();
            let document = json!({
                "version": 1,
                "nodes": [
                    { "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } },
                    { "id": "step", "type": node_type, "name": "Step", "config": { field: missing } }
                ],
                "edges": [{ "source": "start", "target": "step" }]
            });
            assert_rejected(
                &app,
                document,
                &format!("input.document.nodes[1].config.{field}"),
                &format!("{what} `{missing}` does not exist"),
            )
            .await;
        }
    }
}
