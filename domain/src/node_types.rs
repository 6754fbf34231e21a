//! The built-in node palette: what each node type accepts, produces and is configured with.
//!
//! The schemas here are the contract between the workflow validator (which checks `ref`
//! mappings and `config` against them before a run), the executors (which receive inputs
//! already validated against them) and the canvas (which renders forms from them).

use std::collections::HashMap;
use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::{Value, json};

use crate::json_schema::{self, SchemaProblem};

/// The output handle an edge leaves from when it names no `sourceHandle`.
pub const MAIN_HANDLE: &str = "main";

/// The handle every node type has: the path taken when the node fails after its retries.
pub const ERROR_HANDLE: &str = "error";

/// The node type whose node starts an execution; a workflow has at most one.
pub const TRIGGER: &str = "trigger";

/// The node type whose `config.toolId` names a tool from the registry.
pub const CUSTOM: &str = "custom";

/// The node type that may call registry tools as functions, listed in `config.tools`.
pub const LLM_AGENT: &str = "llm-agent";

/// Runs a saved database query (`config.queryId`).
pub const DATABASE_QUERY: &str = "database-query";

/// Sends to a registered outgoing webhook (`config.webhookId`).
pub const WEBHOOK: &str = "webhook";

/// One entry of the palette.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTypeSpec {
    /// The value of a node's `type` field, e.g. `api-call`.
    pub node_type: &'static str,
    /// Palette group, e.g. `logic`.
    pub category: &'static str,
    /// Icon name from the Lucide set the web app uses.
    pub icon: &'static str,
    /// One sentence for the palette tooltip.
    pub description: &'static str,
    /// Schema of the object built from the node's `inputs` bindings.
    pub input_schema: Value,
    /// Schema of what the node produces on its output handles.
    pub output_schema: Value,
    /// Schema of the node's `config`.
    pub config_schema: Value,
    /// Output handles besides the implicit [`ERROR_HANDLE`].
    pub output_handles: &'static [&'static str],
}

impl NodeTypeSpec {
    /// Whether an edge may leave a node of this type from `handle`; [`ERROR_HANDLE`] always can.
    pub fn has_handle(&self, handle: &str) -> bool {
        handle == ERROR_HANDLE || self.output_handles.contains(&handle)
    }

    /// Every handle an edge may leave from, [`ERROR_HANDLE`] last.
    pub fn handles(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.output_handles
            .iter()
            .copied()
            .chain(std::iter::once(ERROR_HANDLE))
    }

    /// Validates a node's `config` against [`Self::config_schema`].
    ///
    /// # Errors
    ///
    /// Every violation, with `path` a JSON pointer into the config.
    pub fn validate_config(&self, config: &Value) -> Result<(), Vec<SchemaProblem>> {
        match CONFIG_VALIDATORS.get(self.node_type) {
            Some(validator)
                if find(self.node_type).is_some_and(|spec| std::ptr::eq(spec, self)) =>
            {
                json_schema::validate_with(validator, config)
            }
            // A spec built outside the catalog has no cached validator.
            _ => json_schema::validate_instance(&self.config_schema, config),
        }
    }
}

static CATALOG: LazyLock<Vec<NodeTypeSpec>> = LazyLock::new(build_catalog);

static CONFIG_VALIDATORS: LazyLock<HashMap<&'static str, Validator>> = LazyLock::new(|| {
    catalog()
        .iter()
        .map(|spec| {
            let validator = json_schema::compile_asserting_formats(&spec.config_schema)
                .unwrap_or_else(|problem| {
                    panic!("config schema of {} is invalid: {problem}", spec.node_type)
                });
            (spec.node_type, validator)
        })
        .collect()
});

/// The whole palette, in the order the canvas shows it.
pub fn catalog() -> &'static [NodeTypeSpec] {
    &CATALOG
}

/// The spec of a built-in node type, or `None` if `node_type` is not one.
pub fn find(node_type: &str) -> Option<&'static NodeTypeSpec> {
    catalog().iter().find(|spec| spec.node_type == node_type)
}

const MAIN: &[&str] = &[MAIN_HANDLE];

fn credential_id() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "description": "Id of a stored credential; its secret is injected at run time and never \
                        appears in the workflow document."
    })
}

fn jq_expression(description: &str) -> Value {
    json!({ "type": "string", "minLength": 1, "description": description })
}

