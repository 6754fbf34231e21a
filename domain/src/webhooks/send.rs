//! One delivery of a webhook: render, authenticate, sign, send through the outbound guard
//! under the webhook's rate limit, retry what may succeed later, validate the answer, and
//! record every attempt.
//!
//! Only network errors, timeouts, 429 and 5xx are retried; everything else (a refusal by
//! the guard, an oversized answer, any other status, a body that fails its schema) ends the
//! delivery at once. `Idempotency-Key` and `webhook-id` are the same on every attempt;
//! `webhook-timestamp` and the signature are made afresh for each.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, Request};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::Webhook;
use super::payload::{self, Body};
use super::rate_limit::{DEFAULT_MAX_QUEUE_WAIT, RateLimited, RateLimits};
use super::retry::{retry_after, status_is_retryable};
use super::signature::{self, SECRET_FIELD, SigningSecret};
use crate::auth::Principal;
use crate::executors::Services;
use crate::executors::api_call::{IDEMPOTENCY_KEY, Reply, status_text};
use crate::executors::http_auth::{self, Credential, Secrets, quote_body};
use crate::json_schema;
use crate::outbound::{OutboundError, OutboundResponse, origin_of};
use crate::vault::{self, CredentialSecret};

/// What masked values are shown as in a request as sent.
pub const MASK: &str = "•••";
/// How much of a response body a test result shows.
pub const BODY_PREVIEW_BYTES: usize = 16 * 1024;

/// Why a delivery failed, as a stable code for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryErrorCode {
    /// The payload or a header template did not render.
    Template,
    /// The auth or signing credential is missing, of the wrong kind, or unusable.
    Credential,
    /// The OAuth2 token could not be obtained.
    Auth,
    /// The outbound guard refused the URL, an address it resolved to, or a redirect.
    Refused,
    Timeout,
    /// The connection failed (refused, reset, TLS...).
    Network,
    /// The response exceeded the size limit.
    TooLarge,
    /// The response status is not one the webhook expects.
    Status,
    /// The response body does not match the webhook's response schema.
    InvalidResponse,
    /// The rate limit had no slot within the queueing time.
    RateLimited,
    Cancelled,
}

impl DeliveryErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Template => "TEMPLATE",
            Self::Credential => "CREDENTIAL",
            Self::Auth => "AUTH",
            Self::Refused => "REFUSED",
            Self::Timeout => "TIMEOUT",
            Self::Network => "NETWORK",
            Self::TooLarge => "TOO_LARGE",
            Self::Status => "STATUS",
            Self::InvalidResponse => "INVALID_RESPONSE",
            Self::RateLimited => "RATE_LIMITED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// Why a delivery (or one attempt) failed. Messages never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub code: DeliveryErrorCode,
    pub message: String,
    /// Whether another attempt may succeed.
    pub retryable: bool,
}

impl DeliveryError {
    fn new(code: DeliveryErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retryable: false,
        }
    }

    fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
}

/// One attempt, as recorded in node output and test results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// How long the delivery waited before this attempt (backoff or `Retry-After`).
    pub delay_ms: u64,
}

/// The request as it went out on the last attempt, with secrets masked as [`MASK`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The receiver's answer to the last attempt, secrets redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub status: u16,
    /// Lower-cased names; repeated headers joined with `, `.
    pub headers: serde_json::Map<String, Value>,
    /// Parsed when the content type is JSON, else text.
    pub body: Value,
    /// The start of the raw body as text, at most [`BODY_PREVIEW_BYTES`].
    pub body_preview: String,
}

/// What one delivery did.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `None` when it failed before anything could be sent (a template error, say).
    pub request: Option<SentRequest>,
    pub response: Option<Received>,
    pub attempts: Vec<Attempt>,
    pub duration: Duration,
    /// `None` on success.
    pub error: Option<DeliveryError>,
}

impl Delivery {
    /// Node and tool output: `{status, headers, body, attempts}`.
    pub fn output(&self) -> Value {
        let response = self.response.as_ref();
        json!({
            "status": response.map(|r| r.status),
            "headers": response.map(|r| Value::Object(r.headers.clone())),
            "body": response.map_or(Value::Null, |r| r.body.clone()),
            "attempts": self.attempts,
        })
    }

