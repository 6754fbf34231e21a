//! `data-transform`: runs `config.expr` (jq) over the `data` input, or over the run
//! context `{ nodes: { id: { output } }, input }` when `data` is not mapped.

use serde_json::{Map, Value};

use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult};
use crate::mapping::expr::ProgramCache;

pub struct DataTransform;

#[async_trait::async_trait]
impl Executor for DataTransform {
    fn node_type(&self) -> &'static str {
        "data-transform"
    }

    async fn execute(&self, ctx: &NodeContext<'_>, mut input: Map<String, Value>) -> NodeResult {
        let source = ctx.node.config()["expr"].as_str().unwrap_or(".");
        let program = ProgramCache::shared()
            .get(source)
            .map_err(|e| NodeFailure::permanent(format!("config.expr does not compile: {e}")))?;
        let data = input.remove("data").unwrap_or(Value::Null);
        let output = program
            .run_one(&data)
            .map_err(|e| NodeFailure::permanent(format!("config.expr failed: {e}")))?;
        Ok(NodeOutcome::main(output))
    }
}
