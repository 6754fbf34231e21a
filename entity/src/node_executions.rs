use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "node_executions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub execution_id: String,
    pub node_id: String,
    pub node_type: String,
    pub attempt: i32,
    pub status: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub input: Option<Json>,
    #[sea_orm(column_type = "JsonBinary")]
    pub output: Option<Json>,
    #[sea_orm(column_type = "Text")]
    pub error: Option<String>,
    /// The structured error (`domain::node_error::NodeErrorDetail`); NULL on rows written
    /// before it existed and on attempts that did not fail.
    #[sea_orm(column_type = "JsonBinary")]
    pub error_detail: Option<Json>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
    pub handle: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::workflow_executions::Entity",
        from = "Column::ExecutionId",
        to = "super::workflow_executions::Column::Id",
        on_delete = "Cascade"
    )]
    WorkflowExecutions,
}

impl Related<super::workflow_executions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WorkflowExecutions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
