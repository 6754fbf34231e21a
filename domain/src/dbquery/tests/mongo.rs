//! MongoDB through an `nx-27017` server started per test (skipped, with a note, when the
//! binary is missing outside CI).

use serde_json::{Value, json};

use super::*;
use crate::dbquery::DbErrorCode;
use crate::dbquery::testing::MongoTestServer;

struct Fixture {
    server: MongoTestServer,
    conn: ConnectionSpec,
    pools: DbPools,
    collection: String,
}

impl Fixture {
    fn new() -> Option<Self> {
        let server = MongoTestServer::start()?;
        let conn = spec(DbKind::MongoDb, server.port(), "weft", "");
        Some(Self {
            server,
            conn,
            pools: local_pools(),
            collection: format!("c_{}", unique()),
        })
    }

    fn q(&self, doc: Value, query_type: QueryType, params: &[(&str, Value)]) -> QuerySpec {
        let mut doc = doc;
        doc["collection"] = json!(self.collection);
        query(&doc.to_string(), query_type, params)
    }

    async fn count(&self) -> i64 {
        let q = self.q(json!({"filter": {}}), QueryType::CountDocuments, &[]);
        let r = run(&self.pools, &self.conn, &q, json!({})).await.unwrap();
        r.rows[0]["count"].as_i64().unwrap()
    }
}

#[tokio::test]
async fn mongo_parameters_of_every_common_type_round_trip_faithfully() {
    let Some(f) = Fixture::new() else { return };
    let insert = f.q(
        json!({"document": {
            "i": {"$param": "i"}, "f": {"$param": "f"}, "s": {"$param": "s"}, "flag": {"$param": "flag"},
            "ts": {"$param": "ts"}, "bin": {"$param": "bin"}, "obj": {"$param": "obj"},
            "arr": {"$param": "arr"}, "nothing": {"$param": "nothing"},
            "fixedId": {"$oid": "65f0c0ffee0000000000abcd"}
        }}),
        QueryType::InsertOne,
        &[
            ("i", integer()),
            ("f", json!({"type": "number"})),
            ("s", string()),
            ("flag", json!({"type": "boolean"})),
            ("ts", json!({"type": "string", "format": "date-time"})),
            ("bin", json!({"type": "string", "contentEncoding": "base64"})),
            ("obj", json!({"type": "object"})),
            ("arr", json!({"type": "array"})),
            ("nothing", json!({"type": "null"})),
        ],
    );
    crate::dbquery::check_query(DbKind::MongoDb, &insert).unwrap();
    let sent = json!({
        "i": 9007199254740993i64, "f": 2.5, "s": "it's {\"$gt\": 1}", "flag": true,
        "ts": "2024-02-29T23:59:58.123+02:00", "bin": "AAEC/w==",
        "obj": {"nested": [1, "two", null]}, "arr": [1, 2, 3], "nothing": null
    });
    let inserted = run(&f.pools, &f.conn, &insert, sent.clone()).await.unwrap();
    assert_eq!(inserted.affected_rows, Some(1));
    let id = inserted.rows[0]["insertedId"]
        .as_str()
        .expect("ObjectId as hex")
        .to_owned();
    assert_eq!(id.len(), 24);

    let find = f.q(
        json!({"filter": {"_id": {"$param": "id"}}}),
        QueryType::Find,
        &[("id", json!({"type": "string", "format": "objectId"}))],
    );
    let got = run(&f.pools, &f.conn, &find, json!({"id": id}))
        .await
        .unwrap();
    let row = &got.rows[0];
    assert_eq!(row["_id"], json!(id));
    assert_eq!(row["i"], sent["i"]);
    assert_eq!(row["f"], json!(2.5));
    assert_eq!(row["s"], sent["s"]);
    assert_eq!(row["flag"], json!(true));
    assert_eq!(row["ts"], json!("2024-02-29T21:59:58.123Z"));
    assert_eq!(row["bin"], json!("AAEC/w=="));
    assert_eq!(row["obj"], sent["obj"]);
    assert_eq!(row["arr"], sent["arr"]);
    assert_eq!(row["nothing"], Value::Null);
    assert_eq!(row["fixedId"], json!("65f0c0ffee0000000000abcd"));
    assert!(
        got.columns
            .iter()
            .any(|c| c.name == "_id" && c.type_name == "objectId"),
        "{:?}",
        got.columns
    );
}

