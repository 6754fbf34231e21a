//! `custom`: runs a tool from the registry, pinned to `config.toolVersion` or at its latest
//! version, as the workflow's owner.
//!
//! The tool's input is checked against the input schema of the version that runs (which
//! may be older than the one the workflow was validated against) and its output against
//! that version's output schema, so a tool that breaks its own contract fails loudly here
//! rather than confusing the nodes downstream. The same runner serves `llm-agent`, whose
//! model calls tools as functions.
//!
//! Each tool kind is one `run_<kind>` function and one arm in [`ToolRunner::run`].

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use entity::tool_versions;
use jsonschema::Validator;
use minijinja::{Environment, UndefinedBehavior};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api_call::{self, HttpCall, Reply};
use super::http_auth::{Credential, Secrets};
use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult};
use crate::error::DomainError;
use crate::json_schema::{self, SchemaProblem};
use crate::mapping::expr::ProgramCache;
use crate::store;

/// Compiled schemas kept per tool version; versions are immutable, so entries never go
/// stale. Bounded so a stream of distinct tools cannot grow it without limit.
const MAX_CACHED_SCHEMAS: usize = 4_096;
/// Template evaluation budget: enough for any sensible path or header, not for a loop
/// that would stall the worker.
const TEMPLATE_FUEL: u64 = 50_000;

/// The `custom` executor; keeps compiled tool schemas and response mappings across runs.
#[derive(Default)]
pub struct Custom {
    runner: ToolRunner,
}

#[async_trait::async_trait]
impl Executor for Custom {
    fn node_type(&self) -> &'static str {
        crate::node_types::CUSTOM
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let config = ctx.node.config();
        let tool_id = config
            .get("toolId")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeFailure::permanent("config.toolId is missing"))?;
        let version = config
            .get("toolVersion")
            .and_then(Value::as_i64)
            .map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        let tool = Tool::load(ctx, tool_id, version).await?;
        let output = self
            .runner
            .run(ctx, &tool, Value::Object(input), &ctx.idempotency_key())
            .await?;
        Ok(NodeOutcome::main(output))
    }
}

/// One version of a registry tool, as it runs.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    pub(crate) id: String,
    pub(crate) version: i32,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) kind: String,
    pub(crate) input_schema: Value,
    pub(crate) output_schema: Value,
    pub(crate) config: Value,
}

impl Tool {
    /// Reads tool `id` as the workflow's owner: `version`, or the latest when `None`.
    pub(crate) async fn load(
        ctx: &NodeContext<'_>,
        id: &str,
        version: Option<i32>,
    ) -> Result<Self, NodeFailure> {
        let db = &ctx.services.db;
        let storage = |e: DomainError| match e {
            DomainError::NotFound { .. } => NodeFailure::permanent(format!(
                "tool `{id}` does not exist or does not belong to the workflow's owner"
            )),
            DomainError::Storage(e) => {
                NodeFailure::retryable(format!("reading tool `{id}` failed: {e}"))
            }
            other => NodeFailure::permanent(format!("reading tool `{id}` failed: {other}")),
        };
        let latest = store::tools::get(db, ctx.owner, id)
            .await
            .map_err(storage)?;
        match version {
            None => Ok(Self {
                id: latest.id,
                version: latest.version,
                name: latest.name,
                description: latest.description,
                kind: latest.kind,
                input_schema: latest.input_schema,
                output_schema: latest.output_schema,
                config: latest.config,
            }),
            Some(version) => {
                let row = tool_versions::Entity::find()
                    .filter(tool_versions::Column::ToolId.eq(id))
                    .filter(tool_versions::Column::Version.eq(version))
                    .one(db)
                    .await
                    .map_err(|e| storage(DomainError::Storage(e)))?
                    .ok_or_else(|| {
                        NodeFailure::permanent(format!(
                            "tool `{}` has no version {version} (its latest is {})",
                            latest.name, latest.version
                        ))
                    })?;
                Ok(Self {
                    id: row.tool_id,
                    version: row.version,
                    name: row.name,
                    description: row.description,
                    kind: row.kind,
                    input_schema: row.input_schema,
                    output_schema: row.output_schema,
                    config: row.config,
                })
            }
        }
    }
}

struct ToolSchemas {
    input: Validator,
    output: Validator,
}

