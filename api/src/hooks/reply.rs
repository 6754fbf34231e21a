//! Every answer the webhook endpoint gives: a status and a small JSON body that says what
//! happened, never why a token was not found or what a secret is.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::FieldProblem;
use domain::hooks::{BodyError, Respond, SignatureError};
use entity::workflow_executions;
use serde_json::{Value, json};

use crate::graphql::ids::{Kind, encode};

/// Carries the execution's global ID (as `execution(id:)` takes it) on every reply that
/// started one.
const EXECUTION_ID_HEADER: HeaderName = HeaderName::from_static("weft-execution-id");

pub struct Reply {
    status: StatusCode,
    body: Value,
    headers: Vec<(HeaderName, HeaderValue)>,
}

fn global_id(execution_id: &str) -> String {
    encode(Kind::Execution, execution_id).0
}

impl Reply {
    fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, json!({ "error": message.into() }))
    }

    fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    fn for_execution(self, execution_id: &str) -> Self {
        self.with_header(EXECUTION_ID_HEADER, &global_id(execution_id))
    }

    pub fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "no webhook trigger at this URL")
    }

    pub fn method_not_allowed(methods: &[String]) -> Self {
        let allowed = methods.join(", ");
        Self::error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("this webhook trigger accepts {allowed}"),
        )
        .with_header(header::ALLOW, &allowed)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than this trigger's limit of {limit} bytes"),
        )
    }

    pub fn saturated(retry_after_secs: u64) -> Self {
        Self::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many webhook executions are in flight; retry later",
        )
        .with_header(header::RETRY_AFTER, &retry_after_secs.to_string())
    }

    pub fn unreadable_body() -> Self {
        Self::error(StatusCode::BAD_REQUEST, "the body could not be read")
    }

    pub fn unauthorized(problem: &SignatureError) -> Self {
        Self::error(
            StatusCode::UNAUTHORIZED,
            format!("signature not accepted: {problem}"),
        )
    }

    pub fn secret_unavailable() -> Self {
        tracing::warn!(
            "a webhook trigger names a signing secret that is missing or not `generic` with a `secret` field"
        );
        Self::error(
            StatusCode::UNAUTHORIZED,
            "signature not accepted: the trigger's signing secret is not available",
        )
    }

    pub fn bad_body(problem: &BodyError) -> Self {
        let status = match problem {
            BodyError::InvalidJson(_) => StatusCode::BAD_REQUEST,
            BodyError::NotText => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        };
        Self::error(status, problem.to_string())
    }

    /// The execution input did not match the trigger's `inputSchema`.
    pub fn bad_input(problems: &[FieldProblem]) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({
                "error": "the request does not match the trigger's input schema",
                "problems": problems,
            }),
        )
    }

    /// The client sees that something broke; the log sees what.
    pub fn internal(doing: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{doing}");
        Self::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// 202: the execution runs on. `waited` is zero in respond-immediately mode.
    pub fn accepted(execution_id: &str, respond: Respond, waited: Duration) -> Self {
        let mut body = json!({ "executionId": global_id(execution_id), "status": "running" });
        if respond == Respond::WhenDone {
            body["note"] = json!(format!(
                "the workflow did not finish within {} ms; it keeps running - query \
                 execution(id:) with this executionId for its result",
                waited.as_millis()
            ));
        }
        Self::new(StatusCode::ACCEPTED, body).for_execution(execution_id)
    }

    /// A signed request whose `webhook-id` already started an execution (`first`), or is
    /// starting one right now (`None`). Senders retry with the same id, so the first case
    /// is a success that starts nothing new.
    pub fn duplicate(first: Option<&str>) -> Self {
        match first {
            Some(execution_id) => Self::new(
                StatusCode::ACCEPTED,
                json!({
                    "executionId": global_id(execution_id),
                    "status": "duplicate",
                    "note": "this webhook-id already started this execution; nothing new was started",
                }),
            )
            .for_execution(execution_id),
            None => Self::error(
                StatusCode::CONFLICT,
                "a request with this webhook-id is being started right now",
            )
            .with_header(header::RETRY_AFTER, "1"),
        }
    }

    /// A finished execution in respond-when-done mode: its output on success, 500 with
    /// the error otherwise.
    pub fn finished(execution: &workflow_executions::Model) -> Self {
        let reply = if execution.status == "succeeded" {
            Self::new(
                StatusCode::OK,
                execution.output.clone().unwrap_or(Value::Null),
            )
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({
                    "executionId": global_id(&execution.id),
                    "status": execution.status,
                    "error": execution.error,
                }),
            )
        };
        reply.for_execution(&execution.id)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}