#[tokio::test]
async fn mongo_find_aggregate_update_delete_and_count_round_trip() {
    let Some(f) = Fixture::new() else { return };
    let docs: Vec<Value> = (1..=10)
        .map(|n| json!({"n": n, "kind": if n % 2 == 0 { "even" } else { "odd" }}))
        .collect();
    let insert = f.q(json!({"documents": docs}), QueryType::InsertMany, &[]);
    let r = run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();
    assert_eq!(r.affected_rows, Some(10));
    assert_eq!(r.rows.len(), 10);

    let find = f.q(
        json!({"filter": {"kind": {"$param": "kind"}, "n": {"$gt": {"$param": "min"}}}, "sort": {"n": -1}, "projection": {"_id": 0, "n": 1}}),
        QueryType::Find,
        &[("kind", string()), ("min", integer())],
    );
    let r = run(&f.pools, &f.conn, &find, json!({"kind": "even", "min": 4}))
        .await
        .unwrap();
    assert_eq!(
        r.rows,
        vec![
            values(json!({"n": 10})),
            values(json!({"n": 8})),
            values(json!({"n": 6}))
        ]
    );

    let aggregate = f.q(
        json!({"pipeline": [{"$match": {"n": {"$lte": {"$param": "max"}}}}, {"$group": {"_id": "$kind", "total": {"$sum": "$n"}}}, {"$sort": {"_id": 1}}]}),
        QueryType::Aggregate,
        &[("max", integer())],
    );
    let r = run(&f.pools, &f.conn, &aggregate, json!({"max": 4}))
        .await
        .unwrap();
    assert_eq!(
        r.rows,
        vec![
            values(json!({"_id": "even", "total": 6})),
            values(json!({"_id": "odd", "total": 4}))
        ]
    );

    let update = f.q(
        json!({"filter": {"kind": "odd"}, "update": {"$set": {"flag": {"$param": "flag"}}}}),
        QueryType::UpdateMany,
        &[("flag", json!({"type": "boolean"}))],
    );
    let r = run(&f.pools, &f.conn, &update, json!({"flag": true}))
        .await
        .unwrap();
    assert_eq!(r.affected_rows, Some(5));
    assert_eq!(r.rows[0]["matchedCount"], json!(5));
    let update_one = f.q(
        json!({"filter": {"n": 2}, "update": {"$inc": {"n": 100}}}),
        QueryType::UpdateOne,
        &[],
    );
    assert_eq!(
        run(&f.pools, &f.conn, &update_one, json!({}))
            .await
            .unwrap()
            .affected_rows,
        Some(1)
    );

    let count = f.q(
        json!({"filter": {"flag": true}}),
        QueryType::CountDocuments,
        &[],
    );
    let r = run(&f.pools, &f.conn, &count, json!({})).await.unwrap();
    assert_eq!(r.rows[0]["count"], json!(5));

    let delete_one = f.q(json!({"filter": {"n": 102}}), QueryType::DeleteOne, &[]);
    assert_eq!(
        run(&f.pools, &f.conn, &delete_one, json!({}))
            .await
            .unwrap()
            .affected_rows,
        Some(1)
    );
    let delete_many = f.q(
        json!({"filter": {"kind": {"$param": "kind"}}}),
        QueryType::DeleteMany,
        &[("kind", string())],
    );
    assert_eq!(
        run(&f.pools, &f.conn, &delete_many, json!({"kind": "odd"}))
            .await
            .unwrap()
            .affected_rows,
        Some(5)
    );
    assert_eq!(f.count().await, 4);

    let info = f.pools.test_connection(&f.conn).await.unwrap();
    assert!(info.version.starts_with("MongoDB"), "{}", info.version);
    let tables = f.pools.schema(&f.conn).await.unwrap();
    let coll = tables
        .iter()
        .find(|t| t.name == f.collection)
        .expect("the collection is listed");
    assert_eq!(coll.kind, "collection");
    assert!(coll.columns.iter().any(|c| c.name == "n"));
}