fn build_catalog() -> Vec<NodeTypeSpec> {
    vec![
        trigger(),
        llm_agent(),
        data_transform(),
        condition(),
        api_call(),
        web_search(),
        database_query(),
        webhook(),
        custom(),
        output(),
    ]
}

fn trigger() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: TRIGGER,
        category: "trigger",
        icon: "play",
        description: "Starts the workflow: by hand, from an incoming webhook, or on a schedule.",
        input_schema: json!({
            "type": "object",
            "properties": {},
            "additionalProperties": false,
            "description": "A trigger takes no inputs; it is fed the execution input."
        }),
        output_schema: json!({
            "type": "object",
            "description": "The execution input, as passed to executeWorkflow or received by the \
                            webhook."
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "kind": {
                    "enum": ["manual", "webhook", "schedule"],
                    "default": "manual",
                    "description": "What starts an execution."
                },
                "cron": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Cron expression (with seconds optional) for `schedule` \
                                    triggers, e.g. `0 */15 * * * *`."
                },
                "timezone": {
                    "type": "string",
                    "minLength": 1,
                    "description": "IANA time zone the cron expression is read in; UTC when \
                                    absent."
                },
                "inputSchema": {
                    "type": ["object", "boolean"],
                    "description": "Optional JSON Schema of the execution input; when given, \
                                    the input is validated and refs to this node's output are \
                                    typed by it."
                },
                "methods": {
                    "type": "array",
                    "items": { "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"] },
                    "minItems": 1,
                    "uniqueItems": true,
                    "default": ["POST"],
                    "description": "`webhook` triggers: HTTP methods the trigger's URL \
                                    accepts; others get 405."
                },
                "respond": {
                    "enum": ["immediately", "whenDone"],
                    "default": "immediately",
                    "description": "`webhook` triggers: answer 202 with the execution id at \
                                    once, or wait and answer with the workflow's output."
                },
                "timeoutMs": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": crate::hooks::MAX_TIMEOUT_MS,
                    "default": crate::hooks::DEFAULT_TIMEOUT_MS,
                    "description": "`webhook` triggers in `whenDone` mode: how long the caller \
                                    waits before getting 202 with the execution id instead."
                },
                "maxBodyBytes": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": crate::hooks::MAX_BODY_BYTES,
                    "default": crate::hooks::DEFAULT_MAX_BODY_BYTES,
                    "description": "`webhook` triggers: larger request bodies get 413 and \
                                    start nothing."
                },
                "secretCredentialId": {
                    "type": "string",
                    "minLength": 1,
                    "description": "`webhook` triggers: a `generic` credential whose `secret` \
                                    field (`whsec_…` base64, or any string) verifies Standard \
                                    Webhooks signatures; unsigned or badly signed requests get \
                                    401 and start nothing."
                }
            },
            "additionalProperties": false,
            "if": { "properties": { "kind": { "const": "schedule" } }, "required": ["kind"] },
            "then": { "required": ["cron"] }
        }),
        output_handles: MAIN,
    }
}

