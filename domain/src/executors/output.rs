//! `output`: names what the execution returns. With a `value` input that value is the
//! output; otherwise all resolved inputs as an object.

use serde_json::{Map, Value};

use super::{Executor, NodeContext, NodeOutcome, NodeResult};

pub struct Output;

#[async_trait::async_trait]
impl Executor for Output {
    fn node_type(&self) -> &'static str {
        "output"
    }

    async fn execute(&self, _ctx: &NodeContext<'_>, mut input: Map<String, Value>) -> NodeResult {
        let output = match input.remove("value") {
            Some(value) if input.is_empty() => value,
            Some(value) => {
                input.insert("value".into(), value);
                Value::Object(input)
            }
            None => Value::Object(input),
        };
        Ok(NodeOutcome::main(output))
    }
}
