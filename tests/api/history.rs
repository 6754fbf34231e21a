//! Execution history: filters, keyset pagination, workflow statistics, `/metrics` and
//! retention, on both databases.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use weft::graphql::ids::{Kind, decode};

use crate::engine::{EXECUTE, edge, run, save, transform, trigger};
use crate::*;

const LIST: &str = "query($first: Int, $after: String, $status: ExecutionStatus, $workflowId: ID,
        $startedAfter: DateTime, $startedBefore: DateTime, $text: String) {
    executions(first: $first, after: $after, status: $status, workflowId: $workflowId,
               startedAfter: $startedAfter, startedBefore: $startedBefore, text: $text) {
        edges { cursor node { id status input error startedAt } }
        pageInfo { hasNextPage endCursor }
        searchResumeCursor
    } }";

const STATS: &str = "query($id: ID!, $since: DateTime) { workflowStats(workflowId: $id, since: $since) {
    workflowId runs succeeded failed cancelled inProgress successRate durationP50Ms durationP95Ms
    sampleSize nodeSampleSize nodes { nodeId nodeType runs failures durationP50Ms durationP95Ms } } }";

/// Every execution id `filter` lists for `token`, following `endCursor` page by page.
async fn listed(app: &TestApp, token: &str, filter: Value) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut variables = filter.clone();
        variables["first"] = json!(50);
        variables["after"] = after;
        let data = app.as_ok(token, LIST, variables).await;
        let page = &data["executions"];
        for edge in page["edges"].as_array().unwrap() {
            ids.push(edge["node"]["id"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return ids;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

fn raw(kind: Kind, global: &str) -> String {
    decode("id", kind, global).expect("a Weft id")
}

async fn admin_id(app: &TestApp) -> String {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.backend(),
            "SELECT id FROM users WHERE role = 'admin'",
        ))
        .await
        .unwrap()
        .expect("an admin");
    row.try_get("", "id").unwrap()
}

/// Stores a finished execution that started at `started_at`, with an id minted at that
/// moment as the engine's are; returns its global id.
async fn insert_execution(
    app: &TestApp,
    workflow: &str,
    status: &str,
    started_at: DateTime<Utc>,
) -> String {
    let mut random = [0u8; 10];
    random.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..10]);
    let id =
        uuid::Builder::from_unix_timestamp_millis(started_at.timestamp_millis() as u64, &random)
            .into_uuid()
            .to_string();
    let insert = Query::insert()
        .into_table(Alias::new("workflow_executions"))
        .columns(
            [
                "id",
                "workflow_id",
                "workflow_version",
                "started_by",
                "status",
                "trigger_kind",
                "input",
                "started_at",
                "finished_at",
                "duration_ms",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.clone().into(),
            raw(Kind::Workflow, workflow).into(),
            1.into(),
            admin_id(app).await.into(),
            status.into(),
            "manual".into(),
            json!({ "synthetic": true }).into(),
            started_at.into(),
            (started_at + chrono::Duration::milliseconds(5)).into(),
            5i64.into(),
            started_at.into(),
        ])
        .to_owned();
    app.db
        .execute_raw(app.backend().build(&insert))
        .await
        .expect("inserting an execution");
    weft::graphql::ids::encode(Kind::Execution, &id).0
}

/// Moves an execution's start `days` into the past (its id keeps its real time).
async fn backdate(app: &TestApp, execution: &str, days: i64) {
    let update = Query::update()
        .table(Alias::new("workflow_executions"))
        .value(
            Alias::new("started_at"),
            Utc::now() - chrono::Duration::days(days),
        )
        .and_where(Expr::col(Alias::new("id")).eq(raw(Kind::Execution, execution)))
        .to_owned();
    app.db
        .execute_raw(app.backend().build(&update))
        .await
        .unwrap();
}

