//! SeaORM entities for every Weft table, one module per table (module name = table name).
//!
//! Ids are application-generated UUIDv7 strings, so no primary key auto-increments.
//! The schema itself is owned by the `migration` crate; keep both in sync.

pub mod api_keys;
pub mod credentials;
pub mod custom_tools;
pub mod database_connections;
pub mod database_queries;
pub mod execution_events;
pub mod node_executions;
pub mod palette_entries;
pub mod templates;
pub mod tool_execution_logs;
pub mod tool_versions;
pub mod users;
pub mod webhook_triggers;
pub mod webhooks;
pub mod workflow_executions;
pub mod workflow_shares;
pub mod workflow_versions;
pub mod workflows;

pub mod prelude {
    pub use super::api_keys::Entity as ApiKeys;
    pub use super::credentials::Entity as Credentials;
    pub use super::custom_tools::Entity as CustomTools;
    pub use super::database_connections::Entity as DatabaseConnections;
    pub use super::database_queries::Entity as DatabaseQueries;
    pub use super::execution_events::Entity as ExecutionEvents;
    pub use super::node_executions::Entity as NodeExecutions;
    pub use super::palette_entries::Entity as PaletteEntries;
    pub use super::templates::Entity as Templates;
    pub use super::tool_execution_logs::Entity as ToolExecutionLogs;
    pub use super::tool_versions::Entity as ToolVersions;
    pub use super::users::Entity as Users;
    pub use super::webhook_triggers::Entity as WebhookTriggers;
    pub use super::webhooks::Entity as Webhooks;
    pub use super::workflow_executions::Entity as WorkflowExecutions;
    pub use super::workflow_shares::Entity as WorkflowShares;
    pub use super::workflow_versions::Entity as WorkflowVersions;
    pub use super::workflows::Entity as Workflows;
}
