//! Credentials are write-only: stored encrypted, used by reference, never read back.

use axum::http::HeaderMap;
use axum::routing::get;

use crate::engine::{edge, run, save, trigger};
use crate::*;

const CREATE: &str =
    "mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id uuid name kind } }";
const SECRET: &str = "tok-4f1c9a7e2b-super-secret";

async fn echo_auth(headers: HeaderMap) -> axum::Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Echoing the token back is what a careless API might do; Weft must still not store it.
    axum::Json(json!({ "sawBearer": auth.starts_with("Bearer "), "echo": auth }))
}

on_both_databases! {
    async fn a_credential_is_used_by_reference_and_its_secret_is_never_readable_or_stored(app: TestApp) {
        let created = app.admin_ok(CREATE, json!({ "i": { "name": "Orders API", "kind": "bearer", "secret": { "token": SECRET } } })).await;
        let credential = &created["createCredential"];
        assert_eq!(credential["kind"], "bearer");
        let listed = app.admin_ok("{ credentials { edges { node { name kind } } } }", json!({})).await;
        assert!(!listed.to_string().contains(SECRET));

        let base = weft_e2e::serve(axum::Router::new().route("/orders", get(echo_auth))).await;
        let wf = save(&app, vec![trigger(), json!({ "id": "fetch", "type": "api-call", "name": "fetch",
            "config": { "method": "GET", "url": format!("{base}/orders"), "credentialId": credential["uuid"] } })],
            vec![edge("start", "fetch")]).await;
        let execution = run(&app, &wf, json!({})).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert!(!execution.to_string().contains(SECRET), "the secret leaked into the execution: {execution}");
        let fetch = execution["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "fetch").unwrap().clone();
        assert_eq!(fetch["output"]["body"]["sawBearer"], true);

        // Nothing in storage holds the plain secret.
        for table in ["credentials", "node_executions", "execution_events", "workflow_executions"] {
            let rows = app.db.query_all_raw(sea_orm::Statement::from_string(app.backend(), format!("SELECT * FROM {table}"))).await.unwrap();
            for row in rows {
                let text = format!("{row:?}");
                assert!(!text.contains(SECRET), "{table} stores the secret");
            }
        }
    }

    async fn a_credential_with_missing_fields_is_rejected_and_stores_nothing(app: TestApp) {
        let before = app.row_counts().await;
        let body = app.gql(Some(&app.admin_token.clone()), CREATE, json!({ "i": { "name": "broken", "kind": "basic", "secret": { "username": "ada" } } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert!(first_error(&body)["extensions"]["path"].as_str().unwrap().starts_with("input.secret"));
        let body = app.gql(Some(&app.admin_token.clone()), CREATE, json!({ "i": { "name": "weird", "kind": "telepathy", "secret": {} } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(app.row_counts().await, before);
    }
}
