//! The workflow document: the unit of save, export, import and template.
//!
//! Raw JSON becomes a [`WorkflowDocument`] only through [`WorkflowDocument::parse`], which
//! checks everything that can be checked without running anything. Code that holds a
//! `WorkflowDocument` can therefore rely on known node types, unique ids, existing edge
//! endpoints, valid handles and an acyclic graph without checking again.

mod document;
mod graph;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use document::{
    BINDING_KINDS, BindingError, Edge, InputBinding, InvalidNodeId, MAX_NODE_ID_LEN, Node, NodeId,
    OutputRef, Position, RetryPolicy, WorkflowDocument,
};

use crate::node_types;

/// The only document format version there is.
pub const DOCUMENT_VERSION: u32 = 1;
/// Most nodes a workflow may have.
pub const MAX_NODES: usize = 1_000;
/// Most edges a workflow may have.
pub const MAX_EDGES: usize = 5_000;
/// Longest node name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most attempts a retry policy may ask for.
pub const MAX_ATTEMPTS: u32 = 20;
/// Longest base backoff, one hour: longer waits belong in a scheduled trigger.
pub const MAX_BACKOFF_MS: u64 = 3_600_000;
/// Longest node timeout, one day.
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// What the validator needs to know about a registry tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSignature {
    /// The tool's id, as `custom` nodes name it in `config.toolId`.
    pub id: String,
    /// Schema of the tool's input object.
    pub input_schema: Value,
    /// Schema of the tool's output.
    pub output_schema: Value,
}

/// Answers which tools exist, so that parsing stays synchronous and storage-free: callers
/// prefetch the ids from [`referenced_tool_ids`] and hand over a map.
pub trait ToolLookup {
    /// The tool with this id, or `None` if there is none (or the caller may not use it).
    fn tool(&self, id: &str) -> Option<ToolSignature>;
}

impl<S: std::hash::BuildHasher> ToolLookup for HashMap<String, ToolSignature, S> {
    fn tool(&self, id: &str) -> Option<ToolSignature> {
        self.get(id).cloned()
    }
}

impl ToolLookup for BTreeMap<String, ToolSignature> {
    fn tool(&self, id: &str) -> Option<ToolSignature> {
        self.get(id).cloned()
    }
}

/// The tool ids a raw document names: `config.toolId` of `custom` nodes and the entries of
/// `config.tools` of `llm-agent` nodes, each once, in document order. Malformed parts are
/// skipped; [`WorkflowDocument::parse`] reports them.
pub fn referenced_tool_ids(raw: &Value) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut push = |id: &str| {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    };
    let nodes = raw.get("nodes").and_then(Value::as_array);
    for node in nodes.into_iter().flatten() {
        let config = node.get("config");
        match node.get("type").and_then(Value::as_str) {
            Some(node_types::CUSTOM) => {
                if let Some(id) = config.and_then(|c| c.get("toolId")).and_then(Value::as_str) {
                    push(id);
                }
            }
            Some(node_types::LLM_AGENT) => {
                let tools = config
                    .and_then(|c| c.get("tools"))
                    .and_then(Value::as_array);
                for id in tools.into_iter().flatten().filter_map(Value::as_str) {
                    push(id);
                }
            }
            _ => {}
        }
    }
    ids
}

/// One problem with a workflow document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {message}", if path.is_empty() { "(document)" } else { path.as_str() })]
pub struct DocumentError {
    /// Where in the document, e.g. `nodes[2].id`, `edges[0].sourceHandle` or
    /// `nodes[1].config.toolId`; empty for the document as a whole.
    pub path: String,
    /// What kind of problem, for clients that react to it programmatically.
    pub code: DocumentErrorCode,
    /// What is wrong, naming the node ids involved.
    pub message: String,
}

