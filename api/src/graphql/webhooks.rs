//! Outgoing webhooks: CRUD and `testWebhook`, which sends one delivery and shows the
//! request as sent (secrets masked) and everything that came back.

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::store::webhooks::{self as store, WebhookDraft, WebhookPatch};
use domain::webhooks::send::DeliveryContext;
use domain::webhooks::{AuthKind, Delivery, PayloadTemplate, RateLimits, Webhook as Model};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, decode, encode};
use super::relay::{RelayConnection, complexity, connection, page_request};
use super::tools::DeletePayload;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookMethod {
    Post,
    Put,
    Patch,
    Get,
    Delete,
}

impl WebhookMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Get => "GET",
            Self::Delete => "DELETE",
        }
    }

    fn of(method: &reqwest::Method) -> Self {
        match method.as_str() {
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "GET" => Self::Get,
            "DELETE" => Self::Delete,
            _ => Self::Post,
        }
    }
}

/// How the body is encoded; see the README's "Webhooks" section for the template rules.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookPayloadFormat {
    /// `application/json`; every `{{ … }}` prints a JSON value.
    Json,
    /// `application/x-www-form-urlencoded` from `formFields`.
    Form,
    /// `multipart/form-data` from `formFields`.
    Multipart,
    /// `application/xml`; every `{{ … }}` is XML-escaped.
    Xml,
}

impl WebhookPayloadFormat {
    fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
            Self::Multipart => "multipart",
            Self::Xml => "xml",
        }
    }

    fn of(format: domain::webhooks::PayloadFormat) -> Self {
        use domain::webhooks::PayloadFormat as F;
        match format {
            F::Json => Self::Json,
            F::Form => Self::Form,
            F::Multipart => Self::Multipart,
            F::Xml => Self::Xml,
        }
    }
}

/// Each kind but `NONE` uses a credential of the matching kind.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookAuthKind {
    None,
    /// A `bearer` credential.
    Bearer,
    /// A `basic` credential.
    Basic,
    /// An `api-key` credential (its header and value).
    ApiKey,
    /// An `oauth2-client-credentials` credential; the token is cached and refreshed once
    /// on 401.
    #[graphql(name = "OAUTH2")]
    Oauth2,
}

impl WebhookAuthKind {
    fn domain(self) -> AuthKind {
        match self {
            Self::None => AuthKind::None,
            Self::Bearer => AuthKind::Bearer,
            Self::Basic => AuthKind::Basic,
            Self::ApiKey => AuthKind::ApiKey,
            Self::Oauth2 => AuthKind::OAuth2,
        }
    }

    fn of(kind: AuthKind) -> Self {
        match kind {
            AuthKind::None => Self::None,
            AuthKind::Bearer => Self::Bearer,
            AuthKind::Basic => Self::Basic,
            AuthKind::ApiKey => Self::ApiKey,
            AuthKind::OAuth2 => Self::Oauth2,
        }
    }
}

pub struct Webhook(pub Model);

