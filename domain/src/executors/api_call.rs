//! `api-call`: one REST or GraphQL request through the outbound guard.
//!
//! Also home of the HTTP plumbing the other calling executors share ([`HttpCall`],
//! [`perform`], [`Reply`], [`check_status`]): building a request, sending it with a
//! credential and an `Idempotency-Key`, and turning the answer into node output or a
//! failure that says whether retrying can help.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};
use url::Url;

use super::http_auth::{self, Credential, Secrets, quote_body, status_failure};
use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult, Services};
use crate::outbound::{OutboundResponse, origin_of};

/// The header receivers use to drop repeated deliveries of the same call.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The `api-call` executor.
pub struct ApiCall;

#[async_trait::async_trait]
impl Executor for ApiCall {
    fn node_type(&self) -> &'static str {
        "api-call"
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let config = ctx.node.config();
        let graphql = config.get("graphql").filter(|g| g.is_object());
        let url = input
            .get("url")
            .or_else(|| config.get("url"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                NodeFailure::permanent("no URL to call: set config.url or the `url` input")
            })?;
        let method = match graphql {
            Some(_) => Method::POST,
            None => config
                .get("method")
                .and_then(Value::as_str)
                .map_or(Ok(Method::GET), parse_method)?,
        };
        let mut call = HttpCall::new(method, parse_url(url, "url")?);
        if let Some(Value::Object(query)) = input.get("query") {
            call.append_query(query)?;
        }
        for source in [config.get("headers"), input.get("headers")] {
            if let Some(Value::Object(headers)) = source {
                call.set_headers(headers)?;
            }
        }
        call.idempotency_key(&ctx.idempotency_key())?;
        match graphql {
            Some(graphql) => {
                let mut payload = json!({ "query": graphql["query"] });
                if let Some(name) = graphql.get("operationName") {
                    payload["operationName"] = name.clone();
                }
                payload["variables"] = input.get("variables").cloned().unwrap_or(json!({}));
                call.json(payload);
                call.default_header(
                    ACCEPT,
                    "application/graphql-response+json, application/json;q=0.9",
                );
            }
            None => {
                let body = input.get("body").or_else(|| config.get("body"));
                call.body(body.cloned().unwrap_or(Value::Null));
            }
        }

        let credential = match config.get("credentialId").and_then(Value::as_str) {
            Some(id) => Some(Credential::load(ctx, id).await?),
            None => None,
        };
        let mut secrets = Secrets::default();
        let response = perform(ctx, call, credential.as_ref(), &mut secrets).await?;
        let reply = Reply::read(&response, &secrets);
        let expected: Option<Vec<u16>> = config.get("expectStatus").and_then(|list| {
            list.as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|s| s.as_u64().and_then(|s| u16::try_from(s).ok()))
                    .collect()
            })
        });
        if graphql.is_some() {
            check_graphql(&response, &reply, expected.as_deref())?;
        } else {
            check_status(&response, &reply, expected.as_deref())?;
        }
        Ok(NodeOutcome::main(reply.into_output()))
    }
}

/// One HTTP request as an executor wants it made, before credentials are applied.
pub(crate) struct HttpCall {
    request: Request,
    default_timeout: Option<Duration>,
}

impl HttpCall {
    pub(crate) fn new(method: Method, url: Url) -> Self {
        Self {
            request: Request::new(method, url),
            default_timeout: None,
        }
    }

    /// Replaces the outbound policy's timeout for calls known to be slow (a chat model
    /// writing a long answer); a node's own `timeoutMs` still wins.
    pub(crate) fn default_timeout(&mut self, timeout: Duration) {
        self.default_timeout = Some(timeout);
    }

