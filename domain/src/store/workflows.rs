//! Workflows, their immutable versions and their shares.

use chrono::Utc;
use entity::{workflow_shares, workflow_versions, workflows};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, QueryTrait, TransactionTrait,
};
use serde_json::Value;

use super::{MAX_DESCRIPTION_LEN, check_text, contains_literally, keyset, tools};
use crate::access::{WorkflowRole, require_workflow};
use crate::auth::{Principal, check_name, find_user_by_email};
use crate::error::{DomainError, DomainResult, FieldProblem, Problems};
use crate::ids::new_id;
use crate::page::{Page, PageRequest};
use crate::workflow::{WorkflowDocument, referenced_tool_ids};

#[derive(Debug, Clone)]
pub struct WorkflowDraft {
    pub name: String,
    pub description: String,
    pub document: Value,
}

#[derive(Debug, Clone, Default)]
pub struct WorkflowPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub document: Option<Value>,
    /// Optimistic concurrency: when set, the update fails with `Conflict` unless the
    /// stored version still equals it, so two editors cannot silently overwrite each other.
    pub expected_version: Option<i32>,
}

/// Parses a workflow document against the caller's tools. Problems carry paths under
/// `base_path` (for example `input.document`).
pub async fn check_document(
    db: &impl ConnectionTrait,
    principal: &Principal,
    raw: &Value,
    base_path: &str,
) -> DomainResult<WorkflowDocument> {
    let tool_ids = referenced_tool_ids(raw);
    let signatures = tools::signatures(db, principal, &tool_ids).await?;
    let to_problems = |errors: Vec<crate::workflow::DocumentError>| {
        DomainError::BadInput(
            errors
                .into_iter()
                .map(|e| {
                    let path = if e.path.is_empty() {
                        base_path.to_owned()
                    } else {
                        format!("{base_path}.{}", e.path)
                    };
                    FieldProblem::new(path, e.message)
                })
                .collect(),
        )
    };
    let document = WorkflowDocument::parse(raw, &signatures).map_err(to_problems)?;
    // Mappings are type-checked before anything runs: a `ref` that cannot fit its input
    // is a save-time error, not a run-time surprise.
    let mut mapping_errors = crate::mapping::typecheck::check_mappings(&document);
    // A schedule that can never fire is a save-time error, not a silent no-op.
    for (i, node) in document.nodes().iter().enumerate() {
        if node.node_type() == crate::node_types::TRIGGER
            && node.config()["kind"] == "schedule"
            && let Some(expr) = node.config()["cron"].as_str()
            && let Err(message) = crate::schedule::parse_cron(expr)
        {
            mapping_errors.push(crate::workflow::DocumentError {
                path: format!("nodes[{i}].config.cron"),
                code: crate::workflow::DocumentErrorCode::InvalidConfig,
                message,
            });
        }
    }
    mapping_errors.extend(tools::check_pinned_versions(db, &document).await?);
    mapping_errors.extend(super::references::check(db, principal, &document).await?);
    if !mapping_errors.is_empty() {
        return Err(to_problems(mapping_errors));
    }
    Ok(document)
}

fn check_labels(problems: &mut Problems, name: &str, description: &str) {
    check_name(problems, "input.name", name);
    check_text(
        problems,
        "input.description",
        description,
        MAX_DESCRIPTION_LEN,
    );
}

/// Validates every field, then collects document problems too, so one call reports all.
async fn check_draft(
    db: &impl ConnectionTrait,
    principal: &Principal,
    name: &str,
    description: &str,
    document: Option<&Value>,
) -> DomainResult<Option<WorkflowDocument>> {
    let mut problems = Problems::default();
    check_labels(&mut problems, name, description);
    let parsed = match document {
        None => None,
        Some(raw) => match check_document(db, principal, raw, "input.document").await {
            Ok(doc) => Some(doc),
            Err(DomainError::BadInput(found)) => {
                problems.extend(found);
                None
            }
            Err(other) => return Err(other),
        },
    };
    problems.into_result()?;
    Ok(parsed)
}