    /// The error with the attempt history appended (status or error of each attempt and
    /// the wait before it), for node failures, whose record has no output to hold it.
    pub fn failure_message(&self) -> Option<String> {
        let error = self.error.as_ref()?;
        if self.attempts.len() <= 1 {
            return Some(error.message.clone());
        }
        let history: Vec<String> = self
            .attempts
            .iter()
            .map(|a| {
                let outcome = a
                    .status
                    .map_or_else(|| "no response".to_owned(), |s| s.to_string());
                match a.delay_ms {
                    0 => format!("#{} {outcome}", a.number),
                    delay => format!("#{} after {delay} ms {outcome}", a.number),
                }
            })
            .collect();
        Some(format!(
            "{} (after {} attempts: {})",
            error.message,
            self.attempts.len(),
            history.join(", ")
        ))
    }
}

/// Who delivers and how: the owner's credentials are used, `idempotency_key` is sent on
/// every attempt (and is the `webhook-id`), and `cancel` stops waits and requests.
pub struct DeliveryContext<'a> {
    pub services: &'a Services,
    pub owner: &'a Principal,
    pub idempotency_key: String,
    pub cancel: CancellationToken,
    pub limits: &'a RateLimits,
    /// How long a request may queue for the rate limit.
    pub max_queue_wait: Duration,
}

impl<'a> DeliveryContext<'a> {
    /// The shared rate limits and the default queueing time.
    pub fn new(
        services: &'a Services,
        owner: &'a Principal,
        idempotency_key: String,
        cancel: CancellationToken,
        limits: &'a RateLimits,
    ) -> Self {
        Self {
            services,
            owner,
            idempotency_key,
            cancel,
            limits,
            max_queue_wait: DEFAULT_MAX_QUEUE_WAIT,
        }
    }
}

/// Sends `payload` through `webhook`.
pub async fn deliver(ctx: &DeliveryContext<'_>, webhook: &Webhook, payload: &Value) -> Delivery {
    let started = Instant::now();
    let mut delivery = Delivery {
        request: None,
        response: None,
        attempts: Vec::new(),
        duration: Duration::ZERO,
        error: None,
    };
    if let Err(error) = run(ctx, webhook, payload, &mut delivery).await {
        delivery.error = Some(error);
    }
    delivery.duration = started.elapsed();
    delivery
}

async fn run(
    ctx: &DeliveryContext<'_>,
    webhook: &Webhook,
    payload: &Value,
    delivery: &mut Delivery,
) -> Result<(), DeliveryError> {
    let template_error = |e: String| DeliveryError::new(DeliveryErrorCode::Template, e);
    let body = payload::render(webhook.format, &webhook.template, payload)
        .map_err(|e| template_error(e.0))?;
    let mut secrets = Secrets::default();
    let mut masked: Vec<String> = Vec::new();
    let credential = match &webhook.credential_id {
        Some(id) => {
            let credential = Credential::load_as(ctx.services, ctx.owner, id)
                .await
                .map_err(|f| DeliveryError::new(DeliveryErrorCode::Credential, f.message))?;
            secrets.add_credential(credential.secret());
            masked.extend(vault::secret_strings(credential.secret()));
            Some(credential)
        }
        None => None,
    };
    let signing = match &webhook.delivery.signing_credential_id {
        Some(id) => {
            let (secret, raw) = signing_secret(ctx, id).await?;
            secrets.add(raw.clone());
            masked.push(raw);
            Some(secret)
        }
        None => None,
    };
    let request = build_request(ctx, webhook, payload, &body)?;
    let validator = match &webhook.delivery.response_schema {
        Some(schema) => Some(json_schema::compile(schema).map_err(|e| {
            DeliveryError::new(
                DeliveryErrorCode::InvalidResponse,
                format!("the webhook's response schema is invalid: {e}"),
            )
        })?),
        None => None,
    };

    let mut delay = Duration::ZERO;
    for number in 1..=webhook.retry.max_attempts {
        if !delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = ctx.cancel.cancelled() => return Err(cancelled()),
            }
        }
        ctx.limits
            .acquire(
                &webhook.id,
                webhook.delivery.rate_limit_per_minute,
                ctx.max_queue_wait,
                &ctx.cancel,
            )
            .await
            .map_err(|e| match e {
                RateLimited::Cancelled => cancelled(),
                full => DeliveryError::new(
                    DeliveryErrorCode::RateLimited,
                    format!("webhook `{}`: {full}", webhook.name),
                ),
            })?;
        let attempt_started = Instant::now();
        let result = attempt(
            ctx,
            &request,
            credential.as_ref(),
            signing.as_ref(),
            &mut secrets,
            &masked,
            delivery,
        )
        .await;
        let mut record = Attempt {
            number,
            status: None,
            error: None,
            duration_ms: millis(attempt_started.elapsed()),
            delay_ms: millis(delay),
        };
        let outcome = match result {
            Ok(response) => {
                record.status = Some(response.status);
                let received = receive(&response, &secrets);
                let verdict = judge(webhook, &response, &received, validator.as_ref());
                let wait = retry_after(&response.headers, chrono::Utc::now());
                delivery.response = Some(received);
                verdict.map_err(|e| (e, wait))
            }
            Err(error) => Err((error, None)),
        };
        match outcome {
            Ok(()) => {
                delivery.attempts.push(record);
                return Ok(());
            }
            Err((error, wait)) => {
                record.error = Some(error.message.clone());
                delivery.attempts.push(record);
                if !error.retryable || number == webhook.retry.max_attempts {
                    return Err(error);
                }
                delay = wait.unwrap_or_else(|| webhook.retry.backoff(number));
            }
        }
    }
    unreachable!("the loop returns on the last attempt")
}

