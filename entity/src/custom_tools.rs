use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "custom_tools")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub icon: String,
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub input_schema: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub output_schema: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::OwnerId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    Users,
    #[sea_orm(has_many = "super::tool_versions::Entity")]
    ToolVersions,
    #[sea_orm(has_many = "super::tool_execution_logs::Entity")]
    ToolExecutionLogs,
    #[sea_orm(has_many = "super::database_queries::Entity")]
    DatabaseQueries,
    #[sea_orm(has_many = "super::webhooks::Entity")]
    Webhooks,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::tool_versions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ToolVersions.def()
    }
}

impl Related<super::tool_execution_logs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ToolExecutionLogs.def()
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

impl ActiveModelBehavior for ActiveModel {}