fn version_row(workflow: &workflows::Model, created_by: &str) -> workflow_versions::ActiveModel {
    workflow_versions::ActiveModel {
        id: Set(new_id()),
        workflow_id: Set(workflow.id.clone()),
        version: Set(workflow.version),
        document: Set(workflow.document.clone()),
        created_by: Set(created_by.to_owned()),
        created_at: Set(workflow.updated_at),
    }
}

#[tracing::instrument(skip_all, fields(name = %draft.name))]
pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    draft: WorkflowDraft,
) -> DomainResult<workflows::Model> {
    let document = check_draft(
        db,
        principal,
        &draft.name,
        &draft.description,
        Some(&draft.document),
    )
    .await?
    .expect("a document was given");
    let now = Utc::now();
    let txn = db.begin().await?;
    let workflow = workflows::ActiveModel {
        id: Set(new_id()),
        owner_id: Set(principal.user_id.clone()),
        name: Set(draft.name.trim().to_owned()),
        description: Set(draft.description),
        // Stored normalised, so export returns exactly what the engine will run.
        document: Set(document.to_value()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    version_row(&workflow, &principal.user_id)
        .insert(&txn)
        .await?;
    super::hook_triggers::sync(&txn, &workflow).await?;
    txn.commit().await?;
    Ok(workflow)
}

pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<(workflows::Model, WorkflowRole)> {
    require_workflow(db, principal, id, WorkflowRole::Viewer).await
}

#[tracing::instrument(skip_all, fields(id))]
pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    id: &str,
    patch: WorkflowPatch,
) -> DomainResult<workflows::Model> {
    let (current, _) = require_workflow(db, principal, id, WorkflowRole::Editor).await?;
    let name = patch.name.unwrap_or(current.name.clone());
    let description = patch.description.unwrap_or(current.description.clone());
    let document = check_draft(db, principal, &name, &description, patch.document.as_ref()).await?;
    if let Some(expected) = patch.expected_version
        && expected != current.version
    {
        return Err(DomainError::Conflict(format!(
            "workflow {id} is at version {}, not {expected}; reload it and apply your change again",
            current.version
        )));
    }
    let txn = db.begin().await?;
    let next_version = current.version + 1;
    let mut active: workflows::ActiveModel = current.clone().into();
    active.name = Set(name.trim().to_owned());
    active.description = Set(description);
    if let Some(doc) = document {
        active.document = Set(doc.to_value());
    }
    active.version = Set(next_version);
    active.updated_at = Set(Utc::now());
    // The version guard in the WHERE clause closes the race between two concurrent saves.
    let result = workflows::Entity::update_many()
        .set(active)
        .filter(workflows::Column::Id.eq(id))
        .filter(workflows::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(DomainError::Conflict(format!(
            "workflow {id} was changed by someone else; reload it and apply your change again"
        )));
    }
    let workflow = workflows::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or_else(|| DomainError::not_found("workflow", id))?;
    version_row(&workflow, &principal.user_id)
        .insert(&txn)
        .await?;
    super::hook_triggers::sync(&txn, &workflow).await?;
    txn.commit().await?;
    Ok(workflow)
}

#[tracing::instrument(skip_all, fields(id))]
pub async fn delete(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<()> {
    require_workflow(db, principal, id, WorkflowRole::Owner).await?;
    workflows::Entity::delete_by_id(id.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Condition matching the workflows a caller may see: owned or shared with them.
pub fn visible_condition(principal: &Principal) -> Option<Condition> {
    if principal.is_admin() {
        return None;
    }
    let shared = workflow_shares::Entity::find()
        .select_only()
        .column(workflow_shares::Column::WorkflowId)
        .filter(workflow_shares::Column::UserId.eq(&principal.user_id))
        .into_query();
    Some(
        Condition::any()
            .add(workflows::Column::OwnerId.eq(&principal.user_id))
            .add(workflows::Column::Id.in_subquery(shared)),
    )
}

pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    search: Option<String>,
    page: PageRequest,
) -> DomainResult<Page<workflows::Model>> {
    let mut select = workflows::Entity::find();
    if let Some(condition) = visible_condition(principal) {
        select = select.filter(condition);
    }
    if let Some(search) = search.filter(|s| !s.trim().is_empty()) {
        select = select.filter(workflows::Column::Name.like(contains_literally(search.trim())));
    }
    let rows = keyset(select, workflows::Column::Id, &page).all(db).await?;
    Ok(Page::from_overfetch(rows, page.first))
}

pub async fn versions(
    db: &impl ConnectionTrait,
    principal: &Principal,
    workflow_id: &str,
    page: PageRequest,
) -> DomainResult<Page<workflow_versions::Model>> {
    get(db, principal, workflow_id).await?;
    let select = workflow_versions::Entity::find()
        .filter(workflow_versions::Column::WorkflowId.eq(workflow_id.to_owned()));
    let rows = keyset(select, workflow_versions::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

/// Workflows by id that the caller may see (for DataLoaders).
pub async fn find_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    ids: &[String],
) -> DomainResult<Vec<workflows::Model>> {
    let mut select =
        workflows::Entity::find().filter(workflows::Column::Id.is_in(ids.iter().cloned()));
    if let Some(condition) = visible_condition(principal) {
        select = select.filter(condition);
    }
    Ok(select.all(db).await?)
}

/// Grants `role` on a workflow to the user with `email`, replacing an earlier grant.
/// Only the owner (or an admin) can share.
#[tracing::instrument(skip_all, fields(workflow_id, role))]
pub async fn share(
    db: &DatabaseConnection,
    principal: &Principal,
    workflow_id: &str,
    email: &str,
    role: &str,
) -> DomainResult<workflow_shares::Model> {
    let (workflow, _) = require_workflow(db, principal, workflow_id, WorkflowRole::Owner).await?;
    let Some(role) = WorkflowRole::parse_share(role) else {
        return Err(DomainError::bad_input(
            "input.role",
            format!("unknown role `{role}`; expected viewer, runner or editor"),
        ));
    };
    let Some(user) = find_user_by_email(db, email).await? else {
        return Err(DomainError::bad_input(
            "input.userEmail",
            format!("no user has the email {email}"),
        ));
    };
    if user.id == workflow.owner_id {
        return Err(DomainError::bad_input(
            "input.userEmail",
            "the owner already has every right on this workflow",
        ));
    }
    let txn = db.begin().await?;
    workflow_shares::Entity::delete_many()
        .filter(workflow_shares::Column::WorkflowId.eq(workflow_id))
        .filter(workflow_shares::Column::UserId.eq(&user.id))
        .exec(&txn)
        .await?;
    let share = workflow_shares::ActiveModel {
        id: Set(new_id()),
        workflow_id: Set(workflow_id.to_owned()),
        user_id: Set(user.id),
        role: Set(role.as_str().to_owned()),
        created_by: Set(principal.user_id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(share)
}

/// Removes a grant; returns whether one existed.
pub async fn unshare(
    db: &impl ConnectionTrait,
    principal: &Principal,
    workflow_id: &str,
    email: &str,
) -> DomainResult<bool> {
    require_workflow(db, principal, workflow_id, WorkflowRole::Owner).await?;
    let Some(user) = find_user_by_email(db, email).await? else {
        return Err(DomainError::bad_input(
            "input.userEmail",
            format!("no user has the email {email}"),
        ));
    };
    let result = workflow_shares::Entity::delete_many()
        .filter(workflow_shares::Column::WorkflowId.eq(workflow_id))
        .filter(workflow_shares::Column::UserId.eq(&user.id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

pub async fn shares(
    db: &impl ConnectionTrait,
    workflow_id: &str,
) -> DomainResult<Vec<workflow_shares::Model>> {
    Ok(workflow_shares::Entity::find()
        .filter(workflow_shares::Column::WorkflowId.eq(workflow_id))
        .all(db)
        .await?)
}
