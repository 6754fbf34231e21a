//! Templates: reusable workflow documents.

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use domain::store::templates::{self as store, TemplateDraft, TemplatePatch};
use entity::templates;
use serde_json::Value;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, decode, encode};
use super::loaders::loaders;
use super::relay::{RelayConnection, complexity, connection, page_request};
use super::tools::DeletePayload;
use super::users::User;
use super::workflows::Workflow;

pub struct Template(pub templates::Model);

#[Object]
impl Template {
    pub async fn id(&self) -> ID {
        encode(Kind::Template, &self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn document(&self) -> Json<&Value> {
        Json(&self.0.document)
    }
    /// Public templates are visible to every user.
    async fn public(&self) -> bool {
        self.0.public
    }
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(loaders(ctx)
            .users
            .load_one(self.0.owner_id.clone())
            .await?
            .map(User))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct CreateTemplateInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    #[graphql(default_with = "\"general\".to_string()")]
    pub category: String,
    pub document: Json<Value>,
    #[graphql(default)]
    pub public: bool,
}

#[derive(InputObject)]
pub struct UpdateTemplateInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub document: Option<Json<Value>>,
    pub public: Option<bool>,
}

#[derive(InputObject)]
pub struct DeleteTemplateInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct InstantiateTemplateInput {
    pub template_id: ID,
    /// Name of the new workflow; defaults to the template's name.
    pub name: Option<String>,
}

#[derive(Default)]
pub struct TemplateQuery;

#[Object]
impl TemplateQuery {
    /// The caller's templates and every public one, newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn templates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        category: Option<String>,
        search: Option<String>,
    ) -> ApiResult<RelayConnection<Template>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page = store::list(
            db(ctx),
            principal,
            category,
            search,
            page_request(first, after)?,
        )
        .await?;
        Ok(connection(page, after_given, |t| &t.id, Template))
    }

    async fn template(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Template> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Template, &id)?;
        Ok(Template(store::get(db(ctx), principal, &id).await?))
    }
}

#[derive(Default)]
pub struct TemplateMutation;

#[Object]
impl TemplateMutation {
    async fn create_template(
        &self,
        ctx: &Context<'_>,
        input: CreateTemplateInput,
    ) -> ApiResult<Template> {
        let principal = principal(ctx)?;
        let draft = TemplateDraft {
            name: input.name,
            description: input.description,
            category: input.category,
            document: input.document.0,
            public: input.public,
        };
        Ok(Template(store::create(db(ctx), principal, draft).await?))
    }

    async fn update_template(
        &self,
        ctx: &Context<'_>,
        input: UpdateTemplateInput,
    ) -> ApiResult<Template> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Template, &input.id)?;
        let patch = TemplatePatch {
            name: input.name,
            description: input.description,
            category: input.category,
            document: input.document.map(|d| d.0),
            public: input.public,
        };
        Ok(Template(
            store::update(db(ctx), principal, &id, patch).await?,
        ))
    }

    async fn delete_template(
        &self,
        ctx: &Context<'_>,
        input: DeleteTemplateInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Template, &input.id)?;
        store::delete(db(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }

    /// Creates a workflow owned by the caller from a template.
    async fn instantiate_template(
        &self,
        ctx: &Context<'_>,
        input: InstantiateTemplateInput,
    ) -> ApiResult<Workflow> {
        let principal = principal(ctx)?;
        let id = decode("input.templateId", Kind::Template, &input.template_id)?;
        Ok(Workflow(
            store::instantiate(db(ctx), principal, &id, input.name).await?,
        ))
    }
}
