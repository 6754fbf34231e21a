//! The tool registry's storage: custom tools and their immutable versions.

use std::collections::HashMap;

use chrono::Utc;
use entity::{custom_tools, tool_versions};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use serde_json::Value;

use super::{MAX_DESCRIPTION_LEN, MAX_LABEL_LEN, check_text, contains_literally, keyset};
use crate::access::owns;
use crate::auth::{Principal, check_name};
use crate::error::{DomainError, DomainResult, Problems};
use crate::ids::new_id;
use crate::json_schema::check_schema;
use crate::page::{Page, PageRequest};
use crate::workflow::ToolSignature;

/// The kinds of custom tool. Adding a kind adds a line here and an executor file.
pub const TOOL_KINDS: &[&str] = &["code", "api", "database-query", "webhook"];

#[derive(Debug, Clone)]
pub struct ToolDraft {
    pub name: String,
    pub description: String,
    pub category: String,
    pub icon: String,
    pub kind: String,
    pub input_schema: Value,
    pub output_schema: Value,
    pub config: Value,
}

/// A partial update; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ToolPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub icon: Option<String>,
    pub input_schema: Option<Value>,
    pub output_schema: Option<Value>,
    pub config: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct ToolFilter {
    pub category: Option<String>,
    pub kind: Option<String>,
    pub search: Option<String>,
}

fn check_draft(draft: &ToolDraft) -> DomainResult<()> {
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
    check_text(&mut problems, "input.icon", &draft.icon, MAX_LABEL_LEN);
    if !TOOL_KINDS.contains(&draft.kind.as_str()) {
        problems.push(
            "input.kind",
            format!(
                "unknown tool kind `{}`; expected one of {}",
                draft.kind,
                TOOL_KINDS.join(", ")
            ),
        );
    }
    for (path, schema) in [
        ("input.inputSchema", &draft.input_schema),
        ("input.outputSchema", &draft.output_schema),
    ] {
        if let Err(problem) = check_schema(schema) {
            let at = if problem.path.is_empty() {
                String::new()
            } else {
                format!(" at {}", problem.path)
            };
            problems.push(
                path,
                format!("is not a valid JSON Schema{at}: {}", problem.message),
            );
        }
    }
    if !draft.config.is_object() {
        problems.push("input.config", "must be a JSON object");
    }
    problems.into_result()
}

/// The checks a kind makes of its own config, beyond its shape: a `code` tool's script
/// must parse (which takes the sandbox, so it runs off the async threads).
async fn check_kind_config(draft: &ToolDraft) -> DomainResult<()> {
    match draft.kind.as_str() {
        "code" => crate::executors::code_tool::check_config(&draft.config).await,
        _ => Ok(()),
    }
}

fn version_row(tool: &custom_tools::Model, created_by: &str) -> tool_versions::ActiveModel {
    tool_versions::ActiveModel {
        id: Set(new_id()),
        tool_id: Set(tool.id.clone()),
        version: Set(tool.version),
        name: Set(tool.name.clone()),
        description: Set(tool.description.clone()),
        category: Set(tool.category.clone()),
        icon: Set(tool.icon.clone()),
        kind: Set(tool.kind.clone()),
        input_schema: Set(tool.input_schema.clone()),
        output_schema: Set(tool.output_schema.clone()),
        config: Set(tool.config.clone()),
        created_by: Set(created_by.to_owned()),
        created_at: Set(tool.updated_at),
    }
}

#[tracing::instrument(skip_all, fields(name = %draft.name))]
pub async fn create(
    db: &DatabaseConnection,
    principal: &Principal,
    draft: ToolDraft,
) -> DomainResult<custom_tools::Model> {
    check_draft(&draft)?;
    check_kind_config(&draft).await?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let tool = custom_tools::ActiveModel {
        id: Set(new_id()),
        owner_id: Set(principal.user_id.clone()),
        name: Set(draft.name.trim().to_owned()),
        description: Set(draft.description),
        category: Set(draft.category),
        icon: Set(draft.icon),
        kind: Set(draft.kind),
        input_schema: Set(draft.input_schema),
        output_schema: Set(draft.output_schema),
        config: Set(draft.config),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    version_row(&tool, &principal.user_id).insert(&txn).await?;
    txn.commit().await?;
    Ok(tool)
}

pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<custom_tools::Model> {
    custom_tools::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .filter(|t| owns(principal, &t.owner_id))
        .ok_or_else(|| DomainError::not_found("tool", id))
}

/// Applies `patch` as a new version; the previous version stays readable in `tool_versions`.
#[tracing::instrument(skip_all, fields(id))]
pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    id: &str,
    patch: ToolPatch,
) -> DomainResult<custom_tools::Model> {
    let current = get(db, principal, id).await?;
    let draft = ToolDraft {
        name: patch.name.unwrap_or(current.name.clone()),
        description: patch.description.unwrap_or(current.description.clone()),
        category: patch.category.unwrap_or(current.category.clone()),
        icon: patch.icon.unwrap_or(current.icon.clone()),
        kind: current.kind.clone(),
        input_schema: patch.input_schema.unwrap_or(current.input_schema.clone()),
        output_schema: patch.output_schema.unwrap_or(current.output_schema.clone()),
        config: patch.config.unwrap_or(current.config.clone()),
    };
    check_draft(&draft)?;
    check_kind_config(&draft).await?;
    let txn = db.begin().await?;
    let mut active: custom_tools::ActiveModel = current.clone().into();
    active.name = Set(draft.name.trim().to_owned());
    active.description = Set(draft.description);
    active.category = Set(draft.category);
    active.icon = Set(draft.icon);
    active.input_schema = Set(draft.input_schema);
    active.output_schema = Set(draft.output_schema);
    active.config = Set(draft.config);
    active.version = Set(current.version + 1);
    active.updated_at = Set(Utc::now());
    let tool = active.update(&txn).await?;
    version_row(&tool, &principal.user_id).insert(&txn).await?;
    txn.commit().await?;
    Ok(tool)
}

