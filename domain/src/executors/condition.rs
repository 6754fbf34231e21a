//! `condition`: evaluates `config.expr` (jq) over the `value` input and continues on the
//! `true` or `false` handle; the branch not taken is skipped.

use serde_json::{Map, Value};

use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult};
use crate::mapping::expr::ProgramCache;

pub struct Condition;

#[async_trait::async_trait]
impl Executor for Condition {
    fn node_type(&self) -> &'static str {
        "condition"
    }

    async fn execute(&self, ctx: &NodeContext<'_>, mut input: Map<String, Value>) -> NodeResult {
        let source = ctx.node.config()["expr"].as_str().unwrap_or(".");
        let program = ProgramCache::shared()
            .get(source)
            .map_err(|e| NodeFailure::permanent(format!("config.expr does not compile: {e}")))?;
        let value = input.remove("value").unwrap_or(Value::Null);
        let result = program
            .run_one(&value)
            .map_err(|e| NodeFailure::permanent(format!("config.expr failed: {e}")))?;
        let Value::Bool(taken) = result else {
            return Err(NodeFailure::permanent(format!(
                "config.expr must yield true or false, got {}",
                crate::json_schema::json_type_name(&result)
            )));
        };
        // The value passes through unchanged, so the taken branch reads what was tested.
        Ok(NodeOutcome {
            output: value,
            handle: if taken { "true" } else { "false" }.to_owned(),
        })
    }
}