fn cancelled() -> DeliveryError {
    DeliveryError::new(DeliveryErrorCode::Cancelled, "the delivery was cancelled")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The signing secret held by a `generic` credential's `secret` field, and its text.
async fn signing_secret(
    ctx: &DeliveryContext<'_>,
    id: &str,
) -> Result<(SigningSecret, String), DeliveryError> {
    let fail = |message: String| DeliveryError::new(DeliveryErrorCode::Credential, message);
    let credential = Credential::load_as(ctx.services, ctx.owner, id)
        .await
        .map_err(|f| fail(f.message))?;
    let CredentialSecret::Generic(fields) = credential.secret() else {
        return Err(fail(format!(
            "signing credential `{id}` must be a generic credential with a `{SECRET_FIELD}` field"
        )));
    };
    let raw = fields.get(SECRET_FIELD).ok_or_else(|| {
        fail(format!(
            "signing credential `{id}` has no `{SECRET_FIELD}` field"
        ))
    })?;
    let secret = SigningSecret::parse(raw)
        .map_err(|e| fail(format!("signing credential `{id}`: the secret {e}")))?;
    Ok((secret, raw.clone()))
}

/// The request every attempt starts from: URL, method, rendered headers, body, the
/// idempotency headers and the webhook's timeout.
fn build_request(
    ctx: &DeliveryContext<'_>,
    webhook: &Webhook,
    payload: &Value,
    body: &Body,
) -> Result<Request, DeliveryError> {
    let template_error = |message: String| DeliveryError::new(DeliveryErrorCode::Template, message);
    let mut request = Request::new(webhook.method.clone(), webhook.url.clone());
    let context = json!({ "payload": payload });
    let headers = request.headers_mut();
    for (name, template) in &webhook.headers {
        let value = crate::mapping::template::render(template, &context)
            .map_err(|e| template_error(format!("header `{name}`: {e}")))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| template_error(format!("`{name}` is not a valid header name")))?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            template_error(format!(
                "header `{name}` rendered characters HTTP headers cannot carry"
            ))
        })?;
        headers.insert(name, value);
    }
    let key = HeaderValue::from_str(&ctx.idempotency_key)
        .map_err(|_| template_error("the idempotency key cannot be sent as a header".to_owned()))?;
    // A receiver with its own key scheme (set as a header on the webhook) knows best.
    headers
        .entry(HeaderName::from_static(IDEMPOTENCY_KEY))
        .or_insert(key.clone());
    headers.insert(HeaderName::from_static(signature::HEADER_ID), key);
    if webhook.method != Method::GET {
        let content_type = HeaderValue::from_str(&body.content_type)
            .expect("content types are ASCII without control characters");
        headers.entry(CONTENT_TYPE).or_insert(content_type);
        *request.body_mut() = Some(body.bytes.clone().into());
    }
    *request.timeout_mut() = Some(webhook.timeout);
    Ok(request)
}

