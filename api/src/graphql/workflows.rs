//! Workflows: queries, mutations, validation, import/export and sharing.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::{WorkflowRole as DomainRole, workflow_role};
use domain::store::workflows::{self as store, WorkflowDraft, WorkflowPatch};
use entity::{workflow_shares, workflow_versions, workflows};
use serde_json::Value;

use super::context::{db, principal};
use super::errors::{ApiError, ApiResult};
use super::ids::{Kind, decode, encode};
use super::loaders::loaders;
use super::relay::{RelayConnection, complexity, connection, page_request};
use super::tools::DeletePayload;
use super::users::User;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WorkflowRole {
    Viewer,
    Runner,
    Editor,
    Owner,
}

impl From<DomainRole> for WorkflowRole {
    fn from(role: DomainRole) -> Self {
        match role {
            DomainRole::Viewer => WorkflowRole::Viewer,
            DomainRole::Runner => WorkflowRole::Runner,
            DomainRole::Editor => WorkflowRole::Editor,
            DomainRole::Owner => WorkflowRole::Owner,
        }
    }
}

/// Roles a share can grant.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ShareRole {
    Viewer,
    Runner,
    Editor,
}

impl ShareRole {
    fn as_str(self) -> &'static str {
        match self {
            ShareRole::Viewer => "viewer",
            ShareRole::Runner => "runner",
            ShareRole::Editor => "editor",
        }
    }
}

pub struct Workflow(pub workflows::Model);

#[Object]
impl Workflow {
    pub async fn id(&self) -> ID {
        encode(Kind::Workflow, &self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The workflow document (see the README: nodes, edges, input mappings).
    async fn document(&self) -> Json<&Value> {
        Json(&self.0.document)
    }
    /// Increases by one on every save; pass it back as `expectedVersion` to detect
    /// concurrent edits.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)
            .users
            .load_one(self.0.owner_id.clone())
            .await?
            .map(User))
    }
    /// What the caller may do with this workflow.
    async fn my_role(&self, ctx: &Context<'_>) -> ApiResult<Option<WorkflowRole>> {
        let principal = principal(ctx)?;
        Ok(workflow_role(db(ctx), principal, &self.0)
            .await?
            .map(Into::into))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<WorkflowVersion>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page =
            store::versions(db(ctx), principal, &self.0.id, page_request(first, after)?).await?;
        Ok(connection(page, after_given, |v| &v.id, WorkflowVersion))
    }
    /// Trigger nodes of kind `webhook` and their URLs (the path only for owners and editors).
    async fn webhook_triggers(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<super::hook_triggers::WebhookTrigger>> {
        super::hook_triggers::of_workflow(ctx, &self.0).await
    }
    /// Who else may see, run or edit this workflow. Visible to its owner only.
    async fn shares(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkflowShare>> {
        let principal = principal(ctx)?;
        if workflow_role(db(ctx), principal, &self.0).await? != Some(DomainRole::Owner) {
            return Ok(Vec::new());
        }
        Ok(store::shares(db(ctx), &self.0.id)
            .await?
            .into_iter()
            .map(WorkflowShare)
            .collect())
    }
}

pub struct WorkflowVersion(pub workflow_versions::Model);

#[Object]
impl WorkflowVersion {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn document(&self) -> Json<&Value> {
        Json(&self.0.document)
    }
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)
            .users
            .load_one(self.0.created_by.clone())
            .await?
            .map(User))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct WorkflowShare(pub workflow_shares::Model);

#[Object]
impl WorkflowShare {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)
            .users
            .load_one(self.0.user_id.clone())
            .await?
            .map(User))
    }
    async fn role(&self) -> ShareRole {
        match self.0.role.as_str() {
            "editor" => ShareRole::Editor,
            "runner" => ShareRole::Runner,
            _ => ShareRole::Viewer,
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One thing wrong with a workflow document.
#[derive(SimpleObject)]
pub struct ValidationProblem {
    /// Where, as a path into the document (for example `nodes[2].inputs.url`).
    pub path: String,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct WorkflowValidation {
    pub valid: bool,
    pub problems: Vec<ValidationProblem>,
}

#[derive(InputObject)]
pub struct CreateWorkflowInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub document: Json<Value>,
}

#[derive(InputObject)]
pub struct UpdateWorkflowInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub document: Option<Json<Value>>,
    /// When set, the save fails with CONFLICT unless the stored version still equals it.
    pub expected_version: Option<i32>,
}

#[derive(InputObject)]
pub struct DeleteWorkflowInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct ExportWorkflowInput {
    pub id: ID,
}

/// A portable workflow: what `importWorkflow` takes back.
#[derive(SimpleObject)]
pub struct ExportedWorkflow {
    pub name: String,
    pub description: String,
    pub document: Json<Value>,
}

#[derive(InputObject)]
pub struct ImportWorkflowInput {
    /// The `exportWorkflow` result, or any object with `name` and `document`.
    pub workflow: Json<Value>,
    /// Overrides the name in the export.
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct ShareWorkflowInput {
    pub workflow_id: ID,
    pub user_email: String,
    pub role: ShareRole,
}

#[derive(InputObject)]
pub struct UnshareWorkflowInput {
    pub workflow_id: ID,
    pub user_email: String,
}

#[derive(SimpleObject)]
pub struct UnsharePayload {
    pub removed: bool,
}

#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    /// Workflows the caller owns or that are shared with them, newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn workflows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<RelayConnection<Workflow>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page = store::list(db(ctx), principal, search, page_request(first, after)?).await?;
        Ok(connection(page, after_given, |w| &w.id, Workflow))
    }

    async fn workflow(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Workflow> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Workflow, &id)?;
        Ok(Workflow(store::get(db(ctx), principal, &id).await?.0))
    }

    /// Checks a document without saving it and lists every problem found.
    async fn validate_workflow(
        &self,
        ctx: &Context<'_>,
        document: Json<Value>,
    ) -> ApiResult<WorkflowValidation> {
        let principal = principal(ctx)?;
        match store::check_document(db(ctx), principal, &document.0, "").await {
            Ok(_) => Ok(WorkflowValidation {
                valid: true,
                problems: Vec::new(),
            }),
            Err(domain::DomainError::BadInput(problems)) => Ok(WorkflowValidation {
                valid: false,
                problems: problems
                    .into_iter()
                    .map(|p| ValidationProblem {
                        path: p.path.trim_start_matches('.').to_owned(),
                        message: p.message,
                    })
                    .collect(),
            }),
            Err(other) => Err(other.into()),
        }
    }
}

