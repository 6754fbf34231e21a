//! `trigger`: the entry node. Its output is the execution's input, which was validated
//! against the trigger's `config.inputSchema` when the execution started.

use serde_json::{Map, Value};

use super::{Executor, NodeContext, NodeOutcome, NodeResult};

pub struct Trigger;

#[async_trait::async_trait]
impl Executor for Trigger {
    fn node_type(&self) -> &'static str {
        crate::node_types::TRIGGER
    }

    async fn execute(&self, ctx: &NodeContext<'_>, _input: Map<String, Value>) -> NodeResult {
        Ok(NodeOutcome::main(ctx.execution_input.clone()))
    }
}
