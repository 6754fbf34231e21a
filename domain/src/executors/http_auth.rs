//! Stored credentials on outgoing HTTP requests, shared by every executor that calls out
//! (`api-call`, `llm-agent`, `web-search`, `api` tools): resolving a credential through the
//! vault as the workflow owner, applying it (bearer, basic, API-key header, or an OAuth2
//! access token obtained with the client-credentials grant), sending through the guarded
//! client, and remembering which strings are secret so nothing the node returns or reports
//! contains them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, Request};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::{NodeContext, NodeFailure, Services};
use crate::auth::Principal;
use crate::error::DomainError;
use crate::node_error::{NodeErrorCode, source_chain};
use crate::outbound::{OutboundError, OutboundResponse, origin_of};
use crate::vault::{self, CredentialSecret};

/// Taken off a token's lifetime so a token is not sent in its last seconds and expire on
/// the way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// How long a token whose response named no lifetime is reused; a 401 refreshes it sooner.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Bounded so a stream of distinct credentials cannot grow the cache without limit.
const MAX_CACHED_TOKENS: usize = 4_096;
/// How much of an error response body a failure message quotes.
const MAX_QUOTED_BODY_CHARS: usize = 500;

/// OAuth2 access tokens obtained with the client-credentials grant, reused until shortly
/// before they expire. Shared by all runs of one engine, so a workflow that calls an API
/// in a loop does not fetch a token per call.
///
/// Entries are keyed by a hash of the token URL, client id, client secret, scope and
/// audience: changing the credential's secret starts afresh, and only callers that hold
/// the very same secret can reuse a token.
#[derive(Default)]
pub struct OAuthTokenCache {
    slots: Mutex<HashMap<[u8; 32], TokenSlot>>,
}

/// One credential's token; fetches for the same credential serialize on it, so concurrent
/// nodes wait for one token request instead of each sending their own.
type TokenSlot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

#[derive(Clone)]
struct CachedToken {
    access_token: String,
    expires_at: Instant,
}

impl OAuthTokenCache {
    fn slot(&self, key: [u8; 32]) -> TokenSlot {
        let mut slots = self.slots.lock().expect("oauth token cache");
        if slots.len() >= MAX_CACHED_TOKENS && !slots.contains_key(&key) {
            slots.clear();
        }
        slots.entry(key).or_default().clone()
    }
}

/// A credential resolved for one node attempt.
pub(crate) struct Credential {
    id: String,
    secret: CredentialSecret,
}

impl Credential {
    /// Decrypts `credential_id` as the workflow owner.
    pub(crate) async fn load(
        ctx: &NodeContext<'_>,
        credential_id: &str,
    ) -> Result<Self, NodeFailure> {
        Self::load_as(ctx.services, ctx.owner, credential_id).await
    }

    /// Decrypts `credential_id` as `owner`, outside a workflow run as well (`testTool`).
    pub(crate) async fn load_as(
        services: &Services,
        owner: &Principal,
        credential_id: &str,
    ) -> Result<Self, NodeFailure> {
        let Some(vault) = &services.vault else {
            return Err(NodeFailure::permanent(format!(
                "credential `{credential_id}` cannot be used: this server has no credential \
                 vault configured"
            )));
        };
        match vault.resolve(&services.db, owner, credential_id).await {
            Ok(secret) => Ok(Self {
                id: credential_id.to_owned(),
                secret,
            }),
            Err(DomainError::NotFound { .. }) => Err(NodeFailure::permanent(format!(
                "credential `{credential_id}` does not exist or does not belong to the \
                 workflow's owner"
            ))),
            // The database may be back on the next attempt; a wrong key will not be.
            Err(DomainError::Storage(e)) => Err(NodeFailure::retryable(format!(
                "reading credential `{credential_id}` failed: {e}"
            ))),
            Err(other) => Err(NodeFailure::permanent(format!(
                "credential `{credential_id}` cannot be used: {other}"
            ))),
        }
    }

    /// The credential's secret, for executors that place it themselves (e.g. a search API
    /// that wants the key in its own header).
    pub(crate) fn secret(&self) -> &CredentialSecret {
        &self.secret
    }
}

/// The strings one call must never reveal: credential secrets in the forms they travel in
/// and any access token obtained for them. Everything a node returns or reports about a
/// call goes through [`Secrets::redact`] or [`Secrets::redact_value`].
#[derive(Default, Clone)]
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    pub(crate) fn add_credential(&mut self, secret: &CredentialSecret) {
        self.0.extend(vault::secret_strings(secret));
    }

    pub(crate) fn add(&mut self, value: impl Into<String>) {
        let value = value.into();
        if !self.0.contains(&value) {
            self.0.push(value);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        vault::redact(text, &self.0)
    }

    pub(crate) fn redact_value(&self, value: &Value) -> Value {
        vault::redact_value(value, &self.0)
    }
}

