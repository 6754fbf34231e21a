use crate::*;

on_both_databases! {
    async fn a_request_without_a_valid_token_is_unauthenticated_and_sees_no_data(app: TestApp) {
        create_workflow(&app, &app.admin_token.clone(), "secret flow").await;
        let query = "{ workflows { edges { node { name } } } }";
        let anonymous = app.gql(None, query, json!({})).await;
        assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
        assert!(anonymous["data"].is_null() || anonymous["data"]["workflows"].is_null());

        let forged = app.gql(Some("weft_0000000000000000000000000000000000000000"), query, json!({})).await;
        assert_eq!(error_code(&forged), "UNAUTHENTICATED");

        let basic = app
            .client
            .post(format!("{}/graphql", app.base_url))
            .header("authorization", format!("Basic {}", app.admin_token))
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(error_code(&basic), "UNAUTHENTICATED");
        assert!(!basic.to_string().contains("secret flow"));
    }

    async fn an_api_key_created_by_a_user_authenticates_as_that_user(app: TestApp) {
        let alice = app.new_user("alice@example.com").await;
        let data = app
            .as_ok(&alice, "mutation { createApiKey(input: { name: \"ci\" }) { token apiKey { name prefix } } }", json!({}))
            .await;
        let token = data["createApiKey"]["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with(data["createApiKey"]["apiKey"]["prefix"].as_str().unwrap()));
        let me = app.as_ok(&token, "{ viewer { email role } }", json!({})).await;
        assert_eq!(me["viewer"]["email"], "alice@example.com");
        assert_eq!(me["viewer"]["role"], "USER");

        // Tokens are stored hashed: the plain token appears nowhere in the database.
        let rows = app.db.query_all_raw(sea_orm::Statement::from_string(
            app.backend(), "SELECT token_hash FROM api_keys".to_owned())).await.unwrap();
        for row in rows {
            let hash: String = row.try_get("", "token_hash").unwrap();
            assert_ne!(hash, token);
            assert_eq!(hash.len(), 64);
        }
    }

    async fn an_expired_api_key_is_refused(app: TestApp) {
        let past = app
            .gql(Some(&app.admin_token.clone()),
                "mutation { createApiKey(input: { name: \"old\", expiresAt: \"2001-01-01T00:00:00Z\" }) { token } }",
                json!({}))
            .await;
        assert_eq!(error_code(&past), "BAD_USER_INPUT");
        assert_eq!(first_error(&past)["extensions"]["path"], "input.expiresAt");
    }

    async fn only_an_admin_can_create_users(app: TestApp) {
        let bob = app.new_user("bob@example.com").await;
        let before = app.row_counts().await;
        let attempt = app
            .gql(Some(&bob),
                "mutation { createUser(input: { email: \"eve@example.com\", name: \"Eve\", role: ADMIN }) { token } }",
                json!({}))
            .await;
        assert_eq!(error_code(&attempt), "FORBIDDEN");
        assert_eq!(app.row_counts().await, before);
        let duplicate = app
            .gql(Some(&app.admin_token.clone()),
                "mutation { createUser(input: { email: \"BOB@example.com\", name: \"Bob\" }) { token } }",
                json!({}))
            .await;
        assert_eq!(error_code(&duplicate), "CONFLICT");
        assert_eq!(app.row_counts().await, before);
    }
}
