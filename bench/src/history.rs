//! `weft-bench history`: history queries through the real GraphQL HTTP path against a
//! seeded database (`weft-bench seed`), as an administrator and as users who see only part of
//! the history. The numbers go in the README against DESIGN.md's target (p99 ≤ 20 ms).
//!
//! It serves the database named by `WEFT_DATABASE_URL` (or the default SQLite file) on
//! an ephemeral port with retention off, so the seeded rows are never pruned.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use entity::{workflow_executions, workflows};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Value, json};

use weft::graphql::ids::{Kind, encode};
use weft::{Application, Config};

use crate::client::GraphqlClient;

/// Options of `weft-bench history`.
pub struct Options {
    /// Timed requests per query (after a warm-up of a tenth as many).
    pub iterations: usize,
}

const LIST: &str = "query($first: Int, $after: String, $status: ExecutionStatus, $workflowId: ID,
        $startedAfter: DateTime, $startedBefore: DateTime, $text: String) {
    executions(first: $first, after: $after, status: $status, workflowId: $workflowId,
               startedAfter: $startedAfter, startedBefore: $startedBefore, text: $text) {
        edges { cursor node { id status triggerKind startedAt durationMs workflow { id name } } }
        pageInfo { hasNextPage endCursor }
        searchResumeCursor
    } }";

const STATS: &str = "query($id: ID!) { workflowStats(workflowId: $id) {
    runs successRate durationP50Ms durationP95Ms nodes { nodeId runs failures durationP95Ms } } }";

/// p50 and p99 of `iterations` sequential requests, and the last response.
async fn measure(
    client: &GraphqlClient,
    token: &str,
    query: &str,
    variables: &Value,
    iterations: usize,
) -> anyhow::Result<(Duration, Duration, Value)> {
    let (times, last) = client.measure(token, query, variables, iterations).await?;
    Ok((percentile(&times, 50.0), percentile(&times, 99.0), last))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A token for `email`, creating the (non-admin) user when missing.
async fn user_token(
    db: &DatabaseConnection,
    admin: &domain::auth::Principal,
    email: &str,
) -> anyhow::Result<(domain::auth::Principal, String)> {
    let fail = |e: domain::DomainError| anyhow::anyhow!("{e}");
    if let Some(user) = domain::auth::find_user_by_email(db, email)
        .await
        .map_err(fail)?
    {
        let principal = domain::auth::Principal {
            user_id: user.id,
            role: domain::auth::Role::User,
        };
        let (_, token) = domain::auth::create_api_key(db, &principal, "bench-history", None)
            .await
            .map_err(fail)?;
        return Ok((principal, token));
    }
    let (user, token) = domain::auth::create_user(
        db,
        admin,
        domain::auth::NewUser {
            email: email.to_owned(),
            name: email.to_owned(),
            role: domain::auth::Role::User,
        },
    )
    .await
    .map_err(fail)?;
    Ok((
        domain::auth::Principal {
            user_id: user.id,
            role: domain::auth::Role::User,
        },
        token,
    ))
}

/// Seeded workflows (those with executions), busiest first, with their execution counts.
async fn workflows_by_activity(db: &DatabaseConnection) -> anyhow::Result<Vec<(String, i64)>> {
    let mut counts: Vec<(String, i64)> = workflow_executions::Entity::find()
        .select_only()
        .column(workflow_executions::Column::WorkflowId)
        .column_as(
            Expr::expr(Func::count(Expr::col(workflow_executions::Column::Id))),
            "n",
        )
        .group_by(workflow_executions::Column::WorkflowId)
        .into_tuple()
        .all(db)
        .await?;
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts)
}

