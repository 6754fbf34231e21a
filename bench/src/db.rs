//! `weft-bench db`: the per-query overhead of [`DbPools::run`] against the raw driver, for
//! a trivial parameterized SELECT, one query at a time on a warm pool. The numbers go in
//! the README ("Database queries").
//!
//! Three rows per server: the raw driver's one-statement round trip; the raw driver doing
//! what Weft does for safety (time limit and read-only transaction: `BEGIN READ ONLY; SET
//! LOCAL statement_timeout` / `SET max_statement_time; START TRANSACTION READ ONLY`, the
//! statement wrapped for paging, `COMMIT`); and Weft. The ratio to the first row is the
//! price of the safety measures; the ratio to the second is Weft's own code.

use std::time::{Duration, Instant};

use anyhow::Context;
use domain::dbquery::testing::MongoTestServer;
use domain::dbquery::{ConnectionSpec, DbKind, DbPools, ParamDecl, QuerySpec, QueryType, TlsMode};
use mysql_async::prelude::Queryable;
use sea_orm::sqlx::{self, Row};
use serde_json::{Map, json};
use tokio_util::sync::CancellationToken;

/// Options of `weft-bench db`.
pub struct Options {
    /// Timed queries per row (after a warm-up of a tenth as many).
    pub iterations: usize,
    pub postgres_url: String,
    pub mysql_url: String,
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

async fn measure<F, Fut>(iterations: usize, mut f: F) -> anyhow::Result<Stats>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for i in 0..(iterations / 10).max(10) {
        f(i as i64).await?;
    }
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let started = Instant::now();
        f(i as i64).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Ok(Stats {
        p50: pick(0.50),
        p99: pick(0.99),
        mean: samples.iter().sum::<Duration>() / samples.len() as u32,
    })
}

fn report(server: &str, rows: &[(&str, Stats)]) {
    let base = rows[0].1.p50.as_secs_f64();
    for (name, s) in rows {
        println!(
            "| {server} | {name} | {:.0} | {:.0} | {:.0} | {:.2} |",
            s.p50.as_secs_f64() * 1e6,
            s.p99.as_secs_f64() * 1e6,
            s.mean.as_secs_f64() * 1e6,
            s.p50.as_secs_f64() / base
        );
    }
}

fn spec(kind: DbKind, host: &str, port: u16, database: &str, username: &str) -> ConnectionSpec {
    ConnectionSpec {
        id: format!("bench-{}", kind.as_str()),
        kind,
        host: host.into(),
        port,
        database: database.into(),
        username: username.into(),
        password: None,
        tls_mode: TlsMode::Disable,
        pool_size: 5,
        revision: "1".into(),
        detailed_errors: true,
    }
}

fn query(text: &str, query_type: QueryType) -> QuerySpec {
    QuerySpec {
        parameters: vec![ParamDecl {
            name: "n".into(),
            schema: json!({"type": "integer"}),
        }],
        ..QuerySpec::new(text, query_type)
    }
}

