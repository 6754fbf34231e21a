//! Custom tools: queries and mutations.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::store::tools::{self as store, ToolDraft, ToolFilter, ToolPatch};
use entity::{custom_tools, tool_versions};
use serde_json::Value;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::ids::{Kind, decode, encode};
use super::loaders::loaders;
use super::relay::{RelayConnection, complexity, connection, page_request};
use super::users::User;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ToolKind {
    /// JavaScript or WebAssembly run in the sandbox.
    Code,
    /// A REST or GraphQL API connector.
    Api,
    DatabaseQuery,
    Webhook,
}

impl ToolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolKind::Code => "code",
            ToolKind::Api => "api",
            ToolKind::DatabaseQuery => "database-query",
            ToolKind::Webhook => "webhook",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "api" => ToolKind::Api,
            "database-query" => ToolKind::DatabaseQuery,
            "webhook" => ToolKind::Webhook,
            _ => ToolKind::Code,
        }
    }
}

pub struct Tool(pub custom_tools::Model);

#[Object]
impl Tool {
    pub async fn id(&self) -> ID {
        encode(Kind::Tool, &self.0.id)
    }
    /// The id workflow documents use (`config.toolId` of a `custom` node).
    async fn uuid(&self) -> &str {
        &self.0.id
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
    async fn icon(&self) -> &str {
        &self.0.icon
    }
    async fn kind(&self) -> ToolKind {
        ToolKind::parse(&self.0.kind)
    }
    async fn input_schema(&self) -> Json<&Value> {
        Json(&self.0.input_schema)
    }
    async fn output_schema(&self) -> Json<&Value> {
        Json(&self.0.output_schema)
    }
    async fn config(&self) -> Json<&Value> {
        Json(&self.0.config)
    }
    /// Increases by one on every update; each version stays readable in `versions`.
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
    ) -> ApiResult<RelayConnection<ToolVersion>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let page =
            store::versions(db(ctx), principal, &self.0.id, page_request(first, after)?).await?;
        Ok(connection(page, after_given, |v| &v.id, ToolVersion))
    }
    /// Every run of this tool (workflow runs and `testTool`), newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn execution_logs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RelayConnection<super::tool_runs::ToolExecutionLog>> {
        super::tool_runs::execution_logs(ctx, &self.0.id, first, after).await
    }
}

pub struct ToolVersion(pub tool_versions::Model);

#[Object]
impl ToolVersion {
    async fn version(&self) -> i32 {
        self.0.version
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
    async fn icon(&self) -> &str {
        &self.0.icon
    }
    async fn input_schema(&self) -> Json<&Value> {
        Json(&self.0.input_schema)
    }
    async fn output_schema(&self) -> Json<&Value> {
        Json(&self.0.output_schema)
    }
    async fn config(&self) -> Json<&Value> {
        Json(&self.0.config)
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

fn empty_object() -> Json<Value> {
    Json(serde_json::json!({}))
}

fn any_object_schema() -> Json<Value> {
    Json(serde_json::json!({ "type": "object" }))
}

#[derive(InputObject)]
pub struct CreateToolInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    #[graphql(default_with = "\"general\".to_string()")]
    pub category: String,
    #[graphql(default_with = "\"wrench\".to_string()")]
    pub icon: String,
    pub kind: ToolKind,
    /// A JSON Schema for the tool's input.
    #[graphql(default_with = "any_object_schema()")]
    pub input_schema: Json<Value>,
    /// A JSON Schema for the tool's output.
    #[graphql(default_with = "any_object_schema()")]
    pub output_schema: Json<Value>,
    #[graphql(default_with = "empty_object()")]
    pub config: Json<Value>,
}

#[derive(InputObject)]
pub struct UpdateToolInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub icon: Option<String>,
    pub input_schema: Option<Json<Value>>,
    pub output_schema: Option<Json<Value>>,
    pub config: Option<Json<Value>>,
}

#[derive(InputObject)]
pub struct DeleteToolInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeletePayload {
    pub deleted_id: ID,
}

#[derive(Default)]
pub struct ToolQuery;

#[Object]
impl ToolQuery {
    /// The caller's tools, newest first.
    #[graphql(complexity = "complexity(child_complexity, first)")]
    async fn tools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        category: Option<String>,
        kind: Option<ToolKind>,
        search: Option<String>,
    ) -> ApiResult<RelayConnection<Tool>> {
        let principal = principal(ctx)?;
        let after_given = after.is_some();
        let filter = ToolFilter {
            category,
            kind: kind.map(|k| k.as_str().to_owned()),
            search,
        };
        let page = store::list(db(ctx), principal, filter, page_request(first, after)?).await?;
        Ok(connection(page, after_given, |t| &t.id, Tool))
    }

    async fn tool(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Tool> {
        let principal = principal(ctx)?;
        let id = decode("id", Kind::Tool, &id)?;
        Ok(Tool(store::get(db(ctx), principal, &id).await?))
    }
}

#[derive(Default)]
pub struct ToolMutation;

#[Object]
impl ToolMutation {
    async fn create_tool(&self, ctx: &Context<'_>, input: CreateToolInput) -> ApiResult<Tool> {
        let principal = principal(ctx)?;
        let draft = ToolDraft {
            name: input.name,
            description: input.description,
            category: input.category,
            icon: input.icon,
            kind: input.kind.as_str().to_owned(),
            input_schema: input.input_schema.0,
            output_schema: input.output_schema.0,
            config: input.config.0,
        };
        Ok(Tool(store::create(db(ctx), principal, draft).await?))
    }

    /// Saves a new version of a tool; fields left out keep their value.
    async fn update_tool(&self, ctx: &Context<'_>, input: UpdateToolInput) -> ApiResult<Tool> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Tool, &input.id)?;
        let patch = ToolPatch {
            name: input.name,
            description: input.description,
            category: input.category,
            icon: input.icon,
            input_schema: input.input_schema.map(|j| j.0),
            output_schema: input.output_schema.map(|j| j.0),
            config: input.config.map(|j| j.0),
        };
        Ok(Tool(store::update(db(ctx), principal, &id, patch).await?))
    }

    async fn delete_tool(
        &self,
        ctx: &Context<'_>,
        input: DeleteToolInput,
    ) -> ApiResult<DeletePayload> {
        let principal = principal(ctx)?;
        let id = decode("input.id", Kind::Tool, &input.id)?;
        store::delete(db(ctx), principal, &id).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
