use crate::*;

const CREATE_TOOL: &str = "mutation($i: CreateToolInput!) {
    createTool(input: $i) { id name kind version category icon inputSchema outputSchema } }";

fn tool_input(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Looks up a customer",
        "category": "crm",
        "icon": "user",
        "kind": "CODE",
        "inputSchema": { "type": "object", "properties": { "id": { "type": "string" } }, "required": ["id"] },
        "outputSchema": { "type": "object", "properties": { "name": { "type": "string" } } },
        "config": { "language": "javascript", "source": "export default function run(i) { return i }" }
    })
}

on_both_databases! {
    async fn a_tool_can_be_created_read_updated_listed_and_deleted(app: TestApp) {
        let token = app.admin_token.clone();
        let created = app.as_ok(&token, CREATE_TOOL, json!({ "i": tool_input("Lookup") })).await;
        let tool = &created["createTool"];
        assert_eq!(tool["name"], "Lookup");
        assert_eq!(tool["kind"], "CODE");
        assert_eq!(tool["version"], 1);
        assert_eq!(tool["inputSchema"]["required"], json!(["id"]));
        let id = tool["id"].as_str().unwrap();

        let read = app.as_ok(&token, "query($id: ID!) { tool(id: $id) { name category owner { email } } }", json!({ "id": id })).await;
        assert_eq!(read["tool"]["category"], "crm");
        assert_eq!(read["tool"]["owner"]["email"], "admin@localhost");

        let updated = app
            .as_ok(&token,
                "mutation($i: UpdateToolInput!) { updateTool(input: $i) { name version description } }",
                json!({ "i": { "id": id, "name": "Customer lookup" } }))
            .await;
        assert_eq!(updated["updateTool"]["version"], 2);
        assert_eq!(updated["updateTool"]["description"], "Looks up a customer");

        let versions = app
            .as_ok(&token, "query($id: ID!) { tool(id: $id) { versions { edges { node { version name } } } } }", json!({ "id": id }))
            .await;
        let names: Vec<_> = versions["tool"]["versions"]["edges"].as_array().unwrap().iter()
            .map(|e| (e["node"]["version"].as_i64().unwrap(), e["node"]["name"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(names, vec![(2, "Customer lookup".to_owned()), (1, "Lookup".to_owned())]);

        let by_node = app.as_ok(&token, "query($id: ID!) { node(id: $id) { id ... on Tool { name } } }", json!({ "id": id })).await;
        assert_eq!(by_node["node"]["name"], "Customer lookup");

        let deleted = app.as_ok(&token, "mutation($id: ID!) { deleteTool(input: { id: $id }) { deletedId } }", json!({ "id": id })).await;
        assert_eq!(deleted["deleteTool"]["deletedId"], id);
        let gone = app.gql(Some(&token), "query($id: ID!) { tool(id: $id) { name } }", json!({ "id": id })).await;
        assert_eq!(error_code(&gone), "NOT_FOUND");
        assert_eq!(app.row_counts().await["tool_versions"], 0);
    }

    async fn tools_page_through_with_cursors_without_gaps_or_repeats(app: TestApp) {
        let token = app.admin_token.clone();
        for i in 0..7 {
            app.as_ok(&token, CREATE_TOOL, json!({ "i": tool_input(&format!("tool {i}")) })).await;
        }
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = app
                .as_ok(&token,
                    "query($after: String) { tools(first: 3, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }",
                    json!({ "after": after }))
                .await;
            for edge in page["tools"]["edges"].as_array().unwrap() {
                seen.push(edge["node"]["name"].as_str().unwrap().to_owned());
            }
            if !page["tools"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = page["tools"]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        let expected: Vec<String> = (0..7).rev().map(|i| format!("tool {i}")).collect();
        assert_eq!(seen, expected);
    }

    async fn a_tool_with_an_invalid_json_schema_is_rejected_and_stores_nothing(app: TestApp) {
        let token = app.admin_token.clone();
        let before = app.row_counts().await;
        let mut input = tool_input("Broken");
        input["inputSchema"] = json!({ "type": "no-such-type" });
        let body = app.gql(Some(&token), CREATE_TOOL, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "input.inputSchema");
        assert!(first_error(&body)["message"].as_str().unwrap().contains("JSON Schema"));

        let mut input = tool_input("Broken");
        input["outputSchema"] = json!({ "properties": { "x": { "pattern": "([unclosed" } } });
        let body = app.gql(Some(&token), CREATE_TOOL, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "input.outputSchema");
        assert_eq!(app.row_counts().await, before);
    }

    async fn a_failed_tool_update_keeps_the_stored_tool_and_its_versions(app: TestApp) {
        let token = app.admin_token.clone();
        let created = app.as_ok(&token, CREATE_TOOL, json!({ "i": tool_input("Stable") })).await;
        let id = created["createTool"]["id"].as_str().unwrap();
        let before = app.row_counts().await;
        let body = app
            .gql(Some(&token),
                "mutation($i: UpdateToolInput!) { updateTool(input: $i) { version } }",
                json!({ "i": { "id": id, "name": "x".repeat(101), "inputSchema": 42 } }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        let problems = first_error(&body)["extensions"]["problems"].as_array().unwrap().clone();
        let paths: Vec<_> = problems.iter().map(|p| p["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"input.name") && paths.contains(&"input.inputSchema"), "{paths:?}");
        assert_eq!(app.row_counts().await, before);
        let read = app.as_ok(&token, "query($id: ID!) { tool(id: $id) { name version } }", json!({ "id": id })).await;
        assert_eq!(read["tool"], json!({ "name": "Stable", "version": 1 }));
    }

    async fn another_users_tool_is_not_found(app: TestApp) {
        let created = app.admin_ok(CREATE_TOOL, json!({ "i": tool_input("Private") })).await;
        let id = created["createTool"]["id"].as_str().unwrap();
        let bob = app.new_user("bob@example.com").await;
        let body = app.gql(Some(&bob), "query($id: ID!) { tool(id: $id) { name } }", json!({ "id": id })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        let list = app.as_ok(&bob, "{ tools { edges { node { name } } } }", json!({})).await;
        assert_eq!(list["tools"]["edges"], json!([]));
        let delete = app.gql(Some(&bob), "mutation($id: ID!) { deleteTool(input: { id: $id }) { deletedId } }", json!({ "id": id })).await;
        assert_eq!(error_code(&delete), "NOT_FOUND");
    }
}