#[derive(SimpleObject)]
pub struct WebhookAuth {
    kind: WebhookAuthKind,
    credential_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct WebhookRetry {
    max_attempts: i32,
    initial_backoff_ms: i64,
    max_backoff_ms: i64,
}

#[Object]
impl Webhook {
    pub async fn id(&self) -> ID {
        encode(Kind::Webhook, &self.0.id)
    }
    /// The id workflow documents use (`config.webhookId` of a `webhook` node).
    async fn uuid(&self) -> &str {
        &self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn url(&self) -> String {
        self.0.url.to_string()
    }
    async fn method(&self) -> WebhookMethod {
        WebhookMethod::of(&self.0.method)
    }
    /// Header name → value template.
    async fn headers(&self) -> Json<&std::collections::BTreeMap<String, String>> {
        Json(&self.0.headers)
    }
    async fn payload_format(&self) -> WebhookPayloadFormat {
        WebhookPayloadFormat::of(self.0.format)
    }
    /// The document template (`JSON`, `XML`); null sends the payload as it is.
    async fn payload_template(&self) -> Option<&str> {
        match &self.0.template {
            PayloadTemplate::Document(text) => Some(text),
            _ => None,
        }
    }
    /// Field name → value template (`FORM`, `MULTIPART`).
    async fn form_fields(&self) -> Option<Json<&std::collections::BTreeMap<String, String>>> {
        match &self.0.template {
            PayloadTemplate::Fields(fields) => Some(Json(fields)),
            _ => None,
        }
    }
    async fn auth(&self) -> WebhookAuth {
        WebhookAuth {
            kind: WebhookAuthKind::of(self.0.auth),
            credential_id: self
                .0
                .credential_id
                .as_ref()
                .map(|id| encode(Kind::Credential, id)),
        }
    }
    /// A `generic` credential whose `secret` field is the `whsec_…` signing secret.
    async fn signing_credential_id(&self) -> Option<ID> {
        self.0
            .delivery
            .signing_credential_id
            .as_ref()
            .map(|id| encode(Kind::Credential, id))
    }
    async fn retry(&self) -> WebhookRetry {
        WebhookRetry {
            max_attempts: self.0.retry.max_attempts as i32,
            initial_backoff_ms: self.0.retry.initial_backoff_ms as i64,
            max_backoff_ms: self.0.retry.max_backoff_ms as i64,
        }
    }
    async fn timeout_ms(&self) -> i64 {
        self.0.timeout.as_millis() as i64
    }
    /// Null means any 2xx.
    async fn expected_statuses(&self) -> Option<Vec<i32>> {
        self.0
            .delivery
            .expected_statuses
            .as_ref()
            .map(|list| list.iter().map(|s| i32::from(*s)).collect())
    }
    async fn response_schema(&self) -> Option<Json<&Value>> {
        self.0.delivery.response_schema.as_ref().map(Json)
    }
    async fn rate_limit_per_minute(&self) -> i32 {
        self.0.delivery.rate_limit_per_minute as i32
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct WebhookAuthInput {
    pub kind: WebhookAuthKind,
    /// Required unless `kind` is `NONE`.
    pub credential_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct WebhookRetryInput {
    /// 1–10, default 3.
    pub max_attempts: Option<i32>,
    /// Default 500; doubles per attempt up to `maxBackoffMs`, with full jitter.
    pub initial_backoff_ms: Option<i64>,
    /// Default 30000.
    pub max_backoff_ms: Option<i64>,
}

#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub name: String,
    /// `https://…`; plain `http` only where the server's outbound policy allows it.
    pub url: String,
    #[graphql(default_with = "WebhookMethod::Post")]
    pub method: WebhookMethod,
    /// Header name → value template.
    pub headers: Option<Json<Value>>,
    #[graphql(default_with = "WebhookPayloadFormat::Json")]
    pub payload_format: WebhookPayloadFormat,
    pub payload_template: Option<String>,
    pub form_fields: Option<Json<Value>>,
    pub auth: Option<WebhookAuthInput>,
    pub signing_credential_id: Option<ID>,
    pub retry: Option<WebhookRetryInput>,
    /// Default 10000.
    pub timeout_ms: Option<i64>,
    pub expected_statuses: Option<Vec<i32>>,
    pub response_schema: Option<Json<Value>>,
    /// Default 100.
    pub rate_limit_per_minute: Option<i32>,
}

#[derive(InputObject)]
pub struct UpdateWebhookInput {
    pub id: ID,
    pub name: Option<String>,
    pub url: Option<String>,
    pub method: Option<WebhookMethod>,
    pub headers: Option<Json<Value>>,
    pub payload_format: Option<WebhookPayloadFormat>,
    /// Null clears it.
    pub payload_template: MaybeUndefined<String>,
    /// Null clears them.
    pub form_fields: MaybeUndefined<Json<Value>>,
    pub auth: Option<WebhookAuthInput>,
    /// Null stops signing.
    pub signing_credential_id: MaybeUndefined<ID>,
    pub retry: Option<WebhookRetryInput>,
    pub timeout_ms: Option<i64>,
    /// Null means any 2xx.
    pub expected_statuses: MaybeUndefined<Vec<i32>>,
    /// Null removes the check.
    pub response_schema: MaybeUndefined<Json<Value>>,
    pub rate_limit_per_minute: Option<i32>,
}

#[derive(InputObject)]
pub struct DeleteWebhookInput {
    pub id: ID,
}

fn credential(path: &str, id: Option<&ID>) -> ApiResult<Option<String>> {
    id.map(|id| decode(path, Kind::Credential, id)).transpose()
}

fn maybe<T, U>(
    value: MaybeUndefined<T>,
    f: impl FnOnce(T) -> ApiResult<U>,
) -> ApiResult<Option<Option<U>>> {
    Ok(match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v)?)),
    })
}