/// Sends `request` through the guarded client with `credential` applied.
///
/// With an OAuth2 credential a 401 means the token was revoked or expired early: a new one
/// is fetched and the request sent again, once. Transport failures become node failures
/// here (the guard's refusals permanent with its message, timeouts and connection errors
/// retryable); HTTP statuses are left to the caller, which knows what counts as success.
pub(crate) async fn send(
    services: &Services,
    request: Request,
    credential: Option<&Credential>,
    secrets: &mut Secrets,
) -> Result<OutboundResponse, NodeFailure> {
    if let Some(credential) = credential {
        secrets.add_credential(&credential.secret);
    }
    let mut stale_token: Option<String> = None;
    loop {
        let mut attempt = request.try_clone().ok_or_else(|| {
            NodeFailure::permanent("the request body cannot be sent twice (a streaming body)")
        })?;
        let token = match credential {
            Some(credential) => {
                apply(
                    services,
                    credential,
                    &mut attempt,
                    stale_token.as_deref(),
                    secrets,
                )
                .await?
            }
            None => None,
        };
        let response = services
            .http
            .execute(attempt)
            .await
            .map_err(|e| transport_failure(&e, secrets))?;
        match token {
            Some(token) if response.status == 401 && stale_token.is_none() => {
                stale_token = Some(token);
            }
            _ => return Ok(response),
        }
    }
}

/// Puts the credential on `request`; returns the OAuth2 access token used, if any. A
/// `stale_token` (just refused with 401) is replaced by a freshly fetched one.
pub(crate) async fn apply(
    services: &Services,
    credential: &Credential,
    request: &mut Request,
    stale_token: Option<&str>,
    secrets: &mut Secrets,
) -> Result<Option<String>, NodeFailure> {
    let header = |value: String| {
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            NodeFailure::permanent(format!(
                "credential `{}` holds a value that is not allowed in an HTTP header",
                credential.id
            ))
        })?;
        // Keeps the value out of reqwest's and hyper's debug output.
        value.set_sensitive(true);
        Ok::<_, NodeFailure>(value)
    };
    let headers = request.headers_mut();
    match &credential.secret {
        CredentialSecret::Bearer { token } => {
            headers.insert(AUTHORIZATION, header(format!("Bearer {token}"))?);
            Ok(None)
        }
        CredentialSecret::Basic { username, password } => {
            headers.insert(AUTHORIZATION, header(basic(username, password))?);
            Ok(None)
        }
        CredentialSecret::ApiKey {
            header: name,
            value,
        } => {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                NodeFailure::permanent(format!(
                    "credential `{}` names an invalid header `{name}`",
                    credential.id
                ))
            })?;
            headers.insert(name, header(value.clone())?);
            Ok(None)
        }
        CredentialSecret::OAuth2ClientCredentials { .. } => {
            let token = oauth_token(services, credential, stale_token, secrets).await?;
            request
                .headers_mut()
                .insert(AUTHORIZATION, header(format!("Bearer {token}"))?);
            Ok(Some(token))
        }
        other => Err(NodeFailure::permanent(format!(
            "credential `{}` is a `{}` credential, which cannot authenticate an HTTP request; \
             use a bearer, basic, api-key or oauth2-client-credentials credential",
            credential.id,
            other.kind()
        ))),
    }
}

