//! Database connections and saved queries against the real servers on this machine:
//! PostgreSQL on 127.0.0.1:5432, MariaDB on 127.0.0.1:3306 and an `nx-27017` MongoDB-wire
//! server started per test.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::engine::{edge, trigger};
use crate::*;

const CREATE_CREDENTIAL: &str =
    "mutation($i: CreateCredentialInput!) { createCredential(input: $i) { id } }";
const CREATE_CONNECTION: &str = "mutation($i: CreateDatabaseConnectionInput!) {
    createDatabaseConnection(input: $i) {
        id uuid name kind host port database username credentialId tlsMode poolSize updatedAt } }";
const UPDATE_CONNECTION: &str = "mutation($i: UpdateDatabaseConnectionInput!) {
    updateDatabaseConnection(input: $i) { id poolSize credentialId updatedAt } }";
const TEST_CONNECTION: &str = "mutation($id: ID!) {
    testDatabaseConnection(id: $id) { ok serverVersion roundTripMs error { code message } } }";
const SCHEMA: &str = "query($id: ID!) {
    databaseSchema(connectionId: $id) { name schema kind columns { name type nullable } } }";
const CREATE_QUERY: &str = "mutation($i: CreateDatabaseQueryInput!) {
    createDatabaseQuery(input: $i) {
        id uuid name queryType parameters { name schema } timeoutMs pageSize resultFormat } }";
const RUN: &str = "mutation($id: ID!, $params: JSON, $page: String) {
    runDatabaseQuery(id: $id, params: $params, page: $page) {
        columns { name type } rows hasMore nextPage durationMs affectedRows } }";

/// The local PostgreSQL trusts loopback logins, so any password works; a distinctive one
/// lets the test look for it in every response.
const PG_PASSWORD: &str = "pg-pw-7c1e9b2f40-never-shown";
const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Sends a request as the administrator, remembering the body so the test can check at
/// the end that a secret appeared in none of them.
struct Session<'a> {
    app: &'a TestApp,
    seen: Vec<String>,
}

impl<'a> Session<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            seen: Vec::new(),
        }
    }

    async fn send(&mut self, query: &str, variables: Value) -> Value {
        let body = self
            .app
            .gql(Some(&self.app.admin_token.clone()), query, variables)
            .await;
        self.seen.push(body.to_string());
        body
    }

    async fn ok(&mut self, query: &str, variables: Value) -> Value {
        ok(self.send(query, variables).await)
    }

    fn assert_never_showed(&self, secret: &str) {
        for body in &self.seen {
            assert!(
                !body.contains(secret),
                "a response revealed the secret: {body}"
            );
        }
    }

    async fn connection(&mut self, input: Value) -> Value {
        self.ok(CREATE_CONNECTION, json!({ "i": input })).await["createDatabaseConnection"].clone()
    }

    async fn query(&mut self, input: Value) -> Value {
        self.ok(CREATE_QUERY, json!({ "i": input })).await["createDatabaseQuery"].clone()
    }

    /// Runs a query from the first page to the last, returning every row in order.
    async fn all_pages(&mut self, id: &Value, params: Value) -> (Vec<Value>, usize) {
        let mut rows = Vec::new();
        let mut pages = 0;
        let mut page = Value::Null;
        loop {
            let data = self
                .ok(RUN, json!({ "id": id, "params": params, "page": page }))
                .await;
            let result = &data["runDatabaseQuery"];
            rows.extend(result["rows"].as_array().unwrap().iter().cloned());
            pages += 1;
            assert!(pages < 100, "paging does not end");
            if result["hasMore"] == false {
                assert!(result["nextPage"].is_null());
                return (rows, pages);
            }
            page = result["nextPage"].clone();
            assert!(page.is_string(), "hasMore without nextPage: {result}");
        }
    }
}

fn postgres_connection(credential: Option<&Value>) -> Value {
    json!({ "name": "Local PostgreSQL", "kind": "POSTGRES", "host": "127.0.0.1", "port": 5432,
            "database": "test", "username": "postgres", "credentialId": credential,
            "tlsMode": "DISABLE" })
}

fn mariadb_connection() -> Value {
    // The local root account has no password; sending one would fail the login.
    json!({ "name": "Local MariaDB", "kind": "MYSQL", "host": "127.0.0.1", "port": 3306,
            "database": "test", "username": "root", "tlsMode": "DISABLE", "poolSize": 2 })
}

