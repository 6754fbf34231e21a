//! MongoDB through the official driver: one client (its own bounded pool) per connection,
//! the query document of [`mongo_doc`](super::mongo_doc) with parameters put in as BSON,
//! `maxTimeMS` on reads and skip/limit pages.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::TryStreamExt;
use mongodb::bson::{self, Bson, Document, doc, spec::BinarySubtype};
use mongodb::event::EventHandler;
use mongodb::event::cmap::CmapEvent;
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::{Client, Collection};
use secrecy::ExposeSecret;
use serde_json::{Map, Number, Value};

use super::bind::{self, BindValue};
use super::mongo_doc::{self, MongoQuery};
use super::postgres::too_large;
use super::{
    Column, ColumnInfo, ConnectionSpec, DbErrorCode, DbQueryError, MAX_PAGE_SIZE, MAX_RESULT_BYTES,
    Page, ParamDecl, QueryResult, QuerySpec, QueryType, ServerInfo, TableInfo, TlsMode,
};

/// The schema keyword with which a parameter accepts strings starting with `$`.
pub const ALLOW_DOLLAR: &str = "x-weft-allow-dollar";

/// The first string in `value` (at any depth) that starts with `$`.
fn dollar_string(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) if s.starts_with('$') => Some(s),
        Value::Array(items) => items.iter().find_map(dollar_string),
        Value::Object(map) => map.values().find_map(dollar_string),
        _ => None,
    }
}

/// Documents sampled per collection to describe its fields.
const SCHEMA_SAMPLE: i64 = 20;

#[derive(Clone)]
pub struct MongoPool {
    client: Client,
    database: String,
    opened: Arc<AtomicU64>,
}

impl MongoPool {
    pub async fn close(self) {
        self.client.shutdown().await;
    }

    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    fn db(&self) -> mongodb::Database {
        self.client.database(&self.database)
    }
}

pub fn pool(spec: &ConnectionSpec) -> Result<MongoPool, DbQueryError> {
    let opened = Arc::new(AtomicU64::new(0));
    let counter = opened.clone();
    let credential = (!spec.username.is_empty()).then(|| {
        Credential::builder()
            .username(spec.username.clone())
            .password(spec.password.as_ref().map(|p| p.expose_secret().to_owned()))
            .build()
    });
    let options = ClientOptions::builder()
        .hosts(vec![ServerAddress::Tcp {
            host: spec.host.clone(),
            port: Some(spec.port),
        }])
        .app_name(format!("weft {}", spec.id))
        .max_pool_size(spec.pool_size.max(1))
        .min_pool_size(0)
        .direct_connection(true)
        .connect_timeout(Duration::from_secs(10))
        .server_selection_timeout(Duration::from_secs(10))
        .credential(credential)
        // MongoDB has no opportunistic TLS: `prefer` connects in plain, `require` with TLS.
        .tls(match spec.tls_mode {
            TlsMode::Require => Tls::Enabled(TlsOptions::default()),
            TlsMode::Prefer | TlsMode::Disable => Tls::Disabled,
        })
        .cmap_event_handler(EventHandler::callback(move |event: CmapEvent| {
            if matches!(event, CmapEvent::ConnectionCreated(_)) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }))
        .build();
    let client = Client::with_options(options).map_err(map_error)?;
    Ok(MongoPool {
        client,
        database: spec.database.clone(),
        opened,
    })
}

pub async fn test_connection(pool: &MongoPool) -> Result<ServerInfo, DbQueryError> {
    let db = pool.db();
    // The first command also connects; time a second one for the round trip.
    db.run_command(doc! { "ping": 1 })
        .await
        .map_err(map_error)?;
    let started = Instant::now();
    db.run_command(doc! { "ping": 1 })
        .await
        .map_err(map_error)?;
    let round_trip = started.elapsed();
    let version = match db.run_command(doc! { "buildInfo": 1 }).await {
        Ok(info) => info.get_str("version").unwrap_or("unknown").to_owned(),
        Err(_) => "unknown".to_owned(),
    };
    Ok(ServerInfo {
        version: format!("MongoDB {version}"),
        round_trip,
    })
}

