//! The MongoDB query document: what a saved MongoDB query is, how it is checked, and how
//! parameters are put into it.
//!
//! ```json
//! find:            {"collection": "orders", "filter": {…}, "sort": {…}, "projection": {…}}
//! aggregate:       {"collection": "orders", "pipeline": [ … ]}
//! countDocuments:  {"collection": "orders", "filter": {…}}
//! insertOne:       {"collection": "orders", "document": {…}}
//! insertMany:      {"collection": "orders", "documents": [ {…}, … ]}
//! updateOne/Many:  {"collection": "orders", "filter": {…}, "update": {…} or [ … ], "upsert": false}
//! deleteOne/Many:  {"collection": "orders", "filter": {…}}
//! ```
//!
//! Values may be MongoDB Extended JSON (`{"$oid": "…"}`, `{"$date": "…"}`). A parameter
//! is the object `{"$param": "name"}` wherever a value may stand; the bound value replaces
//! it as a BSON value (never as text). `$where`, `$function` and `$accumulator` (server-side
//! JavaScript) are refused anywhere in the document, as are the writing stages `$out` and
//! `$merge` in a pipeline. Updates and deletes must state a `filter` (`{}` to mean all).

use mongodb::bson::{Bson, Document};
use serde_json::{Map, Value};

use super::QueryType;

/// Operators that run server-side JavaScript.
const JAVASCRIPT_OPERATORS: [&str; 3] = ["$where", "$function", "$accumulator"];
/// Aggregation stages that write.
const WRITING_STAGES: [&str; 2] = ["$out", "$merge"];
/// The key of a parameter placeholder.
pub const PARAM_KEY: &str = "$param";

/// A checked query document.
#[derive(Debug, Clone)]
pub struct MongoQuery {
    pub collection: String,
    /// Everything but `collection`, as BSON with placeholders still in place.
    pub body: Document,
    /// Parameter names in order of first use.
    pub params: Vec<String>,
}

/// Parses and checks `text` as a query document of type `query_type`.
pub fn parse(text: &str, query_type: QueryType) -> Result<MongoQuery, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the query is not a JSON document: {e}"))?;
    let Value::Object(map) = value else {
        return Err(
            "the query must be a JSON object such as {\"collection\": \"orders\", \"filter\": {}}"
                .into(),
        );
    };
    let collection = match map.get("collection") {
        Some(Value::String(c)) if !c.trim().is_empty() => c.clone(),
        _ => return Err("`collection` must name the collection to query".into()),
    };
    let (required, optional) = shape(query_type);
    for key in map.keys() {
        if key != "collection"
            && !required.contains(&key.as_str())
            && !optional.contains(&key.as_str())
        {
            return Err(format!(
                "`{key}` is not part of a {} query; expected {}",
                query_type.as_str(),
                required
                    .iter()
                    .chain(optional)
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for key in required {
        if !map.contains_key(*key) {
            return Err(format!("a {} query needs `{key}`", query_type.as_str()));
        }
    }
    for (key, value) in &map {
        let ok = match key.as_str() {
            "collection" => true,
            "pipeline" | "documents" => value.is_array(),
            "update" => value.is_object() || value.is_array(),
            "upsert" => value.is_boolean(),
            _ => value.is_object(),
        };
        if !ok {
            return Err(format!("`{key}` has the wrong JSON type"));
        }
    }
    if let Some(Value::Array(stages)) = map.get("pipeline") {
        for (i, stage) in stages.iter().enumerate() {
            let Value::Object(stage) = stage else {
                return Err(format!("pipeline stage {i} must be an object"));
            };
            if let Some(key) = stage.keys().find(|k| WRITING_STAGES.contains(&k.as_str())) {
                return Err(format!(
                    "the `{key}` stage writes data and is not allowed (pipeline stage {i})"
                ));
            }
        }
    }
    let mut params = Vec::new();
    walk(&Value::Object(map.clone()), "", &mut params)?;
    let mut body = Map::new();
    for (k, v) in map {
        if k != "collection" {
            body.insert(k, v);
        }
    }
    let body = match Bson::try_from(Value::Object(body))
        .map_err(|e| format!("the query is not valid Extended JSON: {e}"))?
    {
        Bson::Document(d) => d,
        _ => return Err("the query must be a JSON object".into()),
    };
    Ok(MongoQuery {
        collection,
        body,
        params,
    })
}

/// Required and optional keys per query type (besides `collection`).
fn shape(query_type: QueryType) -> (&'static [&'static str], &'static [&'static str]) {
    match query_type {
        QueryType::Find => (&[], &["filter", "sort", "projection"]),
        QueryType::Aggregate => (&["pipeline"], &[]),
        QueryType::CountDocuments => (&[], &["filter"]),
        QueryType::InsertOne => (&["document"], &[]),
        QueryType::InsertMany => (&["documents"], &[]),
        QueryType::UpdateOne | QueryType::UpdateMany => (&["filter", "update"], &["upsert"]),
        QueryType::DeleteOne | QueryType::DeleteMany => (&["filter"], &[]),
        QueryType::Select | QueryType::Insert | QueryType::Update | QueryType::Delete => (&[], &[]),
    }
}

/// Refuses JavaScript operators and collects `$param` names.
fn walk(value: &Value, at: &str, params: &mut Vec<String>) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(name) = map.get(PARAM_KEY) {
                return match (name, map.len()) {
                    (Value::String(name), 1) if is_param_name(name) => {
                        if !params.contains(name) {
                            params.push(name.clone());
                        }
                        Ok(())
                    }
                    _ => Err(format!(
                        "a parameter is written {{\"$param\": \"name\"}} with nothing beside it (at {})",
                        pointer(at)
                    )),
                };
            }
            for (key, v) in map {
                if JAVASCRIPT_OPERATORS.contains(&key.as_str()) {
                    return Err(format!(
                        "`{key}` runs JavaScript on the server and is not allowed (at {})",
                        pointer(&format!("{at}/{key}"))
                    ));
                }
                walk(v, &format!("{at}/{key}"), params)?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| walk(v, &format!("{at}/{i}"), params)),
        _ => Ok(()),
    }
}

