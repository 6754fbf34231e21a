//! Outgoing webhooks: a stored request (URL, method, templated headers and payload, auth,
//! signing, retry and validation rules) that workflows send with a `webhook` node, a
//! `webhook` tool, or `testWebhook`.
//!
//! [`Webhook`] is a stored webhook that passed validation; it can only be made by the store
//! ([`crate::store::webhooks`]), which checks everything before writing. [`send::deliver`]
//! makes one delivery: render, sign, send through the outbound guard under the rate limit,
//! retry what may succeed later, and validate the answer.

pub mod payload;
pub mod rate_limit;
pub mod retry;
pub mod send;
pub mod signature;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

pub use payload::{PayloadFormat, PayloadTemplate};
pub use rate_limit::RateLimits;
pub use retry::RetryPolicy;
pub use send::{Attempt, Delivery, DeliveryError, DeliveryErrorCode, SentRequest, deliver};

/// Methods a webhook may use.
pub const METHODS: [&str; 5] = ["POST", "PUT", "PATCH", "GET", "DELETE"];
/// Request timeout when the webhook does not say.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Longest request timeout a webhook may set.
pub const MAX_TIMEOUT_MS: u64 = 300_000;

/// How a webhook authenticates, each backed by a vault credential of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    None,
    Bearer,
    Basic,
    ApiKey,
    OAuth2,
}

impl AuthKind {
    pub const ALL: [AuthKind; 5] = [
        Self::None,
        Self::Bearer,
        Self::Basic,
        Self::ApiKey,
        Self::OAuth2,
    ];

    /// The name stored in `webhooks.auth_type` and accepted by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer => "bearer",
            Self::Basic => "basic",
            Self::ApiKey => "apiKey",
            Self::OAuth2 => "oauth2",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The credential kind this auth needs, `None` for no auth.
    pub fn credential_kind(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Bearer => Some("bearer"),
            Self::Basic => Some("basic"),
            Self::ApiKey => Some("api-key"),
            Self::OAuth2 => Some("oauth2-client-credentials"),
        }
    }
}

/// What `webhooks.delivery_config` holds: the settings the seed's columns have no place for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryConfig {
    /// A `generic` credential whose `secret` field is a `whsec_…` signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_credential_id: Option<String>,
    /// Statuses that count as success; any 2xx when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_statuses: Option<Vec<u16>>,
    /// A JSON Schema the response body must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_minute: u32,
}

fn default_rate_limit() -> u32 {
    rate_limit::DEFAULT_PER_MINUTE
}

impl Default for DeliveryConfig {
    /// What a row without `delivery_config` means: no signing, any 2xx, no schema, the
    /// default rate limit.
    fn default() -> Self {
        Self {
            signing_credential_id: None,
            expected_statuses: None,
            response_schema: None,
            rate_limit_per_minute: default_rate_limit(),
        }
    }
}

/// A stored, validated outgoing webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: String,
    pub owner_id: String,
    pub tool_id: Option<String>,
    pub name: String,
    pub url: Url,
    pub method: Method,
    /// Header name → text template.
    pub headers: BTreeMap<String, String>,
    pub format: PayloadFormat,
    pub template: PayloadTemplate,
    pub auth: AuthKind,
    pub credential_id: Option<String>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub delivery: DeliveryConfig,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// Statuses that count as success, `None` meaning any 2xx.
    pub fn expected_statuses(&self) -> Option<&[u16]> {
        self.delivery.expected_statuses.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use crate::outbound::{OutboundPolicy, check_url};
    use url::Url;

    /// The addresses issue 6 lists, as a webhook URL would carry them: the guard refuses
    /// each under the default policy by decision alone, before any resolution or socket.
    /// (The odd spellings are covered in depth by the guard's own tests.)
    #[test]
    fn every_address_the_issue_lists_is_refused_by_the_guard_decision() {
        let policy = OutboundPolicy::default();
        for host in [
            "127.0.0.1",
            "0.0.0.0",
            "2130706433",
            "0x7f000001",
            "0177.0.0.1",
            "[::1]",
            "[::ffff:7f00:1]",
            "[::ffff:a9fe:a9fe]",
            "169.254.169.254",
            "10.0.0.1",
            "[fd00::1]",
            "100.64.0.1",
        ] {
            for scheme in ["https", "http"] {
                let url = Url::parse(&format!("{scheme}://{host}:8443/hook")).unwrap();
                let refusal = check_url(&url, &policy).unwrap_err();
                assert!(refusal.address.is_some(), "{url}: {refusal}");
            }
        }
        let plain = Url::parse("http://hooks.example.com/").unwrap();
        assert!(
            check_url(&plain, &policy)
                .unwrap_err()
                .to_string()
                .contains("plain http is not allowed")
        );
    }
}