/// Runs tools of every kind, checking their input and output against their schemas.
#[derive(Default)]
pub(crate) struct ToolRunner {
    schemas: Mutex<HashMap<(String, i32), Arc<ToolSchemas>>>,
}

impl ToolRunner {
    /// Runs `tool` on `input`. `idempotency_key` goes on every call the tool makes out.
    pub(crate) async fn run(
        &self,
        ctx: &NodeContext<'_>,
        tool: &Tool,
        input: Value,
        idempotency_key: &str,
    ) -> Result<Value, NodeFailure> {
        let schemas = self.schemas(tool)?;
        json_schema::validate_with(&schemas.input, &input).map_err(|problems| {
            NodeFailure::permanent(format!(
                "the input does not match the input schema of tool `{}` (version {}): {}",
                tool.name,
                tool.version,
                describe(&problems)
            ))
        })?;
        let output = match tool.kind.as_str() {
            "api" => self.run_api(ctx, tool, &input, idempotency_key).await?,
            "webhook" => {
                let webhook_id = tool
                    .config
                    .get("webhookId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        NodeFailure::permanent(format!(
                            "tool `{}` has no config.webhookId",
                            tool.name
                        ))
                    })?;
                super::webhook::send(ctx, webhook_id, &input, idempotency_key).await?
            }
            other => {
                return Err(NodeFailure::permanent(format!(
                    "tool kind `{other}` is not available in this build yet (tool `{}`)",
                    tool.name
                )));
            }
        };
        json_schema::validate_with(&schemas.output, &output).map_err(|problems| {
            NodeFailure::permanent(format!(
                "tool `{}` (version {}) produced output that does not match its output schema: \
                 {}",
                tool.name,
                tool.version,
                describe(&problems)
            ))
        })?;
        Ok(output)
    }

    fn schemas(&self, tool: &Tool) -> Result<Arc<ToolSchemas>, NodeFailure> {
        let key = (tool.id.clone(), tool.version);
        if let Some(schemas) = self.schemas.lock().expect("tool schema cache").get(&key) {
            return Ok(schemas.clone());
        }
        let compile = |which: &str, schema: &Value| {
            json_schema::compile_asserting_formats(schema).map_err(|problem| {
                NodeFailure::permanent(format!(
                    "the {which} schema of tool `{}` is invalid: {problem}",
                    tool.name
                ))
            })
        };
        let schemas = Arc::new(ToolSchemas {
            input: compile("input", &tool.input_schema)?,
            output: compile("output", &tool.output_schema)?,
        });
        let mut cache = self.schemas.lock().expect("tool schema cache");
        if cache.len() >= MAX_CACHED_SCHEMAS {
            cache.clear();
        }
        cache.insert(key, schemas.clone());
        Ok(schemas)
    }

    /// An `api` tool: one HTTP request built from the tool's config. The output is
    /// `{status, body}`, or what `responseMapping` (a jq expression over
    /// `{status, headers, body}`) makes of the response.
    async fn run_api(
        &self,
        ctx: &NodeContext<'_>,
        tool: &Tool,
        input: &Value,
        idempotency_key: &str,
    ) -> Result<Value, NodeFailure> {
        let invalid = |message: String| {
            NodeFailure::permanent(format!("tool `{}` is misconfigured: {message}", tool.name))
        };
        let config = ApiToolConfig::deserialize(&tool.config)
            .map_err(|e| invalid(format!("config: {e}")))?;
        let context = minijinja::Value::from(minijinja::value::Serde(json!({ "input": input })));
        let path = PATH_TEMPLATES
            .render_str(&config.path, context.clone())
            .map_err(|e| invalid(format!("config.path: {e}")))?;
        let base = config.base_url.trim_end_matches('/');
        let url = match path.trim_start_matches('/') {
            "" => base.to_owned(),
            path => format!("{base}/{path}"),
        };
        let method = api_call::parse_method(config.method.as_deref().unwrap_or("GET"))?;
        let mut call = HttpCall::new(method, api_call::parse_url(&url, "the tool's URL")?);
        let render = |field: &str, values: &Map<String, Value>| {
            values
                .iter()
                .map(|(name, value)| {
                    let rendered = match value {
                        Value::String(template) => Value::String(
                            TEXT_TEMPLATES
                                .render_str(template, context.clone())
                                .map_err(|e| invalid(format!("config.{field}.{name}: {e}")))?,
                        ),
                        other => other.clone(),
                    };
                    Ok((name.clone(), rendered))
                })
                .collect::<Result<Map<String, Value>, NodeFailure>>()
        };
        call.append_query(&render("query", &config.query)?)?;
        call.set_headers(&render("headers", &config.headers)?)?;
        call.idempotency_key(idempotency_key)?;
        if matches!(call.method().as_str(), "POST" | "PUT" | "PATCH") {
            call.json(input.clone());
        }
        let credential = match &config.credential_id {
            Some(id) => Some(Credential::load(ctx, id).await?),
            None => None,
        };
        let mut secrets = Secrets::default();
        let response = api_call::perform(ctx, call, credential.as_ref(), &mut secrets).await?;
        let reply = Reply::read(&response, &secrets);
        api_call::check_status(&response, &reply, None).map_err(|failure| NodeFailure {
            message: format!("tool `{}`: {}", tool.name, failure.message),
            ..failure
        })?;
        match &config.response_mapping {
            None => Ok(json!({ "status": reply.status, "body": reply.body })),
            Some(source) => {
                let program = ProgramCache::shared().get(source).map_err(|e| {
                    invalid(format!("config.responseMapping does not compile: {e}"))
                })?;
                program.run_one(&reply.into_output()).map_err(|e| {
                    NodeFailure::permanent(format!(
                        "tool `{}`: config.responseMapping failed: {e}",
                        tool.name
                    ))
                })
            }
        }
    }
}

