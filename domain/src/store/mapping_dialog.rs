//! What the studio's parameter mapping dialog asks of the server: one node's inputs with the
//! save-time checker's verdicts (`nodeMapping`), and one binding evaluated by the run-time
//! mapping engine (`previewMapping`).
//!
//! Both read the document the user is editing, saved or not, and write nothing. A document
//! being edited is often broken somewhere else (a node just dropped on the canvas without its
//! config): the dialog of a node should still work then, so when the whole document does not
//! parse, the node is checked within the part that decides its verdicts, itself and its
//! ancestors. Its verdicts there are the ones the whole document gives once it parses, since a
//! node's check reads nothing but its own schema and its ancestors' outputs.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::{tools, workflows};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult, FieldProblem};
use crate::mapping::inspect::{self, NodeMapping};
use crate::node_types::{self, CUSTOM};
use crate::workflow::{ToolSignature, WorkflowDocument, referenced_tool_ids};

/// `nodeMapping`'s answer.
#[derive(Debug, Clone)]
pub struct NodeMappingView {
    pub node_id: String,
    pub mapping: NodeMapping,
    /// `validateWorkflow`'s problems whose path is under this node.
    pub problems: Vec<FieldProblem>,
}

/// The index of node `node_id` in a raw document, or `BAD_USER_INPUT` at `path`.
fn node_index(raw: &Value, node_id: &str, path: &str) -> DomainResult<usize> {
    let nodes = raw.get("nodes").and_then(Value::as_array);
    let ids = || {
        nodes
            .into_iter()
            .flatten()
            .filter_map(|n| n.get("id").and_then(Value::as_str))
    };
    nodes
        .into_iter()
        .flatten()
        .position(|n| n.get("id").and_then(Value::as_str) == Some(node_id))
        .ok_or_else(|| {
            let known: Vec<String> = ids().take(50).map(|id| format!("`{id}`")).collect();
            DomainError::bad_input(
                path,
                format!(
                    "the document has no node `{node_id}`; its nodes are {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        })
}

/// Every input of node `node_id` of `raw` with the checker's verdict, the outputs of the nodes
/// upstream of it, and `validateWorkflow`'s problems under it.
#[tracing::instrument(skip_all, fields(node_id))]
pub async fn node_mapping(
    db: &impl sea_orm::ConnectionTrait,
    principal: &Principal,
    raw: &Value,
    node_id: &str,
) -> DomainResult<NodeMappingView> {
    let index = node_index(raw, node_id, "nodeId")?;
    let problems = match workflows::check_document(db, principal, raw, "").await {
        Ok(_) => Vec::new(),
        Err(DomainError::BadInput(problems)) => problems,
        Err(other) => return Err(other),
    };
    let under = format!("nodes[{index}]");
    let problems = problems
        .into_iter()
        .map(|p| FieldProblem::new(p.path.trim_start_matches('.'), p.message))
        .filter(|p| {
            p.path
                .strip_prefix(&under)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .collect();
    let signatures = tools::signatures(db, principal, &referenced_tool_ids(raw)).await?;
    let mapping = match WorkflowDocument::parse(raw, &signatures) {
        Ok(doc) => inspect::inspect(&doc, index),
        Err(_) => inspect_within_ancestors(raw, index, node_id, &signatures),
    };
    Ok(NodeMappingView {
        node_id: node_id.to_owned(),
        mapping,
        problems,
    })
}

/// The node and its ancestors (by the raw edges), in document order, with the edges among
/// them; and the node's index in that smaller document.
fn ancestors_document(raw: &Value, node_id: &str) -> (Value, usize) {
    let edges: Vec<&Value> = raw
        .get("edges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let end = |edge: &Value, key: &str| edge.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for edge in &edges {
        if let (Some(source), Some(target)) = (end(edge, "source"), end(edge, "target")) {
            parents.entry(target).or_default().push(source);
        }
    }
    let mut keep = BTreeSet::from([node_id.to_owned()]);
    let mut frontier = vec![node_id.to_owned()];
    while let Some(next) = frontier.pop() {
        for parent in parents.get(&next).into_iter().flatten() {
            if keep.insert(parent.clone()) {
                frontier.push(parent.clone());
            }
        }
    }
    let kept = |id: Option<String>| id.is_some_and(|id| keep.contains(&id));
    let nodes: Vec<Value> = raw
        .get("nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|n| kept(n.get("id").and_then(Value::as_str).map(str::to_owned)))
        .cloned()
        .collect();
    let index = nodes
        .iter()
        .position(|n| n.get("id").and_then(Value::as_str) == Some(node_id))
        .unwrap_or_default();
    let edges: Vec<Value> = edges
        .into_iter()
        .filter(|e| kept(end(e, "source")) && kept(end(e, "target")))
        .cloned()
        .collect();
    let mut smaller = raw.clone();
    smaller["nodes"] = Value::Array(nodes);
    smaller["edges"] = Value::Array(edges);
    (smaller, index)
}

/// The mapping of a node whose document does not parse: checked within its ancestors if
/// they parse, else listed unchecked with the reason.
fn inspect_within_ancestors(
    raw: &Value,
    index: usize,
    node_id: &str,
    signatures: &HashMap<String, ToolSignature>,
) -> NodeMapping {
    let (smaller, smaller_index) = ancestors_document(raw, node_id);
    match WorkflowDocument::parse(&smaller, signatures) {
        Ok(doc) => {
            let mut mapping = inspect::inspect(&doc, smaller_index);
            // Paths name the node by its index in the document the client sent.
            let from = format!("nodes[{smaller_index}]");
            let to = format!("nodes[{index}]");
            for input in &mut mapping.inputs {
                if let Some(rest) = input.path.strip_prefix(&from) {
                    input.path = format!("{to}{rest}");
                }
            }
            mapping
        }
        Err(errors) => {
            let node = &raw["nodes"][index];
            let schema = input_schema_of(node, signatures);
            let bindings: Vec<(&str, Value)> = node
                .get("inputs")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(name, binding)| (name.as_str(), binding.clone()))
                .collect();
            let first = errors
                .first()
                .map_or_else(String::new, |e| format!(": {}", e.message));
            let reason = format!(
                "not checked until this node and the nodes upstream of it are valid{first}"
            );
            NodeMapping {
                inputs: inspect::unchecked_inputs(&schema, bindings, index, &reason),
                upstream: Vec::new(),
            }
        }
    }
}

/// A raw node's input schema: its tool's for `custom`, its type's otherwise, or an open one.
fn input_schema_of(node: &Value, signatures: &HashMap<String, ToolSignature>) -> Value {
    let node_type = node.get("type").and_then(Value::as_str).unwrap_or_default();
    if node_type == CUSTOM
        && let Some(tool) = node
            .pointer("/config/toolId")
            .and_then(Value::as_str)
            .and_then(|id| signatures.get(id))
    {
        return tool.input_schema.clone();
    }
    node_types::find(node_type).map_or_else(|| json!({}), |spec| spec.input_schema.clone())
}
