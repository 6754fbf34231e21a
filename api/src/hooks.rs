//! Incoming webhook triggers: `POST /hooks/{token}` (and the other methods a trigger
//! allows) starts the workflow as its owner with `{ method, headers, query, body }` as the
//! trigger's output.
//!
//! Every check that can refuse a request (token, method, size, signature, capacity, body
//! format, input schema) runs before anything is stored, so a refused request leaves no
//! execution behind.

mod completion;
mod replay;
mod reply;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use domain::DomainError;
use domain::engine::Engine;
use domain::hooks::{IncomingRequest, Respond, signing_key};
use domain::store::hook_triggers::{self, ResolvedHook};
use domain::vault::{CredentialSecret, Vault};
use futures::StreamExt;
use sea_orm::DatabaseConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::AppState;
use replay::{Claim, SeenIds};
use reply::Reply;

/// Webhook-started executions that may be in flight at once in this process (running, or
/// having their body read); beyond it callers get 503 with `Retry-After`.
pub const MAX_IN_FLIGHT: usize = 64;
/// How long a respond-immediately execution may hold its slot; a run that outlives it (a
/// stuck process, not a workflow: node timeouts end runs long before) frees the slot.
const SLOT_HOLD_LIMIT: Duration = Duration::from_secs(60 * 60);
/// What a 503 asks the caller to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// What the webhook endpoint needs; cheap to clone.
#[derive(Clone)]
pub struct Hooks {
    db: DatabaseConnection,
    engine: Engine,
    vault: Vault,
    in_flight: Arc<Semaphore>,
    seen: Arc<SeenIds>,
}

impl Hooks {
    pub fn new(db: DatabaseConnection, engine: Engine, vault: Vault) -> Self {
        Self {
            db,
            engine,
            vault,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            seen: Arc::default(),
        }
    }
}

/// The route handler; the token stays out of logs and spans.
pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    match state.hooks.handle(&token, request).await {
        Ok(reply) | Err(reply) => reply.into_response(),
    }
}

impl Hooks {
    async fn handle(&self, token: &str, request: Request) -> Result<Reply, Reply> {
        let hook = hook_triggers::resolve(&self.db, token)
            .await
            .map_err(|e| Reply::internal("looking up a webhook trigger", &e))?
            .ok_or_else(Reply::not_found)?;
        let config = &hook.config;
        if !config.allows(request.method().as_str()) {
            return Err(Reply::method_not_allowed(&config.methods));
        }
        if declared_length(request.headers()).is_some_and(|n| n > config.max_body_bytes) {
            return Err(Reply::too_large(config.max_body_bytes));
        }
        let permit = self
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| Reply::saturated(RETRY_AFTER_SECS))?;
        let (parts, body) = request.into_parts();
        let body = read_limited(body, config.max_body_bytes).await?;
        let signed_id = self.check_signature(&hook, &parts.headers, &body).await?;
        let headers: Vec<(&str, &[u8])> = parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        let input = IncomingRequest {
            method: parts.method.as_str(),
            headers,
            query: parts.uri.query(),
            body: &body,
        }
        .to_execution_input()
        .map_err(|e| Reply::bad_body(&e))?;
        // Only a verified id is worth remembering: an unsigned one is the caller's word.
        let replay_key = signed_id.map(|id| format!("{}:{}:{id}", hook.workflow.id, hook.node_id));
        if let Some(key) = &replay_key
            && let Claim::Duplicate(first) = self.seen.claim(key.clone())
        {
            return Ok(Reply::duplicate(first.as_deref()));
        }
        let started = self.start(&hook, input, permit).await;
        if let Some(key) = &replay_key {
            match &started {
                Ok((_, execution_id)) => self.seen.started(key, execution_id),
                Err(_) => self.seen.abandon(key),
            }
        }
        started.map(|(reply, _)| reply)
    }

    async fn check_signature(
        &self,
        hook: &ResolvedHook,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Option<String>, Reply> {
        let Some(credential_id) = &hook.config.secret_credential_id else {
            return Ok(None);
        };
        let secret = match self
            .vault
            .resolve(&self.db, &hook.owner, credential_id)
            .await
        {
            Ok(CredentialSecret::Generic(fields)) => fields.get("secret").cloned(),
            Ok(_) => None,
            Err(DomainError::NotFound { .. }) => None,
            Err(e) => return Err(Reply::internal("reading a webhook signing secret", &e)),
        };
        // Fail closed: a trigger whose secret is gone accepts nothing rather than everything.
        let secret = secret.ok_or_else(Reply::secret_unavailable)?;
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        domain::hooks::verify(
            &signing_key(&secret),
            text("webhook-id"),
            text("webhook-timestamp"),
            text("webhook-signature"),
            body,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|e| Reply::unauthorized(&e))?;
        Ok(text("webhook-id").map(str::to_owned))
    }

    /// Starts the execution and answers per the trigger's mode; the reply comes with the
    /// execution's id once one exists.
    async fn start(
        &self,
        hook: &ResolvedHook,
        input: serde_json::Value,
        permit: OwnedSemaphorePermit,
    ) -> Result<(Reply, String), Reply> {
        // Subscribed before the start, so the completion cannot slip past unseen.
        let events = self.engine.events().subscribe();
        let execution = self
            .engine
            .execute_workflow(&hook.owner, &hook.workflow, input, "webhook", false)
            .await
            .map_err(|e| match e {
                DomainError::BadInput(problems) => Reply::bad_input(&problems),
                other => Reply::internal("starting a webhook execution", &other),
            })?;
        let wait = match hook.config.respond {
            Respond::Immediately => Duration::ZERO,
            Respond::WhenDone => hook.config.timeout,
        };
        let mut waiter = completion::Waiter::new(self.db.clone(), events, execution.id.clone());
        let finished = if wait.is_zero() {
            None
        } else {
            waiter
                .finished_within(wait)
                .await
                .map_err(|e| Reply::internal("waiting for a webhook execution", &e))?
        };
        let reply = match finished {
            Some(row) => Reply::finished(&row),
            None => {
                // The slot stays taken until the run ends, so the bound covers running
                // executions, not just requests.
                tokio::spawn(async move {
                    let _ = waiter.finished_within(SLOT_HOLD_LIMIT).await;
                    drop(permit);
                });
                Reply::accepted(&execution.id, hook.config.respond, wait)
            }
        };
        Ok((reply, execution.id))
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the body, refusing it as soon as it grows past `limit` (a missing or lying
/// `Content-Length` changes nothing).
async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, Reply> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Reply::unreadable_body())?;
        if bytes.len() + chunk.len() > limit {
            return Err(Reply::too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
