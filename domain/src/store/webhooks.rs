//! Outgoing webhooks' storage. Everything is validated before anything is written: the URL
//! against the outbound policy (scheme, and the guard's verdict for IP-literal hosts), the
//! method, header names and templates, the payload template for its format, the credentials
//! (existing, owned by the caller, of the kind the auth needs), retry, timeout, expected
//! statuses, the response schema and the rate limit.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use entity::{credentials, webhooks};
use reqwest::Method;
use reqwest::header::HeaderName;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Value, json};
use url::Url;

use super::keyset;
use crate::access::owns;
use crate::auth::{Principal, check_name};
use crate::error::{DomainError, DomainResult, Problems};
use crate::executors::Services;
use crate::ids::new_id;
use crate::json_schema::check_schema;
use crate::outbound::check_url;
use crate::page::{Page, PageRequest};
use crate::vault::CredentialSecret;
use crate::webhooks::rate_limit::{DEFAULT_PER_MINUTE, MAX_PER_MINUTE};
use crate::webhooks::retry::{
    DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF_MS,
};
use crate::webhooks::signature::{SECRET_FIELD, SigningSecret};
use crate::webhooks::{
    AuthKind, DEFAULT_TIMEOUT_MS, DeliveryConfig, MAX_TIMEOUT_MS, METHODS, PayloadFormat,
    PayloadTemplate, RetryPolicy, Webhook,
};

/// Most headers a webhook may set.
pub const MAX_HEADERS: usize = 50;
/// Longest payload template (or all form field templates together), in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

/// A webhook as the caller describes it. [`Default`] holds the defaults for everything
/// but the name and URL.
#[derive(Debug, Clone)]
pub struct WebhookDraft {
    pub name: String,
    pub url: String,
    pub method: String,
    /// Header name → value template, as a JSON object of strings.
    pub headers: Value,
    pub payload_format: String,
    /// The document template of `json` and `xml` webhooks.
    pub payload_template: Option<String>,
    /// The field templates of `form` and `multipart` webhooks, a JSON object of strings.
    pub form_fields: Option<Value>,
    pub auth_kind: String,
    pub credential_id: Option<String>,
    pub signing_credential_id: Option<String>,
    pub max_attempts: i64,
    pub initial_backoff_ms: i64,
    pub max_backoff_ms: i64,
    pub timeout_ms: i64,
    pub expected_statuses: Option<Vec<i64>>,
    pub response_schema: Option<Value>,
    pub rate_limit_per_minute: i64,
}

impl Default for WebhookDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            method: "POST".to_owned(),
            headers: json!({}),
            payload_format: PayloadFormat::Json.as_str().to_owned(),
            payload_template: None,
            form_fields: None,
            auth_kind: AuthKind::None.as_str().to_owned(),
            credential_id: None,
            signing_credential_id: None,
            max_attempts: i64::from(DEFAULT_MAX_ATTEMPTS),
            initial_backoff_ms: DEFAULT_INITIAL_BACKOFF_MS as i64,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS as i64,
            timeout_ms: DEFAULT_TIMEOUT_MS as i64,
            expected_statuses: None,
            response_schema: None,
            rate_limit_per_minute: i64::from(DEFAULT_PER_MINUTE),
        }
    }
}

impl From<&Webhook> for WebhookDraft {
    fn from(webhook: &Webhook) -> Self {
        let (payload_template, form_fields) = match &webhook.template {
            PayloadTemplate::Payload => (None, None),
            PayloadTemplate::Document(text) => (Some(text.clone()), None),
            PayloadTemplate::Fields(fields) => (None, Some(json!(fields))),
        };
        Self {
            name: webhook.name.clone(),
            url: webhook.url.to_string(),
            method: webhook.method.to_string(),
            headers: json!(webhook.headers),
            payload_format: webhook.format.as_str().to_owned(),
            payload_template,
            form_fields,
            auth_kind: webhook.auth.as_str().to_owned(),
            credential_id: webhook.credential_id.clone(),
            signing_credential_id: webhook.delivery.signing_credential_id.clone(),
            max_attempts: i64::from(webhook.retry.max_attempts),
            initial_backoff_ms: webhook.retry.initial_backoff_ms as i64,
            max_backoff_ms: webhook.retry.max_backoff_ms as i64,
            timeout_ms: webhook.timeout.as_millis() as i64,
            expected_statuses: webhook
                .delivery
                .expected_statuses
                .as_ref()
                .map(|list| list.iter().map(|s| i64::from(*s)).collect()),
            response_schema: webhook.delivery.response_schema.clone(),
            rate_limit_per_minute: i64::from(webhook.delivery.rate_limit_per_minute),
        }
    }
}

