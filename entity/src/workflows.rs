use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "workflows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub document: Json,
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
    #[sea_orm(has_many = "super::workflow_versions::Entity")]
    WorkflowVersions,
    #[sea_orm(has_many = "super::workflow_shares::Entity")]
    WorkflowShares,
    #[sea_orm(has_many = "super::workflow_executions::Entity")]
    WorkflowExecutions,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::workflow_versions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WorkflowVersions.def()
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

impl ActiveModelBehavior for ActiveModel {}
