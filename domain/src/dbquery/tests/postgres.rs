//! PostgreSQL on 127.0.0.1:5432, database `test`.

use std::time::Instant;

use sea_orm::sqlx::{self, PgPool, Row};
use serde_json::{Value, json};

use super::*;
use crate::dbquery::DbErrorCode;

/// A table of this test's own in the `test` database, dropped by [`Fixture::finish`].
struct Fixture {
    admin: PgPool,
    table: String,
    conn: ConnectionSpec,
    pools: DbPools,
}

impl Fixture {
    async fn new(columns: &str) -> Self {
        let admin = PgPool::connect(POSTGRES_URL)
            .await
            .expect("PostgreSQL at 127.0.0.1:5432");
        let table = format!("weft_t_{}", unique());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {table} ({columns})"
        )))
        .execute(&admin)
        .await
        .unwrap();
        Self {
            admin,
            table,
            conn: spec(DbKind::Postgres, 5432, "test", "postgres"),
            pools: local_pools(),
        }
    }

    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.replace("$T", &self.table)))
            .execute(&self.admin)
            .await
            .unwrap();
    }

    fn q(&self, text: &str, query_type: QueryType, params: &[(&str, Value)]) -> QuerySpec {
        query(&text.replace("$T", &self.table), query_type, params)
    }

    /// Row count and an md5 over every row, to show nothing changed.
    async fn checksum(&self) -> (i64, String) {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {} t",
            self.table
        )))
        .fetch_one(&self.admin)
        .await
        .unwrap();
        (row.get(0), row.get(1))
    }

    async fn sessions(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(crate::dbquery::postgres::application_name(&self.conn.id))
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }

    async fn finish(self) {
        self.pools.forget(&self.conn.id);
        self.exec("DROP TABLE IF EXISTS $T CASCADE").await;
    }
}

#[tokio::test]
async fn postgres_parameters_of_every_common_type_round_trip_faithfully() {
    let f = Fixture::new(
        "id serial PRIMARY KEY, i int4, b int8, n numeric(40,10), f float8, t text, flag bool, \
         ts timestamptz, d date, j jsonb, bin bytea, u uuid, arr int4[], nothing text",
    )
    .await;
    let insert = f.q(
        "INSERT INTO $T (i, b, n, f, t, flag, ts, d, j, bin, u, arr, nothing) \
         VALUES (:i, :b, :n, :f, :t, :flag, :ts, :d, :j, :bin, :u, :arr, :nothing) RETURNING id",
        QueryType::Insert,
        &[
            ("i", integer()),
            ("b", integer()),
            ("n", string()),
            ("f", json!({"type": "number"})),
            ("t", string()),
            ("flag", json!({"type": "boolean"})),
            ("ts", json!({"type": "string", "format": "date-time"})),
            ("d", string()),
            ("j", json!({"type": "object"})),
            (
                "bin",
                json!({"type": "string", "contentEncoding": "base64"}),
            ),
            ("u", string()),
            ("arr", json!({"type": "array"})),
            ("nothing", json!({"type": ["string", "null"]})),
        ],
    );
    crate::dbquery::check_query(DbKind::Postgres, &insert).unwrap();
    let sent = json!({
        "i": -2147483648i64, "b": 9007199254740993i64, "n": "12345678901234567890.0123456789",
        "f": 2.5, "t": "it's \"quoted\" -- and ; stacked", "flag": true,
        "ts": "2024-02-29T23:59:58.123456+02:00", "d": "2024-02-29",
        "j": {"nested": [1, "two", null]}, "bin": "AAEC/w==",
        "u": "0b5c1d0e-8a4f-4c1b-9f1e-2d3c4b5a6978", "arr": [1, null, 3], "nothing": null
    });
    let inserted = run(&f.pools, &f.conn, &insert, sent.clone()).await.unwrap();
    assert_eq!(inserted.affected_rows, Some(1));
    let id = inserted.rows[0]["id"].as_i64().unwrap();

    let select = f.q(
        "SELECT * FROM $T WHERE id = :id",
        QueryType::Select,
        &[("id", integer())],
    );
    let got = run(&f.pools, &f.conn, &select, json!({"id": id}))
        .await
        .unwrap();
    let row = &got.rows[0];
    assert_eq!(row["i"], json!(-2147483648i64));
    assert_eq!(row["b"], json!(9007199254740993i64));
    assert_eq!(row["n"], json!("12345678901234567890.0123456789"));
    assert_eq!(row["f"], json!(2.5));
    assert_eq!(row["t"], sent["t"]);
    assert_eq!(row["flag"], json!(true));
    assert_eq!(row["ts"], json!("2024-02-29T21:59:58.123456Z"));
    assert_eq!(row["d"], json!("2024-02-29"));
    assert_eq!(row["j"], sent["j"]);
    assert_eq!(row["bin"], json!("AAEC/w=="));
    assert_eq!(row["u"], sent["u"]);
    assert_eq!(row["arr"], json!([1, null, 3]));
    assert_eq!(row["nothing"], Value::Null);
    let types: Vec<(&str, &str)> = got
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str()))
        .collect();
    assert!(
        types.contains(&("n", "numeric")) && types.contains(&("ts", "timestamptz")),
        "{types:?}"
    );

    // A plain string parameter takes the type the server infers for it.
    let by_uuid = f.q(
        "SELECT id FROM $T WHERE u = :u AND d = :d AND n = :n",
        QueryType::Select,
        &[("u", string()), ("d", string()), ("n", string())],
    );
    let got = run(
        &f.pools,
        &f.conn,
        &by_uuid,
        json!({"u": sent["u"], "d": "2024-02-29", "n": sent["n"]}),
    )
    .await
    .unwrap();
    assert_eq!(got.rows.len(), 1);
    let bad = run(
        &f.pools,
        &f.conn,
        &by_uuid,
        json!({"u": "not-a-uuid", "d": "2024-02-29", "n": "1"}),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code, DbErrorCode::InvalidParameter, "{bad:?}");
    f.finish().await;
}