impl CreateWebhookInput {
    fn draft(self) -> ApiResult<WebhookDraft> {
        let defaults = WebhookDraft::default();
        let retry = self.retry.unwrap_or_default();
        let (auth_kind, credential_id) = match self.auth {
            Some(auth) => (
                auth.kind.domain().as_str().to_owned(),
                credential("input.auth.credentialId", auth.credential_id.as_ref())?,
            ),
            None => (defaults.auth_kind.clone(), None),
        };
        Ok(WebhookDraft {
            name: self.name,
            url: self.url,
            method: self.method.as_str().to_owned(),
            headers: self.headers.map_or(defaults.headers.clone(), |h| h.0),
            payload_format: self.payload_format.as_str().to_owned(),
            payload_template: self.payload_template,
            form_fields: self.form_fields.map(|f| f.0),
            auth_kind,
            credential_id,
            signing_credential_id: credential(
                "input.signingCredentialId",
                self.signing_credential_id.as_ref(),
            )?,
            max_attempts: retry.max_attempts.map_or(defaults.max_attempts, i64::from),
            initial_backoff_ms: retry
                .initial_backoff_ms
                .unwrap_or(defaults.initial_backoff_ms),
            max_backoff_ms: retry.max_backoff_ms.unwrap_or(defaults.max_backoff_ms),
            timeout_ms: self.timeout_ms.unwrap_or(defaults.timeout_ms),
            expected_statuses: self
                .expected_statuses
                .map(|list| list.into_iter().map(i64::from).collect()),
            response_schema: self.response_schema.map(|s| s.0),
            rate_limit_per_minute: self
                .rate_limit_per_minute
                .map_or(defaults.rate_limit_per_minute, i64::from),
        })
    }
}

impl UpdateWebhookInput {
    fn patch(self) -> ApiResult<WebhookPatch> {
        let retry = self.retry.unwrap_or_default();
        let (auth_kind, credential_id) = match self.auth {
            Some(auth) => (
                Some(auth.kind.domain().as_str().to_owned()),
                Some(credential(
                    "input.auth.credentialId",
                    auth.credential_id.as_ref(),
                )?),
            ),
            None => (None, None),
        };
        Ok(WebhookPatch {
            name: self.name,
            url: self.url,
            method: self.method.map(|m| m.as_str().to_owned()),
            headers: self.headers.map(|h| h.0),
            payload_format: self.payload_format.map(|f| f.as_str().to_owned()),
            payload_template: maybe(self.payload_template, Ok)?,
            form_fields: maybe(self.form_fields, |f| Ok(f.0))?,
            auth_kind,
            credential_id,
            signing_credential_id: maybe(self.signing_credential_id, |id| {
                decode("input.signingCredentialId", Kind::Credential, &id)
            })?,
            max_attempts: retry.max_attempts.map(i64::from),
            initial_backoff_ms: retry.initial_backoff_ms,
            max_backoff_ms: retry.max_backoff_ms,
            timeout_ms: self.timeout_ms,
            expected_statuses: maybe(self.expected_statuses, |list| {
                Ok(list.into_iter().map(i64::from).collect())
            })?,
            response_schema: maybe(self.response_schema, |s| Ok(s.0))?,
            rate_limit_per_minute: self.rate_limit_per_minute.map(i64::from),
        })
    }
}

#[derive(SimpleObject)]
pub struct WebhookHeader {
    name: String,
    value: String,
}

/// The request as it went out on the last attempt; credential headers and secrets read
/// `•••`.
#[derive(SimpleObject)]
pub struct WebhookRequest {
    method: String,
    url: String,
    headers: Vec<WebhookHeader>,
    body: String,
}