pub async fn schema(pool: &MongoPool) -> Result<Vec<TableInfo>, DbQueryError> {
    let db = pool.db();
    let mut names = db.list_collection_names().await.map_err(map_error)?;
    names.sort();
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let coll: Collection<Document> = db.collection(&name);
        let docs: Vec<Document> = coll
            .find(doc! {})
            .limit(SCHEMA_SAMPLE)
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        let mut columns: Vec<ColumnInfo> = Vec::new();
        for d in &docs {
            for (key, value) in d {
                if !columns.iter().any(|c| c.name == *key) {
                    columns.push(ColumnInfo {
                        name: key.clone(),
                        type_name: bson_type(value),
                        nullable: false,
                    });
                }
            }
        }
        // A field missing from (or null in) any sampled document may be absent.
        for column in &mut columns {
            column.nullable = docs
                .iter()
                .any(|d| matches!(d.get(&column.name), None | Some(Bson::Null)));
        }
        tables.push(TableInfo {
            name,
            schema: None,
            kind: "collection".into(),
            columns,
        });
    }
    Ok(tables)
}

pub async fn run(
    pool: &MongoPool,
    query: &QuerySpec,
    values: &Map<String, Value>,
    page: Option<Page>,
) -> Result<QueryResult, DbQueryError> {
    let started = Instant::now();
    let parsed = mongo_doc::parse(&query.query, query.query_type)
        .map_err(|m| DbQueryError::new(DbErrorCode::QueryRejected, m))?;
    for (name, value) in values {
        if let Some(key) = mongo_doc::operator_key(value) {
            return Err(DbQueryError::new(
                DbErrorCode::InvalidParameter,
                format!(
                    "parameter `{name}` contains the operator key `{key}`; parameter values may not carry operators"
                ),
            ));
        }
    }
    // A `$`-string is a field path wherever the server reads an expression (`$expr` in a
    // filter, pipeline updates, aggregate stages); refused outside inserts, where documents
    // are stored as they are, unless the parameter's schema opts in.
    let inserts = matches!(
        query.query_type,
        QueryType::InsertOne | QueryType::InsertMany
    );
    for (name, value) in values {
        let opted_in = query
            .parameters
            .iter()
            .find(|d| d.name == *name)
            .is_some_and(|d| d.schema.get(ALLOW_DOLLAR) == Some(&Value::Bool(true)));
        if !inserts
            && !opted_in
            && let Some(text) = dollar_string(value)
        {
            return Err(DbQueryError::new(
                DbErrorCode::InvalidParameter,
                format!(
                    "parameter `{name}` holds `{}`, which starts with `$` and could be read as a \
                     field path or expression; declare `\"{ALLOW_DOLLAR}\": true` in its schema \
                     to accept such values",
                    text.chars().take(40).collect::<String>()
                ),
            ));
        }
    }
    let bound = bind::resolve(&query.parameters, values)?;
    let aggregate = !inserts;
    let body = mongo_doc::substitute(&parsed.body, &mut |name| {
        let value = bound.get(name).ok_or_else(|| {
            DbQueryError::new(
                DbErrorCode::InvalidParameter,
                format!("`{name}` is not declared"),
            )
        })?;
        let decl = query.parameters.iter().find(|d| d.name == name);
        to_bson(name, value, decl, aggregate)
    })?;
    let mut result = execute(pool, query, &parsed, body, page).await?;
    result.duration = started.elapsed();
    Ok(result)
}

