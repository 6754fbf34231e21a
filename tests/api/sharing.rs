use crate::*;

const READ: &str = "query($id: ID!) { workflow(id: $id) { name myRole } }";
const RENAME: &str =
    "mutation($id: ID!) { updateWorkflow(input: { id: $id, name: \"Renamed\" }) { name } }";
const SHARE: &str = "mutation($id: ID!, $email: String!, $role: ShareRole!) {
    shareWorkflow(input: { workflowId: $id, userEmail: $email, role: $role }) { role user { email } } }";

on_both_databases! {
    async fn another_users_unshared_workflow_is_neither_readable_nor_changeable(app: TestApp) {
        let alice = app.new_user("alice@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let id = create_workflow(&app, &alice, "Alice's flow").await;
        let before = app.row_counts().await;

        let read = app.gql(Some(&bob), READ, json!({ "id": id })).await;
        assert_eq!(error_code(&read), "NOT_FOUND");
        assert!(!read.to_string().contains("Alice's flow"));
        let rename = app.gql(Some(&bob), RENAME, json!({ "id": id })).await;
        assert_eq!(error_code(&rename), "NOT_FOUND");
        let delete = app.gql(Some(&bob), "mutation($id: ID!) { deleteWorkflow(input: { id: $id }) { deletedId } }", json!({ "id": id })).await;
        assert_eq!(error_code(&delete), "NOT_FOUND");
        let node = app.gql(Some(&bob), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_code(&node), "NOT_FOUND");
        let list = app.as_ok(&bob, "{ workflows { edges { node { name } } } }", json!({})).await;
        assert_eq!(list["workflows"]["edges"], json!([]));
        let share = app.gql(Some(&bob), SHARE, json!({ "id": id, "email": "bob@example.com", "role": "EDITOR" })).await;
        assert_eq!(error_code(&share), "NOT_FOUND");
        assert_eq!(app.row_counts().await, before);
    }

    async fn shares_grant_exactly_their_role(app: TestApp) {
        let alice = app.new_user("alice@example.com").await;
        let bob = app.new_user("bob@example.com").await;
        let id = create_workflow(&app, &alice, "Team flow").await;

        let shared = app.as_ok(&alice, SHARE, json!({ "id": id, "email": "bob@example.com", "role": "VIEWER" })).await;
        assert_eq!(shared["shareWorkflow"]["user"]["email"], "bob@example.com");
        let read = app.as_ok(&bob, READ, json!({ "id": id })).await;
        assert_eq!(read["workflow"], json!({ "name": "Team flow", "myRole": "VIEWER" }));
        let list = app.as_ok(&bob, "{ workflows { edges { node { name } } } }", json!({})).await;
        assert_eq!(list["workflows"]["edges"].as_array().unwrap().len(), 1);

        let before = app.row_counts().await;
        let rename = app.gql(Some(&bob), RENAME, json!({ "id": id })).await;
        assert_eq!(error_code(&rename), "FORBIDDEN");
        assert!(first_error(&rename)["message"].as_str().unwrap().contains("viewer"));
        // A viewer cannot reshare either.
        let reshare = app.gql(Some(&bob), SHARE, json!({ "id": id, "email": "bob@example.com", "role": "EDITOR" })).await;
        assert_eq!(error_code(&reshare), "FORBIDDEN");
        assert_eq!(app.row_counts().await, before);

        app.as_ok(&alice, SHARE, json!({ "id": id, "email": "bob@example.com", "role": "EDITOR" })).await;
        let renamed = app.as_ok(&bob, RENAME, json!({ "id": id })).await;
        assert_eq!(renamed["updateWorkflow"]["name"], "Renamed");
        let delete = app.gql(Some(&bob), "mutation($id: ID!) { deleteWorkflow(input: { id: $id }) { deletedId } }", json!({ "id": id })).await;
        assert_eq!(error_code(&delete), "FORBIDDEN");

        let shares = app.as_ok(&alice, "query($id: ID!) { workflow(id: $id) { shares { role user { email } } } }", json!({ "id": id })).await;
        assert_eq!(shares["workflow"]["shares"], json!([{ "role": "EDITOR", "user": { "email": "bob@example.com" } }]));

        let removed = app.as_ok(&alice, "mutation($id: ID!) { unshareWorkflow(input: { workflowId: $id, userEmail: \"bob@example.com\" }) { removed } }", json!({ "id": id })).await;
        assert_eq!(removed["unshareWorkflow"]["removed"], true);
        let read = app.gql(Some(&bob), READ, json!({ "id": id })).await;
        assert_eq!(error_code(&read), "NOT_FOUND");
    }

    async fn sharing_with_an_unknown_email_is_bad_input(app: TestApp) {
        let alice = app.new_user("alice@example.com").await;
        let id = create_workflow(&app, &alice, "Flow").await;
        let before = app.row_counts().await;
        let body = app.gql(Some(&alice), SHARE, json!({ "id": id, "email": "nobody@example.com", "role": "VIEWER" })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "input.userEmail");
        assert_eq!(app.row_counts().await, before);
    }
}