#[derive(SimpleObject)]
pub struct WebhookAttempt {
    number: i32,
    /// Null when no response came back.
    status: Option<i32>,
    error: Option<String>,
    duration_ms: i64,
    /// The wait before this attempt (backoff or `Retry-After`).
    delay_ms: i64,
}

#[derive(SimpleObject)]
pub struct WebhookError {
    /// `TEMPLATE`, `CREDENTIAL`, `AUTH`, `REFUSED`, `TIMEOUT`, `NETWORK`, `TOO_LARGE`,
    /// `STATUS`, `INVALID_RESPONSE`, `RATE_LIMITED` or `CANCELLED`.
    code: String,
    message: String,
}

#[derive(SimpleObject)]
pub struct WebhookTestResult {
    succeeded: bool,
    /// Null when the delivery failed before sending (e.g. a template error).
    request: Option<WebhookRequest>,
    /// Of the last response, if any.
    status: Option<i32>,
    headers: Option<Json<serde_json::Map<String, Value>>>,
    /// The first 16 KB of the last response body.
    body_preview: Option<String>,
    duration_ms: i64,
    attempts: Vec<WebhookAttempt>,
    error: Option<WebhookError>,
}

impl From<Delivery> for WebhookTestResult {
    fn from(delivery: Delivery) -> Self {
        let response = delivery.response;
        Self {
            succeeded: delivery.error.is_none(),
            request: delivery.request.map(|r| WebhookRequest {
                method: r.method,
                url: r.url,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(name, value)| WebhookHeader { name, value })
                    .collect(),
                body: r.body,
            }),
            status: response.as_ref().map(|r| i32::from(r.status)),
            headers: response.as_ref().map(|r| Json(r.headers.clone())),
            body_preview: response.map(|r| r.body_preview),
            duration_ms: delivery.duration.as_millis() as i64,
            attempts: delivery
                .attempts
                .into_iter()
                .map(|a| WebhookAttempt {
                    number: a.number as i32,
                    status: a.status.map(i32::from),
                    error: a.error,
                    duration_ms: a.duration_ms as i64,
                    delay_ms: a.delay_ms as i64,
                })
                .collect(),
            error: delivery.error.map(|e| WebhookError {
                code: e.code.as_str().to_owned(),
                message: e.message,
            }),
        }
    }
}

fn services<'a>(ctx: &Context<'a>) -> &'a domain::executors::Services {
    ctx.data_unchecked::<domain::engine::Engine>().services()
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The caller's outgoing webhooks, newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<Webhook>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page = store::list(db(ctx), principal, page_request(first, after)?).await?;
        Ok(connection(page, after_given, |w| &w.id, Webhook))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> ApiResult<Webhook> {
        let principal = principal(ctx)?;
        let webhook = store::create(services(ctx), principal, input.draft()?).await?;
        Ok(Webhook(webhook))
    }

    /// Validates the whole result before writing; a rejected update changes nothing.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> ApiResult<Webhook> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Webhook, &input.id)?;
        let webhook = store::update(services(ctx), principal, &id, input.patch()?).await?;
        Ok(Webhook(webhook))
    }

    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Webhook, &input.id)?;
        store::delete(db(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    /// Sends `payload` through the webhook now, with its retries, rate limit and checks,
    /// and reports what was sent and received. A failed delivery is a result with `error`,
    /// not a GraphQL error. The `Idempotency-Key` is a fresh UUID per test.
    async fn test_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        payload: Option<Json<Value>>,
    ) -> ApiResult<WebhookTestResult> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Webhook, &id)?;
        let webhook = store::get(db(ctx), principal, &id).await?;
        let limits = RateLimits::shared();
        let delivery_ctx = DeliveryContext::new(
            services(ctx),
            principal,
            uuid::Uuid::new_v4().to_string(),
            CancellationToken::new(),
            &limits,
        );
        let payload = payload.map_or(Value::Null, |p| p.0);
        let delivery = domain::webhooks::deliver(&delivery_ctx, &webhook, &payload).await;
        Ok(delivery.into())
    }
}
