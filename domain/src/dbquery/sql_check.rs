//! The save-time (and run-time) check of SQL text: exactly one statement, of the declared
//! kind, and for SELECT a pure query. Runs on the text the server will receive (after
//! [`params::rewrite`](super::params::rewrite)), so what is checked is what is sent.
//!
//! The read-only transaction every SELECT runs in is the backstop for what no parser can see
//! (a function that writes, `nextval`); this check gives the clear message at save time.

use sqlparser::ast::{Query, SetExpr, Statement, TableFactor, TableWithJoins};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

use super::{DbKind, QueryType};

/// Checks `sql` (placeholders already rewritten) against the declared `query_type`.
pub fn check_statement(kind: DbKind, query_type: QueryType, sql: &str) -> Result<(), String> {
    let dialect: Box<dyn Dialect> = match kind {
        DbKind::Postgres => Box::new(PostgreSqlDialect {}),
        DbKind::MySql => Box::new(MySqlDialect {}),
        DbKind::MongoDb => return Err("not a SQL connection".into()),
    };
    if sql.trim().is_empty() {
        return Err("the query is empty".into());
    }
    let statements = Parser::parse_sql(dialect.as_ref(), sql).map_err(|e| {
        format!(
            "the query does not parse: {}",
            strip_parser_prefix(&e.to_string())
        )
    })?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => return Err("the query is empty".into()),
        many => {
            return Err(format!(
                "exactly one statement is allowed, found {}",
                many.len()
            ));
        }
    };
    let found = classify(statement)?;
    if found != query_type {
        return Err(format!(
            "the query is declared as {} but the statement is {}",
            query_type.as_str().to_uppercase(),
            found.as_str().to_uppercase()
        ));
    }
    match statement {
        Statement::Query(q) => pure_query(q, found == QueryType::Select),
        Statement::Insert(insert) => match &insert.source {
            Some(source) => pure_query(source, true),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn strip_parser_prefix(message: &str) -> &str {
    message
        .strip_prefix("sql parser error: ")
        .unwrap_or(message)
}

/// The statement kind, or why Weft runs no statement of this kind.
fn classify(statement: &Statement) -> Result<QueryType, String> {
    match statement {
        Statement::Query(q) => Ok(match q.body.as_ref() {
            SetExpr::Insert(_) => QueryType::Insert,
            SetExpr::Update(_) => QueryType::Update,
            SetExpr::Delete(_) => QueryType::Delete,
            SetExpr::Merge(_) => return Err("MERGE statements are not supported".into()),
            _ => QueryType::Select,
        }),
        Statement::Insert(_) => Ok(QueryType::Insert),
        Statement::Update(_) => Ok(QueryType::Update),
        Statement::Delete(_) => Ok(QueryType::Delete),
        other => {
            let text = other.to_string();
            let verb = text
                .split_whitespace()
                .next()
                .unwrap_or("this")
                .to_uppercase();
            Err(format!(
                "{verb} statements are not allowed: a query is one SELECT, INSERT, UPDATE or DELETE"
            ))
        }
    }
}

/// Refuses writes and locks hidden in a query: data-modifying CTEs, `SELECT … INTO`, and
/// (when `top` is a SELECT) `FOR UPDATE`/`FOR SHARE`.
fn pure_query(query: &Query, check_locks: bool) -> Result<(), String> {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            if !matches!(
                cte.query.body.as_ref(),
                SetExpr::Select(_)
                    | SetExpr::Query(_)
                    | SetExpr::SetOperation { .. }
                    | SetExpr::Values(_)
                    | SetExpr::Table(_)
            ) {
                return Err(format!(
                    "the common table expression `{}` writes data; only the statement itself may write",
                    cte.alias.name.value
                ));
            }
            pure_query(&cte.query, check_locks)?;
        }
    }
    if check_locks && !query.locks.is_empty() {
        return Err(
            "locking clauses (FOR UPDATE, FOR SHARE) are not allowed in a SELECT query".into(),
        );
    }
    pure_set_expr(&query.body, check_locks)
}

