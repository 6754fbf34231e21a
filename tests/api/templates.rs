use crate::*;

const CREATE_TEMPLATE: &str =
    "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id name public category } }";

on_both_databases! {
    async fn a_template_becomes_a_workflow_of_the_user_who_instantiates_it(app: TestApp) {
        let created = app
            .admin_ok(CREATE_TEMPLATE, json!({ "i": { "name": "Order alert", "category": "sales", "document": sample_document(), "public": true } }))
            .await;
        let template_id = created["createTemplate"]["id"].as_str().unwrap();
        let carol = app.new_user("carol@example.com").await;
        let listed = app.as_ok(&carol, "{ templates(category: \"sales\") { edges { node { name public } } } }", json!({})).await;
        assert_eq!(listed["templates"]["edges"], json!([{ "node": { "name": "Order alert", "public": true } }]));

        let wf = app
            .as_ok(&carol,
                "mutation($t: ID!) { instantiateTemplate(input: { templateId: $t, name: \"My alert\" }) { name myRole document owner { email } } }",
                json!({ "t": template_id }))
            .await;
        assert_eq!(wf["instantiateTemplate"]["name"], "My alert");
        assert_eq!(wf["instantiateTemplate"]["myRole"], "OWNER");
        assert_eq!(wf["instantiateTemplate"]["owner"]["email"], "carol@example.com");
        assert_eq!(wf["instantiateTemplate"]["document"], sample_document_normalised(&app).await);

        // A public template is readable, but only its owner may change it.
        let edit = app
            .gql(Some(&carol), "mutation($t: ID!) { updateTemplate(input: { id: $t, name: \"Mine\" }) { name } }", json!({ "t": template_id }))
            .await;
        assert_eq!(error_code(&edit), "FORBIDDEN");
    }

    async fn a_private_template_is_invisible_to_others(app: TestApp) {
        let created = app.admin_ok(CREATE_TEMPLATE, json!({ "i": { "name": "Internal", "document": sample_document() } })).await;
        let id = created["createTemplate"]["id"].as_str().unwrap();
        let dave = app.new_user("dave@example.com").await;
        let body = app.gql(Some(&dave), "query($id: ID!) { template(id: $id) { name } }", json!({ "id": id })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        let listed = app.as_ok(&dave, "{ templates { edges { node { name } } } }", json!({})).await;
        assert_eq!(listed["templates"]["edges"], json!([]));

        let updated = app.admin_ok("mutation($id: ID!) { updateTemplate(input: { id: $id, public: true }) { public } }", json!({ "id": id })).await;
        assert_eq!(updated["updateTemplate"]["public"], true);
        app.admin_ok("mutation($id: ID!) { deleteTemplate(input: { id: $id }) { deletedId } }", json!({ "id": id })).await;
        assert_eq!(app.row_counts().await["templates"], 0);
    }

    async fn a_template_with_a_broken_document_is_rejected(app: TestApp) {
        let before = app.row_counts().await;
        let body = app
            .gql(Some(&app.admin_token.clone()), CREATE_TEMPLATE,
                json!({ "i": { "name": "Broken", "document": { "version": 1, "nodes": [], "edges": [ { "source": "x", "target": "y" } ] } } }))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert!(first_error(&body)["extensions"]["path"].as_str().unwrap().starts_with("input.document.edges[0]"));
        assert_eq!(app.row_counts().await, before);
    }
}

/// The stored (normalised) form of `sample_document`, as a saved workflow returns it.
async fn sample_document_normalised(app: &TestApp) -> Value {
    let data = app
        .admin_ok(
            CREATE_WORKFLOW,
            json!({ "i": { "name": "probe", "document": sample_document() } }),
        )
        .await;
    data["createWorkflow"]["document"].clone()
}
