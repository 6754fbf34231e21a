use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::api_keys::Entity")]
    ApiKeys,
    #[sea_orm(has_many = "super::credentials::Entity")]
    Credentials,
    #[sea_orm(has_many = "super::custom_tools::Entity")]
    CustomTools,
    #[sea_orm(has_many = "super::tool_versions::Entity")]
    ToolVersions,
    #[sea_orm(has_many = "super::database_connections::Entity")]
    DatabaseConnections,
    #[sea_orm(has_many = "super::database_queries::Entity")]
    DatabaseQueries,
    #[sea_orm(has_many = "super::webhooks::Entity")]
    Webhooks,
    #[sea_orm(has_many = "super::workflows::Entity")]
    Workflows,
    #[sea_orm(has_many = "super::workflow_shares::Entity")]
    WorkflowShares,
    #[sea_orm(has_many = "super::workflow_executions::Entity")]
    WorkflowExecutions,
    #[sea_orm(has_many = "super::templates::Entity")]
    Templates,
}

impl Related<super::api_keys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKeys.def()
    }
}

impl Related<super::credentials::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credentials.def()
    }
}

impl Related<super::custom_tools::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomTools.def()
    }
}

impl Related<super::tool_versions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ToolVersions.def()
    }
}

impl Related<super::database_connections::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DatabaseConnections.def()
    }
}

impl Related<super::database_queries::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DatabaseQueries.def()
    }
}

impl Related<super::webhooks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Webhooks.def()
    }
}

impl Related<super::workflows::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workflows.def()
    }
}

impl Related<super::workflow_shares::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WorkflowShares.def()
    }
}

impl Related<super::workflow_executions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WorkflowExecutions.def()
    }
}

impl Related<super::templates::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Templates.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
