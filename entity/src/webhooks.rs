use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tool_id: Option<String>,
    pub owner_id: String,
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    pub method: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub headers: Json,
    #[sea_orm(column_type = "Text")]
    pub payload_template: Option<String>,
    pub payload_format: String,
    pub auth_type: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub auth_config: Option<Json>,
    #[sea_orm(column_type = "JsonBinary")]
    pub retry_config: Json,
    /// Milliseconds.
    pub timeout: i32,
    /// Signing credential, expected statuses, response schema and rate limit; see
    /// `domain::webhooks::DeliveryConfig`.
    #[sea_orm(column_type = "JsonBinary")]
    pub delivery_config: Option<Json>,
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

impl ActiveModelBehavior for ActiveModel {}
