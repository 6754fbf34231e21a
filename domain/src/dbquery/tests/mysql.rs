//! MariaDB (MySQL protocol) on 127.0.0.1:3306, database `test`. Each test logs in as a
//! user of its own, so its server sessions can be counted and killed by user name.

use std::time::Instant;

use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use super::*;
use crate::dbquery::DbErrorCode;

struct Fixture {
    admin: mysql_async::Pool,
    table: String,
    user: String,
    conn: ConnectionSpec,
    pools: DbPools,
}

impl Fixture {
    async fn new(columns: &str) -> Self {
        let admin = mysql_async::Pool::new(MYSQL_URL);
        let suffix = unique();
        let table = format!("weft_t_{suffix}");
        let user = format!("weft_u_{suffix}");
        let mut c = admin.get_conn().await.expect("MariaDB at 127.0.0.1:3306");
        c.query_drop(format!("CREATE TABLE {table} ({columns})"))
            .await
            .unwrap();
        c.query_drop(format!("CREATE USER '{user}'@'%'"))
            .await
            .unwrap();
        c.query_drop(format!("GRANT ALL ON test.* TO '{user}'@'%'"))
            .await
            .unwrap();
        drop(c);
        Self {
            admin,
            conn: spec(DbKind::MySql, 3306, "test", &user),
            table,
            user,
            pools: local_pools(),
        }
    }

    async fn exec(&self, sql: &str) {
        let mut c = self.admin.get_conn().await.unwrap();
        c.query_drop(sql.replace("$T", &self.table)).await.unwrap();
    }

    fn q(&self, text: &str, query_type: QueryType, params: &[(&str, Value)]) -> QuerySpec {
        query(&text.replace("$T", &self.table), query_type, params)
    }

    async fn checksum(&self) -> (i64, String) {
        let mut c = self.admin.get_conn().await.unwrap();
        let row: Option<(i64, Option<String>)> = c
            .query_first(format!(
                "SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(':', id, name) ORDER BY id)) FROM {}",
                self.table
            ))
            .await
            .unwrap();
        let (n, sum) = row.unwrap();
        (n, sum.unwrap_or_default())
    }

    async fn session_ids(&self) -> Vec<u64> {
        let mut c = self.admin.get_conn().await.unwrap();
        c.exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?",
            (self.user.clone(),),
        )
        .await
        .unwrap()
    }

    async fn finish(self) {
        self.pools.forget(&self.conn.id);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.exec("DROP TABLE IF EXISTS $T").await;
        self.exec(&format!("DROP USER IF EXISTS '{}'@'%'", self.user))
            .await;
        let _ = self.admin.disconnect().await;
    }
}

#[tokio::test]
async fn mysql_parameters_of_every_common_type_round_trip_faithfully() {
    let f = Fixture::new(
        "id INT AUTO_INCREMENT PRIMARY KEY, i INT, b BIGINT, n DECIMAL(40,10), f DOUBLE, t TEXT, \
         flag BOOLEAN, ts TIMESTAMP(6) NULL, dt DATETIME(3), d DATE, tm TIME, j JSON, bin VARBINARY(16), \
         nothing VARCHAR(10)",
    )
    .await;
    let insert = f.q(
        "INSERT INTO $T (i, b, n, f, t, flag, ts, dt, d, tm, j, bin, nothing) \
         VALUES (:i, :b, :n, :f, :t, :flag, :ts, :dt, :d, :tm, :j, :bin, :nothing)",
        QueryType::Insert,
        &[
            ("i", integer()),
            ("b", integer()),
            ("n", string()),
            ("f", json!({"type": "number"})),
            ("t", string()),
            ("flag", json!({"type": "boolean"})),
            ("ts", json!({"type": "string", "format": "date-time"})),
            ("dt", json!({"type": "string", "format": "date-time"})),
            ("d", string()),
            ("tm", string()),
            ("j", json!({"type": "object"})),
            (
                "bin",
                json!({"type": "string", "contentEncoding": "base64"}),
            ),
            ("nothing", json!({"type": ["string", "null"]})),
        ],
    );
    crate::dbquery::check_query(DbKind::MySql, &insert).unwrap();
    let sent = json!({
        "i": -2147483648i64, "b": 9007199254740993i64, "n": "123456789012345678901234567890.0123456789",
        "f": 2.5, "t": "it's \"quoted\" \\ -- and ; stacked", "flag": true,
        "ts": "2024-02-29T23:59:58.123456+02:00", "dt": "2024-02-29T10:00:00.5Z",
        "d": "2024-02-29", "tm": "12:34:56",
        "j": {"nested": [1, "two", null]}, "bin": "AAEC/w==", "nothing": null
    });
    let inserted = run(&f.pools, &f.conn, &insert, sent.clone()).await.unwrap();
    assert_eq!(inserted.affected_rows, Some(1));

    let select = f.q(
        "SELECT * FROM $T WHERE i = :i",
        QueryType::Select,
        &[("i", integer())],
    );
    let got = run(&f.pools, &f.conn, &select, json!({"i": -2147483648i64}))
        .await
        .unwrap();
    let row = &got.rows[0];
    assert_eq!(row["i"], json!(-2147483648i64));
    assert_eq!(row["b"], json!(9007199254740993i64));
    assert_eq!(row["n"], json!("123456789012345678901234567890.0123456789"));
    assert_eq!(row["f"], json!(2.5));
    assert_eq!(row["t"], sent["t"]);
    assert_eq!(row["flag"], json!(1), "MySQL booleans are TINYINT(1)");
    assert_eq!(row["ts"], json!("2024-02-29T21:59:58.123456Z"));
    assert_eq!(row["dt"], json!("2024-02-29T10:00:00.500000"));
    assert_eq!(row["d"], json!("2024-02-29"));
    assert_eq!(row["tm"], json!("12:34:56"));
    // MariaDB's JSON is LONGTEXT with a check: the text comes back as sent.
    let j = match &row["j"] {
        Value::String(s) => serde_json::from_str::<Value>(s).unwrap(),
        other => other.clone(),
    };
    assert_eq!(j, sent["j"]);
    assert_eq!(row["bin"], json!("AAEC/w=="));
    assert_eq!(row["nothing"], Value::Null);
    f.finish().await;
}

