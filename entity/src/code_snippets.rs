use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "code_snippets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tool_id: String,
    pub language: String,
    #[sea_orm(column_type = "Text")]
    pub source: String,
    #[sea_orm(column_type = "Blob")]
    pub wasm: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