/// A partial update: `None` keeps the current value; for optional settings `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub method: Option<String>,
    pub headers: Option<Value>,
    pub payload_format: Option<String>,
    pub payload_template: Option<Option<String>>,
    pub form_fields: Option<Option<Value>>,
    pub auth_kind: Option<String>,
    pub credential_id: Option<Option<String>>,
    pub signing_credential_id: Option<Option<String>>,
    pub max_attempts: Option<i64>,
    pub initial_backoff_ms: Option<i64>,
    pub max_backoff_ms: Option<i64>,
    pub timeout_ms: Option<i64>,
    pub expected_statuses: Option<Option<Vec<i64>>>,
    pub response_schema: Option<Option<Value>>,
    pub rate_limit_per_minute: Option<i64>,
}

impl WebhookPatch {
    fn apply(self, draft: &mut WebhookDraft) {
        fn set<T>(target: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *target = value;
            }
        }
        set(&mut draft.name, self.name);
        set(&mut draft.url, self.url);
        set(&mut draft.method, self.method);
        set(&mut draft.headers, self.headers);
        set(&mut draft.payload_format, self.payload_format);
        set(&mut draft.payload_template, self.payload_template);
        set(&mut draft.form_fields, self.form_fields);
        set(&mut draft.auth_kind, self.auth_kind);
        set(&mut draft.credential_id, self.credential_id);
        set(&mut draft.signing_credential_id, self.signing_credential_id);
        set(&mut draft.max_attempts, self.max_attempts);
        set(&mut draft.initial_backoff_ms, self.initial_backoff_ms);
        set(&mut draft.max_backoff_ms, self.max_backoff_ms);
        set(&mut draft.timeout_ms, self.timeout_ms);
        set(&mut draft.expected_statuses, self.expected_statuses);
        set(&mut draft.response_schema, self.response_schema);
        set(&mut draft.rate_limit_per_minute, self.rate_limit_per_minute);
    }
}

/// The columns of a draft that passed every check.
struct Checked {
    name: String,
    url: Url,
    method: Method,
    headers: BTreeMap<String, String>,
    format: PayloadFormat,
    template: PayloadTemplate,
    auth: AuthKind,
    credential_id: Option<String>,
    retry: RetryPolicy,
    timeout_ms: u64,
    delivery: DeliveryConfig,
}

fn in_range(problems: &mut Problems, path: &str, value: i64, min: i64, max: i64) -> Option<u64> {
    if (min..=max).contains(&value) {
        Some(value as u64)
    } else {
        problems.push(
            path,
            format!("must be between {min} and {max}, got {value}"),
        );
        None
    }
}