    /// Appends query-string parameters; strings, numbers and booleans as written.
    pub(crate) fn append_query(&mut self, query: &Map<String, Value>) -> Result<(), NodeFailure> {
        let mut pairs = self.request.url_mut().query_pairs_mut();
        for (name, value) in query {
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(NodeFailure::permanent(format!(
                        "query parameter `{name}` must be a string, number or boolean, not {}",
                        crate::json_schema::json_type_name(other)
                    )));
                }
            };
            pairs.append_pair(name, &value);
        }
        drop(pairs);
        // `query_pairs_mut` leaves a bare `?` behind when nothing was appended.
        if self.request.url().query() == Some("") {
            self.request.url_mut().set_query(None);
        }
        Ok(())
    }

    /// Sets headers from a JSON object of strings, replacing same-named ones.
    pub(crate) fn set_headers(&mut self, headers: &Map<String, Value>) -> Result<(), NodeFailure> {
        for (name, value) in headers {
            let Some(value) = value.as_str() else {
                return Err(NodeFailure::permanent(format!(
                    "header `{name}` must be a string"
                )));
            };
            self.set_header(name, value)?;
        }
        Ok(())
    }

    pub(crate) fn set_header(&mut self, name: &str, value: &str) -> Result<(), NodeFailure> {
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            NodeFailure::permanent(format!("`{name}` is not a valid HTTP header name"))
        })?;
        let header_value = HeaderValue::from_str(value).map_err(|_| {
            NodeFailure::permanent(format!(
                "the value of header `{name}` contains characters HTTP headers cannot carry"
            ))
        })?;
        self.request.headers_mut().insert(header_name, header_value);
        Ok(())
    }

    /// Sets a header unless one of that name is already set.
    pub(crate) fn default_header(&mut self, name: HeaderName, value: &'static str) {
        self.request
            .headers_mut()
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }

    /// Sends `Idempotency-Key`, unless the workflow set its own: a receiver with its own
    /// key scheme knows best.
    pub(crate) fn idempotency_key(&mut self, key: &str) -> Result<(), NodeFailure> {
        if !self.request.headers().contains_key(IDEMPOTENCY_KEY) {
            self.set_header(IDEMPOTENCY_KEY, key)?;
        }
        Ok(())
    }

    /// Sends `value` as JSON.
    pub(crate) fn json(&mut self, value: Value) {
        let bytes = serde_json::to_vec(&value).expect("a JSON value always serializes");
        *self.request.body_mut() = Some(bytes.into());
        self.default_header(CONTENT_TYPE, "application/json");
    }

    /// Sends `value` as the body: nothing for `null`, a string as text, anything else as
    /// JSON.
    pub(crate) fn body(&mut self, value: Value) {
        match value {
            Value::Null => {}
            Value::String(text) => {
                *self.request.body_mut() = Some(text.into());
                self.default_header(CONTENT_TYPE, "text/plain; charset=utf-8");
            }
            other => self.json(other),
        }
    }

    pub(crate) fn method(&self) -> &Method {
        self.request.method()
    }
}

/// Parses an HTTP method name as the palette schemas spell them.
pub(crate) fn parse_method(method: &str) -> Result<Method, NodeFailure> {
    match method.to_ascii_uppercase().as_str() {
        "GET" => Ok(Method::GET),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "PATCH" => Ok(Method::PATCH),
        "DELETE" => Ok(Method::DELETE),
        "HEAD" => Ok(Method::HEAD),
        "OPTIONS" => Ok(Method::OPTIONS),
        _ => Err(NodeFailure::permanent(format!(
            "`{method}` is not a supported HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD \
             or OPTIONS"
        ))),
    }
}

/// Parses an absolute URL; `what` names where it came from for the message.
pub(crate) fn parse_url(url: &str, what: &str) -> Result<Url, NodeFailure> {
    Url::parse(url).map_err(|e| NodeFailure::permanent(format!("{what} is not a valid URL: {e}")))
}

/// Sends `call` with `credential` applied. Statuses are not judged here: see
/// [`check_status`].
///
/// A node with `timeoutMs` gets that as the request timeout: its author said how long the
/// call may take, and the policy's default (meant for ordinary API calls) must not cut it
/// shorter. The engine enforces the same bound around the whole node anyway.
pub(crate) async fn perform(
    ctx: &NodeContext<'_>,
    call: HttpCall,
    credential: Option<&Credential>,
    secrets: &mut Secrets,
) -> Result<OutboundResponse, NodeFailure> {
    let timeout = ctx.node.timeout_ms().map(Duration::from_millis);
    perform_in(ctx.services, timeout, call, credential, secrets).await
}

/// [`perform`] outside a node (`testTool`): `timeout` stands in for the node's `timeoutMs`.
pub(crate) async fn perform_in(
    services: &Services,
    timeout: Option<Duration>,
    call: HttpCall,
    credential: Option<&Credential>,
    secrets: &mut Secrets,
) -> Result<OutboundResponse, NodeFailure> {
    let HttpCall {
        mut request,
        default_timeout,
    } = call;
    if let Some(timeout) = timeout.or(default_timeout) {
        *request.timeout_mut() = Some(timeout);
    }
    http_auth::send(services, request, credential, secrets).await
}

/// A response as node output: `{status, headers, body}` with secrets redacted.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Map<String, Value>,
    pub(crate) body: Value,
}

impl Reply {
    /// Reads `response`: header names lower-cased (repeated headers joined with `, `), the
    /// body parsed when the content type is JSON and kept as text otherwise.
    pub(crate) fn read(response: &OutboundResponse, secrets: &Secrets) -> Self {
        let mut headers = Map::new();
        for (name, value) in &response.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                _ => {
                    headers.insert(name.as_str().to_owned(), Value::String(value));
                }
            }
        }
        let body = parse_body(response);
        Self {
            status: response.status,
            headers: secrets
                .redact_value(&Value::Object(headers))
                .as_object()
                .cloned()
                .unwrap_or_default(),
            body: secrets.redact_value(&body),
        }
    }

    pub(crate) fn into_output(self) -> Value {
        json!({ "status": self.status, "headers": self.headers, "body": self.body })
    }
}

/// Whether a `Content-Type` names JSON: `application/json` or any `+json` type.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

