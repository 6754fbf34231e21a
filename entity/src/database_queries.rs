use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "database_queries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tool_id: Option<String>,
    pub owner_id: String,
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub name: String,
    pub connection_id: String,
    #[sea_orm(column_type = "Text")]
    pub query: String,
    pub query_type: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub parameters: Json,
    pub result_format: String,
    pub timeout: i32,
    pub page_size: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::custom_tools::Entity",
        from = "Column::ToolId",
        to = "super::custom_tools::Column::Id",
        on_delete = "SetNull"
    )]
    CustomTools,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::OwnerId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    Users,
    #[sea_orm(
        belongs_to = "super::database_connections::Entity",
        from = "Column::ConnectionId",
        to = "super::database_connections::Column::Id",
        on_delete = "Cascade"
    )]
    DatabaseConnections,
}

impl Related<super::custom_tools::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomTools.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::database_connections::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DatabaseConnections.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