async fn count_rows(app: &TestApp, table: &str, execution: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.backend(),
            format!(
                "SELECT COUNT(*) AS n FROM {table} WHERE execution_id = '{}'",
                raw(Kind::Execution, execution)
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// A trigger, then a transform that fails with `kaboom-<tag>` when the input says so.
async fn failing_workflow(app: &TestApp) -> String {
    save(
        app,
        vec![
            trigger(),
            transform(
                "check",
                "if .fail then error(\"kaboom-\" + .tag) else . end",
                json!({ "ref": "start.output" }),
            ),
        ],
        vec![edge("start", "check")],
    )
    .await
}

/// Metric samples by their full name with labels (`weft_x{a="b"}`).
async fn scrape(app: &TestApp) -> BTreeMap<String, f64> {
    let response = app
        .client
        .get(format!("{}/metrics", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line}"));
            (
                name.to_owned(),
                value
                    .parse::<f64>()
                    .unwrap_or_else(|_| panic!("bad value in {line}")),
            )
        })
        .collect()
}

on_both_databases! {
    async fn filters_return_exactly_the_executions_that_match(app: TestApp) {
        let a = failing_workflow(&app).await;
        let b = failing_workflow(&app).await;
        let apple = run(&app, &a, json!({ "tag": "alpha-apple" })).await;
        let banana = run(&app, &a, json!({ "tag": "bravo-banana", "fail": true })).await;
        let cherry = run(&app, &b, json!({ "tag": "charlie-cherry" })).await;
        assert_eq!(banana["status"], "FAILED", "{banana:#}");
        assert!(banana["error"].as_str().unwrap().contains("kaboom-bravo-banana"), "{banana:#}");
        let ten_days_ago = insert_execution(&app, &a, "succeeded", Utc::now() - chrono::Duration::days(10)).await;
        let three_days_ago = insert_execution(&app, &a, "cancelled", Utc::now() - chrono::Duration::days(3)).await;
        let id = |e: &Value| e["id"].as_str().unwrap().to_owned();
        let token = app.admin_token.clone();
        let days_ago = |n: i64| (Utc::now() - chrono::Duration::days(n)).to_rfc3339();

        // Newest first, everything.
        assert_eq!(listed(&app, &token, json!({})).await,
            vec![id(&cherry), id(&banana), id(&apple), three_days_ago.clone(), ten_days_ago.clone()]);
        assert_eq!(listed(&app, &token, json!({ "status": "FAILED" })).await, vec![id(&banana)]);
        assert_eq!(listed(&app, &token, json!({ "status": "SUCCEEDED" })).await,
            vec![id(&cherry), id(&apple), ten_days_ago.clone()]);
        assert_eq!(listed(&app, &token, json!({ "workflowId": b })).await, vec![id(&cherry)]);
        assert_eq!(listed(&app, &token, json!({ "workflowId": a, "status": "SUCCEEDED" })).await,
            vec![id(&apple), ten_days_ago.clone()]);
        assert_eq!(listed(&app, &token, json!({ "workflowId": a, "status": "RUNNING" })).await, Vec::<String>::new());

        // Date ranges: after is inclusive, before exclusive.
        assert_eq!(listed(&app, &token, json!({ "startedAfter": days_ago(5) })).await,
            vec![id(&cherry), id(&banana), id(&apple), three_days_ago.clone()]);
        assert_eq!(listed(&app, &token, json!({ "startedBefore": days_ago(5) })).await, vec![ten_days_ago.clone()]);
        assert_eq!(listed(&app, &token, json!({ "startedAfter": days_ago(11), "startedBefore": days_ago(2) })).await,
            vec![three_days_ago.clone(), ten_days_ago.clone()]);
        assert_eq!(listed(&app, &token, json!({ "startedAfter": days_ago(11), "startedBefore": days_ago(2), "status": "CANCELLED", "workflowId": a })).await,
            vec![three_days_ago.clone()]);

        // Text: in the input (any case), in the error, never as a LIKE wildcard.
        assert_eq!(listed(&app, &token, json!({ "text": "ALPHA-apple" })).await, vec![id(&apple)]);
        assert_eq!(listed(&app, &token, json!({ "text": "kaboom-bravo" })).await, vec![id(&banana)]);
        assert_eq!(listed(&app, &token, json!({ "text": "  cherry " })).await, vec![id(&cherry)]);
        assert_eq!(listed(&app, &token, json!({ "text": "alpha%apple" })).await, Vec::<String>::new());
        assert_eq!(listed(&app, &token, json!({ "text": "alpha_apple" })).await, Vec::<String>::new());
        assert_eq!(listed(&app, &token, json!({ "text": "cherry", "workflowId": a })).await, Vec::<String>::new());
        assert_eq!(listed(&app, &token, json!({ "text": "kaboom", "status": "FAILED", "startedAfter": days_ago(1) })).await,
            vec![id(&banana)]);
    }

    async fn the_engine_mints_each_execution_id_at_its_start_time(app: TestApp) {
        // Date filters read the id range the dates map to; that holds only while ids and
        // start times agree within ID_CLOCK_SLACK.
        let wf = failing_workflow(&app).await;
        for i in 0..5 {
            run(&app, &wf, json!({ "tag": format!("t{i}"), "fail": i == 2 })).await;
        }
        let data = app.admin_ok(LIST, json!({ "first": 50 })).await;
        let slack = domain::store::executions::ID_CLOCK_SLACK.num_milliseconds();
        for edge in data["executions"]["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let id = uuid::Uuid::parse_str(&raw(Kind::Execution, node["id"].as_str().unwrap())).unwrap();
            let (secs, nanos) = id.get_timestamp().expect("a UUIDv7").to_unix();
            let minted = secs as i64 * 1000 + i64::from(nanos / 1_000_000);
            let started = DateTime::parse_from_rfc3339(node["startedAt"].as_str().unwrap()).unwrap().timestamp_millis();
            assert!((minted - started).abs() < slack / 60, "{node}: id at {minted}, started at {started}");
        }
    }

    async fn a_user_lists_only_the_workflows_they_own_or_were_shared(app: TestApp) {
        let viewer = app.new_user("viewer@example.com").await;
        let stranger = app.new_user("stranger@example.com").await;
        let shared = failing_workflow(&app).await;
        let hidden = failing_workflow(&app).await;
        let own = create_workflow(&app, &viewer, "mine").await;
        app.admin_ok(
            "mutation($i: ShareWorkflowInput!) { shareWorkflow(input: $i) { role } }",
            json!({ "i": { "workflowId": shared, "userEmail": "viewer@example.com", "role": "VIEWER" } }),
        ).await;
        let seen = run(&app, &shared, json!({ "tag": "s" })).await;
        run(&app, &hidden, json!({ "tag": "h" })).await;
        let mine = app.as_ok(&viewer, EXECUTE, json!({ "id": own, "input": { "total": 5 }, "wait": true })).await;
        let mine = mine["executeWorkflow"]["id"].as_str().unwrap().to_owned();
        let seen = seen["id"].as_str().unwrap().to_owned();
        assert_eq!(listed(&app, &viewer, json!({})).await, vec![mine.clone(), seen.clone()]);
        assert_eq!(listed(&app, &viewer, json!({ "text": "s" })).await, vec![seen.clone()]);
        assert_eq!(listed(&app, &stranger, json!({})).await, Vec::<String>::new());
        assert_eq!(listed(&app, &stranger, json!({ "text": "s" })).await, Vec::<String>::new());
        let body = app.gql(Some(&viewer), LIST, json!({ "workflowId": hidden })).await;
        assert_eq!(error_code(&body), "NOT_FOUND");
    }

    async fn a_user_who_sees_many_workflows_still_lists_exactly_theirs(app: TestApp) {
        // Beyond MERGE_MAX_WORKFLOWS the listing filters one scan by visibility instead.
        let viewer = app.new_user("busy@example.com").await;
        let mut owned = Vec::new();
        for i in 0..=domain::store::executions::MERGE_MAX_WORKFLOWS {
            owned.push(create_workflow(&app, &viewer, &format!("w{i}")).await);
        }
        let hidden = failing_workflow(&app).await;
        run(&app, &hidden, json!({ "tag": "h" })).await;
        let mut mine = Vec::new();
        let mut status = Value::Null;
        for wf in [&owned[0], &owned[7], &owned[0]] {
            let done = app.as_ok(&viewer, EXECUTE, json!({ "id": wf, "input": { "total": 500 }, "wait": true })).await;
            mine.push(done["executeWorkflow"]["id"].as_str().unwrap().to_owned());
            status = done["executeWorkflow"]["status"].clone();
        }
        mine.reverse();
        run(&app, &hidden, json!({ "tag": "h" })).await;
        assert_eq!(listed(&app, &viewer, json!({})).await, mine);
        assert_eq!(listed(&app, &viewer, json!({ "status": status, "startedAfter": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339() })).await, mine);
        assert_eq!(listed(&app, &viewer, json!({ "text": "500" })).await, mine);
    }

    async fn pages_stitch_without_gaps_or_duplicates_while_executions_keep_arriving(app: TestApp) {
        let wf = failing_workflow(&app).await;
        let mut started = Vec::new();
        for i in 0..50 {
            let done = run(&app, &wf, json!({ "tag": format!("n{i}"), "fail": i % 5 == 0 })).await;
            started.push(done["id"].as_str().unwrap().to_owned());
        }
        started.reverse();
        let token = app.admin_token.clone();
        assert_eq!(listed(&app, &token, json!({})).await, started);
        for filter in [json!({}), json!({ "workflowId": wf }), json!({ "status": "SUCCEEDED" })] {
            // What the listing holds now, in one page; later arrivals are newer than all of it.
            let want = listed(&app, &token, filter.clone()).await;
            let mut seen = Vec::new();
            let mut after = Value::Null;
            loop {
                let mut variables = filter.clone();
                variables["first"] = json!(7);
                variables["after"] = after;
                let data = app.as_ok(&token, LIST, variables).await;
                let page = &data["executions"];
                let edges = page["edges"].as_array().unwrap();
                for edge in edges {
                    seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
                }
                if let Some(last) = edges.last() {
                    assert_eq!(page["pageInfo"]["endCursor"], last["cursor"]);
                }
                // New executions arrive while the client pages.
                run(&app, &wf, json!({ "tag": format!("late{}", seen.len()) })).await;
                if page["pageInfo"]["hasNextPage"] != json!(true) {
                    break;
                }
                after = page["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(seen, want, "pages of {filter}");
        }
    }

    async fn a_text_search_that_spends_its_scan_budget_says_where_to_go_on(app: TestApp) {
        let budget = domain::store::executions::TEXT_SCAN_BUDGET as usize;
        weft_bench::seed::seed(&app.db, weft_bench::seed::SeedOptions { executions: budget + 100, workflows: 1 }).await.unwrap();
        // The seed numbers orders from the oldest: this one lies beyond the budget.
        let token = app.admin_token.clone();
        let first = app.as_ok(&token, LIST, json!({ "first": 20, "text": "ord-0000005" })).await;
        let first = &first["executions"];
        assert_eq!(first["edges"], json!([]));
        assert_eq!(first["pageInfo"]["hasNextPage"], json!(true));
        let resume = first["searchResumeCursor"].as_str().expect("a cursor to go on from");
        let next = app.as_ok(&token, LIST, json!({ "first": 20, "text": "ord-0000005", "after": resume })).await;
        let next = &next["executions"];
        let found: Vec<&Value> = next["edges"].as_array().unwrap().iter().map(|e| &e["node"]["input"]["orderId"]).collect();
        assert_eq!(found, vec![&json!("ord-0000005")]);
        assert_eq!(next["pageInfo"]["hasNextPage"], json!(false));
        assert_eq!(next["searchResumeCursor"], Value::Null);
        // A search that fills its page within the budget needs no resume cursor.
        let common = app.as_ok(&token, LIST, json!({ "first": 5, "text": "ord-" })).await;
        assert_eq!(common["executions"]["edges"].as_array().unwrap().len(), 5);
        assert_eq!(common["executions"]["searchResumeCursor"], Value::Null);
    }

    async fn workflow_stats_count_runs_retries_and_failures_per_node(app: TestApp) {
        // Answers the first three calls, then fails: the fourth run fails after two attempts.
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let base = weft_e2e::serve(axum::Router::new().route("/stock", get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 { (StatusCode::OK, r#"{"stock": 7}"#) } else { (StatusCode::SERVICE_UNAVAILABLE, "busy") }
            }
        }))).await;
        let wf = save(&app, vec![
            trigger(),
            json!({ "id": "fetch", "type": "api-call", "name": "fetch",
                    "config": { "method": "GET", "url": format!("{base}/stock") },
                    "retry": { "maxAttempts": 2, "backoffMs": 1 } }),
            json!({ "id": "done", "type": "output", "name": "done", "inputs": { "value": { "ref": "fetch.output" } } }),
        ], vec![edge("start", "fetch"), edge("fetch", "done")]).await;
        for _ in 0..3 {
            assert_eq!(run(&app, &wf, json!({})).await["status"], "SUCCEEDED");
        }
        assert_eq!(run(&app, &wf, json!({})).await["status"], "FAILED");
        assert_eq!(calls.load(Ordering::SeqCst), 5);

        let stats = app.admin_ok(STATS, json!({ "id": wf })).await["workflowStats"].clone();
        assert_eq!(stats["workflowId"], json!(wf));
        assert_eq!((stats["runs"].clone(), stats["succeeded"].clone(), stats["failed"].clone(), stats["cancelled"].clone(), stats["inProgress"].clone()),
            (json!(4), json!(3), json!(1), json!(0), json!(0)));
        assert_eq!(stats["successRate"], json!(0.75));
        assert_eq!((stats["sampleSize"].clone(), stats["nodeSampleSize"].clone()), (json!(4), json!(4)));
        let p50 = stats["durationP50Ms"].as_i64().expect("a median");
        assert!(p50 <= stats["durationP95Ms"].as_i64().unwrap());
        let nodes: Vec<(String, String, i64, i64)> = stats["nodes"].as_array().unwrap().iter().map(|n| (
            n["nodeId"].as_str().unwrap().to_owned(), n["nodeType"].as_str().unwrap().to_owned(),
            n["runs"].as_i64().unwrap(), n["failures"].as_i64().unwrap())).collect();
        assert_eq!(nodes, vec![
            ("done".into(), "output".into(), 3, 0),
            ("fetch".into(), "api-call".into(), 5, 2),
            ("start".into(), "trigger".into(), 4, 0),
        ]);
        for node in stats["nodes"].as_array().unwrap() {
            assert!(node["durationP50Ms"].as_i64().unwrap() <= node["durationP95Ms"].as_i64().unwrap(), "{node}");
        }

        // A window that starts after every run holds nothing.
        let later = app.admin_ok(STATS, json!({ "id": wf, "since": (Utc::now() + chrono::Duration::minutes(1)).to_rfc3339() })).await;
        let later = &later["workflowStats"];
        assert_eq!((later["runs"].clone(), later["successRate"].clone(), later["durationP50Ms"].clone(), later["nodes"].clone()),
            (json!(0), Value::Null, Value::Null, json!([])));
        // One that starts before them holds all four.
        let since = app.admin_ok(STATS, json!({ "id": wf, "since": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339() })).await;
        assert_eq!(since["workflowStats"]["runs"], json!(4));

        let stranger = app.new_user("stranger@example.com").await;
        assert_eq!(error_code(&app.gql(Some(&stranger), STATS, json!({ "id": wf })).await), "NOT_FOUND");
    }

    async fn metrics_expose_execution_counts_and_node_durations(app: TestApp) {
        // The first scrape starts the node duration recorder.
        let before = scrape(&app).await;
        assert_eq!(before["weft_executions_total{status=\"succeeded\"}"], 0.0);
        let wf = failing_workflow(&app).await;
        for i in 0..3 {
            assert_eq!(run(&app, &wf, json!({ "tag": format!("t{i}") })).await["status"], "SUCCEEDED");
        }
        assert_eq!(run(&app, &wf, json!({ "tag": "x", "fail": true })).await["status"], "FAILED");
        // Node events reach the recorder asynchronously, and a count may be reused briefly.
        let mut metrics = scrape(&app).await;
        for _ in 0..200 {
            if metrics["weft_node_duration_seconds_count{outcome=\"succeeded\"}"] >= 7.0
                && metrics["weft_executions_total{status=\"succeeded\"}"] == 3.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            metrics = scrape(&app).await;
        }
        assert_eq!(metrics["weft_executions_total{status=\"succeeded\"}"], 3.0, "{metrics:#?}");
        assert_eq!(metrics["weft_executions_total{status=\"failed\"}"], 1.0);
        assert_eq!(metrics["weft_executions_total{status=\"running\"}"], 0.0);
        assert_eq!(metrics["weft_executions_running"], 0.0);
        assert_eq!(metrics["weft_executions_pending"], 0.0);
        assert!(metrics.contains_key("weft_subscribers"));
        // Trigger and transform of three runs, the trigger of the failed one; its transform failed.
        assert_eq!(metrics["weft_node_duration_seconds_count{outcome=\"succeeded\"}"], 7.0, "{metrics:#?}");
        assert_eq!(metrics["weft_node_duration_seconds_count{outcome=\"failed\"}"], 1.0);
        let buckets: Vec<f64> = metrics.iter()
            .filter(|(k, _)| k.starts_with("weft_node_duration_seconds_bucket{outcome=\"succeeded\""))
            .map(|(_, v)| *v).collect();
        assert_eq!(buckets.len(), weft::metrics::NODE_DURATION_BUCKETS.len() + 1);
        assert_eq!(metrics["weft_node_duration_seconds_bucket{outcome=\"succeeded\",le=\"+Inf\"}"], 7.0);
        assert!(metrics["weft_node_duration_seconds_bucket{outcome=\"succeeded\",le=\"30\"}"] <= 7.0);
    }

    async fn retention_deletes_old_and_surplus_finished_executions_and_keeps_running_ones(app: TestApp) {
        let a = failing_workflow(&app).await;
        let b = failing_workflow(&app).await;
        let days = |n: i64| Utc::now() - chrono::Duration::days(n);
        // A real execution, with node runs and events, moved 40 days back.
        let real = run(&app, &a, json!({ "tag": "old" })).await["id"].as_str().unwrap().to_owned();
        backdate(&app, &real, 40).await;
        assert!(count_rows(&app, "node_executions", &real).await > 0);
        assert!(count_rows(&app, "execution_events", &real).await > 0);
        let old_succeeded = insert_execution(&app, &a, "succeeded", days(35)).await;
        let old_failed = insert_execution(&app, &a, "failed", days(31)).await;
        let old_running = insert_execution(&app, &a, "running", days(50)).await;
        let old_pending = insert_execution(&app, &b, "pending", days(45)).await;
        let old_cancelled = insert_execution(&app, &b, "cancelled", days(60)).await;
        let recent_a: Vec<String> = futures::future::join_all((1..=5).map(|d| insert_execution(&app, &a, "succeeded", days(d)))).await;
        let recent_b: Vec<String> = futures::future::join_all((1..=2).map(|d| insert_execution(&app, &b, "failed", days(d)))).await;
        let policy = domain::retention::RetentionPolicy { max_age_days: Some(30), max_per_workflow: Some(3) };

        let report = domain::retention::prune(&app.db, &policy, Utc::now()).await.unwrap();
        assert_eq!(report, domain::retention::PruneReport { expired: 4, over_limit: 2 });
        let mut kept = listed(&app, &app.admin_token.clone(), json!({})).await;
        kept.sort();
        let mut want = vec![recent_a[0].clone(), recent_a[1].clone(), recent_a[2].clone(),
            recent_b[0].clone(), recent_b[1].clone(), old_running.clone(), old_pending.clone()];
        want.sort();
        assert_eq!(kept, want);
        for gone in [&real, &old_succeeded, &old_failed, &old_cancelled, &recent_a[3], &recent_a[4]] {
            assert!(!kept.contains(gone));
        }
        // Node runs and events went with their execution.
        assert_eq!(count_rows(&app, "node_executions", &real).await, 0);
        assert_eq!(count_rows(&app, "execution_events", &real).await, 0);
        // A second pass finds nothing more to do.
        let again = domain::retention::prune(&app.db, &policy, Utc::now()).await.unwrap();
        assert_eq!(again, domain::retention::PruneReport::default());
    }
}

async fn pruned_at_start_up(backend: weft_e2e::Backend) {
    let Some(app) = weft_e2e::spawn_app(backend).await else {
        return;
    };
    let wf = failing_workflow(&app).await;
    let old = insert_execution(
        &app,
        &wf,
        "succeeded",
        Utc::now() - chrono::Duration::days(10),
    )
    .await;
    let recent = insert_execution(
        &app,
        &wf,
        "succeeded",
        Utc::now() - chrono::Duration::days(1),
    )
    .await;
    // A second server on the same database, with retention on: its first pass runs at start.
    let mut config = weft::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: app.data_dir.path().to_path_buf(),
        database_url: Some(app.database_url.clone()),
        ..Default::default()
    };
    config.retention.max_age_days = Some(7);
    let second = weft::Application::build(config).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(second.run_until(async {
        let _ = rx.await;
    }));
    let token = app.admin_token.clone();
    let mut kept = listed(&app, &token, json!({})).await;
    for _ in 0..200 {
        if !kept.contains(&old) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        kept = listed(&app, &token, json!({})).await;
    }
    assert_eq!(kept, vec![recent]);
    let _ = tx.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_retention_prunes_at_start_up_on_sqlite() {
    pruned_at_start_up(weft_e2e::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_retention_prunes_at_start_up_on_postgres() {
    pruned_at_start_up(weft_e2e::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_want_the_configured_bearer_token() {
    let app = weft_e2e::spawn_app_with(weft_e2e::Backend::Sqlite, |config| {
        config.metrics_token = Some("metrics-secret".to_owned().into());
    })
    .await
    .unwrap();
    let url = format!("{}/metrics", app.base_url);
    let status = |r: reqwest::Response| r.status();
    assert_eq!(status(app.client.get(&url).send().await.unwrap()), 401);
    assert_eq!(
        status(
            app.client
                .get(&url)
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap()
        ),
        401
    );
    // An API token is not the metrics token.
    assert_eq!(
        status(
            app.client
                .get(&url)
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap()
        ),
        401
    );
    let ok = app
        .client
        .get(&url)
        .bearer_auth("metrics-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("weft_executions_total{status=\"succeeded\"} 0")
    );
}
