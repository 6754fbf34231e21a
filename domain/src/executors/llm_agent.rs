//! `llm-agent`: asks a chat model through any OpenAI-compatible API
//! (`POST {baseUrl}/chat/completions`: OpenAI, llama.cpp's server, Ollama, vLLM, ...)
//! and lets it call registry tools as functions.
//!
//! The loop: send the conversation; when the answer asks for tool calls, run each through
//! the same runner as `custom` nodes, append the results as `role: "tool"` messages and ask
//! again; the first answer without tool calls is the node's output. A tool that fails is
//! reported to the model as an error result (it can often recover), not as a node failure.
//! `maxToolCalls` bounds the whole run: a model that wants more fails the node rather than
//! loop.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api_call::{self, HttpCall, Reply};
use super::custom::{Tool, ToolCall, ToolRunner};
use super::http_auth::{Credential, Secrets, quote_body, status_failure};
use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult};
use crate::outbound::origin_of;

/// Where requests go when `config.baseUrl` is absent.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Tool calls allowed per run when `config.maxToolCalls` is absent.
pub const DEFAULT_MAX_TOOL_CALLS: u64 = 10;
/// OpenAI's limit on function names, which other servers copy.
const MAX_FUNCTION_NAME_LEN: usize = 64;
/// How long one model request may take unless the node sets `timeoutMs`: long answers
/// from large or local models routinely take minutes, far beyond ordinary API calls.
const MODEL_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The `llm-agent` executor; keeps compiled tool schemas across runs.
#[derive(Default)]
pub struct LlmAgent {
    tools: ToolRunner,
}

/// A registry tool offered to the model under a function name it accepts.
struct OfferedTool {
    function_name: String,
    tool: Tool,
}

#[async_trait::async_trait]
impl Executor for LlmAgent {
    fn node_type(&self) -> &'static str {
        crate::node_types::LLM_AGENT
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let config = ctx.node.config();
        let model = config
            .get("model")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeFailure::permanent("config.model is missing"))?;
        let base_url = config
            .get("baseUrl")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let endpoint =
            api_call::parse_url(&format!("{base_url}/chat/completions"), "config.baseUrl")?;
        let max_tool_calls = config
            .get("maxToolCalls")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_MAX_TOOL_CALLS);
        let credential = match config.get("credentialId").and_then(Value::as_str) {
            Some(id) => Some(Credential::load(ctx, id).await?),
            None => None,
        };

        let mut offered: Vec<OfferedTool> = Vec::new();
        if max_tool_calls > 0 {
            let ids = config.get("tools").and_then(Value::as_array);
            for id in ids.into_iter().flatten().filter_map(Value::as_str) {
                let tool = Tool::load(ctx, id, None).await?;
                let function_name = function_name(&tool.name, &offered);
                offered.push(OfferedTool {
                    function_name,
                    tool,
                });
            }
        }
        let functions: Vec<Value> = offered
            .iter()
            .map(|o| {
                json!({ "type": "function", "function": {
                    "name": o.function_name,
                    "description": o.tool.description,
                    "parameters": o.tool.input_schema,
                } })
            })
            .collect();

        let mut messages = Vec::new();
        if let Some(system) = config.get("systemPrompt").and_then(Value::as_str) {
            messages.push(json!({ "role": "system", "content": system }));
        }
        messages.push(json!({ "role": "user", "content": user_message(&input) }));

        let mut usage = Usage::default();
        let mut tool_calls: Vec<Value> = Vec::new();
        let mut secrets = Secrets::default();
        for turn in 0u64.. {
            let mut request = json!({ "model": model, "messages": messages });
            if !functions.is_empty() {
                request["tools"] = Value::Array(functions.clone());
            }
            if let Some(temperature) = config.get("temperature") {
                request["temperature"] = temperature.clone();
            }
            if let Some(max_tokens) = config.get("maxTokens") {
                request["max_tokens"] = max_tokens.clone();
            }
            let mut call = HttpCall::new(Method::POST, endpoint.clone());
            call.json(request);
            call.default_timeout(MODEL_REQUEST_TIMEOUT);
            // Each turn is a different request, so each gets its own key; a retried
            // attempt repeats the same keys in the same order.
            let key = match turn {
                0 => ctx.idempotency_key(),
                n => format!("{}:turn-{n}", ctx.idempotency_key()),
            };
            call.idempotency_key(&key)?;
            let response = api_call::perform(ctx, call, credential.as_ref(), &mut secrets).await?;
            let reply = Reply::read(&response, &secrets);
            let origin = origin_of(&response.url);
            if !response.is_success() {
                let detail = reply.body["error"]["message"].as_str().map_or_else(
                    || quote_body(reply.body.to_string().as_bytes()),
                    str::to_owned,
                );
                return Err(status_failure(
                    response.status,
                    format!(
                        "the model API at {origin} answered {}: {detail}",
                        api_call::status_text(response.status)
                    ),
                ));
            }
            usage.add(&reply.body["usage"]);
            let Some(message) = reply.body["choices"][0]["message"].as_object() else {
                return Err(NodeFailure::permanent(format!(
                    "the model API at {origin} answered without choices[0].message: {}",
                    quote_body(reply.body.to_string().as_bytes())
                )));
            };
            let requested: Vec<Value> = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if requested.is_empty() {
                let output = json!({
                    "content": content_text(message.get("content")),
                    "toolCalls": tool_calls,
                    "usage": usage.to_json(),
                });
                return Ok(NodeOutcome::main(secrets.redact_value(&output)));
            }
            let made = tool_calls.len() as u64;
            if made + requested.len() as u64 > max_tool_calls {
                return Err(NodeFailure::permanent(format!(
                    "the model asked for {} more tool call(s) after {made}, but config.maxToolCalls \
                     allows {max_tool_calls} in one run",
                    requested.len()
                )));
            }
            messages.push(json!({
                "role": "assistant",
                "content": message.get("content").cloned().unwrap_or(Value::Null),
                "tool_calls": requested,
            }));
            for request in &requested {
                let n = tool_calls.len() + 1;
                let key = format!("{}:tool-{n}", ctx.idempotency_key());
                let (record, content) = self.call_tool(ctx, &offered, request, &key).await;
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": request["id"],
                    "content": content,
                }));
                tool_calls.push(record);
            }
        }
        unreachable!("the turn counter does not run out")
    }
}