/// Every check of a draft that needs no storage.
fn check_shape(
    services: &Services,
    draft: &WebhookDraft,
    problems: &mut Problems,
) -> Option<Checked> {
    check_name(problems, "input.name", &draft.name);
    let url = match Url::parse(draft.url.trim()) {
        Ok(url) => {
            // The guard decides now what it can without resolving names: scheme, plain
            // http, embedded user info, and IP-literal hosts. Names are checked again on
            // every send, after resolution.
            if let Err(refusal) = check_url(&url, services.http.policy()) {
                problems.push("input.url", refusal.to_string());
            }
            Some(url)
        }
        Err(e) => {
            problems.push("input.url", format!("is not a valid absolute URL: {e}"));
            None
        }
    };
    let method_name = draft.method.trim().to_ascii_uppercase();
    let method = if METHODS.contains(&method_name.as_str()) {
        Method::from_bytes(method_name.as_bytes()).ok()
    } else {
        problems.push(
            "input.method",
            format!(
                "`{}` is not supported; use one of {}",
                draft.method,
                METHODS.join(", ")
            ),
        );
        None
    };
    let headers = string_map(problems, "input.headers", &draft.headers);
    if headers.len() > MAX_HEADERS {
        problems.push(
            "input.headers",
            format!("must have at most {MAX_HEADERS} headers"),
        );
    }
    for (name, template) in &headers {
        let path = format!("input.headers.{name}");
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(&path, "is not a valid HTTP header name");
        }
        if let Err(e) = crate::mapping::template::check(template) {
            problems.push(&path, format!("the template does not parse: {e}"));
        }
    }
    let format = PayloadFormat::parse(&draft.payload_format);
    if format.is_none() {
        problems.push(
            "input.payloadFormat",
            format!(
                "unknown format `{}`; expected one of {}",
                draft.payload_format,
                PayloadFormat::ALL.map(PayloadFormat::as_str).join(", ")
            ),
        );
    }
    let template = match (&draft.payload_template, &draft.form_fields) {
        (Some(_), Some(_)) => {
            problems.push(
                "input.formFields",
                "set either payloadTemplate (json, xml) or formFields (form, multipart), not both",
            );
            None
        }
        (Some(text), None) => Some(PayloadTemplate::Document(text.clone())),
        (None, Some(fields)) => Some(PayloadTemplate::Fields(string_map(
            problems,
            "input.formFields",
            fields,
        ))),
        (None, None) => Some(PayloadTemplate::Payload),
    };
    let size = draft.payload_template.as_ref().map_or(0, String::len)
        + draft
            .form_fields
            .as_ref()
            .map_or(0, |f| f.to_string().len());
    if size > MAX_TEMPLATE_BYTES {
        problems.push(
            "input.payloadTemplate",
            format!("must be at most {MAX_TEMPLATE_BYTES} bytes, got {size}"),
        );
    }
    if let (Some(format), Some(template)) = (format, &template) {
        let base = if matches!(template, PayloadTemplate::Fields(_)) {
            "input.formFields"
        } else {
            "input.payloadTemplate"
        };
        for (field, message) in template.problems(format) {
            let path = if field.is_empty() {
                base.to_owned()
            } else {
                format!("{base}.{field}")
            };
            problems.push(path, message);
        }
    }
    let auth = AuthKind::parse(&draft.auth_kind);
    match auth {
        None => problems.push(
            "input.auth.kind",
            format!(
                "unknown auth kind `{}`; expected one of {}",
                draft.auth_kind,
                AuthKind::ALL.map(AuthKind::as_str).join(", ")
            ),
        ),
        Some(AuthKind::None) if draft.credential_id.is_some() => problems.push(
            "input.auth.credentialId",
            "must not be set when the auth kind is none",
        ),
        Some(kind) if kind != AuthKind::None && draft.credential_id.is_none() => problems.push(
            "input.auth.credentialId",
            format!("is required for {} auth", kind.as_str()),
        ),
        Some(_) => {}
    }
    let max_attempts = in_range(
        problems,
        "input.retry.maxAttempts",
        draft.max_attempts,
        1,
        10,
    );
    let initial = in_range(
        problems,
        "input.retry.initialBackoffMs",
        draft.initial_backoff_ms,
        0,
        300_000,
    );
    let max = in_range(
        problems,
        "input.retry.maxBackoffMs",
        draft.max_backoff_ms,
        0,
        300_000,
    );
    let retry = match (max_attempts, initial, max) {
        (Some(max_attempts), Some(initial_backoff_ms), Some(max_backoff_ms)) => {
            let retry = RetryPolicy {
                max_attempts: max_attempts as u32,
                initial_backoff_ms,
                max_backoff_ms,
            };
            for (field, message) in retry.problems() {
                problems.push(format!("input.retry.{field}"), message);
            }
            Some(retry)
        }
        _ => None,
    };
    let timeout_ms = in_range(
        problems,
        "input.timeoutMs",
        draft.timeout_ms,
        1,
        MAX_TIMEOUT_MS as i64,
    );
    let expected_statuses = draft.expected_statuses.as_ref().map(|list| {
        if list.is_empty() {
            problems.push(
                "input.expectedStatuses",
                "must list at least one status, or be left out for any 2xx",
            );
        }
        list.iter()
            .enumerate()
            .filter_map(|(i, status)| {
                in_range(
                    problems,
                    &format!("input.expectedStatuses[{i}]"),
                    *status,
                    100,
                    599,
                )
                .map(|s| s as u16)
            })
            .collect::<Vec<u16>>()
    });
    if let Some(schema) = &draft.response_schema
        && let Err(problem) = check_schema(schema)
    {
        problems.push(
            "input.responseSchema",
            format!("is not a valid JSON Schema: {problem}"),
        );
    }
    let rate = in_range(
        problems,
        "input.rateLimitPerMinute",
        draft.rate_limit_per_minute,
        1,
        i64::from(MAX_PER_MINUTE),
    );
    Some(Checked {
        name: draft.name.trim().to_owned(),
        url: url?,
        method: method?,
        headers,
        format: format?,
        template: template?,
        auth: auth?,
        credential_id: draft.credential_id.clone(),
        retry: retry?,
        timeout_ms: timeout_ms?,
        delivery: DeliveryConfig {
            signing_credential_id: draft.signing_credential_id.clone(),
            expected_statuses,
            response_schema: draft.response_schema.clone(),
            rate_limit_per_minute: rate? as u32,
        },
    })
}

