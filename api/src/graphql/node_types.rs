//! The palette: every built-in node type with its schemas and handles.

use async_graphql::{Context, Json, Object};
use domain::node_types::{self, NodeTypeSpec};
use serde_json::Value;

use super::context::principal;
use super::errors::ApiResult;

pub struct NodeType(&'static NodeTypeSpec);

#[Object]
impl NodeType {
    #[graphql(name = "type")]
    async fn node_type(&self) -> &str {
        self.0.node_type
    }
    async fn category(&self) -> &str {
        self.0.category
    }
    async fn icon(&self) -> &str {
        self.0.icon
    }
    async fn description(&self) -> &str {
        self.0.description
    }
    async fn input_schema(&self) -> Json<&Value> {
        Json(&self.0.input_schema)
    }
    async fn output_schema(&self) -> Json<&Value> {
        Json(&self.0.output_schema)
    }
    async fn config_schema(&self) -> Json<&Value> {
        Json(&self.0.config_schema)
    }
    /// Output handles an edge may start from; every node also has `error`.
    async fn handles(&self) -> Vec<&str> {
        let mut handles: Vec<&str> = self.0.output_handles.to_vec();
        if !handles.contains(&"error") {
            handles.push("error");
        }
        handles
    }
}

#[derive(Default)]
pub struct NodeTypeQuery;

#[Object]
impl NodeTypeQuery {
    async fn node_types(&self, ctx: &Context<'_>) -> ApiResult<Vec<NodeType>> {
        principal(ctx)?;
        Ok(node_types::catalog().iter().map(NodeType).collect())
    }
}