fn pure_set_expr(body: &SetExpr, check_locks: bool) -> Result<(), String> {
    match body {
        SetExpr::Select(select) => {
            if select.into.is_some() {
                return Err("SELECT … INTO writes data and is not allowed".into());
            }
            select
                .from
                .iter()
                .try_for_each(|t| pure_from(t, check_locks))
        }
        SetExpr::Query(q) => pure_query(q, check_locks),
        SetExpr::SetOperation { left, right, .. } => {
            pure_set_expr(left, check_locks)?;
            pure_set_expr(right, check_locks)
        }
        SetExpr::Values(_) | SetExpr::Table(_) => Ok(()),
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
            Err("a nested statement writes data; only the statement itself may write".into())
        }
    }
}

fn pure_from(table: &TableWithJoins, check_locks: bool) -> Result<(), String> {
    std::iter::once(&table.relation)
        .chain(table.joins.iter().map(|j| &j.relation))
        .try_for_each(|factor| match factor {
            TableFactor::Derived { subquery, .. } => pure_query(subquery, check_locks),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => pure_from(table_with_joins, check_locks),
            _ => Ok(()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(t: QueryType, sql: &str) -> Result<(), String> {
        check_statement(DbKind::Postgres, t, sql)
    }

    fn my(t: QueryType, sql: &str) -> Result<(), String> {
        check_statement(DbKind::MySql, t, sql)
    }

    #[test]
    fn one_statement_of_the_declared_kind_passes() {
        pg(QueryType::Select, "SELECT * FROM orders WHERE id = $1").unwrap();
        pg(
            QueryType::Select,
            "WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION SELECT 2",
        )
        .unwrap();
        pg(
            QueryType::Insert,
            "INSERT INTO t (a) VALUES ($1) RETURNING id",
        )
        .unwrap();
        pg(QueryType::Update, "UPDATE t SET a = $1 WHERE id = $2").unwrap();
        pg(QueryType::Delete, "DELETE FROM t WHERE id = $1").unwrap();
        my(QueryType::Select, "SELECT `a` FROM t WHERE id = ? LIMIT 10").unwrap();
        my(QueryType::Insert, "INSERT INTO t (a) VALUES (?)").unwrap();
    }

    #[test]
    fn stacked_statements_are_refused() {
        for sql in [
            "SELECT 1; DROP TABLE t",
            "SELECT * FROM t WHERE id = 1; DROP TABLE t",
            "COMMIT; DELETE FROM t",
        ] {
            let err = pg(QueryType::Select, sql).unwrap_err();
            assert!(err.contains("exactly one statement"), "{sql}: {err}");
            assert!(my(QueryType::Select, sql).is_err(), "{sql}");
        }
    }

    #[test]
    fn a_statement_of_another_kind_is_refused_with_both_kinds_named() {
        let err = pg(QueryType::Select, "DELETE FROM t").unwrap_err();
        assert_eq!(
            err,
            "the query is declared as SELECT but the statement is DELETE"
        );
        let err = pg(QueryType::Select, "DROP TABLE t").unwrap_err();
        assert!(err.starts_with("DROP statements are not allowed"), "{err}");
        assert!(pg(QueryType::Select, "COMMIT").is_err());
        assert!(pg(QueryType::Select, "SET ROLE postgres").is_err());
    }

    #[test]
    fn writes_hidden_in_a_select_are_refused() {
        for sql in [
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT * INTO copy FROM t",
            "SELECT * FROM t FOR UPDATE",
            "SELECT * FROM (SELECT * FROM t FOR UPDATE) x",
        ] {
            assert!(pg(QueryType::Select, sql).is_err(), "{sql}");
        }
        assert!(
            pg(
                QueryType::Update,
                "WITH d AS (DELETE FROM t RETURNING id) UPDATE u SET a = 1"
            )
            .is_err()
        );
    }

    #[test]
    fn text_that_does_not_parse_is_refused() {
        assert!(
            pg(QueryType::Select, "SELEC 1")
                .unwrap_err()
                .starts_with("the query does not parse")
        );
        assert!(pg(QueryType::Select, "").is_err());
    }
}
