//! The GraphQL schema: roots merged per area, limits, and error codes.

pub mod context;
pub mod credentials;
pub mod databases;
pub mod errors;
pub mod executions;
pub mod hook_triggers;
pub mod ids;
pub mod loaders;
pub mod mapping;
pub mod node;
pub mod node_types;
pub mod palette;
pub mod relay;
pub mod stats;
pub mod subscriptions;
pub mod templates;
pub mod tool_runs;
pub mod tools;
pub mod users;
pub mod webhooks;
pub mod workflows;

use async_graphql::{MergedObject, Schema};
use sea_orm::DatabaseConnection;

/// Deepest nesting a query may have; the deepest legitimate query (execution → node
/// runs, workflow → versions → edges → node → createdBy) needs about 8.
pub const MAX_QUERY_DEPTH: usize = 12;
/// Upper bound on a query's cost; a connection costs its page size times its items.
pub const MAX_QUERY_COMPLEXITY: usize = 1_000;
pub const MAX_RECURSIVE_DEPTH: usize = 32;
pub const MAX_DIRECTIVES: usize = 10;

#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    users::UserQuery,
    tools::ToolQuery,
    workflows::WorkflowQuery,
    templates::TemplateQuery,
    executions::ExecutionQuery,
    node_types::NodeTypeQuery,
    credentials::CredentialQuery,
    databases::DatabasesQuery,
    webhooks::WebhookQuery,
    stats::StatsQuery,
    mapping::MappingQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    users::UserMutation,
    tools::ToolMutation,
    tool_runs::ToolRunMutation,
    workflows::WorkflowMutation,
    templates::TemplateMutation,
    executions::ExecutionMutation,
    credentials::CredentialMutation,
    databases::DatabasesMutation,
    webhooks::WebhookMutation,
    hook_triggers::HookTriggerMutation,
    palette::PaletteMutation,
);

pub type WeftSchema = Schema<Query, Mutation, subscriptions::Subscription>;

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, subscriptions::Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscriptions::Subscription,
    )
    .limit_depth(MAX_QUERY_DEPTH)
    .limit_complexity(MAX_QUERY_COMPLEXITY)
    .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
    .limit_directives(MAX_DIRECTIVES)
    .extension(errors::ErrorCodes)
}

pub fn build_schema(
    db: DatabaseConnection,
    engine: domain::engine::Engine,
    vault: domain::vault::Vault,
) -> WeftSchema {
    builder()
        .data(db)
        .data(engine)
        .data(vault)
        .data(subscriptions::RenderCache::default())
        .finish()
}

/// The SDL clients depend on; `schema.graphql` at the repository root must equal it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