fn basic(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// A valid access token for an OAuth2 client-credentials credential: the cached one unless
/// it expired or is `stale` (just refused with 401), else a fresh one from the token URL.
async fn oauth_token(
    services: &Services,
    credential: &Credential,
    stale: Option<&str>,
    secrets: &mut Secrets,
) -> Result<String, NodeFailure> {
    let CredentialSecret::OAuth2ClientCredentials {
        token_url,
        client_id,
        client_secret,
        scope,
        audience,
    } = &credential.secret
    else {
        unreachable!("oauth_token is only called for OAuth2 credentials");
    };
    let key: [u8; 32] = {
        let mut hash = Sha256::new();
        for part in [
            token_url.as_str(),
            client_id,
            client_secret,
            scope.as_deref().unwrap_or(""),
            audience.as_deref().unwrap_or(""),
        ] {
            // Length-prefixed so the parts cannot run into each other.
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
    };
    let slot = services.oauth_tokens.slot(key);
    let mut cached = slot.lock().await;
    if let Some(token) = cached.as_ref()
        && token.expires_at > Instant::now()
        && Some(token.access_token.as_str()) != stale
    {
        secrets.add(token.access_token.clone());
        return Ok(token.access_token.clone());
    }
    let url = Url::parse(token_url).map_err(|e| {
        NodeFailure::permanent(format!(
            "credential `{}` has an invalid token URL: {e}",
            credential.id
        ))
    })?;
    let form = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = scope {
            form.append_pair("scope", scope);
        }
        if let Some(audience) = audience {
            form.append_pair("audience", audience);
        }
        form.finish()
    };
    let mut request = Request::new(Method::POST, url.clone());
    *request.body_mut() = Some(form.into());
    // RFC 6749 §2.3.1: the client id and secret are form-encoded before being joined for
    // HTTP basic authentication, the one client authentication servers must support.
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let authorization = basic(&encode(client_id), &encode(client_secret));
    secrets.add(authorization.trim_start_matches("Basic ").to_owned());
    let mut authorization = HeaderValue::from_str(&authorization).map_err(|_| {
        NodeFailure::permanent(format!(
            "credential `{}` holds a client secret that cannot be sent",
            credential.id
        ))
    })?;
    authorization.set_sensitive(true);
    let headers = request.headers_mut();
    headers.insert(AUTHORIZATION, authorization);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

    let response = services.http.execute(request).await.map_err(|e| {
        let failure = transport_failure(&e, secrets);
        NodeFailure {
            message: format!("fetching an OAuth2 token failed: {}", failure.message),
            ..failure
        }
    })?;
    let origin = origin_of(&url);
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    if !response.is_success() {
        // RFC 6749 §5.2 error responses name the problem in `error` and
        // `error_description`; anything else is quoted.
        let detail = match (body["error"].as_str(), body["error_description"].as_str()) {
            (Some(error), Some(description)) => format!("{error}: {description}"),
            (Some(error), None) => error.to_owned(),
            _ => quote_body(&response.body),
        };
        let message = secrets.redact(&format!(
            "the OAuth2 token endpoint {origin} answered {}: {detail}",
            response.status
        ));
        return Err(status_failure(response.status, message));
    }
    let Some(access_token) = body["access_token"].as_str().filter(|t| !t.is_empty()) else {
        return Err(NodeFailure::permanent(format!(
            "the OAuth2 token endpoint {origin} answered without an access_token"
        )));
    };
    secrets.add(access_token.to_owned());
    let lifetime = body["expires_in"]
        .as_u64()
        .or_else(|| body["expires_in"].as_str().and_then(|s| s.parse().ok()))
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
    let usable = lifetime.saturating_sub(EXPIRY_MARGIN.min(lifetime / 2));
    *cached = Some(CachedToken {
        access_token: access_token.to_owned(),
        expires_at: Instant::now() + usable,
    });
    Ok(access_token.to_owned())
}

/// A failure for an unsuccessful HTTP status: 408, 429 and 5xx may pass (the server is
/// busy, overloaded or restarting), other statuses will not change by asking again.
pub(crate) fn status_failure(status: u16, message: String) -> NodeFailure {
    let failure = if status == 408 || status == 429 || status >= 500 {
        NodeFailure::retryable(message)
    } else {
        NodeFailure::permanent(message)
    };
    failure.with_code(NodeErrorCode::HttpStatus)
}

/// A failure for a request that got no HTTP answer.
pub(crate) fn transport_failure(error: &OutboundError, secrets: &Secrets) -> NodeFailure {
    let message = secrets.redact(&error.to_string());
    let failure = match error {
        // The policy and the limits will say the same on the next attempt.
        OutboundError::Refused(_)
        | OutboundError::TooManyRedirects { .. }
        | OutboundError::Config(_) => {
            NodeFailure::permanent(message).with_code(NodeErrorCode::Refused)
        }
        OutboundError::TooLarge { .. } => {
            NodeFailure::permanent(message).with_code(NodeErrorCode::ResponseTooLarge)
        }
        OutboundError::Http(e) if e.is_builder() => NodeFailure::permanent(message),
        OutboundError::Timeout { .. } => {
            NodeFailure::retryable(message).with_code(NodeErrorCode::Timeout)
        }
        OutboundError::Http(_) => NodeFailure::retryable(message).with_code(NodeErrorCode::Network),
    };
    // The message flattens reqwest's chain into one line; the cause keeps it apart.
    let chain = match error {
        OutboundError::Http(e) => std::iter::once(e.to_string())
            .chain(source_chain(e))
            .collect(),
        other => source_chain(other),
    };
    NodeFailure {
        cause: chain.iter().map(|c| secrets.redact(c)).collect(),
        ..failure
    }
}

/// The start of a response body as text, for failure messages; callers redact it.
pub(crate) fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut quoted: String = text.chars().take(MAX_QUOTED_BODY_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_broken_servers_are_retried_and_refusals_are_not() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(status_failure(status, String::new()).retryable, "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!status_failure(status, String::new()).retryable, "{status}");
        }
    }

    #[test]
    fn quoted_bodies_are_trimmed_and_cut() {
        assert_eq!(quote_body(b"  oops \n"), "oops");
        assert_eq!(quote_body(b""), "(empty body)");
        let long = "x".repeat(2 * MAX_QUOTED_BODY_CHARS);
        let quoted = quote_body(long.as_bytes());
        assert_eq!(quoted.chars().count(), MAX_QUOTED_BODY_CHARS + 1);
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn secrets_are_redacted_from_text_and_json() {
        let mut secrets = Secrets::default();
        secrets.add_credential(&CredentialSecret::Bearer {
            token: "s3cret-token".into(),
        });
        secrets.add("access-123456");
        assert_eq!(
            secrets.redact("Bearer s3cret-token and access-123456"),
            "Bearer *** and ***"
        );
        assert_eq!(
            secrets.redact_value(&serde_json::json!({ "echo": "s3cret-token" })),
            serde_json::json!({ "echo": "***" })
        );
    }

    #[test]
    fn basic_authorization_is_base64_of_user_colon_password() {
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
