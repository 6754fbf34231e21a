//! Who may do what to a workflow. Objects belong to their owner; `workflow_shares`
//! grants viewer < runner < editor; administrators see everything.
//!
//! A caller who may not even see a workflow gets `NotFound`, so ids cannot be probed;
//! one who may see it but not change it gets `Forbidden`.

use entity::{workflow_shares, workflows};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::Principal;
use crate::error::{DomainError, DomainResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorkflowRole {
    Viewer,
    Runner,
    Editor,
    Owner,
}

impl WorkflowRole {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowRole::Viewer => "viewer",
            WorkflowRole::Runner => "runner",
            WorkflowRole::Editor => "editor",
            WorkflowRole::Owner => "owner",
        }
    }

    /// Roles that can be granted through a share (ownership cannot).
    pub fn parse_share(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(WorkflowRole::Viewer),
            "runner" => Some(WorkflowRole::Runner),
            "editor" => Some(WorkflowRole::Editor),
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            WorkflowRole::Viewer => "view",
            WorkflowRole::Runner => "run",
            WorkflowRole::Editor => "edit",
            WorkflowRole::Owner => "manage",
        }
    }
}

/// The caller's role on `workflow`, or `None` when it is invisible to them.
pub async fn workflow_role(
    db: &impl ConnectionTrait,
    principal: &Principal,
    workflow: &workflows::Model,
) -> DomainResult<Option<WorkflowRole>> {
    if workflow.owner_id == principal.user_id || principal.is_admin() {
        return Ok(Some(WorkflowRole::Owner));
    }
    let share = workflow_shares::Entity::find()
        .filter(workflow_shares::Column::WorkflowId.eq(&workflow.id))
        .filter(workflow_shares::Column::UserId.eq(&principal.user_id))
        .one(db)
        .await?;
    Ok(share.and_then(|s| WorkflowRole::parse_share(&s.role)))
}

/// Loads a workflow and checks the caller holds at least `needed` on it.
pub async fn require_workflow(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
    needed: WorkflowRole,
) -> DomainResult<(workflows::Model, WorkflowRole)> {
    let workflow = workflows::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::not_found("workflow", id))?;
    match workflow_role(db, principal, &workflow).await? {
        None => Err(DomainError::not_found("workflow", id)),
        Some(role) if role < needed => Err(DomainError::Forbidden(format!(
            "your role on workflow {id} is {}; you need {} to {} it",
            role.as_str(),
            needed.as_str(),
            needed.verb()
        ))),
        Some(role) => Ok((workflow, role)),
    }
}

/// Owner-only objects (tools, templates, credentials): visible to their owner and admins.
pub fn owns(principal: &Principal, owner_id: &str) -> bool {
    principal.is_admin() || principal.user_id == owner_id
}
