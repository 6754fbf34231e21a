//! A workflow version ready to run: parsed once, input validators compiled once, cached
//! by (workflow, version) because versions never change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::json_schema::{compile, validate_with};
use crate::workflow::{Node, WorkflowDocument};

pub struct PreparedWorkflow {
    pub workflow_id: String,
    pub version: i32,
    pub document: WorkflowDocument,
    validators: HashMap<String, jsonschema::Validator>,
    trigger_input: Option<jsonschema::Validator>,
}

impl PreparedWorkflow {
    pub fn new(
        workflow_id: String,
        version: i32,
        document: WorkflowDocument,
    ) -> Result<Self, String> {
        let mut validators = HashMap::new();
        for node in document.nodes() {
            let schema = document.input_schema(node);
            let validator = compile(schema).map_err(|p| {
                format!(
                    "node `{}` has an invalid input schema: {}",
                    node.id().as_str(),
                    p.message
                )
            })?;
            validators.insert(node.id().as_str().to_owned(), validator);
        }
        let trigger_input = match document
            .trigger()
            .and_then(|t| t.config().get("inputSchema"))
        {
            Some(schema) => Some(
                compile(schema)
                    .map_err(|p| format!("the trigger's inputSchema is invalid: {}", p.message))?,
            ),
            None => None,
        };
        Ok(Self {
            workflow_id,
            version,
            document,
            validators,
            trigger_input,
        })
    }

    /// Run-time check of a node's resolved input against its input schema.
    pub fn check_input(&self, node: &Node, input: &Map<String, Value>) -> Result<(), String> {
        let Some(validator) = self.validators.get(node.id().as_str()) else {
            return Ok(());
        };
        let value = Value::Object(input.clone());
        validate_with(validator, &value).map_err(|problems| {
            let details: Vec<String> = problems
                .iter()
                .map(|p| {
                    if p.path.is_empty() {
                        p.message.clone()
                    } else {
                        format!("{}: {}", p.path, p.message)
                    }
                })
                .collect();
            format!(
                "input of node `{}` does not match its schema: {}",
                node.id().as_str(),
                details.join("; ")
            )
        })
    }

    /// Checks an execution's input against the trigger's `config.inputSchema`, if any.
    pub fn check_execution_input(
        &self,
        input: &Value,
    ) -> Result<(), Vec<crate::json_schema::SchemaProblem>> {
        match &self.trigger_input {
            Some(validator) => validate_with(validator, input),
            None => Ok(()),
        }
    }
}

/// Bounded so many workflows cannot grow it without limit.
const MAX_PREPARED: usize = 1_024;

#[derive(Default)]
pub struct PreparedCache {
    entries: Mutex<HashMap<(String, i32), Arc<PreparedWorkflow>>>,
}

impl PreparedCache {
    pub fn get(&self, workflow_id: &str, version: i32) -> Option<Arc<PreparedWorkflow>> {
        self.entries
            .lock()
            .expect("prepared cache")
            .get(&(workflow_id.to_owned(), version))
            .cloned()
    }

    pub fn insert(&self, prepared: Arc<PreparedWorkflow>) {
        let mut entries = self.entries.lock().expect("prepared cache");
        if entries.len() >= MAX_PREPARED {
            entries.clear();
        }
        entries.insert((prepared.workflow_id.clone(), prepared.version), prepared);
    }
}
