//! Incoming webhook triggers: their URLs on `Workflow.webhookTriggers`, and rotation.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use domain::hooks::Respond;
use domain::store::hook_triggers::{self as store, HookTrigger};
use entity::workflows;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, decode};

/// When the caller of a webhook URL gets its answer.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookRespondMode {
    /// `202 {executionId}` as soon as the execution is stored.
    Immediately,
    /// The workflow's output (200), its error (500), or 202 with the execution id when it
    /// outlasts the trigger's timeout.
    WhenDone,
}

/// A trigger node of kind `webhook` and the URL that starts its workflow.
pub struct WebhookTrigger(pub HookTrigger);

#[Object]
impl WebhookTrigger {
    /// The trigger node's id in the workflow document.
    async fn node_id(&self) -> &str {
        &self.0.node_id
    }
    /// `/hooks/<token>`, relative to the server's base URL. Whoever has it can start the
    /// workflow, so only owners and editors see it (null for everyone else).
    async fn path(&self) -> Option<String> {
        self.0.token.as_deref().map(store::path)
    }
    /// HTTP methods the URL accepts.
    async fn methods(&self) -> &[String] {
        &self.0.config.methods
    }
    async fn respond(&self) -> WebhookRespondMode {
        match self.0.config.respond {
            Respond::Immediately => WebhookRespondMode::Immediately,
            Respond::WhenDone => WebhookRespondMode::WhenDone,
        }
    }
    /// How long a `WHEN_DONE` caller waits for the output.
    async fn timeout_ms(&self) -> i32 {
        i32::try_from(self.0.config.timeout.as_millis()).unwrap_or(i32::MAX)
    }
    /// Larger bodies get 413.
    async fn max_body_bytes(&self) -> i32 {
        i32::try_from(self.0.config.max_body_bytes).unwrap_or(i32::MAX)
    }
    /// Whether requests must carry a valid Standard Webhooks signature.
    async fn signed(&self) -> bool {
        self.0.config.secret_credential_id.is_some()
    }
    /// When the token was last replaced; null if never.
    async fn rotated_at(&self) -> Option<DateTime<Utc>> {
        self.0.rotated_at
    }
}

/// `Workflow.webhookTriggers`.
pub async fn of_workflow(
    ctx: &Context<'_>,
    workflow: &workflows::Model,
) -> ApiResult<Vec<WebhookTrigger>> {
    let principal = principal(ctx)?;
    Ok(store::list(db(ctx), principal, workflow)
        .await?
        .into_iter()
        .map(WebhookTrigger)
        .collect())
}

#[derive(InputObject)]
pub struct RotateWebhookTriggerTokenInput {
    pub workflow_id: ID,
    /// The webhook trigger node whose URL changes.
    pub node_id: String,
}

#[derive(Default)]
pub struct HookTriggerMutation;

#[Object]
impl HookTriggerMutation {
    /// Gives a webhook trigger a new URL; the old one answers 404 from now on. Needs editor
    /// rights on the workflow.
    async fn rotate_webhook_trigger_token(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookTriggerTokenInput,
    ) -> ApiResult<WebhookTrigger> {
        let principal = principal(ctx)?;
        let id = decode("input.workflowId", Kind::Workflow, &input.workflow_id)?;
        Ok(WebhookTrigger(
            store::rotate(db(ctx), principal, &id, &input.node_id).await?,
        ))
    }
}
