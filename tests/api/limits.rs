use crate::*;

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
}