async fn execute(
    pool: &MongoPool,
    query: &QuerySpec,
    parsed: &MongoQuery,
    body: Document,
    page: Option<Page>,
) -> Result<QueryResult, DbQueryError> {
    let coll: Collection<Document> = pool.db().collection(&parsed.collection);
    let offset = page.map_or(0, |p| p.offset);
    let page_size = query.page_size.clamp(1, MAX_PAGE_SIZE);
    let doc_of = |key: &str| body.get_document(key).cloned().unwrap_or_default();
    let write = |docs: Vec<Document>, affected: u64| {
        Ok(QueryResult {
            columns: Vec::new(),
            rows: Vec::new(),
            has_more: false,
            next_page: None,
            affected_rows: Some(affected),
            duration: Duration::ZERO,
        }
        .with_rows(docs))
    };
    match query.query_type {
        QueryType::Find | QueryType::Aggregate => {
            let limit = i64::from(page_size) + 1;
            let cursor = if query.query_type == QueryType::Find {
                let mut find = coll
                    .find(doc_of("filter"))
                    .skip(offset)
                    .limit(limit)
                    .max_time(query.timeout);
                if let Ok(sort) = body.get_document("sort") {
                    find = find.sort(sort.clone());
                }
                if let Ok(projection) = body.get_document("projection") {
                    find = find.projection(projection.clone());
                }
                find.await.map_err(map_error)?
            } else {
                let mut pipeline: Vec<Document> = body
                    .get_array("pipeline")
                    .map(|stages| {
                        stages
                            .iter()
                            .filter_map(|s| s.as_document().cloned())
                            .collect()
                    })
                    .unwrap_or_default();
                pipeline.push(doc! { "$skip": i64::try_from(offset).unwrap_or(i64::MAX) });
                pipeline.push(doc! { "$limit": limit });
                coll.aggregate(pipeline)
                    .max_time(query.timeout)
                    .await
                    .map_err(map_error)?
            };
            let mut docs: Vec<Document> = Vec::new();
            let mut size = 0usize;
            let mut cursor = cursor;
            while let Some(d) = cursor.try_next().await.map_err(map_error)? {
                size += d.to_string().len();
                if size > MAX_RESULT_BYTES {
                    return Err(too_large());
                }
                docs.push(d);
            }
            let has_more = docs.len() > page_size as usize;
            docs.truncate(page_size as usize);
            let mut result = QueryResult {
                columns: Vec::new(),
                rows: Vec::new(),
                has_more,
                next_page: has_more.then(|| Page {
                    offset: offset + u64::from(page_size),
                }),
                affected_rows: None,
                duration: Duration::ZERO,
            }
            .with_rows(docs);
            result.next_page = has_more.then(|| Page {
                offset: offset + result.rows.len() as u64,
            });
            Ok(result)
        }
        QueryType::CountDocuments => {
            let count = coll
                .count_documents(doc_of("filter"))
                .max_time(query.timeout)
                .await
                .map_err(map_error)?;
            let mut result = write(
                vec![doc! { "count": i64::try_from(count).unwrap_or(i64::MAX) }],
                0,
            )?;
            result.affected_rows = None;
            Ok(result)
        }
        QueryType::InsertOne => {
            let inserted = coll
                .insert_one(doc_of("document"))
                .await
                .map_err(map_error)?;
            write(vec![doc! { "insertedId": inserted.inserted_id }], 1)
        }
        QueryType::InsertMany => {
            let docs: Vec<Document> = body
                .get_array("documents")
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|d| d.as_document().cloned())
                        .collect()
                })
                .unwrap_or_default();
            if docs.is_empty() {
                return Err(DbQueryError::new(
                    DbErrorCode::QueryRejected,
                    "`documents` is empty",
                ));
            }
            if docs.len() > MAX_PAGE_SIZE as usize {
                return Err(DbQueryError::new(
                    DbErrorCode::ResultTooLarge,
                    format!("at most {MAX_PAGE_SIZE} documents may be inserted at once"),
                ));
            }
            let inserted = coll.insert_many(docs).await.map_err(map_error)?;
            let mut ids: Vec<(usize, Bson)> = inserted.inserted_ids.into_iter().collect();
            ids.sort_by_key(|(i, _)| *i);
            let count = ids.len() as u64;
            write(
                ids.into_iter()
                    .map(|(i, id)| doc! { "index": i as i64, "insertedId": id })
                    .collect(),
                count,
            )
        }
        QueryType::UpdateOne | QueryType::UpdateMany => {
            let update: mongodb::options::UpdateModifications = match body.get("update") {
                Some(Bson::Array(stages)) => stages
                    .iter()
                    .filter_map(|s| s.as_document().cloned())
                    .collect::<Vec<_>>()
                    .into(),
                _ => doc_of("update").into(),
            };
            let upsert = body.get_bool("upsert").unwrap_or(false);
            let filter = doc_of("filter");
            let outcome = if query.query_type == QueryType::UpdateOne {
                coll.update_one(filter, update).upsert(upsert).await
            } else {
                coll.update_many(filter, update).upsert(upsert).await
            }
            .map_err(map_error)?;
            let mut row = doc! {
                "matchedCount": i64::try_from(outcome.matched_count).unwrap_or(i64::MAX),
                "modifiedCount": i64::try_from(outcome.modified_count).unwrap_or(i64::MAX),
            };
            if let Some(id) = outcome.upserted_id {
                row.insert("upsertedId", id);
            }
            write(vec![row], outcome.modified_count)
        }
        QueryType::DeleteOne | QueryType::DeleteMany => {
            let filter = doc_of("filter");
            let outcome = if query.query_type == QueryType::DeleteOne {
                coll.delete_one(filter).await
            } else {
                coll.delete_many(filter).await
            }
            .map_err(map_error)?;
            write(
                vec![
                    doc! { "deletedCount": i64::try_from(outcome.deleted_count).unwrap_or(i64::MAX) },
                ],
                outcome.deleted_count,
            )
        }
        other => Err(DbQueryError::new(
            DbErrorCode::QueryRejected,
            format!("a MongoDB connection cannot run a {other} query"),
        )),
    }
}

