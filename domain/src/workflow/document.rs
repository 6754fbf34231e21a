//! The parsed workflow document and the pieces it is made of.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::{ToolLookup, ToolSignature, graph};
use crate::node_types::{self, MAIN_HANDLE, NodeTypeSpec};

/// Longest allowed node id, in characters.
pub const MAX_NODE_ID_LEN: usize = 64;

/// A node id: 1 to 64 characters matching `^[A-Za-z_][A-Za-z0-9_-]*$`.
///
/// The restriction keeps ids usable unquoted in `ref` paths, templates and jq expressions
/// (`trigger.output.x`, `.nodes.fetch.output`), and as stable keys in stored executions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeId(String);

/// Why a string is not a [`NodeId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidNodeId(String);

impl NodeId {
    /// Checks `id` and wraps it.
    ///
    /// # Errors
    ///
    /// If `id` is empty, longer than [`MAX_NODE_ID_LEN`], or not of the form
    /// `^[A-Za-z_][A-Za-z0-9_-]*$`.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidNodeId> {
        let id = id.into();
        let mut chars = id.chars();
        let Some(first) = chars.next() else {
            return Err(InvalidNodeId("a node id must not be empty".into()));
        };
        if id.chars().count() > MAX_NODE_ID_LEN {
            return Err(InvalidNodeId(format!(
                "node id '{id}' is longer than {MAX_NODE_ID_LEN} characters"
            )));
        }
        let valid_first = first.is_ascii_alphabetic() || first == '_';
        let valid_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !(valid_first && valid_rest) {
            return Err(InvalidNodeId(format!(
                "node id '{id}' must start with a letter or `_` and contain only letters, \
                 digits, `_` and `-`"
            )));
        }
        Ok(Self(id))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeId {
    type Error = InvalidNodeId;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for NodeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for NodeId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for NodeId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NodeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A reference to (a part of) an upstream node's output: `<nodeId>.output[.path...]`.
///
/// Path segments are separated by dots; a segment of digits indexes an array (and is an
/// ordinary key on an object), so `fetch.output.items.0.price` reads the first item's price.
/// Keys that contain a dot cannot be addressed this way; an `expr` binding can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRef {
    raw: String,
    node: NodeId,
    path: Vec<String>,
}

impl OutputRef {
    /// Parses the text of a `ref` binding. Whether the node exists is not checked here.
    ///
    /// # Errors
    ///
    /// A message explaining the expected form.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let form = "a ref has the form `<nodeId>.output[.path...]`, e.g. \
                    `fetch.output.items.0.price`";
        let mut segments = raw.split('.');
        let node = segments.next().unwrap_or_default();
        let node = NodeId::new(node).map_err(|e| format!("{form}; in '{raw}', {e}"))?;
        if segments.next() != Some("output") {
            return Err(format!("{form}; '{raw}' lacks `.output` after the node id"));
        }
        let path: Vec<String> = segments.map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("{form}; '{raw}' has an empty path segment"));
        }
        Ok(Self {
            raw: raw.to_owned(),
            node,
            path,
        })
    }

    /// The node whose output is read.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The segments after `output`; empty means the whole output.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The ref as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Follows [`Self::path`] into `output`, or `None` where it leads nowhere.
    pub fn resolve<'v>(&self, output: &'v Value) -> Option<&'v Value> {
        self.path
            .iter()
            .try_fold(output, |value, segment| match value {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            })
    }
}

impl fmt::Display for OutputRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Where one input of a node gets its value.
#[derive(Debug, Clone, PartialEq)]
pub enum InputBinding {
    /// `{ "value": any }`: a literal.
    Value(Value),
    /// `{ "ref": "node.output.path" }`: statically typed from the upstream output schema.
    Ref(OutputRef),
    /// `{ "template": "..." }`: rendered to a string at run time.
    Template(String),
    /// `{ "expr": "..." }`: a jq expression, checked at run time.
    Expr(String),
}

/// The keys an input binding may have, exactly one at a time.
pub const BINDING_KINDS: [&str; 4] = ["value", "ref", "template", "expr"];