#[derive(Default)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    async fn create_workflow(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkflowInput,
    ) -> ApiResult<Workflow> {
        let principal = principal(ctx)?;
        let draft = WorkflowDraft {
            name: input.name,
            description: input.description,
            document: input.document.0,
        };
        Ok(Workflow(store::create(db(ctx), principal, draft).await?))
    }

    /// Saves a new version; fields left out keep their value.
    async fn update_workflow(
        &self,
        ctx: &Context<'_>,
        input: UpdateWorkflowInput,
    ) -> ApiResult<Workflow> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Workflow, &input.id)?;
        let patch = WorkflowPatch {
            name: input.name,
            description: input.description,
            document: input.document.map(|d| d.0),
            expected_version: input.expected_version,
        };
        Ok(Workflow(
            store::update(db(ctx), principal, &id, patch).await?,
        ))
    }

    async fn delete_workflow(
        &self,
        ctx: &Context<'_>,
        input: DeleteWorkflowInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Workflow, &input.id)?;
        store::delete(db(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    async fn export_workflow(
        &self,
        ctx: &Context<'_>,
        input: ExportWorkflowInput,
    ) -> ApiResult<ExportedWorkflow> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Workflow, &input.id)?;
        let (workflow, _) = store::get(db(ctx), principal, &id).await?;
        Ok(ExportedWorkflow {
            name: workflow.name,
            description: workflow.description,
            document: Json(workflow.document),
        })
    }

    async fn import_workflow(
        &self,
        ctx: &Context<'_>,
        input: ImportWorkflowInput,
    ) -> ApiResult<Workflow> {
        let principal = principal(ctx)?;
        let mut exported = input.workflow.0;
        let Some(object) = exported.as_object_mut() else {
            return Err(ApiError::bad_input(
                "input.workflow",
                "must be an object with `name` and `document`",
            ));
        };
        let name = match (input.name, object.remove("name")) {
            (Some(name), _) => name,
            (None, Some(Value::String(name))) => name,
            _ => {
                return Err(ApiError::bad_input(
                    "input.workflow.name",
                    "is missing; give it in the export or as `input.name`",
                ));
            }
        };
        let description = match object.remove("description") {
            Some(Value::String(d)) => d,
            _ => String::new(),
        };
        let Some(document) = object.remove("document") else {
            return Err(ApiError::bad_input("input.workflow.document", "is missing"));
        };
        let draft = WorkflowDraft {
            name,
            description,
            document,
        };
        Ok(Workflow(store::create(db(ctx), principal, draft).await?))
    }

    /// Grants a role on a workflow to another user (replacing an earlier grant).
    async fn share_workflow(
        &self,
        ctx: &Context<'_>,
        input: ShareWorkflowInput,
    ) -> ApiResult<WorkflowShare> {
        let principal = principal(ctx)?;
        let id = decode("input.workflowId", Kind::Workflow, &input.workflow_id)?;
        let share = store::share(
            db(ctx),
            principal,
            &id,
            &input.user_email,
            input.role.as_str(),
        )
        .await?;
        Ok(WorkflowShare(share))
    }

    async fn unshare_workflow(
        &self,
        ctx: &Context<'_>,
        input: UnshareWorkflowInput,
    ) -> ApiResult<UnsharePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.workflowId", Kind::Workflow, &input.workflow_id)?;
        let removed = store::unshare(db(ctx), principal, &id, &input.user_email).await?;
        Ok(UnsharePayload { removed })
    }
}
