//! JSON Schema checks shared by tools, node types and workflow validation.
//!
//! Every schema Weft compiles goes through [`compile`], which never fetches anything: a
//! schema is user input, and resolving a `$ref` or `$schema` over the network (or from the
//! local file system) would turn schema registration into an SSRF or file-read primitive.

use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;

/// One thing wrong with a schema or with an instance checked against one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", if path.is_empty() { "(root)" } else { path.as_str() })]
pub struct SchemaProblem {
    /// JSON pointer (RFC 6901) to the offending place: inside the schema for
    /// [`check_schema`], inside the instance for [`validate_instance`]. Empty means the root.
    pub path: String,
    /// What is wrong, in words meant for the person who wrote the schema or the data.
    pub message: String,
}

impl SchemaProblem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    fn from_error(error: &ValidationError<'_>) -> Self {
        Self::new(error.instance_path().as_str(), error.to_string())
    }
}

/// The `$schema` URIs Weft understands; anything else would need a fetch to interpret.
fn is_bundled_draft(uri: &str) -> bool {
    matches!(
        Draft::from_schema_uri(uri),
        Draft::Draft4 | Draft::Draft6 | Draft::Draft7 | Draft::Draft201909 | Draft::Draft202012
    )
}

/// Checks that `schema` is a usable JSON Schema: an object or a boolean that is valid
/// against its meta-schema (draft 2020-12 unless `$schema` names another bundled draft) and
/// that compiles, which also catches what meta-schemas cannot express, such as a `pattern`
/// that is not a valid regular expression or a `$ref` that points nowhere.
///
/// # Errors
///
/// Returns the first problem found, with `path` pointing into the schema.
pub fn check_schema(schema: &Value) -> Result<(), SchemaProblem> {
    compile(schema).map(drop)
}

/// Compiles `schema` into a reusable validator after the checks of [`check_schema`].
///
/// Callers that validate many instances against one schema (the engine, per node) should
/// compile once and keep the validator rather than call [`validate_instance`] repeatedly.
///
/// # Errors
///
/// Returns the first problem found, with `path` pointing into the schema.
pub fn compile(schema: &Value) -> Result<Validator, SchemaProblem> {
    precheck(schema)?;
    build(schema, false)
}

/// Like [`compile`], but `format` keywords are assertions, as [`validate_instance`] uses them.
///
/// # Errors
///
/// Returns the first problem found, with `path` pointing into the schema.
pub fn compile_asserting_formats(schema: &Value) -> Result<Validator, SchemaProblem> {
    precheck(schema)?;
    build(schema, true)
}

fn build(schema: &Value, assert_formats: bool) -> Result<Validator, SchemaProblem> {
    let mut options = jsonschema::options().offline();
    if assert_formats {
        options = options.should_validate_formats(true);
    }
    options
        .build(schema)
        .map_err(|error| SchemaProblem::from_error(&error))
}

/// Everything short of compiling: the JSON type, the meta-schema named, and validity
/// against it.
fn precheck(schema: &Value) -> Result<(), SchemaProblem> {
    match schema {
        Value::Bool(_) => {}
        Value::Object(map) => {
            if let Some(uri) = map.get("$schema").and_then(Value::as_str)
                && !is_bundled_draft(uri)
            {
                return Err(SchemaProblem::new(
                    "/$schema",
                    format!(
                        "unsupported meta-schema \"{uri}\"; use \
                         \"https://json-schema.org/draft/2020-12/schema\" (or drafts 2019-09, \
                         7, 6 or 4), or leave `$schema` out for 2020-12"
                    ),
                ));
            }
        }
        other => {
            return Err(SchemaProblem::new(
                "",
                format!(
                    "a JSON Schema must be an object or a boolean, not {}",
                    json_type_name(other)
                ),
            ));
        }
    }

    // Meta-validation first, with every error considered, so the reported problem is the most
    // specific one rather than whichever the compiler happens to trip over.
    let meta = jsonschema::meta::validator_for(schema)
        .map_err(|error| SchemaProblem::new("/$schema", error.to_string()))?;
    match most_specific(meta.iter_errors(schema)) {
        Some(problem) => Err(clarify(problem, schema)),
        None => Ok(()),
    }
}

/// Validates `instance` against `schema`, reporting every violation.
///
/// Declared `format`s (such as `uri` or `date-time`) are asserted, not merely annotated: a
/// schema author who writes `"format": "uri"` on a tool input expects it to hold.
///
/// # Errors
///
/// Every violation, each with `path` pointing into the instance. If the schema itself is
/// unusable the single problem says so, with `path` pointing into the schema.
pub fn validate_instance(schema: &Value, instance: &Value) -> Result<(), Vec<SchemaProblem>> {
    let validator = compile_asserting_formats(schema).map_err(|problem| {
        vec![SchemaProblem::new(
            problem.path,
            format!("the schema itself is invalid: {}", problem.message),
        )]
    })?;
    validate_with(&validator, instance)
}

/// Validates `instance` with an already compiled validator, reporting every violation.
///
/// # Errors
///
/// Every violation, each with `path` pointing into the instance.
pub fn validate_with(validator: &Validator, instance: &Value) -> Result<(), Vec<SchemaProblem>> {
    let problems: Vec<SchemaProblem> = validator
        .iter_errors(instance)
        .map(|error| SchemaProblem::from_error(&error))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Picks the deepest error: a meta-schema violation deep inside `properties` is also reported
/// at shallower levels through `anyOf`/`$dynamicRef` wrappers whose messages say little.
fn most_specific<'a>(errors: impl Iterator<Item = ValidationError<'a>>) -> Option<SchemaProblem> {
    errors
        .map(|error| SchemaProblem::from_error(&error))
        .enumerate()
        .max_by_key(|(index, problem)| {
            (problem.path.matches('/').count(), std::cmp::Reverse(*index))
        })
        .map(|(_, problem)| problem)
}