impl InputBinding {
    /// Parses one binding object. A `ref` is checked for syntax only.
    ///
    /// # Errors
    ///
    /// A message saying what is wrong: not an object, no kind, several kinds, an unknown key,
    /// the wrong JSON type for the kind, or (for `ref`) a malformed path.
    pub fn parse(raw: &Value) -> Result<Self, BindingError> {
        let expected = "one of `value`, `ref`, `template` or `expr`";
        let Value::Object(map) = raw else {
            return Err(BindingError::Shape(format!(
                "an input binding must be an object with exactly {expected}, e.g. \
                 {{\"value\": 42}}"
            )));
        };
        if let Some(unknown) = map.keys().find(|k| !BINDING_KINDS.contains(&k.as_str())) {
            return Err(BindingError::Shape(format!(
                "unknown key `{unknown}` in input binding; expected exactly {expected}"
            )));
        }
        // In canonical order, so messages do not depend on how the JSON map orders keys.
        let kinds: Vec<&str> = BINDING_KINDS
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        let (kind, value) = match kinds.as_slice() {
            [] => {
                return Err(BindingError::Shape(format!(
                    "input binding is empty; it needs exactly {expected}"
                )));
            }
            [kind] => (*kind, &map[*kind]),
            several => {
                let names: Vec<String> = several.iter().map(|k| format!("`{k}`")).collect();
                return Err(BindingError::Shape(format!(
                    "input binding has {}; it needs exactly {expected}",
                    names.join(" and ")
                )));
            }
        };
        let text = |value: &Value| {
            value.as_str().map(str::to_owned).ok_or_else(|| {
                BindingError::Shape(format!(
                    "`{kind}` must be a string, not {}",
                    crate::json_schema::json_type_name(value)
                ))
            })
        };
        match kind {
            "value" => Ok(Self::Value(value.clone())),
            "ref" => OutputRef::parse(&text(value)?)
                .map(Self::Ref)
                .map_err(BindingError::Ref),
            "template" => text(value).map(Self::Template),
            _ => {
                let expr = text(value)?;
                if expr.trim().is_empty() {
                    return Err(BindingError::Shape("`expr` must not be empty".into()));
                }
                Ok(Self::Expr(expr))
            }
        }
    }

    /// The ref, if this binding is one.
    pub fn as_ref(&self) -> Option<&OutputRef> {
        match self {
            Self::Ref(r) => Some(r),
            _ => None,
        }
    }
}

/// Why an input binding could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The binding object itself is malformed.
    #[error("{0}")]
    Shape(String),
    /// The binding is a `ref` whose text is malformed.
    #[error("{0}")]
    Ref(String),
}

impl Serialize for InputBinding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Self::Value(value) => map.serialize_entry("value", value)?,
            Self::Ref(r) => map.serialize_entry("ref", r.as_str())?,
            Self::Template(t) => map.serialize_entry("template", t)?,
            Self::Expr(e) => map.serialize_entry("expr", e)?,
        }
        map.end()
    }
}

/// How often and how patiently a failing node is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Attempts in total, the first included: 1 means no retry. At most 20 in a document.
    pub max_attempts: u32,
    /// Base delay before the second attempt; later delays grow exponentially, with jitter.
    pub backoff_ms: u64,
}

/// Where the canvas draws a node; meaningless to the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Horizontal canvas coordinate.
    pub x: f64,
    /// Vertical canvas coordinate.
    pub y: f64,
}

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Whole coordinates go back out as integers so that an imported document (`"x": 0`)
        // is exported byte for byte as it came in, not as `0.0`.
        fn coordinate(v: f64) -> Value {
            const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
            if v.fract() == 0.0 && v.abs() < EXACT {
                #[allow(clippy::cast_possible_truncation)]
                Value::from(v as i64)
            } else {
                Value::from(v)
            }
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("x", &coordinate(self.x))?;
        map.serialize_entry("y", &coordinate(self.y))?;
        map.end()
    }
}

/// One step of a workflow. Only [`WorkflowDocument::parse`] makes these, so every `Node`
/// has a known type, a valid config and well-formed bindings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub(super) id: NodeId,
    #[serde(rename = "type")]
    pub(super) node_type: &'static str,
    pub(super) name: String,
    pub(super) config: Value,
    pub(super) inputs: BTreeMap<String, InputBinding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) retry: Option<RetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) position: Option<Position>,
}