#[tokio::test]
async fn mongo_pages_over_25000_documents_stitch_together_exactly() {
    let Some(f) = Fixture::new() else { return };
    for chunk in (1..=25_000).collect::<Vec<i64>>().chunks(10_000) {
        let docs: Vec<Value> = chunk.iter().map(|n| json!({"n": n})).collect();
        let insert = f.q(json!({"documents": docs}), QueryType::InsertMany, &[]);
        run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();
    }
    let mut find = f.q(
        json!({"filter": {}, "sort": {"n": 1}}),
        QueryType::Find,
        &[],
    );
    find.page_size = 10_000;
    assert_eq!(
        read_all_pages(&f.pools, &f.conn, &find).await,
        (1..=25_000).collect::<Vec<i64>>()
    );
    let mut aggregate = f.q(
        json!({"pipeline": [{"$sort": {"n": 1}}]}),
        QueryType::Aggregate,
        &[],
    );
    aggregate.page_size = 7_000;
    assert_eq!(
        read_all_pages(&f.pools, &f.conn, &aggregate).await,
        (1..=25_000).collect::<Vec<i64>>()
    );
    find.page_size = 50_000;
    let first = run_page(&f.pools, &f.conn, &find, None).await;
    assert_eq!(first.rows.len(), 10_000, "the row cap holds");
    assert!(first.has_more);
}

