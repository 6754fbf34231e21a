//! Parameter values: checked against the declared JSON Schema, then turned into a
//! [`BindValue`] whose kind the schema decides (`format: date-time` is a timestamp,
//! `contentEncoding: base64` is bytes, objects and arrays are JSON). Each backend binds a
//! `BindValue` with its driver; nothing is ever spliced into query text.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use jsonschema::Validator;
use serde_json::{Map, Value};

use super::{DbErrorCode, DbQueryError, ParamDecl};
use crate::json_schema;

/// A parameter value in the shape drivers bind.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Timestamp(DateTime<Utc>),
    Bytes(Vec<u8>),
    Json(Value),
}

impl BindValue {
    /// The JSON Schema type name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            BindValue::Null => "null",
            BindValue::Bool(_) => "boolean",
            BindValue::Int(_) => "integer",
            BindValue::Float(_) => "number",
            BindValue::Text(_) => "string",
            BindValue::Timestamp(_) => "date-time string",
            BindValue::Bytes(_) => "base64 string",
            BindValue::Json(v) if v.is_array() => "array",
            BindValue::Json(_) => "object",
        }
    }
}

/// The values of every declared parameter, by name. A missing value takes the schema's
/// `default`, else `null` if the schema allows it; an undeclared name is an error.
pub fn resolve(
    decls: &[ParamDecl],
    values: &Map<String, Value>,
) -> Result<HashMap<String, BindValue>, DbQueryError> {
    if let Some(unknown) = values.keys().find(|k| !decls.iter().any(|d| d.name == **k)) {
        return Err(invalid(format!(
            "`{unknown}` is not a parameter of this query"
        )));
    }
    let mut out = HashMap::with_capacity(decls.len());
    for decl in decls {
        let value = match values.get(&decl.name) {
            Some(v) => v.clone(),
            None => decl.schema.get("default").cloned().unwrap_or(Value::Null),
        };
        let validator = validator(&decl.schema)
            .map_err(|m| invalid(format!("parameter `{}`: {m}", decl.name)))?;
        if let Some(error) = validator.iter_errors(&value).next() {
            let at = error.instance_path().to_string();
            let what = if values.contains_key(&decl.name) {
                format!("{error}")
            } else {
                "is missing".to_owned()
            };
            return Err(invalid(format!("parameter `{}`{at} {what}", decl.name)));
        }
        out.insert(decl.name.clone(), to_bind(&decl.name, &decl.schema, value)?);
    }
    Ok(out)
}

fn to_bind(name: &str, schema: &Value, value: Value) -> Result<BindValue, DbQueryError> {
    Ok(match value {
        Value::Null => BindValue::Null,
        Value::Bool(b) => BindValue::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) if declares(schema, "integer") || !declares(schema, "number") => {
                BindValue::Int(i)
            }
            _ => BindValue::Float(
                n.as_f64()
                    .ok_or_else(|| invalid(format!("parameter `{name}` is out of range")))?,
            ),
        },
        Value::String(s) => {
            if schema.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
                BindValue::Bytes(
                    BASE64.decode(s.as_bytes()).map_err(|e| {
                        invalid(format!("parameter `{name}` is not valid base64: {e}"))
                    })?,
                )
            } else if schema.get("format").and_then(Value::as_str) == Some("date-time") {
                BindValue::Timestamp(
                    DateTime::parse_from_rfc3339(&s)
                        .map_err(|e| {
                            invalid(format!(
                                "parameter `{name}` is not an RFC 3339 date-time: {e}"
                            ))
                        })?
                        .with_timezone(&Utc),
                )
            } else {
                BindValue::Text(s)
            }
        }
        v @ (Value::Array(_) | Value::Object(_)) => BindValue::Json(v),
    })
}

/// Whether `schema`'s `type` names `ty` (alone or in a list).
fn declares(schema: &Value, ty: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == ty,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
        _ => false,
    }
}

fn invalid(message: String) -> DbQueryError {
    DbQueryError::new(DbErrorCode::InvalidParameter, message)
}

/// Compiled validators by schema text: a query runs with the same few schemas again and
/// again, and compiling costs more than the query's own overhead.
fn validator(schema: &Value) -> Result<Arc<Validator>, String> {
    const MAX_CACHED: usize = 1024;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let key = schema.to_string();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("validator cache").get(&key) {
        return Ok(v.clone());
    }
    let compiled =
        Arc::new(json_schema::compile_asserting_formats(schema).map_err(|p| p.to_string())?);
    let mut map = cache.lock().expect("validator cache");
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(key, compiled.clone());
    Ok(compiled)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decl(name: &str, schema: Value) -> ParamDecl {
        ParamDecl {
            name: name.into(),
            schema,
        }
    }

    #[test]
    fn the_schema_decides_how_a_value_is_bound() {
        let decls = [
            decl("i", json!({"type": "integer"})),
            decl("f", json!({"type": "number"})),
            decl("s", json!({"type": "string"})),
            decl("t", json!({"type": "string", "format": "date-time"})),
            decl("b", json!({"type": "string", "contentEncoding": "base64"})),
            decl("j", json!({"type": "object"})),
            decl("n", json!({"type": ["string", "null"]})),
            decl("d", json!({"type": "integer", "default": 7})),
        ];
        let values = json!({"i": 5, "f": 2, "s": "x", "t": "2024-01-02T03:04:05+01:00",
                            "b": "AAEC", "j": {"a": 1}});
        let got = resolve(&decls, values.as_object().unwrap()).unwrap();
        assert_eq!(got["i"], BindValue::Int(5));
        assert_eq!(got["f"], BindValue::Float(2.0));
        assert_eq!(got["s"], BindValue::Text("x".into()));
        assert_eq!(
            got["t"],
            BindValue::Timestamp("2024-01-02T02:04:05Z".parse().unwrap())
        );
        assert_eq!(got["b"], BindValue::Bytes(vec![0, 1, 2]));
        assert_eq!(got["j"], BindValue::Json(json!({"a": 1})));
        assert_eq!(got["n"], BindValue::Null);
        assert_eq!(got["d"], BindValue::Int(7));
    }

    #[test]
    fn wrong_missing_and_unknown_values_are_invalid_parameters_named() {
        let decls = [decl("i", json!({"type": "integer"}))];
        let err =
            resolve(&decls, json!({"i": "1; DROP TABLE t"}).as_object().unwrap()).unwrap_err();
        assert_eq!(err.code, DbErrorCode::InvalidParameter);
        assert!(err.message.starts_with("parameter `i`"), "{}", err.message);
        let err = resolve(&decls, &Map::new()).unwrap_err();
        assert_eq!(err.message, "parameter `i` is missing");
        let err = resolve(&decls, json!({"i": 1, "x": 2}).as_object().unwrap()).unwrap_err();
        assert_eq!(err.message, "`x` is not a parameter of this query");
    }
}