impl DocumentError {
    pub(crate) fn new(
        path: impl Into<String>,
        code: DocumentErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

/// The kinds of [`DocumentError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentErrorCode {
    /// A value has the wrong JSON type.
    InvalidShape,
    /// A key the format does not define.
    UnknownField,
    /// A required key is absent.
    MissingField,
    /// `version` is not 1.
    UnsupportedVersion,
    /// More than [`MAX_NODES`] nodes.
    TooManyNodes,
    /// More than [`MAX_EDGES`] edges.
    TooManyEdges,
    /// A node id breaks the [`NodeId`] rules.
    InvalidNodeId,
    /// Two nodes share an id.
    DuplicateNodeId,
    /// A node name is empty, blank or too long.
    InvalidName,
    /// A node `type` that is not in the palette.
    UnknownNodeType,
    /// A second trigger node.
    MultipleTriggers,
    /// A config that its node type's schema rejects.
    InvalidConfig,
    /// A `custom` node without `config.toolId`.
    MissingToolId,
    /// A tool id the registry does not know.
    UnknownTool,
    /// An input binding that is not exactly one of `value`, `ref`, `template`, `expr`.
    InvalidBinding,
    /// A `ref` that is not of the form `<nodeId>.output[.path...]`.
    InvalidRef,
    /// A `ref` to a node the document does not have.
    UnknownRefNode,
    /// A number outside its allowed range (retry, timeout).
    OutOfRange,
    /// An edge to or from a node the document does not have.
    DanglingEdge,
    /// An edge from a node to itself.
    SelfLoop,
    /// A `sourceHandle` its source node type does not have.
    UnknownHandle,
    /// An edge into the trigger, which only ever starts an execution.
    EdgeIntoTrigger,
    /// The same edge twice.
    DuplicateEdge,
    /// The edges form a cycle.
    Cycle,
    /// A `ref` or template that reads a node which is not upstream of the reading node.
    RefNotUpstream,
    /// A `ref` whose path the upstream node's output schema says cannot exist.
    UnknownRefPath,
    /// A binding whose value type does not fit the input's schema.
    TypeMismatch,
    /// A `template` binding that does not parse or names unknown variables.
    InvalidTemplate,
    /// An `expr` binding that is not a valid jq program.
    InvalidExpr,
    /// A required input without a binding.
    MissingInput,
    /// A binding for an input the node's closed input schema does not have.
    UnknownInput,
}

impl DocumentErrorCode {
    /// The code as sent to clients, e.g. `DANGLING_EDGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidShape => "INVALID_SHAPE",
            Self::UnknownField => "UNKNOWN_FIELD",
            Self::MissingField => "MISSING_FIELD",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::TooManyNodes => "TOO_MANY_NODES",
            Self::TooManyEdges => "TOO_MANY_EDGES",
            Self::InvalidNodeId => "INVALID_NODE_ID",
            Self::DuplicateNodeId => "DUPLICATE_NODE_ID",
            Self::InvalidName => "INVALID_NAME",
            Self::UnknownNodeType => "UNKNOWN_NODE_TYPE",
            Self::MultipleTriggers => "MULTIPLE_TRIGGERS",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::MissingToolId => "MISSING_TOOL_ID",
            Self::UnknownTool => "UNKNOWN_TOOL",
            Self::InvalidBinding => "INVALID_BINDING",
            Self::InvalidRef => "INVALID_REF",
            Self::UnknownRefNode => "UNKNOWN_REF_NODE",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::DanglingEdge => "DANGLING_EDGE",
            Self::SelfLoop => "SELF_LOOP",
            Self::UnknownHandle => "UNKNOWN_HANDLE",
            Self::EdgeIntoTrigger => "EDGE_INTO_TRIGGER",
            Self::DuplicateEdge => "DUPLICATE_EDGE",
            Self::Cycle => "CYCLE",
            Self::RefNotUpstream => "REF_NOT_UPSTREAM",
            Self::UnknownRefPath => "UNKNOWN_REF_PATH",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::InvalidTemplate => "INVALID_TEMPLATE",
            Self::InvalidExpr => "INVALID_EXPR",
            Self::MissingInput => "MISSING_INPUT",
            Self::UnknownInput => "UNKNOWN_INPUT",
        }
    }
}

impl fmt::Display for DocumentErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::DocumentErrorCode as Code;
    use super::*;
    use serde_json::json;

    #[test]
    fn referenced_tool_ids_lists_custom_and_agent_tools_once_in_document_order() {
        let raw = json!({ "version": 1, "nodes": [
            { "id": "a", "type": "custom", "config": { "toolId": "t2" } },
            { "id": "b", "type": "llm-agent", "config": { "tools": ["t1", "t2", 7] } },
            { "id": "c", "type": "custom", "config": { "toolId": "t1" } },
            { "id": "d", "type": "api-call", "config": { "toolId": "not-a-tool-node" } },
            { "id": "e", "type": "custom" },
            "garbage"
        ] });
        assert_eq!(referenced_tool_ids(&raw), ["t2", "t1"]);
    }

    #[test]
    fn referenced_tool_ids_of_a_malformed_document_is_empty() {
        assert!(referenced_tool_ids(&json!(null)).is_empty());
        assert!(referenced_tool_ids(&json!({ "nodes": {} })).is_empty());
    }

    #[test]
    fn error_codes_serialize_as_their_client_names() {
        for code in [
            Code::DanglingEdge,
            Code::Cycle,
            Code::UnknownRefNode,
            Code::OutOfRange,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
    }

    #[test]
    fn a_document_error_displays_its_path_and_message() {
        let error = DocumentError::new("edges[0]", Code::SelfLoop, "node 'a' loops");
        assert_eq!(error.to_string(), "edges[0]: node 'a' loops");
    }
}