#[tokio::test]
async fn mongo_operators_in_queries_and_parameter_values_are_refused() {
    let Some(f) = Fixture::new() else { return };
    let insert = f.q(
        json!({"documents": [{"user": "alice", "secret": 1}, {"user": "bob", "secret": 2}]}),
        QueryType::InsertMany,
        &[],
    );
    run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();

    for (doc, t) in [
        (
            json!({"filter": {"$where": "this.secret > 0"}}),
            QueryType::Find,
        ),
        (
            json!({"filter": {"$expr": {"$function": {"body": "function() { return true }", "args": [], "lang": "js"}}}}),
            QueryType::Find,
        ),
        (
            json!({"pipeline": [{"$group": {"_id": null, "x": {"$accumulator": {}}}}]}),
            QueryType::Aggregate,
        ),
        (
            json!({"pipeline": [{"$out": "stolen"}]}),
            QueryType::Aggregate,
        ),
        (json!({"filter": {}}), QueryType::Aggregate),
    ] {
        let q = f.q(doc.clone(), t, &[]);
        assert!(
            crate::dbquery::check_query(DbKind::MongoDb, &q).is_err(),
            "{doc}"
        );
        let err = run(&f.pools, &f.conn, &q, json!({})).await.unwrap_err();
        assert_eq!(err.code, DbErrorCode::QueryRejected, "{doc}: {err:?}");
    }

    let by_user = f.q(
        json!({"filter": {"user": {"$param": "user"}}}),
        QueryType::Find,
        &[("user", json!({}))],
    );
    for hostile in [
        json!({"$ne": null}),
        json!({"$gt": ""}),
        json!({"$where": "1"}),
        json!([{"$regex": ".*"}]),
        json!({"a": {"$ne": 1}}),
    ] {
        let err = run(&f.pools, &f.conn, &by_user, json!({"user": hostile}))
            .await
            .unwrap_err();
        assert_eq!(
            err.code,
            DbErrorCode::InvalidParameter,
            "{hostile}: {err:?}"
        );
    }
    let r = run(&f.pools, &f.conn, &by_user, json!({"user": "' || '1'=='1"}))
        .await
        .unwrap();
    assert!(r.rows.is_empty());
    let field_path = f.q(
        json!({"pipeline": [{"$project": {"v": {"$param": "v"}}}]}),
        QueryType::Aggregate,
        &[("v", string())],
    );
    let err = run(&f.pools, &f.conn, &field_path, json!({"v": "$secret"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, DbErrorCode::InvalidParameter);
    assert_eq!(f.count().await, 2);
}

#[tokio::test]
async fn two_hundred_concurrent_mongo_runs_share_a_pool_of_five() {
    let Some(f) = Fixture::new() else { return };
    let insert = f.q(json!({"document": {"n": 1}}), QueryType::InsertOne, &[]);
    run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();
    let find = f.q(
        json!({"filter": {"n": {"$param": "n"}}, "projection": {"_id": 0}}),
        QueryType::Find,
        &[("n", integer())],
    );
    let runs = (0..200).map(|_| {
        let (pools, conn, q) = (f.pools.clone(), f.conn.clone(), find.clone());
        tokio::spawn(async move { run(&pools, &conn, &q, json!({"n": 1})).await })
    });
    for r in futures::future::join_all(runs).await {
        assert_eq!(r.unwrap().unwrap().rows.len(), 1);
    }
    let opened = f.pools.mongo_connections_opened(&f.conn.id).unwrap();
    assert!((1..=5).contains(&opened), "{opened} connections opened");
}

#[tokio::test]
async fn a_restarted_mongo_server_is_reached_again_on_the_next_run() {
    let Some(mut f) = Fixture::new() else { return };
    let insert = f.q(json!({"document": {"n": 1}}), QueryType::InsertOne, &[]);
    run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();
    assert_eq!(f.count().await, 1);
    // Every pooled connection is now dead; the next run must replace them rather than
    // report the broken pipe. The in-memory server forgot the document, which shows the
    // answer came from the new process.
    f.server.restart();
    assert_eq!(f.count().await, 0);
    run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();
    assert_eq!(f.count().await, 1);
}

#[tokio::test]
async fn mongo_dollar_strings_in_parameters_are_refused_wherever_they_could_be_field_paths() {
    let Some(f) = Fixture::new() else { return };
    let insert = f.q(
        json!({"documents": [{"user": "alice", "secret": "s1"}, {"user": "bob", "secret": "s2"}]}),
        QueryType::InsertMany,
        &[],
    );
    run(&f.pools, &f.conn, &insert, json!({})).await.unwrap();
    let text = json!({"type": "string"});
    let list = json!({"type": "array", "items": {"type": "string"}});
    // `"$secret"` compared with `$secret` is true for every document.
    let expr = json!({"$expr": {"$eq": ["$secret", {"$param": "v"}]}});
    for (doc, t, schema) in [
        (json!({ "filter": expr }), QueryType::Find, &text),
        (json!({ "filter": expr }), QueryType::CountDocuments, &text),
        (json!({ "filter": expr }), QueryType::DeleteMany, &text),
        (
            json!({"filter": {}, "update": [{"$set": {"copy": {"$param": "v"}}}]}),
            QueryType::UpdateMany,
            &text,
        ),
        (
            json!({"filter": {"$expr": {"$in": ["$secret", {"$param": "v"}]}}}),
            QueryType::Find,
            &list,
        ),
        (
            json!({"pipeline": [{"$match": {"$expr": {"$eq": ["$secret", {"$param": "v"}]}}}]}),
            QueryType::Aggregate,
            &text,
        ),
    ] {
        let q = f.q(doc.clone(), t, &[("v", schema.clone())]);
        let value = if schema == &list {
            json!(["x", "$secret"])
        } else {
            json!("$secret")
        };
        let err = run(&f.pools, &f.conn, &q, json!({ "v": value }))
            .await
            .unwrap_err();
        assert_eq!(err.code, DbErrorCode::InvalidParameter, "{doc}: {err:?}");
        assert!(err.message.contains("x-weft-allow-dollar"), "{err}");
    }
    assert_eq!(f.count().await, 2, "nothing was deleted");

    // A schema that opts in accepts the value, with the meaning the author chose.
    let opted = f.q(
        json!({ "filter": expr }),
        QueryType::Find,
        &[("v", json!({"type": "string", "x-weft-allow-dollar": true}))],
    );
    let r = run(&f.pools, &f.conn, &opted, json!({"v": "$secret"}))
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 2);
    // Inserted documents store a `$`-string as data.
    let one = f.q(
        json!({"document": {"user": {"$param": "v"}}}),
        QueryType::InsertOne,
        &[("v", text.clone())],
    );
    run(&f.pools, &f.conn, &one, json!({"v": "$carol"}))
        .await
        .unwrap();
    assert_eq!(f.count().await, 3);
}