fn pointer(at: &str) -> &str {
    if at.is_empty() { "/" } else { at }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces every placeholder in `doc` with `lookup(name)`.
pub fn substitute<E>(
    doc: &Document,
    lookup: &mut impl FnMut(&str) -> Result<Bson, E>,
) -> Result<Document, E> {
    let mut out = Document::new();
    for (k, v) in doc {
        out.insert(k.clone(), substitute_value(v, lookup)?);
    }
    Ok(out)
}

fn substitute_value<E>(
    value: &Bson,
    lookup: &mut impl FnMut(&str) -> Result<Bson, E>,
) -> Result<Bson, E> {
    Ok(match value {
        Bson::Document(d) => match (d.len(), d.get(PARAM_KEY)) {
            (1, Some(Bson::String(name))) => lookup(name)?,
            _ => Bson::Document(substitute(d, lookup)?),
        },
        Bson::Array(items) => Bson::Array(
            items
                .iter()
                .map(|v| substitute_value(v, lookup))
                .collect::<Result<_, E>>()?,
        ),
        other => other.clone(),
    })
}

/// The first object key starting with `$` inside a parameter value, if any: such a key would
/// turn a value into an operator (`{"$ne": null}` matching every document).
pub fn operator_key(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.starts_with('$') {
                Some(k.as_str())
            } else {
                operator_key(v)
            }
        }),
        Value::Array(items) => items.iter().find_map(operator_key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_find_with_parameters_parses_and_names_them() {
        let q = parse(
            r#"{"collection":"orders","filter":{"customerId":{"$param":"customerId"},"total":{"$gt":{"$param":"min"}}},"sort":{"_id":1}}"#,
            QueryType::Find,
        )
        .unwrap();
        assert_eq!(q.collection, "orders");
        assert_eq!(q.params, ["customerId", "min"]);
        let doc = substitute(&q.body, &mut |name| {
            Ok::<_, ()>(Bson::String(name.to_uppercase()))
        })
        .unwrap();
        assert_eq!(
            doc.get_document("filter")
                .unwrap()
                .get_str("customerId")
                .unwrap(),
            "CUSTOMERID"
        );
    }

    #[test]
    fn javascript_operators_are_refused_anywhere() {
        for text in [
            r#"{"collection":"c","filter":{"$where":"sleep(100)"}}"#,
            r#"{"collection":"c","filter":{"$expr":{"$function":{"body":"x","args":[],"lang":"js"}}}}"#,
            r#"{"collection":"c","filter":{"a":[{"b":{"$where":"1"}}]}}"#,
        ] {
            let err = parse(text, QueryType::Find).unwrap_err();
            assert!(err.contains("JavaScript"), "{err}");
        }
        let err = parse(
            r#"{"collection":"c","pipeline":[{"$group":{"_id":null,"x":{"$accumulator":{}}}}]}"#,
            QueryType::Aggregate,
        )
        .unwrap_err();
        assert!(err.contains("$accumulator"), "{err}");
    }

    #[test]
    fn writing_stages_and_wrong_shapes_are_refused() {
        assert!(
            parse(
                r#"{"collection":"c","pipeline":[{"$out":"x"}]}"#,
                QueryType::Aggregate
            )
            .is_err()
        );
        assert!(
            parse(
                r#"{"collection":"c","pipeline":[{"$merge":{"into":"x"}}]}"#,
                QueryType::Aggregate
            )
            .is_err()
        );
        assert!(
            parse(r#"{"collection":"c"}"#, QueryType::DeleteMany)
                .unwrap_err()
                .contains("`filter`")
        );
        assert!(parse(r#"{"filter":{}}"#, QueryType::Find).is_err());
        assert!(parse(r#"{"collection":"c","pipeline":[]}"#, QueryType::Find).is_err());
        assert!(parse(r#"[1]"#, QueryType::Find).is_err());
        assert!(
            parse(
                r#"{"collection":"c","filter":{"a":{"$param":"x","b":1}}}"#,
                QueryType::Find
            )
            .is_err()
        );
    }

    #[test]
    fn operator_keys_in_values_are_found_at_any_depth() {
        assert_eq!(operator_key(&serde_json::json!({"$ne": null})), Some("$ne"));
        assert_eq!(
            operator_key(&serde_json::json!([{"a": {"$gt": 1}}])),
            Some("$gt")
        );
        assert_eq!(operator_key(&serde_json::json!({"a": "$b"})), None);
    }
}
