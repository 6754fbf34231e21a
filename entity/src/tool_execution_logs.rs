use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tool_execution_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tool_id: String,
    pub tool_version: i32,
    pub execution_id: Option<String>,
    pub node_id: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub input: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub output: Option<Json>,
    #[sea_orm(column_type = "JsonBinary")]
    pub logs: Json,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::custom_tools::Entity",
        from = "Column::ToolId",
        to = "super::custom_tools::Column::Id",
        on_delete = "Cascade"
    )]
    CustomTools,
}

impl Related<super::custom_tools::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomTools.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