fn parse_body(response: &OutboundResponse) -> Value {
    let json_type = response
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json);
    if json_type {
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        // A server that labels a non-JSON body as JSON still gets its body through, as text.
        if let Ok(value) = serde_json::from_slice(&response.body) {
            return value;
        }
    }
    Value::String(String::from_utf8_lossy(&response.body).into_owned())
}

/// Fails unless the status counts as success: one of `expected` when given, else any 2xx.
pub(crate) fn check_status(
    response: &OutboundResponse,
    reply: &Reply,
    expected: Option<&[u16]>,
) -> Result<(), NodeFailure> {
    let ok = match expected {
        Some(list) => list.contains(&response.status),
        None => response.is_success(),
    };
    if ok {
        return Ok(());
    }
    let detail = match &reply.body {
        Value::String(text) => quote_body(text.as_bytes()),
        other => quote_body(other.to_string().as_bytes()),
    };
    let mut message = format!(
        "{} answered {}: {detail}",
        origin_of(&response.url),
        status_text(response.status)
    );
    if let Some(list) = expected.filter(|_| response.is_success()) {
        let list: Vec<String> = list.iter().map(u16::to_string).collect();
        message.push_str(&format!(" (expected status {})", list.join(", ")));
    }
    Err(status_failure(response.status, message))
}

/// `503 Service Unavailable`, or just the number for statuses without a reason phrase.
pub(crate) fn status_text(status: u16) -> String {
    match StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// A GraphQL call fails on a bad status like any call, and also when the answer carries
/// `errors`, which GraphQL servers often send with status 200.
fn check_graphql(
    response: &OutboundResponse,
    reply: &Reply,
    expected: Option<&[u16]>,
) -> Result<(), NodeFailure> {
    let errors = graphql_errors(&reply.body);
    if let Some(errors) = &errors {
        let status_ok = match expected {
            Some(list) => list.contains(&response.status),
            None => response.is_success(),
        };
        let message = format!(
            "{} answered with GraphQL errors: {errors}",
            origin_of(&response.url)
        );
        return Err(if status_ok {
            // The query itself was rejected; sending it again changes nothing.
            NodeFailure::permanent(message)
        } else {
            status_failure(
                response.status,
                format!("{message} (status {})", status_text(response.status)),
            )
        });
    }
    check_status(response, reply, expected)?;
    if !reply.body.is_object() {
        return Err(NodeFailure::permanent(format!(
            "{} did not answer with a GraphQL response (a JSON object with `data`)",
            origin_of(&response.url)
        )));
    }
    Ok(())
}

/// The messages of a GraphQL response's non-empty `errors`, with their paths.
fn graphql_errors(body: &Value) -> Option<String> {
    let errors = body.get("errors")?.as_array().filter(|e| !e.is_empty())?;
    let messages: Vec<String> = errors
        .iter()
        .map(|error| {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_owned);
            match error.get("path").and_then(Value::as_array) {
                Some(path) if !path.is_empty() => {
                    let path: Vec<String> = path
                        .iter()
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect();
                    format!("{message} (at {})", path.join("."))
                }
                _ => message,
            }
        })
        .collect();
    Some(messages.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised_with_parameters_and_suffixes() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/graphql-response+json"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonl"));
        assert!(!is_json(""));
    }

    #[test]
    fn graphql_errors_are_joined_with_their_paths() {
        let body = json!({ "errors": [
            { "message": "no such field", "path": ["user", 0, "name"] },
            { "message": "denied" }
        ] });
        assert_eq!(
            graphql_errors(&body).as_deref(),
            Some("no such field (at user.0.name); denied")
        );
        assert_eq!(graphql_errors(&json!({ "data": {}, "errors": [] })), None);
        assert_eq!(graphql_errors(&json!({ "data": {} })), None);
    }

    #[test]
    fn query_parameters_are_appended_encoded_and_keep_the_existing_ones() {
        let mut call = HttpCall::new(
            Method::GET,
            Url::parse("https://example.com/p?a=1").unwrap(),
        );
        let query = json!({ "q": "a b&c", "n": 2, "f": false });
        call.append_query(query.as_object().unwrap()).unwrap();
        assert_eq!(
            call.request.url().as_str(),
            "https://example.com/p?a=1&q=a+b%26c&n=2&f=false"
        );
        let mut empty = HttpCall::new(Method::GET, Url::parse("https://example.com/").unwrap());
        empty.append_query(&Map::new()).unwrap();
        assert_eq!(empty.request.url().as_str(), "https://example.com/");
    }

    #[test]
    fn header_injection_is_refused() {
        let mut call = HttpCall::new(Method::GET, Url::parse("https://example.com/").unwrap());
        assert!(call.set_header("X-A", "ok").is_ok());
        assert!(call.set_header("X-A", "bad\r\nX-B: 1").is_err());
        assert!(call.set_header("X A", "v").is_err());
    }

    #[test]
    fn methods_parse_case_insensitively_and_unknown_ones_fail() {
        assert_eq!(parse_method("patch").unwrap(), Method::PATCH);
        assert!(!parse_method("TRACE").unwrap_err().retryable);
    }

    #[test]
    fn status_text_names_the_reason() {
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(599), "599");
    }
}