#[tokio::test]
async fn postgres_pages_over_25000_rows_stitch_together_exactly_and_pages_are_capped() {
    let f = Fixture::new("n int4 PRIMARY KEY").await;
    f.exec("INSERT INTO $T SELECT g FROM generate_series(1, 25000) g")
        .await;
    let mut q = f.q("SELECT n FROM $T ORDER BY n", QueryType::Select, &[]);
    q.page_size = 10_000;
    let seen = read_all_pages(&f.pools, &f.conn, &q).await;
    assert_eq!(seen, (1..=25_000).collect::<Vec<i64>>());

    q.page_size = 777;
    let seen = read_all_pages(&f.pools, &f.conn, &q).await;
    assert_eq!(seen, (1..=25_000).collect::<Vec<i64>>());

    // The cap: a page never holds more than 10,000 rows, whatever the query asks for.
    q.page_size = 50_000;
    assert!(crate::dbquery::check_query(DbKind::Postgres, &q).is_err());
    let first = run_page(&f.pools, &f.conn, &q, None).await;
    assert_eq!(first.rows.len(), 10_000);
    assert!(first.has_more);
    let unlimited = f.q(
        "SELECT n FROM $T ORDER BY n LIMIT 20000",
        QueryType::Select,
        &[],
    );
    let capped = run_page(
        &f.pools,
        &f.conn,
        &QuerySpec {
            page_size: 10_000,
            ..unlimited
        },
        None,
    )
    .await;
    assert_eq!(capped.rows.len(), 10_000);
    assert_eq!(capped.next_page, Some(Page { offset: 10_000 }));
    f.finish().await;
}

#[tokio::test]
async fn a_postgres_query_over_its_timeout_ends_with_timeout_and_the_pool_stays_healthy() {
    let f = Fixture::new("n int4").await;
    let mut slow = f.q("SELECT pg_sleep(5)", QueryType::Select, &[]);
    slow.timeout = SHORT_TIMEOUT;
    let started = Instant::now();
    let err = run(&f.pools, &f.conn, &slow, json!({})).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code, DbErrorCode::Timeout, "{err:?}");
    assert!(took < SHORT_TIMEOUT + TIMEOUT_SLACK, "took {took:?}");

    let next = f.q("SELECT 1 AS one", QueryType::Select, &[]);
    let ok = run(&f.pools, &f.conn, &next, json!({})).await.unwrap();
    assert_eq!(ok.rows[0]["one"], json!(1));
    // Cancelling a run ends it the same way.
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        cancel.cancel();
    });
    slow.timeout = std::time::Duration::from_secs(10);
    let started = Instant::now();
    let err = f
        .pools
        .run(&f.conn, &slow, &Map::new(), None, token)
        .await
        .unwrap_err();
    assert_eq!(err.code, DbErrorCode::Timeout);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let ok = run(&f.pools, &f.conn, &next, json!({})).await.unwrap();
    assert_eq!(ok.rows.len(), 1);
    f.finish().await;
}

