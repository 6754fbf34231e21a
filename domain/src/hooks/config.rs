//! A webhook trigger's settings, read from its node's `config` (already validated against
//! the trigger's config schema, so absent fields take their defaults here).

use std::time::Duration;

use serde_json::Value;

use crate::node_types::TRIGGER;

/// Largest request body a trigger accepts unless its `maxBodyBytes` says otherwise.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Upper bound on `maxBodyBytes`: every accepted body is held in memory and stored as the
/// execution input.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// How long a respond-when-done caller waits unless the trigger's `timeoutMs` says otherwise.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Upper bound on `timeoutMs`; longer waits tie up connections and proxies time out anyway.
pub const MAX_TIMEOUT_MS: u64 = 120_000;

/// When the HTTP caller gets its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Respond {
    /// `202 {executionId}` as soon as the execution is stored.
    Immediately,
    /// The workflow's output once it finished, or `202` with the execution id on timeout.
    WhenDone,
}

impl Respond {
    pub fn as_str(self) -> &'static str {
        match self {
            Respond::Immediately => "immediately",
            Respond::WhenDone => "whenDone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookConfig {
    /// Upper-case HTTP methods the URL answers; `POST` only by default.
    pub methods: Vec<String>,
    pub respond: Respond,
    /// How long a respond-when-done caller waits for the execution.
    pub timeout: Duration,
    pub max_body_bytes: usize,
    /// A credential whose secret verifies Standard Webhooks signatures; unsigned requests
    /// are refused when set.
    pub secret_credential_id: Option<String>,
}

impl HookConfig {
    /// Reads a trigger node's `config`; out-of-range numbers are clamped, so a config that
    /// slipped past validation still cannot lift the caps.
    pub fn from_config(config: &Value) -> Self {
        let methods = match config["methods"].as_array() {
            Some(list) if !list.is_empty() => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_uppercase)
                .collect(),
            _ => vec!["POST".to_owned()],
        };
        let respond = match config["respond"].as_str() {
            Some("whenDone") => Respond::WhenDone,
            _ => Respond::Immediately,
        };
        let timeout_ms = config["timeoutMs"]
            .as_u64()
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(1, MAX_TIMEOUT_MS);
        let max_body_bytes = config["maxBodyBytes"]
            .as_u64()
            .map_or(DEFAULT_MAX_BODY_BYTES, |n| {
                usize::try_from(n).unwrap_or(MAX_BODY_BYTES)
            })
            .clamp(1, MAX_BODY_BYTES);
        let secret_credential_id = config["secretCredentialId"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_owned);
        Self {
            methods,
            respond,
            timeout: Duration::from_millis(timeout_ms),
            max_body_bytes,
            secret_credential_id,
        }
    }

    pub fn allows(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The webhook trigger nodes of a stored workflow document: `(node id, config)`.
pub fn webhook_triggers(document: &Value) -> Vec<(String, HookConfig)> {
    document["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|node| node["type"] == TRIGGER && node["config"]["kind"] == "webhook")
        .filter_map(|node| {
            let id = node["id"].as_str()?;
            Some((id.to_owned(), HookConfig::from_config(&node["config"])))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_config_means_post_only_respond_immediately_and_the_default_limits() {
        let config = HookConfig::from_config(&json!({ "kind": "webhook" }));
        assert_eq!(config.methods, ["POST"]);
        assert_eq!(config.respond, Respond::Immediately);
        assert_eq!(config.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.secret_credential_id, None);
        assert!(config.allows("post") && !config.allows("GET"));
    }

    #[test]
    fn limits_beyond_the_caps_are_clamped() {
        let config = HookConfig::from_config(&json!({
            "kind": "webhook", "timeoutMs": 10_000_000, "maxBodyBytes": 1u64 << 40,
            "methods": ["GET", "post"], "respond": "whenDone"
        }));
        assert_eq!(config.timeout, Duration::from_millis(MAX_TIMEOUT_MS));
        assert_eq!(config.max_body_bytes, MAX_BODY_BYTES);
        assert_eq!(config.methods, ["GET", "POST"]);
        assert_eq!(config.respond, Respond::WhenDone);
    }

    #[test]
    fn only_trigger_nodes_of_kind_webhook_are_webhook_triggers() {
        let document = json!({ "nodes": [
            { "id": "a", "type": "trigger", "config": { "kind": "manual" } },
            { "id": "b", "type": "trigger", "config": { "kind": "webhook" } },
            { "id": "c", "type": "output", "config": { "kind": "webhook" } }
        ] });
        let ids: Vec<String> = webhook_triggers(&document)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, ["b"]);
    }
}