impl Node {
    /// The node's id, unique within its document.
    pub fn id(&self) -> &NodeId {
        &self.id
    }

    /// The node type, e.g. `api-call`.
    pub fn node_type(&self) -> &'static str {
        self.node_type
    }

    /// The palette entry of [`Self::node_type`].
    pub fn spec(&self) -> &'static NodeTypeSpec {
        node_types::find(self.node_type).expect("parsed nodes have a built-in type")
    }

    /// The display name, 1 to 100 characters.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type-specific configuration, a JSON object valid against the type's config schema.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The input bindings by input name.
    pub fn inputs(&self) -> &BTreeMap<String, InputBinding> {
        &self.inputs
    }

    /// The binding of one input.
    pub fn input(&self, name: &str) -> Option<&InputBinding> {
        self.inputs.get(name)
    }

    /// The retry policy, if the node has one; without one a node is attempted once.
    pub fn retry(&self) -> Option<RetryPolicy> {
        self.retry
    }

    /// The per-attempt timeout, if the node has one.
    pub fn timeout_ms(&self) -> Option<u64> {
        self.timeout_ms
    }

    /// The canvas position, if stored.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// The registry tool a `custom` node runs.
    pub fn tool_id(&self) -> Option<&str> {
        (self.node_type == node_types::CUSTOM)
            .then(|| self.config.get("toolId").and_then(Value::as_str))
            .flatten()
    }
}

/// A dependency between two nodes, leaving the source from one of its handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub(super) source: NodeId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) source_handle: Option<String>,
    pub(super) target: NodeId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) target_handle: Option<String>,
}

impl Edge {
    /// The upstream node.
    pub fn source(&self) -> &NodeId {
        &self.source
    }

    /// The handle the edge leaves from; [`MAIN_HANDLE`] when the document names none.
    pub fn source_handle(&self) -> &str {
        self.source_handle.as_deref().unwrap_or(MAIN_HANDLE)
    }

    /// The handle exactly as the document states it.
    pub fn declared_source_handle(&self) -> Option<&str> {
        self.source_handle.as_deref()
    }

    /// The downstream node.
    pub fn target(&self) -> &NodeId {
        &self.target
    }

    /// The canvas's target handle, kept for the editor; the engine does not interpret it.
    pub fn target_handle(&self) -> Option<&str> {
        self.target_handle.as_deref()
    }
}

/// A workflow that passed every structural check: see [`WorkflowDocument::parse`].
#[derive(Debug, Clone)]
pub struct WorkflowDocument {
    pub(super) version: u32,
    pub(super) nodes: Vec<Node>,
    pub(super) edges: Vec<Edge>,
    pub(super) index: HashMap<NodeId, usize>,
    pub(super) outgoing: Vec<Vec<usize>>,
    pub(super) incoming: Vec<Vec<usize>>,
    pub(super) order: Vec<usize>,
    pub(super) tools: BTreeMap<String, ToolSignature>,
}

impl PartialEq for WorkflowDocument {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.nodes == other.nodes && self.edges == other.edges
    }
}

impl Serialize for WorkflowDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("version", &self.version)?;
        map.serialize_entry("nodes", &self.nodes)?;
        map.serialize_entry("edges", &self.edges)?;
        map.end()
    }
}

impl WorkflowDocument {
    /// Parses and checks a raw document, collecting every problem rather than the first.
    ///
    /// `tools` answers for the tool ids that `custom` and `llm-agent` nodes name; fetch them
    /// up front with [`super::referenced_tool_ids`]. Checked here: the JSON shape, `version`
    /// 1, node ids (syntax, uniqueness), names, limits on node and edge counts, known types
    /// and tools, each config against its type's schema, binding syntax and the existence of
    /// the nodes that `ref`s name, edges (dangling, self-loops, handles, duplicates, none into
    /// the trigger), at most one trigger, and acyclicity. Not checked here: whether a `ref`
    /// reads an upstream node and whether its type fits the input; the engine does that
    /// with [`Self::ancestors`] and the schemas.
    ///
    /// # Errors
    ///
    /// Every problem found, each with a path into the document.
    pub fn parse(raw: &Value, tools: &dyn ToolLookup) -> Result<Self, Vec<super::DocumentError>> {
        super::validate::parse(raw, tools)
    }

