use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One palette entry (a built-in node type, or a custom tool) a user starred or placed.
/// A row that is neither starred nor among the user's recents is deleted.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "palette_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// `node_type`, or `custom:<tool_id>`; unique per user.
    pub entry_key: String,
    pub node_type: String,
    /// Set when `node_type` is `custom`.
    pub tool_id: Option<String>,
    pub favorite: bool,
    pub favorited_at: Option<DateTimeUtc>,
    /// Set while the entry is among the user's recents.
    pub last_placed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_delete = "Cascade"
    )]
    Users,
    #[sea_orm(
        belongs_to = "super::custom_tools::Entity",
        from = "Column::ToolId",
        to = "super::custom_tools::Column::Id",
        on_delete = "Cascade"
    )]
    CustomTools,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::custom_tools::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomTools.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
