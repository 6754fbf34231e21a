//! The URL tokens of incoming webhook triggers: one per (workflow, webhook trigger node).
//!
//! A token is created when a workflow with a webhook trigger is saved (and, for workflows
//! saved before this existed, when an editor first reads it), survives later edits, and
//! changes only when rotated. Tokens are kept in plain text so owners and editors can copy
//! the URL at any time, as n8n and Windmill users expect; requests are looked up by the
//! token's SHA-256 (a unique index), so the database never compares a presented token
//! with a stored one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::{users, webhook_triggers, workflows};
use rand::RngCore;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use crate::access::{WorkflowRole, require_workflow, workflow_role};
use crate::auth::{Principal, Role};
use crate::error::{DomainError, DomainResult};
use crate::hooks::{HookConfig, webhook_triggers};
use crate::ids::new_id;

/// Random bytes per token: 256 bits, far beyond guessing.
const TOKEN_BYTES: usize = 32;
/// Longest token [`resolve`] hashes; anything longer is not one of ours.
const MAX_TOKEN_LEN: usize = 128;

/// A webhook trigger of a workflow as its readers see it.
#[derive(Debug, Clone)]
pub struct HookTrigger {
    pub node_id: String,
    pub config: HookConfig,
    /// The URL token; only for callers who may edit the workflow.
    pub token: Option<String>,
    pub rotated_at: Option<DateTime<Utc>>,
}

/// The workflow and trigger an incoming request's token addresses.
#[derive(Debug, Clone)]
pub struct ResolvedHook {
    pub workflow: workflows::Model,
    /// Executions started through the URL run as the workflow's owner.
    pub owner: Principal,
    pub node_id: String,
    pub config: HookConfig,
}

/// The URL path a token is served at.
pub fn path(token: &str) -> String {
    format!("/hooks/{token}")
}

fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn looks_like_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Gives every webhook trigger of `workflow` a token unless it has one. Run inside the
/// transaction that saves the workflow, so a saved webhook trigger always has a URL.
pub async fn sync(db: &impl ConnectionTrait, workflow: &workflows::Model) -> DomainResult<()> {
    let triggers = webhook_triggers(&workflow.document);
    if triggers.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = triggers.into_iter().map(|(node_id, _)| {
        let token = generate_token();
        webhook_triggers::ActiveModel {
            id: Set(new_id()),
            workflow_id: Set(workflow.id.clone()),
            node_id: Set(node_id),
            token_hash: Set(hash(&token)),
            token: Set(token),
            created_at: Set(now),
            rotated_at: Set(None),
        }
    });
    // Existing tokens win: an edit must not change a URL someone already configured.
    let result = webhook_triggers::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                webhook_triggers::Column::WorkflowId,
                webhook_triggers::Column::NodeId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match result {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The webhook triggers of `workflow` in document order. Tokens are included only for
/// callers who may edit it; the caller must at least see it.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    workflow: &workflows::Model,
) -> DomainResult<Vec<HookTrigger>> {
    // Most workflows have no webhook trigger: answer those without touching the database.
    let triggers = webhook_triggers(&workflow.document);
    if triggers.is_empty() {
        return Ok(Vec::new());
    }
    let role = workflow_role(db, principal, workflow)
        .await?
        .ok_or_else(|| DomainError::not_found("workflow", &workflow.id))?;
    let rows = if role >= WorkflowRole::Editor {
        let find = webhook_triggers::Entity::find()
            .filter(webhook_triggers::Column::WorkflowId.eq(&workflow.id));
        let rows = find.clone().all(db).await?;
        // Only workflows saved before tokens existed lack one; give them theirs now.
        if triggers
            .iter()
            .all(|(id, _)| rows.iter().any(|r| r.node_id == *id))
        {
            rows
        } else {
            sync(db, workflow).await?;
            find.all(db).await?
        }
    } else {
        Vec::new()
    };
    Ok(triggers
        .into_iter()
        .map(|(node_id, config)| {
            let row = rows.iter().find(|r| r.node_id == node_id);
            HookTrigger {
                token: row.map(|r| r.token.clone()),
                rotated_at: row.and_then(|r| r.rotated_at),
                node_id,
                config,
            }
        })
        .collect())
}

/// Replaces the token of one webhook trigger; the old URL stops working at once.
/// Needs editor rights.
#[tracing::instrument(skip_all, fields(workflow_id, node_id))]
pub async fn rotate(
    db: &impl ConnectionTrait,
    principal: &Principal,
    workflow_id: &str,
    node_id: &str,
) -> DomainResult<HookTrigger> {
    let (workflow, _) = require_workflow(db, principal, workflow_id, WorkflowRole::Editor).await?;
    let Some((node_id, config)) = webhook_triggers(&workflow.document)
        .into_iter()
        .find(|(id, _)| id == node_id)
    else {
        return Err(DomainError::bad_input(
            "input.nodeId",
            format!("workflow {workflow_id} has no webhook trigger node `{node_id}`"),
        ));
    };
    sync(db, &workflow).await?;
    let token = generate_token();
    let now = Utc::now();
    webhook_triggers::Entity::update_many()
        .col_expr(webhook_triggers::Column::TokenHash, hash(&token).into())
        .col_expr(webhook_triggers::Column::Token, token.clone().into())
        .col_expr(webhook_triggers::Column::RotatedAt, Some(now).into())
        .filter(webhook_triggers::Column::WorkflowId.eq(workflow_id))
        .filter(webhook_triggers::Column::NodeId.eq(&node_id))
        .exec(db)
        .await?;
    Ok(HookTrigger {
        node_id,
        config,
        token: Some(token),
        rotated_at: Some(now),
    })
}

/// The trigger a presented token addresses, with the workflow's current settings; `None`
/// for an unknown token and for one whose node is no longer a webhook trigger.
pub async fn resolve(db: &impl ConnectionTrait, token: &str) -> DomainResult<Option<ResolvedHook>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let Some((row, Some(workflow))) = webhook_triggers::Entity::find()
        .filter(webhook_triggers::Column::TokenHash.eq(hash(token)))
        .find_also_related(workflows::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some((_, config)) = webhook_triggers(&workflow.document)
        .into_iter()
        .find(|(id, _)| *id == row.node_id)
    else {
        return Ok(None);
    };
    let owner = users::Entity::find_by_id(workflow.owner_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::Internal(format!("workflow {} has no owner", workflow.id)))?;
    Ok(Some(ResolvedHook {
        owner: Principal {
            user_id: owner.id,
            role: Role::parse(&owner.role).unwrap_or(Role::User),
        },
        workflow,
        node_id: row.node_id,
        config,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_distinct_and_recognised() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(looks_like_token(&a));
        assert!(!looks_like_token("../etc/passwd"));
        assert!(!looks_like_token(""));
        assert!(!looks_like_token(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }
}