/// The meta-schema describes `type` as "a simple type name or an array of them", so a typo
/// there yields an opaque `anyOf` failure; name the accepted types instead.
fn clarify(problem: SchemaProblem, schema: &Value) -> SchemaProblem {
    const TYPES: &str = "array, boolean, integer, null, number, object, string";
    let is_type_keyword = problem.path.rsplit('/').next() == Some("type")
        || problem.path.rsplit_once('/').is_some_and(|(parent, last)| {
            last.parse::<usize>().is_ok() && parent.ends_with("/type")
        });
    if !is_type_keyword || !problem.message.contains("anyOf") {
        return problem;
    }
    let found = schema
        .pointer(&problem.path)
        .map_or_else(String::new, |value| format!("{value} "));
    SchemaProblem::new(
        problem.path,
        format!("{found}is not a JSON Schema type; expected one of {TYPES}"),
    )
}

/// The JSON type of `value` as JSON Schema names it, for messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ordinary_object_schema_is_accepted() {
        let schema = json!({
            "type": "object",
            "properties": { "name": { "type": "string", "minLength": 1 } },
            "required": ["name"]
        });
        assert_eq!(check_schema(&schema), Ok(()));
    }

    #[test]
    fn boolean_schemas_are_accepted() {
        assert_eq!(check_schema(&json!(true)), Ok(()));
        assert_eq!(check_schema(&json!(false)), Ok(()));
    }

    #[test]
    fn a_schema_that_is_neither_object_nor_boolean_is_rejected() {
        let problem = check_schema(&json!("string")).unwrap_err();
        assert_eq!(problem.path, "");
        assert!(problem.message.contains("object or a boolean"), "{problem}");
        assert!(check_schema(&json!([])).is_err());
        assert!(check_schema(&json!(null)).is_err());
    }

    #[test]
    fn an_unknown_type_name_is_reported_at_its_pointer() {
        let schema = json!({ "properties": { "age": { "type": "int" } } });
        let problem = check_schema(&schema).unwrap_err();
        assert_eq!(problem.path, "/properties/age/type");
        assert!(
            problem
                .message
                .contains("\"int\" is not a JSON Schema type"),
            "{problem}"
        );
    }

    #[test]
    fn a_pattern_that_is_not_a_regex_is_rejected() {
        let schema = json!({ "type": "string", "pattern": "([a-z" });
        let problem = check_schema(&schema).unwrap_err();
        assert!(problem.path.ends_with("pattern"), "{problem}");
    }

    #[test]
    fn a_remote_ref_is_rejected_without_being_fetched() {
        let schema = json!({ "$ref": "https://example.com/evil.json" });
        let problem = check_schema(&schema).unwrap_err();
        assert!(
            problem.message.contains("example.com"),
            "message should name the reference: {problem}"
        );
    }

    #[test]
    fn a_file_ref_is_rejected_without_being_read() {
        let schema = json!({ "$ref": "file:///etc/passwd" });
        assert!(check_schema(&schema).is_err());
    }

    #[test]
    fn a_local_ref_into_defs_is_accepted() {
        let schema = json!({
            "$defs": { "id": { "type": "string" } },
            "properties": { "id": { "$ref": "#/$defs/id" } }
        });
        assert_eq!(check_schema(&schema), Ok(()));
    }

    #[test]
    fn an_unknown_meta_schema_is_rejected_without_being_fetched() {
        let schema = json!({ "$schema": "https://example.com/my-meta", "type": "string" });
        let problem = check_schema(&schema).unwrap_err();
        assert_eq!(problem.path, "/$schema");
    }

    #[test]
    fn older_bundled_drafts_are_accepted() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "definitions": { "x": { "type": "integer" } }
        });
        assert_eq!(check_schema(&schema), Ok(()));
    }

    #[test]
    fn every_instance_error_is_reported_with_its_instance_path() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": { "type": "string" },
                "tags": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["name", "id"]
        });
        let instance = json!({ "name": 3, "tags": ["a", 1] });
        let problems = validate_instance(&schema, &instance).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"/name"), "{paths:?}");
        assert!(paths.contains(&"/tags/1"), "{paths:?}");
        assert!(
            paths.contains(&""),
            "missing `id` is reported at the root: {paths:?}"
        );
        assert_eq!(problems.len(), 3);
    }

    #[test]
    fn a_valid_instance_passes() {
        let schema = json!({ "type": "integer", "minimum": 0 });
        assert_eq!(validate_instance(&schema, &json!(5)), Ok(()));
    }

    #[test]
    fn declared_formats_are_asserted_on_instances() {
        let schema = json!({ "type": "string", "format": "date-time" });
        assert!(validate_instance(&schema, &json!("yesterday")).is_err());
        assert_eq!(
            validate_instance(&schema, &json!("2024-05-01T10:00:00Z")),
            Ok(())
        );
    }

    #[test]
    fn validating_against_an_invalid_schema_says_the_schema_is_at_fault() {
        let problems = validate_instance(&json!({ "type": "int" }), &json!(1)).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("schema itself"),
            "{problems:?}"
        );
    }
}
