//! `webhook`: sends the node's `payload` through a registered outgoing webhook
//! (`config.webhookId`), with the webhook's own templates, auth, signing, retries and
//! validation. The same delivery serves `webhook` tools.
//!
//! The webhook retries within the node, so a failed delivery fails the node permanently:
//! node-level retries on top would multiply the attempts the webhook already spent. The
//! output lists every attempt with its status and the wait before it.

use serde_json::{Map, Value};

use tokio_util::sync::CancellationToken;

use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult, Services};
use crate::auth::Principal;
use crate::error::DomainError;
use crate::store;
use crate::webhooks::send::DeliveryContext;
use crate::webhooks::{RateLimits, deliver};

/// The `webhook` executor.
pub struct WebhookNode;

#[async_trait::async_trait]
impl Executor for WebhookNode {
    fn node_type(&self) -> &'static str {
        "webhook"
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let webhook_id = ctx
            .node
            .config()
            .get("webhookId")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeFailure::permanent("config.webhookId is missing"))?;
        let payload = input.get("payload").cloned().unwrap_or(Value::Null);
        let output = send(
            ctx.services,
            ctx.owner,
            ctx.cancel.clone(),
            webhook_id,
            &payload,
            &ctx.idempotency_key(),
        )
        .await?;
        Ok(NodeOutcome::main(output))
    }
}

/// Delivers `payload` through webhook `webhook_id` as the workflow's owner; the output is
/// `{status, headers, body, attempts}`.
pub(crate) async fn send(
    services: &Services,
    owner: &Principal,
    cancel: CancellationToken,
    webhook_id: &str,
    payload: &Value,
    idempotency_key: &str,
) -> Result<Value, NodeFailure> {
    let webhook = store::webhooks::get(&services.db, owner, webhook_id)
        .await
        .map_err(|e| match e {
            DomainError::NotFound { .. } => NodeFailure::permanent(format!(
                "webhook `{webhook_id}` does not exist or does not belong to the workflow's owner"
            )),
            DomainError::Storage(e) => {
                NodeFailure::retryable(format!("reading webhook `{webhook_id}` failed: {e}"))
            }
            other => NodeFailure::permanent(other.to_string()),
        })?;
    let limits = RateLimits::shared();
    let delivery_ctx =
        DeliveryContext::new(services, owner, idempotency_key.to_owned(), cancel, &limits);
    let delivery = deliver(&delivery_ctx, &webhook, payload).await;
    match delivery.failure_message() {
        None => Ok(delivery.output()),
        Some(message) => Err(NodeFailure::permanent(format!(
            "webhook `{}`: {message}",
            webhook.name
        ))),
    }
}