#[tokio::test]
async fn injection_through_postgres_parameters_and_query_text_changes_nothing() {
    let f = Fixture::new("id int4 PRIMARY KEY, name text").await;
    f.exec("INSERT INTO $T VALUES (1, 'alice'), (2, 'bob')")
        .await;
    f.exec(&format!("CREATE SEQUENCE {}_seq", f.table)).await;
    f.exec(&format!(
        "CREATE FUNCTION {0}_fn() RETURNS int LANGUAGE sql AS $$ DELETE FROM {0} RETURNING 1 $$",
        f.table
    ))
    .await;
    let before = f.checksum().await;

    let by_name = f.q(
        "SELECT * FROM $T WHERE name = :name",
        QueryType::Select,
        &[("name", string())],
    );
    for hostile in [
        "1; DROP TABLE $T",
        "' OR 1=1--",
        "x'; DELETE FROM $T; --",
        "COMMIT; DELETE FROM $T",
    ] {
        let got = run(
            &f.pools,
            &f.conn,
            &by_name,
            json!({"name": hostile.replace("$T", &f.table)}),
        )
        .await
        .unwrap();
        assert!(got.rows.is_empty(), "{hostile} matched rows");
    }
    let by_id = f.q(
        "SELECT * FROM $T WHERE id = :id",
        QueryType::Select,
        &[("id", integer())],
    );
    let err = run(&f.pools, &f.conn, &by_id, json!({"id": "1; DROP TABLE t"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, DbErrorCode::InvalidParameter);

    for text in [
        "SELECT * FROM $T WHERE id = 1; DROP TABLE $T",
        "SELECT 1; COMMIT; DELETE FROM $T",
        "COMMIT; DELETE FROM $T",
        "WITH gone AS (DELETE FROM $T RETURNING *) SELECT * FROM gone",
        "SELECT * FROM $T FOR UPDATE",
        "DELETE FROM $T",
        "DROP TABLE $T",
    ] {
        let q = f.q(text, QueryType::Select, &[]);
        let err = run(&f.pools, &f.conn, &q, json!({})).await.unwrap_err();
        assert_eq!(err.code, DbErrorCode::QueryRejected, "{text}: {err:?}");
        assert!(
            crate::dbquery::check_query(DbKind::Postgres, &q).is_err(),
            "{text}"
        );
    }
    // Writes no parser can see are stopped by the read-only transaction.
    for text in [
        format!("SELECT nextval('{}_seq')", f.table),
        format!("SELECT {}_fn()", f.table),
    ] {
        let q = query(&text, QueryType::Select, &[]);
        crate::dbquery::check_query(DbKind::Postgres, &q).unwrap();
        let err = run(&f.pools, &f.conn, &q, json!({})).await.unwrap_err();
        assert_eq!(err.code, DbErrorCode::QueryRejected, "{text}: {err:?}");
    }
    assert_eq!(f.checksum().await, before);
    f.exec(&format!(
        "DROP FUNCTION {}_fn(); DROP SEQUENCE {}_seq",
        f.table, f.table
    ))
    .await;
    f.finish().await;
}

#[tokio::test]
async fn two_hundred_concurrent_postgres_runs_share_a_pool_of_five() {
    let f = Fixture::new("n int4").await;
    let q = f.q(
        "SELECT pg_sleep(0.01), :i::int4 AS i",
        QueryType::Select,
        &[("i", integer())],
    );
    let done = CancellationToken::new();
    let sampler = {
        let done = done.clone();
        let admin = f.admin.clone();
        let name = crate::dbquery::postgres::application_name(&f.conn.id);
        tokio::spawn(async move {
            let mut peak = 0i64;
            while !done.is_cancelled() {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                )
                .bind(&name)
                .fetch_one(&admin)
                .await
                .unwrap();
                peak = peak.max(n);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let runs = (0..200).map(|i| {
        let (pools, conn, q) = (f.pools.clone(), f.conn.clone(), q.clone());
        tokio::spawn(async move { run(&pools, &conn, &q, json!({"i": i})).await })
    });
    let results = futures::future::join_all(runs).await;
    done.cancel();
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap().unwrap().rows[0]["i"], json!(i));
    }
    let peak = sampler.await.unwrap();
    assert!((1..=5).contains(&peak), "peak of {peak} server sessions");
    assert!(f.sessions().await <= 5);
    f.finish().await;
}

#[tokio::test]
async fn a_postgres_connection_dropped_by_the_server_is_replaced_on_the_next_run() {
    let f = Fixture::new("n int4").await;
    let q = f.q("SELECT count(*) AS c FROM $T", QueryType::Select, &[]);
    run(&f.pools, &f.conn, &q, json!({})).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(crate::dbquery::postgres::application_name(&f.conn.id))
    .fetch_one(&f.admin)
    .await
    .unwrap();
    assert!(killed >= 1);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let again = run(&f.pools, &f.conn, &q, json!({})).await.unwrap();
    assert_eq!(again.rows[0]["c"], json!(0));
    f.finish().await;
}

#[tokio::test]
async fn postgres_connection_test_and_schema_describe_the_server() {
    let f = Fixture::new("id int4 PRIMARY KEY, note text").await;
    let info = f.pools.test_connection(&f.conn).await.unwrap();
    assert!(info.version.starts_with("PostgreSQL "), "{}", info.version);
    let tables = f.pools.schema(&f.conn).await.unwrap();
    let table = tables
        .iter()
        .find(|t| t.name == f.table)
        .expect("the table is listed");
    assert_eq!(table.kind, "table");
    assert_eq!(table.columns.len(), 2);
    assert!(!table.columns[0].nullable && table.columns[1].nullable);

    let mut wrong = f.conn.clone();
    wrong.database = "no_such_database_here".into();
    wrong.id = format!("test-{}", unique());
    let err = f.pools.test_connection(&wrong).await.unwrap_err();
    assert_eq!(err.code, DbErrorCode::ConnectionFailed, "{err:?}");
    f.finish().await;
}

#[tokio::test]
async fn a_postgres_result_over_the_size_cap_is_result_too_large_and_the_pool_recovers() {
    let f = Fixture::new("n int4").await;
    let big = f.q(
        "SELECT repeat('x', 1000000) AS blob FROM generate_series(1, 20)",
        QueryType::Select,
        &[],
    );
    let err = run(&f.pools, &f.conn, &big, json!({})).await.unwrap_err();
    assert_eq!(err.code, DbErrorCode::ResultTooLarge, "{err:?}");
    let ok = run(
        &f.pools,
        &f.conn,
        &f.q("SELECT 1 AS one", QueryType::Select, &[]),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(ok.rows.len(), 1);
    f.finish().await;
}

#[tokio::test]
async fn a_changed_connection_gets_a_fresh_pool_and_a_forgotten_one_closes_its_sessions() {
    let f = Fixture::new("n int4").await;
    let q = f.q("SELECT 1 AS one", QueryType::Select, &[]);
    run(&f.pools, &f.conn, &q, json!({})).await.unwrap();
    let mut changed = f.conn.clone();
    changed.revision = "2".into();
    changed.database = "no_such_database_here".into();
    let err = run(&f.pools, &changed, &q, json!({})).await.unwrap_err();
    assert_eq!(err.code, DbErrorCode::ConnectionFailed, "{err:?}");
    changed.database = "test".into();
    changed.revision = "3".into();
    run(&f.pools, &changed, &q, json!({})).await.unwrap();
    f.pools.forget(&f.conn.id);
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    while f.sessions().await > 0 {
        assert!(
            Instant::now() < deadline,
            "sessions of a forgotten connection stay open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    f.finish().await;
}

#[tokio::test]
async fn a_pool_checks_its_target_again_at_connect_time_and_never_dials_a_refused_one() {
    // A connection saved under a wider policy (or whose name now resolves elsewhere) is
    // refused when its pool is built, before anything is dialled.
    let pools = DbPools::new();
    let conn = spec(DbKind::Postgres, 5432, "test", "postgres");
    for err in [
        pools.test_connection(&conn).await.unwrap_err(),
        run(
            &pools,
            &conn,
            &query("SELECT 1 AS n", QueryType::Select, &[]),
            json!({}),
        )
        .await
        .unwrap_err(),
    ] {
        assert_eq!(err.code, DbErrorCode::ConnectionFailed);
        assert!(err.message.contains("loopback address"), "{err}");
    }
    let admin = PgPool::connect(POSTGRES_URL).await.unwrap();
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(crate::dbquery::postgres::application_name(&conn.id))
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(sessions, 0);
}