async fn weft_run(
    pools: &DbPools,
    conn: &ConnectionSpec,
    q: &QuerySpec,
    n: i64,
) -> anyhow::Result<()> {
    let mut params = Map::new();
    params.insert("n".into(), json!(n));
    let r = pools
        .run(conn, q, &params, None, CancellationToken::new())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(r.rows.len() == 1, "one row expected");
    Ok(())
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let n = options.iterations;
    println!("per-query latency in µs, {n} sequential queries each, pool of 5, warm");
    println!("| server | path | p50 | p99 | mean | p50 ratio |");
    println!("|---|---|---|---|---|---|");
    // The operator points the benchmark at their own servers, usually on this machine.
    let pools = DbPools::with_policy(domain::dbquery::DatabasePolicy {
        allow_private_networks: true,
        ..Default::default()
    });

    // PostgreSQL
    let url = url::Url::parse(&options.postgres_url).context("postgres URL")?;
    let raw = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        .connect(&options.postgres_url)
        .await
        .context("connecting to PostgreSQL")?;
    let plain = measure(n, |i| {
        let raw = raw.clone();
        async move {
            let row = sqlx::query("SELECT $1::int8 AS n")
                .bind(i)
                .fetch_one(&raw)
                .await?;
            anyhow::ensure!(row.get::<i64, _>(0) == i);
            Ok(())
        }
    })
    .await?;
    let guarded = measure(n, |i| {
        let raw = raw.clone();
        async move {
            let mut c = raw.acquire().await?;
            sqlx::raw_sql("BEGIN READ ONLY; SET LOCAL statement_timeout = 30000")
                .execute(&mut *c)
                .await?;
            sqlx::query("SELECT * FROM (SELECT $1::int8 AS n) AS p LIMIT $2 OFFSET $3")
                .bind(i)
                .bind(1001i64)
                .bind(0i64)
                .fetch_one(&mut *c)
                .await?;
            sqlx::raw_sql("COMMIT").execute(&mut *c).await?;
            Ok(())
        }
    })
    .await?;
    let conn = spec(
        DbKind::Postgres,
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432),
        url.path().trim_start_matches('/'),
        url.username(),
    );
    let q = query("SELECT :n AS n", QueryType::Select);
    let weft = measure(n, |i| {
        let (pools, conn, q) = (&pools, &conn, &q);
        async move { weft_run(pools, conn, q, i).await }
    })
    .await?;
    report(
        "PostgreSQL",
        &[
            ("raw sqlx", plain),
            ("raw sqlx, same safety", guarded),
            ("Weft DbPools::run", weft),
        ],
    );

    // MariaDB / MySQL
    let url = url::Url::parse(&options.mysql_url).context("mysql URL")?;
    let raw = mysql_async::Pool::new(options.mysql_url.as_str());
    let plain = measure(n, |i| {
        let raw = raw.clone();
        async move {
            let mut c = raw.get_conn().await?;
            let v: Option<i64> = c.exec_first("SELECT ? AS n", (i,)).await?;
            anyhow::ensure!(v == Some(i));
            Ok(())
        }
    })
    .await?;
    let guarded = measure(n, |i| {
        let raw = raw.clone();
        async move {
            let mut c = raw.get_conn().await?;
            c.query_drop("SET SESSION max_statement_time = 30; START TRANSACTION READ ONLY")
                .await?;
            let _: Option<i64> = c
                .exec_first(
                    "SELECT * FROM (SELECT ? AS n) AS p LIMIT ? OFFSET ?",
                    (i, 1001, 0),
                )
                .await?;
            c.query_drop("COMMIT").await?;
            Ok(())
        }
    })
    .await?;
    let conn = spec(
        DbKind::MySql,
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(3306),
        url.path().trim_start_matches('/'),
        url.username(),
    );
    let weft = measure(n, |i| {
        let (pools, conn, q) = (&pools, &conn, &q);
        async move { weft_run(pools, conn, q, i).await }
    })
    .await?;
    report(
        "MariaDB",
        &[
            ("raw mysql_async", plain),
            ("raw mysql_async, same safety", guarded),
            ("Weft DbPools::run", weft),
        ],
    );
    let _ = raw.disconnect().await;

    // MongoDB (nx-27017), when installed.
    if let Some(server) = MongoTestServer::start() {
        let conn = spec(DbKind::MongoDb, "127.0.0.1", server.port(), "bench", "");
        let insert = QuerySpec::new(
            r#"{"collection":"bench","document":{"n":1}}"#,
            QueryType::InsertOne,
        );
        pools
            .run(&conn, &insert, &Map::new(), None, CancellationToken::new())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let client = mongodb::Client::with_uri_str(server.url()).await?;
        let coll = client
            .database("bench")
            .collection::<mongodb::bson::Document>("bench");
        let plain = measure(n, |_| {
            let coll = coll.clone();
            async move {
                use futures::TryStreamExt;
                let docs: Vec<_> = coll
                    .find(mongodb::bson::doc! {"n": 1i64})
                    .limit(1001)
                    .await?
                    .try_collect()
                    .await?;
                anyhow::ensure!(docs.len() == 1);
                Ok(())
            }
        })
        .await?;
        let q = query(
            r#"{"collection":"bench","filter":{"n":{"$param":"n"}}}"#,
            QueryType::Find,
        );
        let weft = measure(n, |_| {
            let (pools, conn, q) = (&pools, &conn, &q);
            async move { weft_run(pools, conn, q, 1).await }
        })
        .await?;
        report(
            "MongoDB (nx-27017)",
            &[("raw mongodb driver", plain), ("Weft DbPools::run", weft)],
        );
    }
    Ok(())
}