fn llm_agent() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: LLM_AGENT,
        category: "ai",
        icon: "bot",
        description: "Asks a chat model (any OpenAI-compatible API), letting it call registry \
                      tools as functions.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "prompt": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The user message sent to the model."
                },
                "context": {
                    "description": "Extra data the model should see, serialized as JSON after \
                                    the prompt."
                }
            },
            "required": ["prompt"],
            "additionalProperties": false
        }),
        output_schema: json!({
            "type": "object",
            "properties": {
                "content": {
                    "type": "string",
                    "description": "The model's final answer."
                },
                "toolCalls": {
                    "type": "array",
                    "description": "Every tool call the model made, in order.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "toolId": { "type": "string" },
                            "arguments": { "description": "Arguments the model passed." },
                            "result": { "description": "What the tool returned." },
                            "error": { "type": "string", "description": "Set if the call failed." }
                        },
                        "required": ["toolId", "arguments"]
                    }
                },
                "usage": {
                    "type": "object",
                    "description": "Token counts as reported by the API.",
                    "properties": {
                        "promptTokens": { "type": "integer", "minimum": 0 },
                        "completionTokens": { "type": "integer", "minimum": 0 },
                        "totalTokens": { "type": "integer", "minimum": 0 }
                    }
                }
            },
            "required": ["content", "toolCalls", "usage"]
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "model": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Model name as the API expects it, e.g. `gpt-4o-mini`."
                },
                "baseUrl": {
                    "type": "string",
                    "format": "uri",
                    "default": "https://api.openai.com/v1",
                    "description": "Base URL of the OpenAI-compatible API (`/chat/completions` \
                                    is appended), e.g. `http://localhost:11434/v1` for Ollama; \
                                    OpenAI's when absent."
                },
                "credentialId": credential_id(),
                "systemPrompt": {
                    "type": "string",
                    "description": "System message sent before the prompt."
                },
                "tools": {
                    "type": "array",
                    "items": { "type": "string", "minLength": 1 },
                    "uniqueItems": true,
                    "description": "Ids of registry tools the model may call as functions."
                },
                "maxToolCalls": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 100,
                    "default": 10,
                    "description": "Upper bound on tool calls in one run; the node fails rather \
                                    than loop forever."
                },
                "temperature": { "type": "number", "minimum": 0, "maximum": 2 },
                "maxTokens": { "type": "integer", "minimum": 1 }
            },
            "required": ["model"],
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn data_transform() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: "data-transform",
        category: "data",
        icon: "shuffle",
        description: "Reshapes data with a jq expression.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "data": { "description": "The value the expression reads as `.`." }
            },
            "additionalProperties": false
        }),
        output_schema: json!({
            "description": "Whatever the expression produces (its first result)."
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "expr": jq_expression("jq expression applied to the `data` input, e.g. \
                                       `.items | map(.price) | add`.")
            },
            "required": ["expr"],
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn condition() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: "condition",
        category: "logic",
        icon: "git-branch",
        description: "Routes to the `true` or `false` branch; the other branch is skipped.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "value": { "description": "The value the expression reads as `.`." }
            },
            "additionalProperties": false
        }),
        output_schema: json!({
            "description": "The `value` input, passed through unchanged to the taken branch."
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "expr": jq_expression("jq expression over the `value` input that yields a \
                                       boolean, e.g. `.total > 100`.")
            },
            "required": ["expr"],
            "additionalProperties": false
        }),
        output_handles: &["true", "false"],
    }
}