#[tokio::test]
async fn mysql_pages_over_25000_rows_stitch_together_exactly_and_pages_are_capped() {
    let f = Fixture::new("n INT PRIMARY KEY").await;
    f.exec(
        "INSERT INTO $T (n) SELECT a.i * 1000 + b.i * 100 + c.i * 10 + d.i + 1 FROM \
         (SELECT 0 i UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9 UNION SELECT 10 UNION SELECT 11 UNION SELECT 12 UNION SELECT 13 UNION SELECT 14 UNION SELECT 15 UNION SELECT 16 UNION SELECT 17 UNION SELECT 18 UNION SELECT 19 UNION SELECT 20 UNION SELECT 21 UNION SELECT 22 UNION SELECT 23 UNION SELECT 24) a, \
         (SELECT 0 i UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) b, \
         (SELECT 0 i UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) c, \
         (SELECT 0 i UNION SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5 UNION SELECT 6 UNION SELECT 7 UNION SELECT 8 UNION SELECT 9) d",
    )
    .await;
    let mut q = f.q("SELECT n FROM $T ORDER BY n", QueryType::Select, &[]);
    q.page_size = 10_000;
    let seen = read_all_pages(&f.pools, &f.conn, &q).await;
    assert_eq!(seen, (1..=25_000).collect::<Vec<i64>>());
    q.page_size = 3_333;
    let seen = read_all_pages(&f.pools, &f.conn, &q).await;
    assert_eq!(seen, (1..=25_000).collect::<Vec<i64>>());

    q.page_size = 50_000;
    assert!(crate::dbquery::check_query(DbKind::MySql, &q).is_err());
    let first = run_page(&f.pools, &f.conn, &q, None).await;
    assert_eq!(first.rows.len(), 10_000);
    assert!(first.has_more);
    f.finish().await;
}

#[tokio::test]
async fn a_mysql_query_over_its_timeout_ends_with_timeout_and_the_pool_stays_healthy() {
    let f = Fixture::new("n INT").await;
    let mut slow = f.q("SELECT SLEEP(5) AS s", QueryType::Select, &[]);
    slow.timeout = SHORT_TIMEOUT;
    let started = Instant::now();
    let err = run(&f.pools, &f.conn, &slow, json!({})).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code, DbErrorCode::Timeout, "{err:?}");
    assert!(took < SHORT_TIMEOUT + TIMEOUT_SLACK, "took {took:?}");
    let next = f.q("SELECT 1 AS one", QueryType::Select, &[]);
    let ok = run(&f.pools, &f.conn, &next, json!({})).await.unwrap();
    assert_eq!(ok.rows[0]["one"], json!(1));

    // A write has the same limit.
    let mut slow_write = f.q("UPDATE $T SET n = SLEEP(5)", QueryType::Update, &[]);
    f.exec("INSERT INTO $T VALUES (1)").await;
    slow_write.timeout = SHORT_TIMEOUT;
    let started = Instant::now();
    let err = run(&f.pools, &f.conn, &slow_write, json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, DbErrorCode::Timeout, "{err:?}");
    assert!(started.elapsed() < SHORT_TIMEOUT + TIMEOUT_SLACK);
    let ok = run(&f.pools, &f.conn, &next, json!({})).await.unwrap();
    assert_eq!(ok.rows.len(), 1);
    f.finish().await;
}

