//! Tests of the query engines against the real servers of this machine: PostgreSQL on
//! 127.0.0.1:5432, MariaDB on 127.0.0.1:3306 and an `nx-27017` MongoDB-wire server started
//! per test. Every test works in tables (collections) of its own and drops them after.

mod mongo;
mod mysql;
mod postgres;

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::{
    ConnectionSpec, DbKind, DbPools, DbQueryError, Page, ParamDecl, QueryResult, QuerySpec,
    QueryType, TlsMode,
};

pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A short unique suffix for table and connection names.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Pools that may reach the servers of this machine, and only those: the policy a
/// deployment with its databases on loopback would set.
pub fn local_pools() -> DbPools {
    DbPools::with_policy(super::DatabasePolicy::allowing("127.0.0.1").expect("a valid rule"))
}

pub fn spec(kind: DbKind, port: u16, database: &str, username: &str) -> ConnectionSpec {
    ConnectionSpec {
        id: format!("test-{}", unique()),
        kind,
        host: "127.0.0.1".into(),
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

pub fn query(text: &str, query_type: QueryType, params: &[(&str, Value)]) -> QuerySpec {
    QuerySpec {
        parameters: params
            .iter()
            .map(|(name, schema)| ParamDecl {
                name: (*name).into(),
                schema: schema.clone(),
            })
            .collect(),
        ..QuerySpec::new(text, query_type)
    }
}

pub fn values(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

pub async fn run(
    pools: &DbPools,
    conn: &ConnectionSpec,
    q: &QuerySpec,
    params: Value,
) -> Result<QueryResult, DbQueryError> {
    pools
        .run(conn, q, &values(params), None, CancellationToken::new())
        .await
}

pub async fn run_page(
    pools: &DbPools,
    conn: &ConnectionSpec,
    q: &QuerySpec,
    page: Option<Page>,
) -> QueryResult {
    pools
        .run(conn, q, &Map::new(), page, CancellationToken::new())
        .await
        .expect("page runs")
}

/// Reads every page of `q` (a query ordered by an integer column `n`) and returns the
/// values of `n` in order, asserting the page bookkeeping on the way.
pub async fn read_all_pages(pools: &DbPools, conn: &ConnectionSpec, q: &QuerySpec) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut page = None;
    let mut pages = 0;
    loop {
        let result = run_page(pools, conn, q, page).await;
        pages += 1;
        assert!(result.rows.len() <= q.page_size as usize);
        seen.extend(
            result
                .rows
                .iter()
                .map(|r| r["n"].as_i64().expect("n is an integer")),
        );
        assert_eq!(result.has_more, result.next_page.is_some());
        match result.next_page {
            Some(next) => {
                assert_eq!(
                    next.offset,
                    seen.len() as u64,
                    "the next page starts after this one"
                );
                page = Some(next);
            }
            None => break,
        }
        assert!(pages < 100, "pagination does not end");
    }
    seen
}

/// The timeout used by the timeout tests, and how late the error may come.
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(1);
pub const TIMEOUT_SLACK: Duration = Duration::from_secs(1);

pub fn integer() -> Value {
    json!({"type": "integer"})
}

pub fn string() -> Value {
    json!({"type": "string"})
}

#[test]
fn check_query_accepts_a_declared_select_and_names_every_problem() {
    let q = query(
        "SELECT * FROM orders WHERE customer_id = :customerId AND created_at > :since",
        QueryType::Select,
        &[
            ("customerId", integer()),
            ("since", json!({"type": "string", "format": "date-time"})),
        ],
    );
    super::check_query(DbKind::Postgres, &q).unwrap();
    super::check_query(DbKind::MySql, &q).unwrap();

    let mut bad = query(
        "SELECT * FROM t WHERE a = :a; DROP TABLE t",
        QueryType::Select,
        &[("b", json!({"type": "nonsense"}))],
    );
    bad.page_size = 10_001;
    let problems = super::check_query(DbKind::Postgres, &bad).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"pageSize"), "{problems:?}");
    assert!(paths.contains(&"parameters.0.schema"), "{problems:?}");
    assert!(paths.contains(&"query"), "{problems:?}");

    let undeclared = query(
        "SELECT :a + :b",
        QueryType::Select,
        &[("a", integer()), ("c", integer())],
    );
    let problems = super::check_query(DbKind::Postgres, &undeclared).unwrap_err();
    assert!(
        problems.contains(&(
            "query".into(),
            "`b` is used but not declared in `parameters`".into()
        )),
        "{problems:?}"
    );
    assert!(
        problems.contains(&(
            "parameters.1.name".into(),
            "`c` is declared but the query does not use it".into()
        )),
        "{problems:?}"
    );

    let wrong_kind = query("{\"collection\": \"c\"}", QueryType::Find, &[]);
    let problems = super::check_query(DbKind::Postgres, &wrong_kind).unwrap_err();
    assert_eq!(problems[0].0, "queryType");
    super::check_query(DbKind::MongoDb, &wrong_kind).unwrap();
}

#[test]
fn names_of_kinds_modes_and_types_round_trip() {
    for kind in DbKind::ALL {
        assert_eq!(kind.as_str().parse::<DbKind>().unwrap(), kind);
    }
    for mode in TlsMode::ALL {
        assert_eq!(mode.as_str().parse::<TlsMode>().unwrap(), mode);
    }
    for t in QueryType::ALL {
        assert_eq!(t.as_str().parse::<QueryType>().unwrap(), t);
    }
    assert_eq!("SELECT".parse::<QueryType>().unwrap(), QueryType::Select);
    assert_eq!("INSERTONE".parse::<QueryType>(), Ok(QueryType::InsertOne));
    assert!("drop".parse::<QueryType>().is_err());
    assert_eq!(
        super::DbErrorCode::ResultTooLarge.as_str(),
        "RESULT_TOO_LARGE"
    );
}

#[test]
fn a_connection_spec_never_prints_its_password() {
    let mut conn = spec(DbKind::Postgres, 5432, "test", "postgres");
    conn.password = Some("hunter2-secret".to_owned().into());
    assert!(!format!("{conn:?}").contains("hunter2"));
}