fn api_call() -> NodeTypeSpec {
    let headers = json!({
        "type": "object",
        "additionalProperties": { "type": "string" },
        "description": "Request headers; merged over the configured ones."
    });
    NodeTypeSpec {
        node_type: "api-call",
        category: "integration",
        icon: "globe",
        description: "Calls a REST or GraphQL endpoint.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Overrides the configured URL."
                },
                "headers": headers,
                "query": {
                    "type": "object",
                    "additionalProperties": { "type": ["string", "number", "boolean"] },
                    "description": "Query-string parameters, appended URL-encoded."
                },
                "body": { "description": "Request body; objects and arrays are sent as JSON." },
                "variables": {
                    "type": "object",
                    "description": "GraphQL variables, when `graphql` is configured."
                }
            },
            "additionalProperties": false
        }),
        output_schema: json!({
            "type": "object",
            "properties": {
                "status": { "type": "integer", "minimum": 100, "maximum": 599 },
                "headers": {
                    "type": "object",
                    "additionalProperties": { "type": "string" },
                    "description": "Response headers, names lower-cased."
                },
                "body": {
                    "description": "Parsed JSON when the response is JSON, otherwise the body \
                                    as text."
                }
            },
            "required": ["status", "headers", "body"]
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "method": {
                    "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                    "default": "GET"
                },
                "url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Target URL; may be overridden by the `url` input."
                },
                "headers": headers,
                "body": { "description": "Default request body; the `body` input wins." },
                "credentialId": credential_id(),
                "graphql": {
                    "type": "object",
                    "description": "Makes this a GraphQL call: the request is POSTed as \
                                    `{query, operationName, variables}`.",
                    "properties": {
                        "query": { "type": "string", "minLength": 1 },
                        "operationName": { "type": "string", "minLength": 1 }
                    },
                    "required": ["query"],
                    "additionalProperties": false
                },
                "expectStatus": {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 100, "maximum": 599 },
                    "description": "Statuses that count as success; any 2xx when absent."
                }
            },
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn web_search() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: "web-search",
        category: "integration",
        icon: "search",
        description: "Searches the web through SearXNG or the Brave Search API.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "minLength": 1 },
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 50,
                    "description": "Overrides the configured result count."
                }
            },
            "required": ["query"],
            "additionalProperties": false
        }),
        output_schema: json!({
            "type": "object",
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": { "type": "string" },
                            "url": { "type": "string", "format": "uri" },
                            "snippet": { "type": "string" }
                        },
                        "required": ["title", "url", "snippet"]
                    }
                }
            },
            "required": ["results"]
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "provider": { "enum": ["searxng", "brave"], "default": "searxng" },
                "baseUrl": {
                    "type": "string",
                    "format": "uri",
                    "description": "Instance URL; required for SearXNG. For Brave it replaces \
                                    `https://api.search.brave.com/res/v1`."
                },
                "credentialId": credential_id(),
                "count": { "type": "integer", "minimum": 1, "maximum": 50, "default": 10 }
            },
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn database_query() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: "database-query",
        category: "data",
        icon: "database",
        description: "Runs a saved database query with bound parameters.",
        input_schema: json!({
            "type": "object",
            "description": "The query's named parameters, one input each (e.g. `customerId`); \
                            always bound, never spliced into the query. Each value is checked \
                            against the schema the query declares for it.",
            "additionalProperties": true
        }),
        output_schema: json!({
            "type": "object",
            "properties": {
                "rows": {
                    "type": "array",
                    "items": { "type": "object" },
                    "description": "One object per row, keyed by column name."
                },
                "columns": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string" },
                            "type": { "type": "string" }
                        },
                        "required": ["name"]
                    }
                },
                "hasMore": {
                    "type": "boolean",
                    "description": "Whether rows follow the first page (the query's page size)."
                },
                "affectedRows": {
                    "type": ["integer", "null"],
                    "description": "Rows (documents) written, for statements that write."
                }
            },
            "required": ["rows", "columns", "hasMore", "affectedRows"]
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "queryId": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Id of a saved database query."
                }
            },
            "required": ["queryId"],
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn webhook() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: "webhook",
        category: "integration",
        icon: "send",
        description: "Sends a payload to a registered outgoing webhook: its templates, auth, \
                      signature, retries and response checks apply.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "payload": {
                    "description": "What the webhook's payload template sees as `payload` \
                                    (sent as JSON when the webhook has no template)."
                }
            },
            "additionalProperties": false
        }),
        output_schema: json!({
            "type": "object",
            "properties": {
                "status": { "type": "integer", "minimum": 100, "maximum": 599 },
                "headers": {
                    "type": "object",
                    "additionalProperties": { "type": "string" },
                    "description": "Response headers, names lower-cased."
                },
                "body": { "description": "The receiver's response, parsed if JSON." },
                "attempts": {
                    "type": "array",
                    "description": "Every attempt, in order, with the wait before it.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "number": { "type": "integer", "minimum": 1 },
                            "status": { "type": ["integer", "null"] },
                            "error": { "type": ["string", "null"] },
                            "durationMs": { "type": "integer", "minimum": 0 },
                            "delayMs": { "type": "integer", "minimum": 0 }
                        },
                        "required": ["number", "durationMs", "delayMs"]
                    }
                }
            },
            "required": ["status", "headers", "body", "attempts"]
        }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "webhookId": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Id of a registered webhook."
                }
            },
            "required": ["webhookId"],
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn custom() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: CUSTOM,
        category: "tools",
        icon: "puzzle",
        description: "Runs a tool from the registry; its inputs and output are the tool's.",
        input_schema: json!({
            "type": "object",
            "description": "Replaced by the tool's input schema."
        }),
        output_schema: json!({ "description": "Replaced by the tool's output schema." }),
        config_schema: json!({
            "type": "object",
            "properties": {
                "toolId": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Id of the registry tool to run."
                },
                "toolVersion": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Pins a tool version; the latest when absent."
                }
            },
            "required": ["toolId"],
            "additionalProperties": false
        }),
        output_handles: MAIN,
    }
}