#[tokio::test]
async fn injection_through_mysql_parameters_and_query_text_changes_nothing() {
    let f = Fixture::new("id INT PRIMARY KEY, name VARCHAR(100)").await;
    f.exec("INSERT INTO $T VALUES (1, 'alice'), (2, 'bob')")
        .await;
    f.exec(&format!(
        "CREATE TABLE {0}_log (x INT); CREATE TRIGGER {0}_noop BEFORE INSERT ON {0}_log FOR EACH ROW SET @x = 1",
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
        "x\\'; DELETE FROM $T; -- ",
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
    for text in [
        "SELECT * FROM $T WHERE id = 1; DROP TABLE $T",
        "COMMIT; DELETE FROM $T",
        "SELECT * FROM $T FOR UPDATE",
        "DELETE FROM $T",
        "SELECT 1 /*! ; DELETE FROM $T */",
        "SELECT * FROM $T INTO OUTFILE '/tmp/weft-leak'",
    ] {
        let q = f.q(text, QueryType::Select, &[]);
        let err = run(&f.pools, &f.conn, &q, json!({})).await.unwrap_err();
        assert_eq!(err.code, DbErrorCode::QueryRejected, "{text}: {err:?}");
    }
    // A write no parser sees (a side effect inside a SELECT) meets the read-only transaction.
    let q = query(
        &format!("SELECT (SELECT 1 FROM {} LIMIT 1) AS x FOR UPDATE", f.table),
        QueryType::Select,
        &[],
    );
    assert!(run(&f.pools, &f.conn, &q, json!({})).await.is_err());
    assert_eq!(f.checksum().await, before);
    f.exec(&format!("DROP TABLE {}_log", f.table)).await;
    f.finish().await;
}

#[tokio::test]
async fn two_hundred_concurrent_mysql_runs_share_a_pool_of_five() {
    let f = Fixture::new("n INT").await;
    let q = f.q(
        "SELECT SLEEP(0.01) AS s, :i AS i",
        QueryType::Select,
        &[("i", integer())],
    );
    let done = CancellationToken::new();
    let sampler = {
        let done = done.clone();
        let admin = f.admin.clone();
        let user = f.user.clone();
        tokio::spawn(async move {
            let mut c = admin.get_conn().await.unwrap();
            let mut peak = 0i64;
            while !done.is_cancelled() {
                let n: Option<i64> = c
                    .exec_first(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
                        (user.clone(),),
                    )
                    .await
                    .unwrap();
                peak = peak.max(n.unwrap_or(0));
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
    assert!(f.session_ids().await.len() <= 5);
    f.finish().await;
}

#[tokio::test]
async fn a_mysql_connection_killed_by_the_server_is_replaced_on_the_next_run() {
    let f = Fixture::new("n INT").await;
    let q = f.q("SELECT COUNT(*) AS c FROM $T", QueryType::Select, &[]);
    run(&f.pools, &f.conn, &q, json!({})).await.unwrap();
    let ids = f.session_ids().await;
    assert!(!ids.is_empty());
    for id in ids {
        f.exec(&format!("KILL {id}")).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let again = run(&f.pools, &f.conn, &q, json!({})).await.unwrap();
    assert_eq!(again.rows[0]["c"], json!(0));
    f.finish().await;
}

#[tokio::test]
async fn mysql_connection_test_and_schema_describe_the_server() {
    let f = Fixture::new("id INT PRIMARY KEY, note TEXT").await;
    let info = f.pools.test_connection(&f.conn).await.unwrap();
    assert!(
        info.version.starts_with("MariaDB ") || info.version.starts_with("MySQL "),
        "{}",
        info.version
    );
    let tables = f.pools.schema(&f.conn).await.unwrap();
    let table = tables
        .iter()
        .find(|t| t.name == f.table)
        .expect("the table is listed");
    assert_eq!(table.columns.len(), 2);
    assert!(!table.columns[0].nullable && table.columns[1].nullable);
    f.finish().await;
}

#[tokio::test]
async fn a_wrong_mysql_password_fails_to_connect_without_echoing_it() {
    let f = Fixture::new("n INT").await;
    f.exec(&format!(
        "ALTER USER '{}'@'%' IDENTIFIED BY 'the-right-one'",
        f.user
    ))
    .await;
    let mut conn = f.conn.clone();
    conn.password = Some("hunter2-wrong-secret".to_owned().into());
    let err = f.pools.test_connection(&conn).await.unwrap_err();
    assert_eq!(err.code, DbErrorCode::ConnectionFailed, "{err:?}");
    assert!(!err.message.contains("hunter2"), "{}", err.message);
    conn.password = Some("the-right-one".to_owned().into());
    conn.revision = "2".into();
    f.pools.test_connection(&conn).await.unwrap();
    f.finish().await;
}
