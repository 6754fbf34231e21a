use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The URL token of one webhook trigger node of a workflow (`POST /hooks/{token}`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_triggers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workflow_id: String,
    pub node_id: String,
    /// Kept so owners and editors can always copy the URL again.
    pub token: String,
    /// Hex SHA-256 of `token`; incoming requests are looked up by it (unique index).
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub rotated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::workflows::Entity",
        from = "Column::WorkflowId",
        to = "super::workflows::Column::Id",
        on_delete = "Cascade"
    )]
    Workflows,
}

impl Related<super::workflows::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workflows.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
