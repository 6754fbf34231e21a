use crate::*;

on_both_databases! {
    async fn health_and_readiness_answer_when_the_database_is_up(app: TestApp) {
        let health = app.client.get(format!("{}/healthz", app.base_url)).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let ready = app.client.get(format!("{}/readyz", app.base_url)).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        assert_eq!(ready.text().await.unwrap(), "ready");
    }

    async fn graphiql_is_served_at_get_graphql(app: TestApp) {
        let page = app.client.get(format!("{}/graphql", app.base_url)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.to_lowercase().contains("graphiql"), "{html}");
    }
}
