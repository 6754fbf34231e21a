//! `weft-bench engine`: the numbers in the README. Starts Weft in-process on a fresh database
//! (SQLite in a temporary directory, or `WEFT_BENCH_DATABASE_URL`) and measures the engine
//! and the GraphQL path against DESIGN.md's targets.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use weft::{Application, Config};

use crate::client::GraphqlClient;

pub struct BenchOptions {
    pub iterations: usize,
    pub concurrency: usize,
    pub throughput_secs: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn chain(n: usize) -> Value {
    let mut nodes = vec![
        json!({ "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } }),
    ];
    let mut edges = Vec::new();
    let mut previous = "start".to_owned();
    for i in 0..n {
        let id = format!("n{i}");
        nodes.push(json!({ "id": id, "type": "data-transform", "name": id, "config": { "expr": ".x + 1 | { x: . }" },
            "inputs": { "data": { "ref": format!("{previous}.output") } } }));
        edges.push(json!({ "source": previous, "target": id }));
        previous = id;
    }
    json!({ "version": 1, "nodes": nodes, "edges": edges })
}

/// The GraphQL client with the administrator's token.
struct Client {
    graphql: GraphqlClient,
    token: String,
}

impl Client {
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        self.graphql.gql(&self.token, query, &variables).await
    }
    async fn create(&self, name: &str, document: Value) -> anyhow::Result<String> {
        let data = self
            .gql(
                "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }",
                json!({ "i": { "name": name, "document": document } }),
            )
            .await?;
        Ok(data["createWorkflow"]["id"]
            .as_str()
            .context("workflow id")?
            .to_owned())
    }

    async fn run(&self, id: &str) -> anyhow::Result<Value> {
        let data = self
            .gql(
                "mutation($id: ID!) { executeWorkflow(id: $id, input: { x: 0 }, wait: true) { status } }",
                json!({ "id": id }),
            )
            .await?;
        anyhow::ensure!(
            data["executeWorkflow"]["status"] == "SUCCEEDED",
            "run failed: {data}"
        );
        Ok(data)
    }
}

pub async fn run(options: BenchOptions) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let token = domain::auth::generate_token();
    let database_url = std::env::var("WEFT_BENCH_DATABASE_URL").ok();
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        database_url: database_url.clone(),
        master_key: None,
        master_key_previous: None,
        admin_token: Some(token.clone().into()),
        outbound: Default::default(),
        ..Default::default()
    };
    let app = Application::build(config).await?;
    let engine = app.engine().clone();
    let db = app.db().clone();
    let base = format!("http://{}", app.local_addr());
    let backend = if database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    tokio::spawn(app.run_until(std::future::pending()));
    let client = Client {
        graphql: GraphqlClient::new(&base),
        token: token.clone(),
    };
    let admin = domain::auth::authenticate(&db, &token)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    println!(
        "weft-bench engine on {backend} ({} iterations, {} concurrent, {} s throughput)",
        options.iterations, options.concurrency, options.throughput_secs
    );
    println!();
    println!("| what | p50 | p99 | target |");
    println!("|---|---|---|---|");

    // Engine overhead per node: a 20-node chain through the engine, durable, no HTTP.
    let chain20 = client.create("chain-20", chain(20)).await?;
    let mut per_node = Vec::with_capacity(options.iterations);
    for _ in 0..options.iterations {
        let t = Instant::now();
        let done = engine
            .execute(&admin, &ids(&chain20)?, json!({ "x": 0 }), true)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(done.status == "succeeded", "chain failed: {:?}", done.error);
        per_node.push(t.elapsed() / 21);
    }
    per_node.sort();
    println!(
        "| engine overhead per node (durable, 21-node chain) | {} | {} | p50 ≤ 0.3 ms, p99 ≤ 1 ms |",
        ms(percentile(&per_node, 50.0)),
        ms(percentile(&per_node, 99.0))
    );

    // 3-node workflow through executeWorkflow(wait: true) over HTTP.
    let three = client.create("three", chain(2)).await?;
    for _ in 0..20 {
        client.run(&three).await?;
    }
    let mut latencies = Vec::with_capacity(options.iterations);
    for _ in 0..options.iterations {
        let t = Instant::now();
        client.run(&three).await?;
        latencies.push(t.elapsed());
    }
    latencies.sort();
    println!(
        "| 3-node workflow, executeWorkflow(wait: true) over HTTP | {} | {} | p50 ≤ 2 ms, p99 ≤ 10 ms |",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0))
    );

    // Throughput: 3-node workflows from `concurrency` concurrent callers of the engine.
    let raw_three = ids(&three)?;
    let deadline = Instant::now() + Duration::from_secs(options.throughput_secs);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let engine = engine.clone();
        let admin = admin.clone();
        let id = raw_three.clone();
        workers.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let done = engine.execute(&admin, &id, json!({ "x": 0 }), true).await;
                if matches!(done, Ok(ref e) if e.status == "succeeded") {
                    n += 1;
                }
            }
            n
        });
    }
    let mut total = 0;
    while let Some(n) = workers.join_next().await {
        total += n?;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "| throughput, 3-node workflows ({} concurrent) | {rate:.0}/s | | ≥ 3,000/s SQLite, ≥ 1,500/s PostgreSQL |",
        options.concurrency
    );

    // A 1,000-node workflow.
    let big = client.create("chain-1000", chain(999)).await?;
    let mut big_runs = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let done = engine
            .execute(&admin, &ids(&big)?, json!({ "x": 0 }), true)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(
            done.status == "succeeded",
            "1000-node chain failed: {:?}",
            done.error
        );
        big_runs.push(t.elapsed());
    }
    big_runs.sort();
    println!(
        "| 1,000-node workflow (chain), end to end | {} | {} (max of 3) | under 1 s |",
        ms(big_runs[1]),
        ms(big_runs[2])
    );
    Ok(())
}

/// The row id inside a global ID.
fn ids(global: &str) -> anyhow::Result<String> {
    weft::graphql::ids::decode("id", weft::graphql::ids::Kind::Workflow, global)
        .map_err(|_| anyhow::anyhow!("bad id {global}"))
}