/// Serves the configured database, then prints one Markdown table row per query.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let iterations = options.iterations.max(10);
    let mut config = Config::from_env()?;
    config.listen = "127.0.0.1:0".parse()?;
    config.retention = Default::default();
    config.metrics_token = None;
    let app = Application::build(config).await?;
    let db = app.db().clone();
    let base = format!("http://{}", app.local_addr());
    let backend = format!("{:?}", db.get_database_backend());
    tokio::spawn(app.run_until(std::future::pending()));

    let total = workflow_executions::Entity::find().count(&db).await?;
    anyhow::ensure!(
        total > 0,
        "the database has no executions: run `weft-bench seed --executions 1000000` first"
    );
    let admin_user = entity::users::Entity::find()
        .filter(entity::users::Column::Role.eq("admin"))
        .order_by_asc(entity::users::Column::Id)
        .one(&db)
        .await?
        .context("the database has no administrator")?;
    let admin = domain::auth::Principal {
        user_id: admin_user.id,
        role: domain::auth::Role::Admin,
    };
    let (_, admin_token) = domain::auth::create_api_key(&db, &admin, "bench-history", None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let activity = workflows_by_activity(&db).await?;
    let busiest = activity
        .first()
        .context("no workflow has executions")?
        .0
        .clone();
    let quietest = activity.last().expect("not empty").0.clone();
    let median = |i: usize| {
        activity[(activity.len() * i / 4).min(activity.len() - 1)]
            .0
            .clone()
    };
    // One viewer sees a mix (the busiest, two typical, the quietest); one sees only a
    // quiet workflow, which is where filtering a newest-first scan by visibility hurts.
    let shared = [busiest.clone(), median(1), median(2), quietest.clone()];
    let (_, viewer_token) = user_token(&db, &admin, "bench-viewer@localhost").await?;
    let (_, sparse_token) = user_token(&db, &admin, "bench-sparse@localhost").await?;
    for workflow_id in &shared {
        domain::store::workflows::share(
            &db,
            &admin,
            workflow_id,
            "bench-viewer@localhost",
            "viewer",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    domain::store::workflows::share(&db, &admin, &quietest, "bench-sparse@localhost", "viewer")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let workflow_count = workflows::Entity::find().count(&db).await?;

    let client = GraphqlClient::new(&base);
    let now = Utc::now();
    let range = json!({
        "startedAfter": (now - chrono::Duration::days(60)).to_rfc3339(),
        "startedBefore": (now - chrono::Duration::days(53)).to_rfc3339(),
    });
    let with = |extra: Value| {
        let mut vars = json!({ "first": 20 });
        for (k, v) in extra.as_object().expect("an object") {
            vars[k] = v.clone();
        }
        vars
    };
    let busiest_gid = encode(Kind::Workflow, &busiest).0;
    let quietest_gid = encode(Kind::Workflow, &quietest).0;

    println!(
        "weft-bench history on {backend}: {total} executions, {} workflows with executions, \
         {workflow_count} workflows; {iterations} sequential requests per row, page size 20",
        activity.len()
    );
    println!();
    println!("| query | caller | p50 | p99 | rows |");
    println!("|---|---|---|---|---|");

    let callers = [
        ("admin", admin_token.as_str(), busiest_gid.clone()),
        (
            "viewer of 4 workflows",
            viewer_token.as_str(),
            busiest_gid.clone(),
        ),
        (
            "viewer of 1 quiet workflow",
            sparse_token.as_str(),
            quietest_gid.clone(),
        ),
    ];
    for (caller, token, workflow) in &callers {
        let first_page = client.gql(token, LIST, &with(json!({}))).await?;
        let cursor = first_page["executions"]["pageInfo"]["endCursor"].clone();
        let cases = [
            ("no filter", with(json!({}))),
            ("status: FAILED", with(json!({ "status": "FAILED" }))),
            ("workflowId", with(json!({ "workflowId": workflow }))),
            (
                "date range (7 days, 60 to 53 days ago)",
                with(range.clone()),
            ),
            (
                "workflowId + status: CANCELLED",
                with(json!({ "workflowId": workflow, "status": "CANCELLED" })),
            ),
            (
                "status + date range",
                with(
                    json!({ "status": "FAILED", "startedAfter": range["startedAfter"], "startedBefore": range["startedBefore"] }),
                ),
            ),
            (
                "second page (after: endCursor)",
                with(json!({ "after": cursor })),
            ),
        ];
        for (name, variables) in cases {
            let (p50, p99, last) = measure(&client, token, LIST, &variables, iterations).await?;
            let rows = last["executions"]["edges"].as_array().map_or(0, Vec::len);
            println!("| {name} | {caller} | {} | {} | {rows} |", ms(p50), ms(p99));
        }
    }

    println!();
    println!("Beyond the target (not index-backed or not a listing):");
    println!();
    println!("| query | caller | p50 | p99 | rows |");
    println!("|---|---|---|---|---|");
    let text_iterations = (iterations / 10).max(10);
    for (name, text) in [
        ("text, common (\"timed out\", in errors)", "timed out"),
        ("text, one match (an order id in one input)", "ord-0500000"),
    ] {
        let variables = with(json!({ "text": text }));
        let (p50, p99, last) =
            measure(&client, &admin_token, LIST, &variables, text_iterations).await?;
        let rows = last["executions"]["edges"].as_array().map_or(0, Vec::len);
        println!("| {name} | admin | {} | {} | {rows} |", ms(p50), ms(p99));
    }
    let (p50, p99, _) = measure(
        &client,
        &admin_token,
        STATS,
        &json!({ "id": busiest_gid }),
        text_iterations,
    )
    .await?;
    println!(
        "| workflowStats, busiest workflow | admin | {} | {} | |",
        ms(p50),
        ms(p99)
    );
    let mut counts = Vec::new();
    for _ in 0..text_iterations {
        let started = Instant::now();
        workflow_executions::Entity::find()
            .select_only()
            .column(workflow_executions::Column::Status)
            .column_as(
                Expr::expr(Func::count(Expr::col(workflow_executions::Column::Id))),
                "n",
            )
            .group_by(workflow_executions::Column::Status)
            .into_tuple::<(String, i64)>()
            .all(&db)
            .await?;
        counts.push(started.elapsed());
    }
    counts.sort();
    println!(
        "| the count by status behind `weft_executions_total` (SQL only, uncached) | | {} | {} | |",
        ms(percentile(&counts, 50.0)),
        ms(percentile(&counts, 99.0))
    );
    let http = reqwest::Client::new();
    let mut scrapes = Vec::new();
    for _ in 0..text_iterations {
        let started = Instant::now();
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        anyhow::ensure!(
            text.contains("weft_executions_total"),
            "bad metrics: {text}"
        );
        scrapes.push(started.elapsed());
    }
    scrapes.sort();
    println!(
        "| GET /metrics, back to back (the count is reused for 100× its cost) | none | {} | {} | |",
        ms(percentile(&scrapes, 50.0)),
        ms(percentile(&scrapes, 99.0))
    );
    Ok(())
}