/// One attempt: timestamp and sign, apply the credential, send. With an OAuth2 credential a
/// 401 fetches a new token and sends once more.
async fn attempt(
    ctx: &DeliveryContext<'_>,
    request: &Request,
    credential: Option<&Credential>,
    signing: Option<&SigningSecret>,
    secrets: &mut Secrets,
    masked: &[String],
    delivery: &mut Delivery,
) -> Result<OutboundResponse, DeliveryError> {
    let mut stale_token: Option<String> = None;
    loop {
        let mut request = request
            .try_clone()
            .expect("webhook bodies are bytes and can be cloned");
        let timestamp = chrono::Utc::now().timestamp();
        let headers = request.headers_mut();
        headers.insert(
            HeaderName::from_static(signature::HEADER_TIMESTAMP),
            HeaderValue::from(timestamp),
        );
        if let Some(secret) = signing {
            let id = headers
                .get(signature::HEADER_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = request
                .body()
                .and_then(|b| b.as_bytes())
                .unwrap_or_default();
            let signed = secret.sign(&id, timestamp, body);
            request.headers_mut().insert(
                HeaderName::from_static(signature::HEADER_SIGNATURE),
                HeaderValue::from_str(&signed).expect("base64 is a valid header value"),
            );
        }
        let token = match credential {
            Some(credential) => http_auth::apply(
                ctx.services,
                credential,
                &mut request,
                stale_token.as_deref(),
                secrets,
            )
            .await
            .map_err(|f| {
                let error = DeliveryError::new(DeliveryErrorCode::Auth, f.message);
                if f.retryable {
                    error.retryable()
                } else {
                    error
                }
            })?,
            None => None,
        };
        delivery.request = Some(sent_view(&request, masked));
        let response = tokio::select! {
            result = ctx.services.http.execute(request) => result.map_err(|e| transport(&e, secrets))?,
            () = ctx.cancel.cancelled() => return Err(cancelled()),
        };
        match token {
            Some(token) if response.status == 401 && stale_token.is_none() => {
                stale_token = Some(token);
            }
            _ => return Ok(response),
        }
    }
}

fn transport(error: &OutboundError, secrets: &Secrets) -> DeliveryError {
    let message = secrets.redact(&error.to_string());
    let code = match error {
        OutboundError::Refused(_) | OutboundError::TooManyRedirects { .. } => {
            DeliveryErrorCode::Refused
        }
        OutboundError::TooLarge { .. } => DeliveryErrorCode::TooLarge,
        OutboundError::Timeout { .. } => {
            return DeliveryError::new(DeliveryErrorCode::Timeout, message).retryable();
        }
        OutboundError::Http(e) if !e.is_builder() => {
            return DeliveryError::new(DeliveryErrorCode::Network, message).retryable();
        }
        OutboundError::Http(_) | OutboundError::Config(_) => DeliveryErrorCode::Network,
    };
    DeliveryError::new(code, message)
}

/// The request as sent, with credential-bearing headers and any secret text masked.
fn sent_view(request: &Request, masked: &[String]) -> SentRequest {
    let mask = |text: &str| {
        let mut text = text.to_owned();
        for secret in masked
            .iter()
            .filter(|s| s.len() >= vault::redact::MIN_REDACTED_LEN)
        {
            text = text.replace(secret.as_str(), MASK);
        }
        text
    };
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_sensitive() {
                MASK.to_owned()
            } else {
                mask(&String::from_utf8_lossy(value.as_bytes()))
            };
            (name.as_str().to_owned(), shown)
        })
        .collect();
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .map(|bytes| mask(&String::from_utf8_lossy(bytes)))
        .unwrap_or_default();
    SentRequest {
        method: request.method().to_string(),
        url: mask(request.url().as_str()),
        headers,
        body,
    }
}