/// A table of its own in the target PostgreSQL, dropped when the test ends.
struct PgTable {
    name: String,
}

impl PgTable {
    async fn create(columns: &str, fill: &str) -> Self {
        let name = format!("weft_e2e_{}", uuid::Uuid::new_v4().simple());
        let db = sea_orm::Database::connect(PG_ADMIN_URL).await.unwrap();
        db.execute_unprepared(&format!("CREATE TABLE {name} ({columns})"))
            .await
            .unwrap();
        db.execute_unprepared(&fill.replace("{table}", &name))
            .await
            .unwrap();
        db.close().await.ok();
        Self { name }
    }
}

impl Drop for PgTable {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(db) = sea_orm::Database::connect(PG_ADMIN_URL).await {
                    let _ = db
                        .execute_unprepared(&format!("DROP TABLE IF EXISTS {name}"))
                        .await;
                    db.close().await.ok();
                }
            });
        })
        .join();
    }
}

fn ids(rows: &[Value], column: &str) -> Vec<i64> {
    rows.iter().map(|r| r[column].as_i64().unwrap()).collect()
}

async fn rejected(app: &TestApp, query: &str, variables: Value) -> (String, String) {
    let body = app
        .gql(Some(&app.admin_token.clone()), query, variables)
        .await;
    let error = first_error(&body);
    (
        error_code(&body).to_owned(),
        error["extensions"]["path"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    )
}

on_both_databases! {
    async fn a_postgres_connection_is_tested_browsed_and_paged_through_without_revealing_its_password(app: TestApp) {
        let table = PgTable::create(
            "id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2) NOT NULL, \
             note text, created_at timestamptz NOT NULL",
            "INSERT INTO {table} SELECT g, g % 4, g * 1.25, CASE WHEN g % 2 = 0 THEN 'even' END, \
             timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour' \
             FROM generate_series(1, 250) g",
        ).await;
        let mut s = Session::new(&app);
        let credential = s.ok(CREATE_CREDENTIAL, json!({ "i": { "name": "pg", "kind": "database-password",
            "secret": { "password": PG_PASSWORD } } })).await["createCredential"]["id"].clone();
        let connection = s.connection(postgres_connection(Some(&credential))).await;
        assert_eq!(connection["kind"], "POSTGRES");
        assert_eq!(connection["poolSize"], 5, "the default pool size");
        assert_eq!(connection["credentialId"], credential);

        let test = s.ok(TEST_CONNECTION, json!({ "id": connection["id"] })).await["testDatabaseConnection"].clone();
        assert_eq!(test["ok"], true, "{test}");
        assert!(test["serverVersion"].as_str().unwrap().contains("PostgreSQL"), "{test}");
        assert!(test["roundTripMs"].as_f64().unwrap() >= 0.0);

        let tables = s.ok(SCHEMA, json!({ "id": connection["id"] })).await["databaseSchema"].clone();
        let ours = tables.as_array().unwrap().iter().find(|t| t["name"] == table.name.as_str())
            .unwrap_or_else(|| panic!("{} is not in the schema: {tables}", table.name)).clone();
        assert_eq!(ours["kind"], "table");
        let columns: Vec<(&str, bool)> = ours["columns"].as_array().unwrap().iter()
            .map(|c| (c["name"].as_str().unwrap(), c["nullable"].as_bool().unwrap())).collect();
        assert_eq!(columns, [("id", false), ("customer_id", false), ("total", false), ("note", true), ("created_at", false)]);

        let query = s.query(json!({ "name": "Orders of a customer", "connectionId": connection["id"],
            "query": format!("SELECT id, total, note, created_at FROM {} \
                              WHERE customer_id = :customerId AND created_at > :since ORDER BY id", table.name),
            "queryType": "SELECT", "pageSize": 20,
            "parameters": [
                { "name": "customerId", "schema": { "type": "integer" } },
                { "name": "since", "schema": { "type": "string", "format": "date-time" } }
            ] })).await;
        assert_eq!(query["timeoutMs"], 30000);
        assert_eq!(query["resultFormat"], "json");

        let params = json!({ "customerId": 3, "since": "2024-01-02T00:00:00Z" });
        let (rows, pages) = s.all_pages(&query["id"], params.clone()).await;
        let expected: Vec<i64> = (1..=250).filter(|g| g % 4 == 3 && *g > 24).collect();
        assert_eq!(ids(&rows, "id"), expected, "pages stitch together exactly");
        assert_eq!(pages, expected.len().div_ceil(20));
        let first = &rows[0];
        assert_eq!(first["note"], Value::Null, "odd ids have no note");
        assert!(first["created_at"].as_str().unwrap().starts_with("2024-01-02T03:00:00"), "{first}");

        let result = s.ok(RUN, json!({ "id": query["id"], "params": params })).await["runDatabaseQuery"].clone();
        let names: Vec<&str> = result["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["id", "total", "note", "created_at"]);
        assert!(result["durationMs"].as_f64().unwrap() >= 0.0);

        // Values are checked against the declared schemas before anything is sent.
        let body = s.send(RUN, json!({ "id": query["id"], "params": { "customerId": "3 OR 1=1", "since": "2024-01-02T00:00:00Z" } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "params.customerId");
        let body = s.send(RUN, json!({ "id": query["id"], "params": { "customerId": 3 } })).await;
        assert_eq!(first_error(&body)["extensions"]["path"], "params.since");

        s.assert_never_showed(PG_PASSWORD);
        let listed = s.ok("{ databaseConnections { edges { node { id name host credentialId } } } }", json!({})).await;
        assert_eq!(listed["databaseConnections"]["edges"].as_array().unwrap().len(), 1);
        s.assert_never_showed(PG_PASSWORD);
        for table in ["database_connections", "database_queries", "credentials"] {
            let rows = app.db.query_all_raw(sea_orm::Statement::from_string(app.backend(), format!("SELECT * FROM {table}"))).await.unwrap();
            assert!(!format!("{rows:?}").contains(PG_PASSWORD), "{table} stores the password in clear");
        }
    }

    async fn a_timeout_is_a_timeout_error_and_the_pool_stays_usable(app: TestApp) {
        let mut s = Session::new(&app);
        let connection = s.connection(postgres_connection(None)).await;
        let slow = s.query(json!({ "name": "slow", "connectionId": connection["id"],
            "query": "SELECT pg_sleep(5) AS slept", "queryType": "SELECT", "timeoutMs": 500 })).await;
        let started = Instant::now();
        let body = s.send(RUN, json!({ "id": slow["id"] })).await;
        assert_eq!(error_code(&body), "TIMEOUT", "{body}");
        assert!(first_error(&body)["message"].as_str().unwrap().contains("timeout"), "{body}");
        assert!(started.elapsed() < Duration::from_millis(1_500), "took {:?}", started.elapsed());

        let quick = s.query(json!({ "name": "quick", "connectionId": connection["id"],
            "query": "SELECT :n::int * 2 AS doubled", "queryType": "SELECT",
            "parameters": [{ "name": "n", "schema": { "type": "integer" } }] })).await;
        let data = s.ok(RUN, json!({ "id": quick["id"], "params": { "n": 21 } })).await;
        assert_eq!(data["runDatabaseQuery"]["rows"], json!([{ "doubled": 42 }]));
    }

    async fn a_mariadb_connection_runs_named_parameters_and_pages(app: TestApp) {
        let mut s = Session::new(&app);
        let connection = s.connection(mariadb_connection()).await;
        assert_eq!(connection["credentialId"], Value::Null);
        let test = s.ok(TEST_CONNECTION, json!({ "id": connection["id"] })).await["testDatabaseConnection"].clone();
        assert_eq!(test["ok"], true, "{test}");
        assert!(test["serverVersion"].as_str().unwrap().contains("MariaDB"), "{test}");
        let tables = s.ok(SCHEMA, json!({ "id": connection["id"] })).await;
        assert!(tables["databaseSchema"].is_array());

        let query = s.query(json!({ "name": "numbers", "connectionId": connection["id"],
            "query": "SELECT seq AS n, :label AS label FROM seq_1_to_250 WHERE seq > :after ORDER BY seq",
            "queryType": "SELECT", "pageSize": 100,
            "parameters": [
                { "name": "label", "schema": { "type": "string" } },
                { "name": "after", "schema": { "type": "integer", "minimum": 0 } }
            ] })).await;
        let (rows, pages) = s.all_pages(&query["id"], json!({ "label": "x' OR '1'='1", "after": 5 })).await;
        assert_eq!(pages, 3);
        assert_eq!(ids(&rows, "n"), (6..=250).collect::<Vec<i64>>());
        assert!(rows.iter().all(|r| r["label"] == "x' OR '1'='1"), "the value is bound, not spliced");

        let body = s.send(RUN, json!({ "id": query["id"], "params": { "label": "a", "after": -1 } })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
        assert_eq!(first_error(&body)["extensions"]["path"], "params.after");
    }

    async fn a_mongodb_connection_inserts_and_finds_documents_page_by_page(app: TestApp) {
        let Some(server) = domain::dbquery::testing::MongoTestServer::start() else { return };
        let mut s = Session::new(&app);
        let connection = s.connection(json!({ "name": "nx", "kind": "MONGODB", "host": "127.0.0.1",
            "port": server.port(), "database": "shop", "tlsMode": "DISABLE" })).await;
        let test = s.ok(TEST_CONNECTION, json!({ "id": connection["id"] })).await["testDatabaseConnection"].clone();
        assert_eq!(test["ok"], true, "{test}");

        let insert = s.query(json!({ "name": "add order", "connectionId": connection["id"],
            "query": r#"{"collection": "orders", "document": {"n": {"$param": "n"}, "customer": {"$param": "customer"}}}"#,
            "queryType": "INSERT_ONE",
            "parameters": [
                { "name": "n", "schema": { "type": "integer" } },
                { "name": "customer", "schema": { "type": "string" } }
            ] })).await;
        for n in 1..=25 {
            let customer = if n % 2 == 0 { "even" } else { "odd" };
            let data = s.ok(RUN, json!({ "id": insert["id"], "params": { "n": n, "customer": customer } })).await;
            assert_eq!(data["runDatabaseQuery"]["affectedRows"], 1);
        }
        let find = s.query(json!({ "name": "orders of", "connectionId": connection["id"],
            "query": r#"{"collection": "orders", "filter": {"customer": {"$param": "customer"}}, "sort": {"n": 1}, "projection": {"_id": 0}}"#,
            "queryType": "FIND", "pageSize": 4,
            "parameters": [{ "name": "customer", "schema": {} }] })).await;
        let (rows, pages) = s.all_pages(&find["id"], json!({ "customer": "odd" })).await;
        assert_eq!(ids(&rows, "n"), (1..=25).step_by(2).collect::<Vec<i64>>());
        assert_eq!(pages, 4);

        // An operator arriving through a value would turn the equality into "anything".
        let body = s.send(RUN, json!({ "id": find["id"], "params": { "customer": { "$ne": null } } })).await;
        assert_eq!(error_code(&body), "INVALID_PARAMETER", "{body}");

        let schema = s.ok(SCHEMA, json!({ "id": connection["id"] })).await["databaseSchema"].clone();
        let orders = schema.as_array().unwrap().iter().find(|t| t["name"] == "orders").expect("orders").clone();
        assert_eq!(orders["kind"], "collection");
        let fields: BTreeSet<&str> = orders["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert!(fields.contains("customer") && fields.contains("n"), "{orders}");
    }

    async fn rejected_connections_and_queries_leave_storage_unchanged(app: TestApp) {
        let bearer = app.admin_ok(CREATE_CREDENTIAL, json!({ "i": { "name": "api", "kind": "bearer",
            "secret": { "token": "t" } } })).await["createCredential"]["id"].clone();
        let gone = app.admin_ok(CREATE_CREDENTIAL, json!({ "i": { "name": "gone", "kind": "database-password",
            "secret": { "password": "p" } } })).await["createCredential"]["id"].clone();
        app.admin_ok("mutation($i: DeleteCredentialInput!) { deleteCredential(input: $i) { deletedId } }",
            json!({ "i": { "id": gone } })).await;
        let before = app.row_counts().await;
        let mut bad_port = mariadb_connection();
        bad_port["port"] = json!(70000);
        assert_eq!(rejected(&app, CREATE_CONNECTION, json!({ "i": bad_port })).await,
            ("BAD_USER_INPUT".to_owned(), "input.port".to_owned()));
        assert_eq!(rejected(&app, CREATE_CONNECTION, json!({ "i": postgres_connection(Some(&gone)) })).await,
            ("BAD_USER_INPUT".to_owned(), "input.credentialId".to_owned()));
        assert_eq!(rejected(&app, CREATE_CONNECTION, json!({ "i": postgres_connection(Some(&bearer)) })).await,
            ("BAD_USER_INPUT".to_owned(), "input.credentialId".to_owned()));
        let mut bad_pool = mariadb_connection();
        bad_pool["poolSize"] = json!(51);
        bad_pool["host"] = json!("db.example.com/evil?x=1");
        let body = app.gql(Some(&app.admin_token.clone()), CREATE_CONNECTION, json!({ "i": bad_pool })).await;
        let problems: Vec<&str> = first_error(&body)["extensions"]["problems"].as_array().unwrap()
            .iter().map(|p| p["path"].as_str().unwrap()).collect();
        assert_eq!(problems, ["input.host", "input.poolSize"]);
        assert_eq!(app.row_counts().await, before);

        let connection = app.admin_ok(CREATE_CONNECTION, json!({ "i": postgres_connection(None) })).await["createDatabaseConnection"].clone();
        let before = app.row_counts().await;
        let query = |text: &str, kind: &str| json!({ "i": { "name": "q", "connectionId": connection["id"],
            "query": text, "queryType": kind, "parameters": [{ "name": "id", "schema": { "type": "integer" } }] } });
        for (text, kind, path) in [
            ("UPDATE orders SET total = 0 WHERE id = :id", "SELECT", "input.query"),
            ("SELECT * FROM orders WHERE id = :id; DROP TABLE orders", "SELECT", "input.query"),
            ("SELECT * FROM orders WHERE id = :id; COMMIT; DELETE FROM orders", "SELECT", "input.query"),
            ("WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone WHERE id = :id", "SELECT", "input.query"),
            ("SELECT * FROM orders WHERE id = :id", "FIND", "input.queryType"),
            ("SELECT * FROM orders WHERE id = :id AND note = :note", "SELECT", "input.query"),
        ] {
            assert_eq!(rejected(&app, CREATE_QUERY, query(text, kind)).await,
                ("BAD_USER_INPUT".to_owned(), path.to_owned()), "{text}");
        }
        let mut too_big = query("SELECT * FROM orders WHERE id = :id", "SELECT");
        too_big["i"]["pageSize"] = json!(20000);
        assert_eq!(rejected(&app, CREATE_QUERY, too_big).await, ("BAD_USER_INPUT".to_owned(), "input.pageSize".to_owned()));
        let mut bad_schema = query("SELECT * FROM orders WHERE id = :id", "SELECT");
        bad_schema["i"]["parameters"][0]["schema"] = json!({ "type": "integr" });
        assert_eq!(rejected(&app, CREATE_QUERY, bad_schema).await, ("BAD_USER_INPUT".to_owned(), "input.parameters[0].schema".to_owned()));
        assert_eq!(app.row_counts().await, before);

        // Someone else's connection is invisible: not usable for a query, not found by id.
        let other = app.new_user("mallory@example.com").await;
        let before = app.row_counts().await;
        let body = app.gql(Some(&other), CREATE_QUERY, query("SELECT * FROM orders WHERE id = :id", "SELECT")).await;
        assert_eq!(first_error(&body)["extensions"]["path"], "input.connectionId");
        let body = app.gql(Some(&other), TEST_CONNECTION, json!({ "id": connection["id"] })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        let body = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": connection["id"] })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
        assert_eq!(app.row_counts().await, before);
    }

    async fn updating_a_connection_bumps_its_revision_and_deleting_it_takes_its_queries(app: TestApp) {
        let connection = app.admin_ok(CREATE_CONNECTION, json!({ "i": postgres_connection(None) })).await["createDatabaseConnection"].clone();
        let query = app.admin_ok(CREATE_QUERY, json!({ "i": { "name": "one", "connectionId": connection["id"],
            "query": "SELECT 1 AS one", "queryType": "SELECT" } })).await["createDatabaseQuery"].clone();
        let data = app.admin_ok(RUN, json!({ "id": query["id"] })).await;
        assert_eq!(data["runDatabaseQuery"]["rows"], json!([{ "one": 1 }]));

        let updated = app.admin_ok(UPDATE_CONNECTION, json!({ "i": { "id": connection["id"], "poolSize": 2 } })).await["updateDatabaseConnection"].clone();
        assert_eq!(updated["poolSize"], 2);
        assert_ne!(updated["updatedAt"], connection["updatedAt"]);
        let data = app.admin_ok(RUN, json!({ "id": query["id"] })).await;
        assert_eq!(data["runDatabaseQuery"]["rows"], json!([{ "one": 1 }]), "runs on the rebuilt pool");

        let before = app.row_counts().await;
        let body = app.gql(Some(&app.admin_token.clone()), UPDATE_CONNECTION, json!({ "i": { "id": connection["id"], "port": 0 } })).await;
        assert_eq!(first_error(&body)["extensions"]["path"], "input.port");
        assert_eq!(app.row_counts().await, before);

        let listed = app.admin_ok("query($c: ID) { databaseQueries(connectionId: $c) { edges { node { id } } } }", json!({ "c": connection["id"] })).await;
        assert_eq!(listed["databaseQueries"]["edges"].as_array().unwrap().len(), 1);
        app.admin_ok("mutation($i: DeleteDatabaseConnectionInput!) { deleteDatabaseConnection(input: $i) { deletedId } }",
            json!({ "i": { "id": connection["id"] } })).await;
        let counts = app.row_counts().await;
        assert_eq!(counts["database_connections"], before["database_connections"] - 1);
        assert_eq!(counts["database_queries"], before["database_queries"] - 1);
        let body = app.gql(Some(&app.admin_token.clone()), RUN, json!({ "id": query["id"] })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
    }

    async fn a_workflow_maps_its_trigger_input_into_database_query_parameters(app: TestApp) {
        let connection = app.admin_ok(CREATE_CONNECTION, json!({ "i": postgres_connection(None) })).await["createDatabaseConnection"].clone();
        let query = app.admin_ok(CREATE_QUERY, json!({ "i": { "name": "next", "connectionId": connection["id"],
            "query": "SELECT :customerId::int + 1 AS next_id, upper(:name) AS shout", "queryType": "SELECT",
            "parameters": [
                { "name": "customerId", "schema": { "type": "integer" } },
                { "name": "name", "schema": { "type": "string" } }
            ] } })).await["createDatabaseQuery"].clone();
        let tool = app.admin_ok("mutation($i: CreateToolInput!) { createTool(input: $i) { uuid } }",
            json!({ "i": { "name": "next customer", "kind": "DATABASE_QUERY",
                "inputSchema": { "type": "object", "properties": { "customerId": { "type": "integer" }, "name": { "type": "string" } } },
                "config": { "queryId": query["uuid"] } } })).await["createTool"]["uuid"].clone();
        let nodes = vec![
            trigger(),
            json!({ "id": "q", "type": "database-query", "name": "Next id", "config": { "queryId": query["uuid"] },
                    "inputs": { "customerId": { "ref": "start.output.customer.id" }, "name": { "ref": "start.output.name" } } }),
            json!({ "id": "t", "type": "custom", "name": "As a tool", "config": { "toolId": tool },
                    "inputs": { "customerId": { "ref": "start.output.customer.id" }, "name": { "value": "tool" } } }),
            json!({ "id": "done", "type": "output", "name": "Done",
                    "inputs": { "value": { "expr": "{ node: .nodes.q.output.rows[0], tool: .nodes.t.output.rows[0] }" } } }),
        ];
        let wf = crate::engine::save(&app, nodes, vec![edge("start", "q"), edge("start", "t"), edge("q", "done"), edge("t", "done")]).await;
        let execution = crate::engine::run(&app, &wf, json!({ "customer": { "id": 41 }, "name": "ada" })).await;
        assert_eq!(execution["status"], "SUCCEEDED", "{execution:#}");
        assert_eq!(execution["output"], json!({ "node": { "next_id": 42, "shout": "ADA" }, "tool": { "next_id": 42, "shout": "TOOL" } }));
        let q = execution["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "q").unwrap().clone();
        assert_eq!(q["output"]["hasMore"], false);
        assert_eq!(q["output"]["columns"][0]["name"], "next_id");

        // A value the query's schema refuses fails the node without retrying.
        let failed = crate::engine::run(&app, &wf, json!({ "customer": { "id": "41" }, "name": "ada" })).await;
        assert_eq!(failed["status"], "FAILED", "{failed:#}");
        let q = failed["nodeRuns"].as_array().unwrap().iter().find(|r| r["nodeId"] == "q").unwrap().clone();
        assert!(q["error"].as_str().unwrap().contains("params.customerId"), "{q}");
    }
}