#[tracing::instrument(skip_all, fields(id))]
pub async fn delete(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> DomainResult<()> {
    let tool = get(db, principal, id).await?;
    // Versions, logs and connector rows go with it through ON DELETE CASCADE.
    custom_tools::Entity::delete_by_id(tool.id).exec(db).await?;
    Ok(())
}

pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: ToolFilter,
    page: PageRequest,
) -> DomainResult<Page<custom_tools::Model>> {
    let mut select = custom_tools::Entity::find();
    if !principal.is_admin() {
        select = select.filter(custom_tools::Column::OwnerId.eq(&principal.user_id));
    }
    if let Some(category) = filter.category {
        select = select.filter(custom_tools::Column::Category.eq(category));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(custom_tools::Column::Kind.eq(kind));
    }
    if let Some(search) = filter.search.filter(|s| !s.trim().is_empty()) {
        select = select.filter(custom_tools::Column::Name.like(contains_literally(search.trim())));
    }
    let rows = keyset(select, custom_tools::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

pub async fn versions(
    db: &impl ConnectionTrait,
    principal: &Principal,
    tool_id: &str,
    page: PageRequest,
) -> DomainResult<Page<tool_versions::Model>> {
    get(db, principal, tool_id).await?;
    let select =
        tool_versions::Entity::find().filter(tool_versions::Column::ToolId.eq(tool_id.to_owned()));
    let rows = keyset(select, tool_versions::Column::Id, &page)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, page.first))
}

/// Tools by id, restricted to those the caller may use; used by DataLoaders and by
/// workflow validation (an invisible tool is an unknown tool).
pub async fn find_many(
    db: &impl ConnectionTrait,
    principal: &Principal,
    ids: &[String],
) -> DomainResult<Vec<custom_tools::Model>> {
    let tools = custom_tools::Entity::find()
        .filter(custom_tools::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?;
    Ok(tools
        .into_iter()
        .filter(|t| owns(principal, &t.owner_id))
        .collect())
}

pub async fn signatures(
    db: &impl ConnectionTrait,
    principal: &Principal,
    ids: &[String],
) -> DomainResult<HashMap<String, ToolSignature>> {
    Ok(find_many(db, principal, ids)
        .await?
        .into_iter()
        .map(|t| {
            (
                t.id.clone(),
                ToolSignature {
                    id: t.id,
                    input_schema: t.input_schema,
                    output_schema: t.output_schema,
                },
            )
        })
        .collect())
}

/// A `custom` node pinned (`config.toolVersion`) to a version its tool does not have is a
/// save-time error at `nodes[i].config.toolVersion`, not a surprise on the first run.
pub async fn check_pinned_versions(
    db: &impl ConnectionTrait,
    document: &crate::workflow::WorkflowDocument,
) -> DomainResult<Vec<crate::workflow::DocumentError>> {
    let pins: Vec<(usize, &str, i64)> = document
        .nodes()
        .iter()
        .enumerate()
        .filter(|(_, node)| node.node_type() == crate::node_types::CUSTOM)
        .filter_map(|(i, node)| {
            let config = node.config();
            Some((
                i,
                config.get("toolId")?.as_str()?,
                config.get("toolVersion")?.as_i64()?,
            ))
        })
        .collect();
    if pins.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = pins.iter().map(|(_, id, _)| (*id).to_owned()).collect();
    let existing: std::collections::HashSet<(String, i32)> = tool_versions::Entity::find()
        .select_only()
        .column(tool_versions::Column::ToolId)
        .column(tool_versions::Column::Version)
        .filter(tool_versions::Column::ToolId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(pins
        .into_iter()
        .filter(|(_, id, version)| {
            !i32::try_from(*version).is_ok_and(|v| existing.contains(&((*id).to_owned(), v)))
        })
        .map(|(i, id, version)| {
            let latest = existing
                .iter()
                .filter(|(tool, _)| tool == id)
                .map(|(_, v)| *v)
                .max();
            crate::workflow::DocumentError {
                path: format!("nodes[{i}].config.toolVersion"),
                code: crate::workflow::DocumentErrorCode::InvalidConfig,
                message: match latest {
                    Some(latest) => format!(
                        "tool `{id}` has no version {version}; its versions are 1 to {latest}"
                    ),
                    None => format!("tool `{id}` has no version {version}"),
                },
            }
        })
        .collect())
}