fn output() -> NodeTypeSpec {
    NodeTypeSpec {
        node_type: "output",
        category: "output",
        icon: "flag",
        description: "Sets the execution's result.",
        input_schema: json!({
            "type": "object",
            "properties": {
                "value": { "description": "Becomes the execution output." }
            },
            "additionalProperties": false
        }),
        output_schema: json!({ "description": "The `value` input, unchanged." }),
        config_schema: json!({
            "type": "object",
            "properties": {},
            "additionalProperties": false
        }),
        output_handles: &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_palette_has_the_ten_built_in_types_in_order() {
        let types: Vec<&str> = catalog().iter().map(|s| s.node_type).collect();
        assert_eq!(
            types,
            [
                "trigger",
                "llm-agent",
                "data-transform",
                "condition",
                "api-call",
                "web-search",
                "database-query",
                "webhook",
                "custom",
                "output"
            ]
        );
    }

    #[test]
    fn every_schema_in_the_palette_is_a_valid_json_schema() {
        for spec in catalog() {
            for (which, schema) in [
                ("input", &spec.input_schema),
                ("output", &spec.output_schema),
                ("config", &spec.config_schema),
            ] {
                if let Err(problem) = json_schema::check_schema(schema) {
                    panic!("{which} schema of {}: {problem}", spec.node_type);
                }
            }
        }
    }

    #[test]
    fn input_and_config_schemas_describe_objects() {
        for spec in catalog() {
            assert_eq!(spec.input_schema["type"], "object", "{}", spec.node_type);
            assert_eq!(spec.config_schema["type"], "object", "{}", spec.node_type);
        }
    }

    #[test]
    fn find_returns_the_spec_for_a_known_type_and_none_otherwise() {
        assert_eq!(find("condition").map(|s| s.node_type), Some("condition"));
        assert!(find("Condition").is_none());
        assert!(find("nope").is_none());
    }

    #[test]
    fn every_type_has_the_error_handle_and_ordinary_types_have_main() {
        for spec in catalog() {
            assert!(spec.has_handle(ERROR_HANDLE), "{}", spec.node_type);
            assert!(!spec.output_handles.contains(&ERROR_HANDLE));
        }
        assert!(find("api-call").unwrap().has_handle(MAIN_HANDLE));
        assert!(find("trigger").unwrap().has_handle(MAIN_HANDLE));
    }

    #[test]
    fn condition_has_only_true_false_and_error_handles() {
        let spec = find("condition").unwrap();
        assert_eq!(
            spec.handles().collect::<Vec<_>>(),
            ["true", "false", "error"]
        );
        assert!(!spec.has_handle(MAIN_HANDLE));
    }

    #[test]
    fn output_has_only_the_error_handle() {
        let spec = find("output").unwrap();
        assert_eq!(spec.handles().collect::<Vec<_>>(), ["error"]);
    }

    #[test]
    fn a_schedule_trigger_without_cron_is_rejected() {
        let spec = find("trigger").unwrap();
        assert!(
            spec.validate_config(&json!({ "kind": "schedule" }))
                .is_err()
        );
        assert_eq!(
            spec.validate_config(&json!({ "kind": "schedule", "cron": "0 * * * * *" })),
            Ok(())
        );
        assert_eq!(spec.validate_config(&json!({})), Ok(()));
        assert_eq!(spec.validate_config(&json!({ "kind": "webhook" })), Ok(()));
    }

    #[test]
    fn webhook_trigger_options_are_checked_against_their_caps() {
        let spec = find("trigger").unwrap();
        let full = json!({ "kind": "webhook", "methods": ["POST", "GET"], "respond": "whenDone",
                           "timeoutMs": 5000, "maxBodyBytes": 2048, "secretCredentialId": "c" });
        assert_eq!(spec.validate_config(&full), Ok(()));
        for bad in [
            json!({ "kind": "webhook", "methods": ["TRACE"] }),
            json!({ "kind": "webhook", "methods": [] }),
            json!({ "kind": "webhook", "respond": "later" }),
            json!({ "kind": "webhook", "maxBodyBytes": 10 * 1024 * 1024 + 1 }),
            json!({ "kind": "webhook", "timeoutMs": 0 }),
        ] {
            assert!(spec.validate_config(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_custom_node_config_requires_a_tool_id_and_an_integral_version() {
        let spec = find("custom").unwrap();
        assert!(spec.validate_config(&json!({})).is_err());
        assert!(
            spec.validate_config(&json!({ "toolId": "t", "toolVersion": 1.5 }))
                .is_err()
        );
        assert_eq!(
            spec.validate_config(&json!({ "toolId": "t", "toolVersion": 2 })),
            Ok(())
        );
    }

    #[test]
    fn config_problems_point_into_the_config() {
        let spec = find("llm-agent").unwrap();
        let problems = spec
            .validate_config(&json!({ "model": "m", "maxToolCalls": -1, "baseUrl": "not a url" }))
            .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"/maxToolCalls"), "{paths:?}");
        assert!(paths.contains(&"/baseUrl"), "{paths:?}");
    }

    #[test]
    fn an_api_call_output_matches_its_schema() {
        let spec = find("api-call").unwrap();
        let sample = json!({ "status": 200, "headers": { "content-type": "application/json" },
                             "body": { "ok": true } });
        assert_eq!(
            json_schema::validate_instance(&spec.output_schema, &sample),
            Ok(())
        );
    }
}