impl LlmAgent {
    /// Runs one tool call the model asked for. Returns the record for the node's output
    /// and the content of the `tool` message that answers the model.
    async fn call_tool(
        &self,
        ctx: &NodeContext<'_>,
        offered: &[OfferedTool],
        request: &Value,
        idempotency_key: &str,
    ) -> (Value, String) {
        let name = request["function"]["name"].as_str().unwrap_or_default();
        let raw_arguments = &request["function"]["arguments"];
        // OpenAI sends arguments as a JSON string; some compatible servers send the object.
        let arguments: Result<Value, String> = match raw_arguments {
            Value::String(text) if text.trim().is_empty() => Ok(json!({})),
            Value::String(text) => serde_json::from_str(text)
                .map_err(|e| format!("the arguments are not valid JSON: {e}")),
            Value::Null => Ok(json!({})),
            other => Ok(other.clone()),
        };
        let tool = offered.iter().find(|o| o.function_name == name);
        let tool_id = tool.map_or(name, |o| o.tool.id.as_str());
        let recorded_arguments = arguments.clone().unwrap_or_else(|_| raw_arguments.clone());
        let result = match (tool, arguments) {
            (None, _) => Err(format!("there is no tool named `{name}`")),
            (Some(_), Err(message)) => Err(message),
            (Some(offered), Ok(arguments)) => self
                .tools
                .run(
                    &ToolCall::for_node(ctx, idempotency_key.to_owned()),
                    &offered.tool,
                    arguments,
                )
                .await
                .map_err(|failure| failure.message),
        };
        match result {
            Ok(result) => {
                let content = serde_json::to_string(&result).expect("JSON always serializes");
                let record = json!({
                    "toolId": tool_id, "arguments": recorded_arguments, "result": result
                });
                (record, content)
            }
            Err(error) => {
                let content = json!({ "error": error }).to_string();
                let record = json!({
                    "toolId": tool_id, "arguments": recorded_arguments, "error": error
                });
                (record, content)
            }
        }
    }
}

/// The user message: the prompt, then the `context` input if there is one (text as is,
/// anything else as JSON).
fn user_message(input: &Map<String, Value>) -> String {
    let prompt = input
        .get("prompt")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match input.get("context") {
        None | Some(Value::Null) => prompt.to_owned(),
        Some(Value::String(text)) => format!("{prompt}\n\nContext:\n{text}"),
        Some(other) => format!(
            "{prompt}\n\nContext (JSON):\n{}",
            serde_json::to_string_pretty(other).expect("JSON always serializes")
        ),
    }
}

