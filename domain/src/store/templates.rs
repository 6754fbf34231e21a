//! Templates: reusable workflow documents, private to their owner or public to everyone.

use chrono::Utc;
use entity::templates;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::Value;

use super::workflows::{self, WorkflowDraft, check_document};
use super::{MAX_DESCRIPTION_LEN, MAX_LABEL_LEN, check_text, contains_literally, keyset};
use crate::access::owns;
use crate::auth::{Principal, check_name};
use crate::error::{DomainError, DomainResult, Problems};
use crate::ids::new_id;
use crate::page::{Page, PageRequest};

#[derive(Debug, Clone)]
pub struct TemplateDraft {
    pub name: String,
    pub description: String,
    pub category: String,
    pub document: Value,
    pub public: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub document: Option<Value>,
    pub public: Option<bool>,
}

async fn check_draft(
    db: &impl ConnectionTrait,
    principal: &Principal,
    draft: &TemplateDraft,
) -> DomainResult<Value> {
    let mut problems = Problems::default();
    check_name(&mut problems, "input.name", &draft.name);
    check_text(
        &mut problems,
        "input.description",
        &draft.description,
        MAX_DESCRIPTION_LEN,
    );
    check_text(
        &mut problems,
        "input.category",
        &draft.category,
        MAX_LABEL_LEN,
    );
    let document = match check_document(db, principal, &draft.document, "input.document").await {
        Ok(doc) => Some(doc.to_value()),
        Err(DomainError::BadInput(found)) => {
            problems.extend(found);
            None
        }
        Err(other) => return Err(other),
    };
    problems.into_result()?;
    Ok(document.expect("no problems means the document parsed"))
}

#[tracing::instrument(skip_all, fields(name = %draft.name))]
pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    draft: TemplateDraft,
) -> DomainResult<templates::Model> {
    let document = check_draft(db, principal, &draft).await?;
    let now = Utc::now();
    Ok(templates::ActiveModel {
        id: Set(new_id()),
        owner_id: Set(principal.user_id.clone()),
        name: Set(draft.name.trim().to_owned()),
        description: Set(draft.description),
        category: Set(draft.category),
        document: Set(document),
        public: Set(draft.public),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<templates::Model> {
    templates::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .filter(|t| t.public || owns(principal, &t.owner_id))
        .ok_or_else(|| DomainError::not_found("template", id))
}

fn require_owner(principal: &Principal, template: &templates::Model) -> DomainResult<()> {
    if owns(principal, &template.owner_id) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(format!(
            "template {} belongs to another user; only its owner can change it",
            template.id
        )))
    }
}

pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
    patch: TemplatePatch,
) -> DomainResult<templates::Model> {
    let current = get(db, principal, id).await?;
    require_owner(principal, &current)?;
    let draft = TemplateDraft {
        name: patch.name.unwrap_or(current.name.clone()),
        description: patch.description.unwrap_or(current.description.clone()),
        category: patch.category.unwrap_or(current.category.clone()),
        document: patch.document.unwrap_or(current.document.clone()),
        public: patch.public.unwrap_or(current.public),
    };
    let document = check_draft(db, principal, &draft).await?;
    let mut active: templates::ActiveModel = current.into();
    active.name = Set(draft.name.trim().to_owned());
    active.description = Set(draft.description);
    active.category = Set(draft.category);
    active.document = Set(document);
    active.public = Set(draft.public);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn delete(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<()> {
    let template = get(db, principal, id).await?;
    require_owner(principal, &template)?;
    templates::Entity::delete_by_id(template.id)
        .exec(db)
        .await?;
    Ok(())
}

pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    category: Option<String>,
    search: Option<String>,
    page: PageRequest,
) -> DomainResult<Page<templates::Model>> {
    let mut select = templates::Entity::find();
    if !principal.is_admin() {
        select = select.filter(
            Condition::any()
                .add(templates::Column::Public.eq(true))
                .add(templates::Column::OwnerId.eq(&principal.user_id)),
        );
    }
    if let Some(category) = category {
        select = select.filter(templates::Column::Category.eq(category));
    }
    if let Some(search) = search.filter(|s| !s.trim().is_empty()) {
        select = select.filter(templates::Column::Name.like(contains_literally(search.trim())));
    }
    let rows = keyset(select, templates::Column::Id, &page).all(db).await?;
    Ok(Page::from_overfetch(rows, page.first))
}

/// Creates a workflow owned by the caller from a template. The document is checked again
/// against the caller's own tools: a template may name tools the caller does not have.
pub async fn instantiate(
    db: &DatabaseConnection,
    principal: &Principal,
    template_id: &str,
    name: Option<String>,
) -> DomainResult<entity::workflows::Model> {
    let template = get(db, principal, template_id).await?;
    workflows::create(
        db,
        principal,
        WorkflowDraft {
            name: name.unwrap_or(template.name),
            description: template.description,
            document: template.document,
        },
    )
    .await
}