/// The config of an `api` tool.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiToolConfig {
    /// Scheme, host and optional base path, e.g. `https://api.example.com/v1`.
    base_url: String,
    /// `GET` when absent. `POST`, `PUT` and `PATCH` send the tool input as the JSON body.
    method: Option<String>,
    /// Appended to `base_url`; `{{ input.x }}` placeholders are filled in percent-encoded,
    /// so a value cannot add path segments or a query.
    #[serde(default)]
    path: String,
    /// Query-string parameters; string values are templates.
    #[serde(default)]
    query: Map<String, Value>,
    /// Request headers; values are templates.
    #[serde(default)]
    headers: Map<String, Value>,
    credential_id: Option<String>,
    /// jq expression over `{status, headers, body}` whose result is the tool's output.
    response_mapping: Option<String>,
}

fn template_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt placeholder should fail the tool, not call a URL with a hole in it.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env
}

static TEXT_TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(template_environment);

static PATH_TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = template_environment();
    env.set_formatter(|out, _state, value| {
        let text = value.to_string();
        out.write_str(&percent_encode_segment(&text))?;
        Ok(())
    });
    env
});

/// Percent-encodes all but RFC 3986 unreserved characters, so an interpolated value stays
/// inside its path segment: `../admin` or `a/b?x=1` cannot escape it.
fn percent_encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn describe(problems: &[SchemaProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(value: Value) -> minijinja::Value {
        minijinja::Value::from(minijinja::value::Serde(value))
    }

    #[test]
    fn path_placeholders_are_encoded_so_they_stay_in_their_segment() {
        let context = ctx(json!({ "input": { "id": "../admin?x=1 2", "n": 7 } }));
        let path = PATH_TEMPLATES
            .render_str("/users/{{ input.id }}/items/{{ input.n }}", context.clone())
            .unwrap();
        assert_eq!(path, "/users/..%2Fadmin%3Fx%3D1%202/items/7");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_not_an_empty_string() {
        let context = ctx(json!({ "input": {} }));
        assert!(
            PATH_TEMPLATES
                .render_str("/{{ input.nope }}", context.clone())
                .is_err()
        );
        assert!(
            TEXT_TEMPLATES
                .render_str("{{ input.nope }}", context.clone())
                .is_err()
        );
    }

    #[test]
    fn text_templates_render_values_verbatim() {
        let context = ctx(json!({ "input": { "q": "a b/c" } }));
        assert_eq!(
            TEXT_TEMPLATES
                .render_str("q={{ input.q }}", context.clone())
                .unwrap(),
            "q=a b/c"
        );
    }

    #[test]
    fn a_runaway_template_runs_out_of_fuel() {
        let context = ctx(json!({ "input": {} }));
        let result = TEXT_TEMPLATES.render_str(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            context,
        );
        assert!(result.is_err());
    }
}
