//! Palette favourites and recents live on the server, per user.

use crate::*;

const SET_FAVORITE: &str = "mutation($i: SetToolFavoriteInput!) {
    setToolFavorite(input: $i) { nodeType toolId tool { name } at } }";
const RECORD_PLACEMENT: &str = "mutation($i: RecordToolPlacementInput!) {
    recordToolPlacement(input: $i) { nodeType toolId tool { name } at } }";
const LISTS: &str = "{ viewer { favoriteTools { nodeType toolId tool { name } }
    recentTools { nodeType toolId tool { name } } } }";

async fn create_tool(app: &TestApp, token: &str, name: &str) -> String {
    let data = app
        .as_ok(
            token,
            "mutation($i: CreateToolInput!) { createTool(input: $i) { id } }",
            json!({ "i": {
                "name": name, "description": "", "category": "utility", "icon": "wrench",
                "kind": "CODE",
                "inputSchema": { "type": "object" }, "outputSchema": { "type": "object" },
                "config": { "language": "javascript",
                            "source": "export default function run(i) { return i }" } } }),
        )
        .await;
    data["createTool"]["id"].as_str().unwrap().to_owned()
}

/// `(nodeType, toolId or "")` of each entry of a list.
fn entries(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .map(|e| {
            (
                e["nodeType"].as_str().unwrap().to_owned(),
                e["toolId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn builtin(node_type: &str) -> (String, String) {
    (node_type.to_owned(), String::new())
}

fn custom(tool_id: &str) -> (String, String) {
    ("custom".to_owned(), tool_id.to_owned())
}

async fn lists(app: &TestApp, token: &str) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let data = app.as_ok(token, LISTS, json!({})).await;
    (
        entries(&data["viewer"]["favoriteTools"]),
        entries(&data["viewer"]["recentTools"]),
    )
}

on_both_databases! {
    async fn starring_and_unstarring_entries_updates_the_favorites_newest_first(app: TestApp) {
        let token = app.new_user("ada@example.com").await;
        let tool = create_tool(&app, &token, "Lookup").await;

        let first = app.as_ok(&token, SET_FAVORITE, json!({ "i": { "nodeType": "api-call", "favorite": true } })).await;
        assert_eq!(entries(&first["setToolFavorite"]), [builtin("api-call")]);
        let second = app.as_ok(&token, SET_FAVORITE, json!({ "i": { "nodeType": "custom", "toolId": tool, "favorite": true } })).await;
        assert_eq!(entries(&second["setToolFavorite"]), [custom(&tool), builtin("api-call")]);
        assert_eq!(second["setToolFavorite"][0]["tool"]["name"], "Lookup");

        // Starring again changes nothing, not even the order.
        let again = app.as_ok(&token, SET_FAVORITE, json!({ "i": { "nodeType": "api-call", "favorite": true } })).await;
        assert_eq!(entries(&again["setToolFavorite"]), [custom(&tool), builtin("api-call")]);

        let unstarred = app.as_ok(&token, SET_FAVORITE, json!({ "i": { "nodeType": "custom", "toolId": tool, "favorite": false } })).await;
        assert_eq!(entries(&unstarred["setToolFavorite"]), [builtin("api-call")]);
        // The lists follow the user: a fresh request reads them back from the server.
        assert_eq!(lists(&app, &token).await, (vec![builtin("api-call")], vec![]));
        assert_eq!(app.row_counts().await["palette_entries"], 1, "an unstarred, unplaced entry leaves no row");
    }

    async fn recents_are_most_recent_first_distinct_and_capped_at_eight(app: TestApp) {
        let token = app.new_user("ada@example.com").await;
        let tool = create_tool(&app, &token, "Lookup").await;
        app.as_ok(&token, SET_FAVORITE, json!({ "i": { "nodeType": "trigger", "favorite": true } })).await;

        let placed = ["trigger", "api-call", "condition", "output", "web-search", "webhook",
                      "llm-agent", "data-transform", "database-query"];
        for node_type in placed {
            app.as_ok(&token, RECORD_PLACEMENT, json!({ "i": { "nodeType": node_type } })).await;
        }
        let data = app.as_ok(&token, RECORD_PLACEMENT, json!({ "i": { "nodeType": "custom", "toolId": tool } })).await;
        let mut expected = vec![custom(&tool)];
        expected.extend(placed.iter().rev().take(7).map(|t| builtin(t)));
        assert_eq!(entries(&data["recordToolPlacement"]), expected);

        // Placing an entry again moves it to the front instead of listing it twice.
        let data = app.as_ok(&token, RECORD_PLACEMENT, json!({ "i": { "nodeType": "output" } })).await;
        let recents = entries(&data["recordToolPlacement"]);
        assert_eq!(recents.len(), 8);
        assert_eq!(recents[0], builtin("output"));
        assert_eq!(recents.iter().filter(|e| **e == builtin("output")).count(), 1);
        assert_eq!(recents[1], custom(&tool));

        // Trimmed rows are gone, except the favourite that fell off the recents.
        let (favorites, listed) = lists(&app, &token).await;
        assert_eq!(favorites, [builtin("trigger")]);
        assert_eq!(listed, recents);
        assert_eq!(app.row_counts().await["palette_entries"], 9);
    }

    async fn another_user_sees_neither_list_and_keeps_their_own(app: TestApp) {
        let ada = app.new_user("ada@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let tool = create_tool(&app, &ada, "Lookup").await;
        app.as_ok(&ada, SET_FAVORITE, json!({ "i": { "nodeType": "custom", "toolId": tool, "favorite": true } })).await;
        app.as_ok(&ada, RECORD_PLACEMENT, json!({ "i": { "nodeType": "condition" } })).await;

        assert_eq!(lists(&app, &bob).await, (vec![], vec![]));
        // The administrator can reach Ada through her tool, but not her lists.
        let admin_view = app.admin_ok(
            "query($id: ID!) { tool(id: $id) { owner { email favoriteTools { nodeType } recentTools { nodeType } } } }",
            json!({ "id": tool })).await;
        let owner = &admin_view["tool"]["owner"];
        assert_eq!(owner["email"], "ada@example.com");
        assert_eq!(owner["favoriteTools"], json!([]));
        assert_eq!(owner["recentTools"], json!([]));
        assert_eq!(lists(&app, &ada).await, (vec![custom(&tool)], vec![builtin("condition")]));
    }

    async fn a_deleted_tool_disappears_from_both_lists(app: TestApp) {
        let token = app.new_user("ada@example.com").await;
        let tool = create_tool(&app, &token, "Lookup").await;
        app.as_ok(&token, SET_FAVORITE, json!({ "i": { "nodeType": "custom", "toolId": tool, "favorite": true } })).await;
        app.as_ok(&token, RECORD_PLACEMENT, json!({ "i": { "nodeType": "custom", "toolId": tool } })).await;
        app.as_ok(&token, RECORD_PLACEMENT, json!({ "i": { "nodeType": "output" } })).await;

        app.as_ok(&token, "mutation($id: ID!) { deleteTool(input: { id: $id }) { deletedId } }", json!({ "id": tool })).await;
        assert_eq!(lists(&app, &token).await, (vec![], vec![builtin("output")]));
    }

    async fn bad_palette_input_is_rejected_where_it_is_wrong_and_writes_nothing(app: TestApp) {
        let ada = app.new_user("ada@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let bobs_tool = create_tool(&app, &bob, "Private").await;
        let before = app.row_counts().await;

        let cases = [
            (json!({ "nodeType": "teleport" }), "BAD_USER_INPUT", "input.nodeType"),
            (json!({ "nodeType": "custom" }), "BAD_USER_INPUT", "input.toolId"),
            (json!({ "nodeType": "trigger", "toolId": bobs_tool }), "BAD_USER_INPUT", "input.toolId"),
            (json!({ "nodeType": "custom", "toolId": "not-an-id" }), "BAD_USER_INPUT", "input.toolId"),
            (json!({ "nodeType": "custom", "toolId": bobs_tool }), "NOT_FOUND", "input.toolId"),
        ];
        for (input, code, path) in cases {
            let mut favorite = input.clone();
            favorite["favorite"] = json!(true);
            for (mutation, input) in [(SET_FAVORITE, favorite), (RECORD_PLACEMENT, input)] {
                let body = app.gql(Some(&ada), mutation, json!({ "i": input })).await;
                assert_eq!(error_code(&body), code, "{input}: {body:#}");
                assert_eq!(first_error(&body)["extensions"]["path"], path, "{input}: {body:#}");
            }
        }
        assert_eq!(app.row_counts().await, before);
        assert_eq!(lists(&app, &ada).await, (vec![], vec![]));
    }
}