/// A message's text: a string, or the text parts of a content array.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// A function name the API accepts (`^[a-zA-Z0-9_-]{1,64}$`) derived from a tool's name,
/// unique among those already `taken`.
fn function_name(tool_name: &str, taken: &[OfferedTool]) -> String {
    let safe: String = tool_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_FUNCTION_NAME_LEN)
        .collect();
    let base = if safe.trim_matches('_').is_empty() {
        "tool".to_owned()
    } else {
        safe
    };
    let is_taken = |name: &str| taken.iter().any(|t| t.function_name == name);
    if !is_taken(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!("_{n}");
            let keep = MAX_FUNCTION_NAME_LEN - suffix.len();
            format!("{}{suffix}", &base[..base.len().min(keep)])
        })
        .find(|name| !is_taken(name))
        .expect("some suffix is free")
}

/// Token counts summed over every request of the run.
#[derive(Default)]
struct Usage {
    prompt: u64,
    completion: u64,
    total: u64,
}

impl Usage {
    fn add(&mut self, usage: &Value) {
        let count = |name: &str| usage.get(name).and_then(Value::as_u64).unwrap_or(0);
        let (prompt, completion) = (count("prompt_tokens"), count("completion_tokens"));
        self.prompt += prompt;
        self.completion += completion;
        self.total += match count("total_tokens") {
            0 => prompt + completion,
            total => total,
        };
    }

    fn to_json(&self) -> Value {
        json!({
            "promptTokens": self.prompt,
            "completionTokens": self.completion,
            "totalTokens": self.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> Vec<OfferedTool> {
        names
            .iter()
            .map(|name| OfferedTool {
                function_name: (*name).to_owned(),
                tool: Tool {
                    id: String::new(),
                    version: 1,
                    name: String::new(),
                    description: String::new(),
                    kind: "api".into(),
                    input_schema: json!({}),
                    output_schema: json!({}),
                    config: json!({}),
                },
            })
            .collect()
    }

    #[test]
    fn function_names_are_made_safe_and_unique() {
        assert_eq!(function_name("Get weather (v2)", &[]), "Get_weather__v2_");
        assert_eq!(function_name("wetter-äö", &[]), "wetter-__");
        assert_eq!(function_name("!!!", &[]), "tool");
        assert_eq!(function_name("lookup", &offered(&["lookup"])), "lookup_2");
        assert_eq!(
            function_name("lookup", &offered(&["lookup", "lookup_2"])),
            "lookup_3"
        );
        let long = "x".repeat(100);
        let first = function_name(&long, &[]);
        assert_eq!(first.len(), MAX_FUNCTION_NAME_LEN);
        let second = function_name(&long, &offered(&[&first]));
        assert_eq!(second.len(), MAX_FUNCTION_NAME_LEN);
        assert!(second.ends_with("_2"));
    }

    #[test]
    fn context_follows_the_prompt_as_text_or_json() {
        let input = |context: Value| {
            let mut map = Map::new();
            map.insert("prompt".into(), json!("Summarise."));
            map.insert("context".into(), context);
            map
        };
        assert_eq!(
            user_message(&input(json!("some notes"))),
            "Summarise.\n\nContext:\nsome notes"
        );
        assert_eq!(
            user_message(&input(json!({ "a": 1 }))),
            "Summarise.\n\nContext (JSON):\n{\n  \"a\": 1\n}"
        );
        assert_eq!(user_message(&input(Value::Null)), "Summarise.");
    }

    #[test]
    fn content_parts_are_joined() {
        let parts = json!([{ "type": "text", "text": "a" }, { "type": "text", "text": "b" }]);
        assert_eq!(content_text(Some(&parts)), "ab");
        assert_eq!(content_text(Some(&Value::Null)), "");
    }

    #[test]
    fn usage_is_summed_and_a_missing_total_is_computed() {
        let mut usage = Usage::default();
        usage.add(&json!({ "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 }));
        usage.add(&json!({ "prompt_tokens": 3, "completion_tokens": 2 }));
        usage.add(&Value::Null);
        assert_eq!(
            usage.to_json(),
            json!({ "promptTokens": 13, "completionTokens": 7, "totalTokens": 20 })
        );
    }
}