/// A JSON object of strings as a map; problems at `path.<key>`.
fn string_map(problems: &mut Problems, path: &str, value: &Value) -> BTreeMap<String, String> {
    let Some(object) = value.as_object() else {
        problems.push(path, "must be a JSON object of strings");
        return BTreeMap::new();
    };
    object
        .iter()
        .filter_map(|(key, value)| match value.as_str() {
            Some(text) => Some((key.clone(), text.to_owned())),
            None => {
                problems.push(format!("{path}.{key}"), "must be a string");
                None
            }
        })
        .collect()
}

/// The credentials a draft names must exist, belong to the caller, and be of the right
/// kind; the signing secret must be a `whsec_…` secret.
async fn check_credentials(
    services: &Services,
    principal: &Principal,
    draft: &WebhookDraft,
    problems: &mut Problems,
) -> DomainResult<()> {
    let visible = |row: &credentials::Model| owns(principal, &row.owner_id);
    if let (Some(kind), Some(id)) = (
        AuthKind::parse(&draft.auth_kind).and_then(AuthKind::credential_kind),
        &draft.credential_id,
    ) {
        match credentials::Entity::find_by_id(id.clone())
            .one(&services.db)
            .await?
        {
            Some(row) if visible(&row) => {
                if row.kind != kind {
                    problems.push(
                        "input.auth.credentialId",
                        format!(
                            "is a `{}` credential; {} auth needs a `{kind}` credential",
                            row.kind, draft.auth_kind
                        ),
                    );
                }
            }
            _ => problems.push(
                "input.auth.credentialId",
                format!("no credential `{id}` of yours exists"),
            ),
        }
    }
    if let Some(id) = &draft.signing_credential_id {
        let path = "input.signingCredentialId";
        let Some(vault) = &services.vault else {
            problems.push(path, "this server has no credential vault configured");
            return Ok(());
        };
        match vault.resolve(&services.db, principal, id).await {
            Ok(CredentialSecret::Generic(fields)) => match fields.get(SECRET_FIELD) {
                Some(secret) => {
                    if let Err(e) = SigningSecret::parse(secret) {
                        problems.push(path, format!("the credential's `{SECRET_FIELD}` {e}"));
                    }
                }
                None => problems.push(
                    path,
                    format!(
                        "the credential has no `{SECRET_FIELD}` field holding a whsec_… secret"
                    ),
                ),
            },
            Ok(other) => problems.push(
                path,
                format!(
                    "is a `{}` credential; signing needs a `generic` credential with a \
                     `{SECRET_FIELD}` field",
                    other.kind()
                ),
            ),
            Err(DomainError::NotFound { .. }) => {
                problems.push(path, format!("no credential `{id}` of yours exists"));
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

async fn check(
    services: &Services,
    principal: &Principal,
    draft: &WebhookDraft,
) -> DomainResult<Checked> {
    let mut problems = Problems::default();
    let checked = check_shape(services, draft, &mut problems);
    check_credentials(services, principal, draft, &mut problems).await?;
    problems.into_result()?;
    checked.ok_or_else(|| DomainError::Internal("a webhook draft failed without a problem".into()))
}

fn write(active: &mut webhooks::ActiveModel, checked: Checked) {
    active.name = Set(checked.name);
    active.url = Set(checked.url.to_string());
    active.method = Set(checked.method.to_string());
    active.headers = Set(json!(checked.headers));
    active.payload_template = Set(checked.template.to_column());
    active.payload_format = Set(checked.format.as_str().to_owned());
    active.auth_type = Set(Some(checked.auth.as_str().to_owned()));
    active.auth_config = Set(checked
        .credential_id
        .map(|id| json!({ "credentialId": id })));
    active.retry_config = Set(json!(checked.retry));
    active.timeout = Set(i32::try_from(checked.timeout_ms).unwrap_or(i32::MAX));
    active.delivery_config = Set(Some(json!(checked.delivery)));
    active.updated_at = Set(Utc::now());
}

/// Reads a stored row; a row that no longer parses (edited by hand, say) is an internal
/// error naming the column.
pub fn parse(row: webhooks::Model) -> DomainResult<Webhook> {
    let broken = |column: &str, message: String| {
        DomainError::Internal(format!(
            "webhook {} has an invalid {column}: {message}",
            row.id
        ))
    };
    let url = Url::parse(&row.url).map_err(|e| broken("url", e.to_string()))?;
    let method =
        Method::from_bytes(row.method.as_bytes()).map_err(|e| broken("method", e.to_string()))?;
    let headers: BTreeMap<String, String> = serde_json::from_value(row.headers.clone())
        .map_err(|e| broken("headers", e.to_string()))?;
    let format = PayloadFormat::parse(&row.payload_format)
        .ok_or_else(|| broken("payload_format", row.payload_format.clone()))?;
    let template = PayloadTemplate::from_column(format, row.payload_template.as_deref())
        .map_err(|e| broken("payload_template", e))?;
    let auth = match row.auth_type.as_deref() {
        None => AuthKind::None,
        Some(name) => AuthKind::parse(name).ok_or_else(|| broken("auth_type", name.to_owned()))?,
    };
    let credential_id = row
        .auth_config
        .as_ref()
        .and_then(|c| c.get("credentialId"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let retry: RetryPolicy = serde_json::from_value(row.retry_config.clone())
        .map_err(|e| broken("retry_config", e.to_string()))?;
    let delivery: DeliveryConfig = match &row.delivery_config {
        None => DeliveryConfig::default(),
        Some(config) => serde_json::from_value(config.clone())
            .map_err(|e| broken("delivery_config", e.to_string()))?,
    };
    Ok(Webhook {
        id: row.id,
        owner_id: row.owner_id,
        tool_id: row.tool_id,
        name: row.name,
        url,
        method,
        headers,
        format,
        template,
        auth,
        credential_id,
        retry,
        timeout: Duration::from_millis(u64::try_from(row.timeout).unwrap_or(DEFAULT_TIMEOUT_MS)),
        delivery,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Validates and stores a new webhook owned by `principal`.
#[tracing::instrument(skip_all, fields(name = %draft.name))]
pub async fn create(
    services: &Services,
    principal: &Principal,
    draft: WebhookDraft,
) -> DomainResult<Webhook> {
    let checked = check(services, principal, &draft).await?;
    let now = Utc::now();
    let mut active = webhooks::ActiveModel {
        id: Set(new_id()),
        tool_id: Set(None),
        owner_id: Set(principal.user_id.clone()),
        created_at: Set(now),
        ..Default::default()
    };
    write(&mut active, checked);
    parse(active.insert(&services.db).await?)
}

async fn row(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<webhooks::Model> {
    webhooks::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .filter(|w| owns(principal, &w.owner_id))
        .ok_or_else(|| DomainError::not_found("webhook", id))
}

/// A webhook; `NotFound` unless the caller owns it or is an admin.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<Webhook> {
    parse(row(db, principal, id).await?)
}

/// Applies `patch` after validating the whole result.
#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn update(
    services: &Services,
    principal: &Principal,
    id: &str,
    patch: WebhookPatch,
) -> DomainResult<Webhook> {
    let current = row(&services.db, principal, id).await?;
    let mut draft = WebhookDraft::from(&parse(current.clone())?);
    patch.apply(&mut draft);
    let checked = check(services, principal, &draft).await?;
    let mut active: webhooks::ActiveModel = current.into();
    write(&mut active, checked);
    parse(active.update(&services.db).await?)
}

#[tracing::instrument(skip_all, fields(id = %id))]
pub async fn delete(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<()> {
    let row = row(db, principal, id).await?;
    webhooks::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(())
}

/// The caller's webhooks (everyone's for an admin), newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    page: PageRequest,
) -> DomainResult<Page<Webhook>> {
    let mut select = webhooks::Entity::find();
    if !principal.is_admin() {
        select = select.filter(webhooks::Column::OwnerId.eq(&principal.user_id));
    }
    let rows = keyset(select, webhooks::Column::Id, &page).all(db).await?;
    let page = Page::from_overfetch(rows, page.first);
    let items = page
        .items
        .into_iter()
        .map(parse)
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page {
        items,
        has_next_page: page.has_next_page,
    })
}