impl QueryResult {
    /// Sets rows from documents, with columns the union of their top-level fields.
    fn with_rows(mut self, docs: Vec<Document>) -> Self {
        let mut columns: Vec<Column> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for d in &docs {
            for (key, value) in d {
                if !seen.contains_key(key) {
                    seen.insert(key.clone(), columns.len());
                    columns.push(Column {
                        name: key.clone(),
                        type_name: bson_type(value),
                    });
                } else if let Some(&i) = seen.get(key)
                    && columns[i].type_name == "null"
                {
                    columns[i].type_name = bson_type(value);
                }
            }
        }
        self.rows = docs
            .into_iter()
            .map(|d| d.into_iter().map(|(k, v)| (k, to_json(v))).collect())
            .collect();
        self.columns = columns;
        self
    }
}

fn bson_type(value: &Bson) -> String {
    let name = format!("{:?}", value.element_type());
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => name,
    }
}

/// A bound value as BSON. A string parameter declared with `format: objectId` becomes an
/// ObjectId. In a pipeline a string starting with `$` would be read as a field path, so it
/// is refused there.
fn to_bson(
    name: &str,
    value: &BindValue,
    decl: Option<&ParamDecl>,
    aggregate: bool,
) -> Result<Bson, DbQueryError> {
    let invalid = |m: String| DbQueryError::new(DbErrorCode::InvalidParameter, m);
    Ok(match value {
        BindValue::Null => Bson::Null,
        BindValue::Bool(b) => Bson::Boolean(*b),
        BindValue::Int(i) => Bson::Int64(*i),
        BindValue::Float(f) => Bson::Double(*f),
        BindValue::Text(s) => {
            let object_id = decl
                .and_then(|d| d.schema.get("format"))
                .and_then(Value::as_str)
                .is_some_and(|f| f.eq_ignore_ascii_case("objectid"));
            if object_id {
                Bson::ObjectId(
                    bson::oid::ObjectId::parse_str(s).map_err(|e| {
                        invalid(format!("parameter `{name}` is not an ObjectId: {e}"))
                    })?,
                )
            } else if aggregate
                && s.starts_with('$')
                && decl.and_then(|d| d.schema.get(ALLOW_DOLLAR)) != Some(&Value::Bool(true))
            {
                return Err(invalid(format!(
                    "parameter `{name}` starts with `$`, which a pipeline would read as a field path"
                )));
            } else {
                Bson::String(s.clone())
            }
        }
        BindValue::Timestamp(t) => {
            Bson::DateTime(bson::DateTime::from_millis(t.timestamp_millis()))
        }
        BindValue::Bytes(b) => Bson::Binary(bson::Binary {
            subtype: BinarySubtype::Generic,
            bytes: b.clone(),
        }),
        BindValue::Json(v) => {
            Bson::try_from(v.clone()).map_err(|e| invalid(format!("parameter `{name}`: {e}")))?
        }
    })
}

/// A BSON value as faithful JSON: ObjectId as its hex string, dates as RFC 3339,
/// Decimal128 as a string, binary as base64; the rest as relaxed Extended JSON.
pub fn to_json(value: Bson) -> Value {
    match value {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(b) => Value::Bool(b),
        Bson::Int32(i) => Value::from(i),
        Bson::Int64(i) => Value::from(i),
        Bson::Double(f) => {
            Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
        }
        Bson::String(s) => Value::String(s),
        Bson::ObjectId(id) => Value::String(id.to_hex()),
        Bson::DateTime(t) => Value::String(
            t.try_to_rfc3339_string()
                .unwrap_or_else(|_| t.timestamp_millis().to_string()),
        ),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::Binary(b) => Value::String(BASE64.encode(&b.bytes)),
        Bson::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Bson::Document(d) => Value::Object(d.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
        other => other.into_relaxed_extjson(),
    }
}

/// A driver error in words for the user.
pub fn map_error(e: mongodb::error::Error) -> DbQueryError {
    use mongodb::error::ErrorKind;
    let message = e.to_string();
    match e.kind.as_ref() {
        ErrorKind::Command(c) if c.code == 50 => DbQueryError::new(
            DbErrorCode::Timeout,
            "the query ran longer than its timeout and was cancelled",
        ),
        ErrorKind::Authentication { .. }
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => DbQueryError::new(DbErrorCode::ConnectionFailed, message),
        _ => DbQueryError::new(DbErrorCode::QueryFailed, message),
    }
}