    /// The document as JSON, in the form [`Self::parse`] accepts: `parse(to_value(d)) == d`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a workflow document always serializes")
    }

    /// The format version; always 1.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The nodes in document order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The edges in document order.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The node with id `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).map(|&i| &self.nodes[i])
    }

    /// The trigger node, if the workflow has one.
    pub fn trigger(&self) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.node_type == node_types::TRIGGER)
    }

    /// Edges leaving `id`, in document order.
    pub fn outgoing(&self, id: &str) -> impl Iterator<Item = &Edge> + '_ {
        self.edge_list(&self.outgoing, id)
    }

    /// Edges entering `id`, in document order.
    pub fn incoming(&self, id: &str) -> impl Iterator<Item = &Edge> + '_ {
        self.edge_list(&self.incoming, id)
    }

    fn edge_list<'a>(
        &'a self,
        lists: &'a [Vec<usize>],
        id: &str,
    ) -> impl Iterator<Item = &'a Edge> + 'a {
        self.index
            .get(id)
            .map(|&i| lists[i].as_slice())
            .unwrap_or_default()
            .iter()
            .map(|&e| &self.edges[e])
    }

    /// Nodes with no incoming edge, in document order: where an execution starts.
    pub fn roots(&self) -> impl Iterator<Item = &Node> + '_ {
        self.nodes
            .iter()
            .zip(&self.incoming)
            .filter(|(_, incoming)| incoming.is_empty())
            .map(|(node, _)| node)
    }

    /// Every node from which `id` can be reached along edges (of any handle); empty for an
    /// unknown id. A `ref` may only read a node in this set.
    pub fn ancestors(&self, id: &str) -> BTreeSet<&str> {
        self.reachable(id, &self.incoming, |e| &e.source)
    }

    /// Every node reachable from `id` along edges; what re-runs when `id` is retried.
    pub fn descendants(&self, id: &str) -> BTreeSet<&str> {
        self.reachable(id, &self.outgoing, |e| &e.target)
    }

    fn reachable<'a>(
        &'a self,
        id: &str,
        lists: &[Vec<usize>],
        next: impl Fn(&'a Edge) -> &'a NodeId,
    ) -> BTreeSet<&'a str> {
        let Some(&start) = self.index.get(id) else {
            return BTreeSet::new();
        };
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &e in &lists[i] {
                let other = next(&self.edges[e]);
                if seen.insert(other.as_str()) {
                    stack.push(self.index[other]);
                }
            }
        }
        seen
    }

    /// All nodes, every one after all of its parents. Ties are broken by document order, so
    /// the order is stable across saves.
    pub fn topological_order(&self) -> Vec<&Node> {
        self.order.iter().map(|&i| &self.nodes[i]).collect()
    }

    /// The signature of a tool that a node of this document names, as looked up at parse.
    pub fn tool(&self, id: &str) -> Option<&ToolSignature> {
        self.tools.get(id)
    }

    /// The schema `node`'s resolved inputs must satisfy: the tool's for `custom` nodes, the
    /// palette's otherwise.
    pub fn input_schema<'a>(&'a self, node: &'a Node) -> &'a Value {
        match node.tool_id().and_then(|id| self.tools.get(id)) {
            Some(tool) => &tool.input_schema,
            None => &node.spec().input_schema,
        }
    }

    /// The schema of what `node` produces: the tool's for `custom` nodes, the configured
    /// `inputSchema` for a trigger that declares one, the palette's otherwise.
    pub fn output_schema<'a>(&'a self, node: &'a Node) -> &'a Value {
        if let Some(tool) = node.tool_id().and_then(|id| self.tools.get(id)) {
            return &tool.output_schema;
        }
        if node.node_type == node_types::TRIGGER
            && let Some(schema) = node.config.get("inputSchema")
        {
            return schema;
        }
        &node.spec().output_schema
    }

    pub(super) fn build(
        version: u32,
        nodes: Vec<Node>,
        edges: Vec<Edge>,
        tools: BTreeMap<String, ToolSignature>,
    ) -> Self {
        let index: HashMap<NodeId, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        let mut outgoing = vec![Vec::new(); nodes.len()];
        let mut incoming = vec![Vec::new(); nodes.len()];
        for (e, edge) in edges.iter().enumerate() {
            outgoing[index[&edge.source]].push(e);
            incoming[index[&edge.target]].push(e);
        }
        let successors: Vec<Vec<usize>> = outgoing
            .iter()
            .map(|list| list.iter().map(|&e| index[&edges[e].target]).collect())
            .collect();
        let order = graph::topological_order(&successors)
            .expect("parse rejects cyclic documents before building them");
        Self {
            version,
            nodes,
            edges,
            index,
            outgoing,
            incoming,
            order,
            tools,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_node_id_is_only_made_through_the_check() {
        assert!(NodeId::new("fetch_orders-2").is_ok());
        assert!(NodeId::new("_private").is_ok());
        assert!(NodeId::new("").is_err());
        assert!(NodeId::new("2fast").is_err());
        assert!(NodeId::new("-dash").is_err());
        assert!(NodeId::new("has space").is_err());
        assert!(NodeId::new("x".repeat(64)).is_ok());
        assert!(NodeId::new("x".repeat(65)).is_err());
        assert!(serde_json::from_value::<NodeId>(json!("a.b")).is_err());
        assert_eq!(serde_json::from_value::<NodeId>(json!("ok")).unwrap(), "ok");
    }

    #[test]
    fn a_ref_resolves_object_keys_and_array_indexes() {
        let r = OutputRef::parse("fetch.output.items.1.price").unwrap();
        assert_eq!(r.node(), "fetch");
        let output = json!({ "items": [ { "price": 1 }, { "price": 2 } ] });
        assert_eq!(r.resolve(&output), Some(&json!(2)));
        assert_eq!(
            OutputRef::parse("fetch.output").unwrap().resolve(&output),
            Some(&output)
        );
        assert_eq!(
            OutputRef::parse("fetch.output.items.9")
                .unwrap()
                .resolve(&output),
            None
        );
        // A digit segment is an ordinary key on an object.
        let keyed = json!({ "0": "zero" });
        assert_eq!(
            OutputRef::parse("a.output.0").unwrap().resolve(&keyed),
            Some(&json!("zero"))
        );
    }

    #[test]
    fn a_ref_without_output_or_with_an_empty_segment_is_malformed() {
        for bad in [
            "fetch",
            "fetch.items",
            "fetch.output.",
            "fetch.output..x",
            ".output",
            "",
        ] {
            assert!(OutputRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_binding_kind_round_trips_through_json() {
        for raw in [
            json!({ "value": { "nested": [1, null] } }),
            json!({ "ref": "a.output.x" }),
            json!({ "template": "Hi {{ a.output.name }}" }),
            json!({ "expr": ".nodes.a.output | length" }),
        ] {
            let binding = InputBinding::parse(&raw).unwrap();
            assert_eq!(serde_json::to_value(&binding).unwrap(), raw);
        }
    }

    #[test]
    fn a_binding_with_none_two_or_unknown_keys_is_rejected_with_a_clear_message() {
        let message = |raw: Value| InputBinding::parse(&raw).unwrap_err().to_string();
        assert!(message(json!({})).contains("empty"));
        assert!(message(json!({ "expr": ".", "value": 1 })).contains("`value` and `expr`"));
        assert!(message(json!({ "val": 1 })).contains("unknown key `val`"));
        assert!(message(json!("x")).contains("must be an object"));
        assert!(message(json!({ "ref": 1 })).contains("`ref` must be a string"));
        assert!(message(json!({ "expr": " " })).contains("must not be empty"));
        assert!(matches!(
            InputBinding::parse(&json!({ "ref": "nope" })),
            Err(BindingError::Ref(_))
        ));
    }

    #[test]
    fn whole_coordinates_are_written_as_integers_and_fractions_as_floats() {
        let position = Position { x: 0.0, y: -12.5 };
        assert_eq!(
            serde_json::to_value(position).unwrap(),
            json!({ "x": 0, "y": -12.5 })
        );
    }
}