fn receive(response: &OutboundResponse, secrets: &Secrets) -> Received {
    let reply = Reply::read(response, secrets);
    Received {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
        body_preview: secrets.redact(&preview(&response.body)),
    }
}

fn preview(body: &Bytes) -> String {
    let mut end = body.len().min(BODY_PREVIEW_BYTES);
    // Never cut a UTF-8 sequence in half.
    while end < body.len() && end > 0 && (body[end] & 0b1100_0000) == 0b1000_0000 {
        end -= 1;
    }
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// Whether the answer counts as success: an expected status, and a body matching the
/// response schema when there is one.
fn judge(
    webhook: &Webhook,
    response: &OutboundResponse,
    received: &Received,
    validator: Option<&jsonschema::Validator>,
) -> Result<(), DeliveryError> {
    let expected = webhook.expected_statuses();
    let status_ok = match expected {
        Some(list) => list.contains(&response.status),
        None => response.is_success(),
    };
    if !status_ok {
        let detail = match &received.body {
            Value::String(text) => quote_body(text.as_bytes()),
            other => quote_body(other.to_string().as_bytes()),
        };
        let wanted = match expected {
            Some(list) => list
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            None => "2xx".to_owned(),
        };
        let error = DeliveryError::new(
            DeliveryErrorCode::Status,
            format!(
                "{} answered {}, expected {wanted}: {detail}",
                origin_of(&response.url),
                status_text(response.status)
            ),
        );
        return Err(if status_is_retryable(response.status) {
            error.retryable()
        } else {
            error
        });
    }
    if let Some(validator) = validator
        && let Err(problems) = json_schema::validate_with(validator, &received.body)
    {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(DeliveryError::new(
            DeliveryErrorCode::InvalidResponse,
            format!(
                "the response body from {} does not match the webhook's response schema: {}",
                origin_of(&response.url),
                problems.join("; ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(number: u32, status: Option<u16>, delay_ms: u64) -> Attempt {
        Attempt {
            number,
            status,
            error: Some("failed".into()),
            duration_ms: 3,
            delay_ms,
        }
    }

    #[test]
    fn a_failure_names_every_attempt_and_the_wait_before_it() {
        let delivery = Delivery {
            request: None,
            response: None,
            attempts: vec![
                attempt(1, Some(503), 0),
                attempt(2, None, 412),
                attempt(3, Some(503), 1000),
            ],
            duration: Duration::from_secs(2),
            error: Some(DeliveryError::new(DeliveryErrorCode::Status, "busy")),
        };
        assert_eq!(
            delivery.failure_message().unwrap(),
            "busy (after 3 attempts: #1 503, #2 after 412 ms no response, #3 after 1000 ms 503)"
        );
        let output = delivery.output();
        assert_eq!(output["attempts"][1]["delayMs"], 412);
        assert_eq!(output["status"], Value::Null);
    }

    #[test]
    fn the_request_as_sent_masks_credential_headers_and_secret_text() {
        let mut request = Request::new(
            Method::POST,
            url::Url::parse("https://example.com/hook?key=tok-secret-1").unwrap(),
        );
        let mut auth = HeaderValue::from_static("Bearer tok-secret-1");
        auth.set_sensitive(true);
        request
            .headers_mut()
            .insert(reqwest::header::AUTHORIZATION, auth);
        request
            .headers_mut()
            .insert("x-echo", HeaderValue::from_static("tok-secret-1"));
        *request.body_mut() = Some(r#"{"a":"tok-secret-1"}"#.into());
        let view = sent_view(&request, &["tok-secret-1".to_owned()]);
        assert_eq!(view.url, "https://example.com/hook?key=•••");
        assert_eq!(
            view.headers,
            vec![
                ("authorization".to_owned(), MASK.to_owned()),
                ("x-echo".to_owned(), MASK.to_owned())
            ]
        );
        assert_eq!(view.body, r#"{"a":"•••"}"#);
    }

    #[test]
    fn a_preview_never_splits_a_character() {
        let mut body = vec![b'a'; BODY_PREVIEW_BYTES - 1];
        body.extend_from_slice("ü".as_bytes());
        let text = preview(&Bytes::from(body));
        assert_eq!(text.len(), BODY_PREVIEW_BYTES - 1);
    }
}
