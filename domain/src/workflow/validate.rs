//! Raw JSON to [`WorkflowDocument`], reporting every problem with a path.
//!
//! The document is read field by field rather than through `serde::Deserialize`: serde stops
//! at the first error, and its messages carry no path, while a canvas needs every problem
//! pinned to the node or edge it belongs to.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::document::{
    BindingError, Edge, InputBinding, Node, NodeId, OutputRef, Position, RetryPolicy,
    WorkflowDocument,
};
use super::{
    DOCUMENT_VERSION, DocumentError, DocumentErrorCode as Code, MAX_ATTEMPTS, MAX_BACKOFF_MS,
    MAX_EDGES, MAX_NAME_CHARS, MAX_NODES, MAX_TIMEOUT_MS, ToolLookup, ToolSignature, graph,
};
use crate::json_schema::{self, SchemaProblem, json_type_name};
use crate::node_types::{self, NodeTypeSpec};

const DOCUMENT_FIELDS: &[&str] = &["version", "nodes", "edges"];
const NODE_FIELDS: &[&str] = &[
    "id",
    "type",
    "name",
    "config",
    "inputs",
    "retry",
    "timeoutMs",
    "position",
];
const EDGE_FIELDS: &[&str] = &["source", "sourceHandle", "target", "targetHandle"];
const RETRY_FIELDS: &[&str] = &["maxAttempts", "backoffMs"];
const POSITION_FIELDS: &[&str] = &["x", "y"];

#[derive(Default)]
struct Errors(Vec<DocumentError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, code: Code, message: impl Into<String>) {
        self.0.push(DocumentError::new(path, code, message));
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// What is known of one node, even a broken one: later checks still need its id and type to
/// judge edges and refs, without piling consequential errors onto the first.
struct NodeDraft<'a> {
    raw_id: Option<&'a str>,
    spec: Option<&'static NodeTypeSpec>,
    /// Present only when every field of the node itself is valid.
    node: Option<Node>,
    refs: Vec<(String, OutputRef)>,
}

pub(super) fn parse(
    raw: &Value,
    tools: &dyn ToolLookup,
) -> Result<WorkflowDocument, Vec<DocumentError>> {
    let mut errors = Errors::default();
    let Some(root) = object(raw, "", "a workflow document", &mut errors) else {
        return Err(errors.0);
    };
    unknown_fields(root, DOCUMENT_FIELDS, "", &mut errors);
    let version = parse_version(root.get("version"), &mut errors);
    let raw_nodes = list(root.get("nodes"), "nodes", &mut errors);
    let raw_edges = list(root.get("edges"), "edges", &mut errors);

    // Checked before anything else so that an oversized document costs no more to reject
    // than to count.
    if raw_nodes.len() > MAX_NODES {
        errors.push(
            "nodes",
            Code::TooManyNodes,
            format!(
                "a workflow may have at most {MAX_NODES} nodes; this one has {}",
                raw_nodes.len()
            ),
        );
    }
    if raw_edges.len() > MAX_EDGES {
        errors.push(
            "edges",
            Code::TooManyEdges,
            format!(
                "a workflow may have at most {MAX_EDGES} edges; this one has {}",
                raw_edges.len()
            ),
        );
    }
    if raw_nodes.len() > MAX_NODES || raw_edges.len() > MAX_EDGES {
        return Err(errors.0);
    }

    let mut signatures = BTreeMap::new();
    let drafts: Vec<NodeDraft<'_>> = raw_nodes
        .iter()
        .enumerate()
        .map(|(i, raw)| parse_node(i, raw, tools, &mut signatures, &mut errors))
        .collect();

    let ids = index_ids(&drafts, &mut errors);
    check_triggers(&drafts, &mut errors);
    check_ref_targets(&drafts, &ids, &mut errors);

    let mut successors = vec![Vec::new(); drafts.len()];
    let mut seen_edges = HashMap::new();
    let mut edges = Vec::with_capacity(raw_edges.len());
    for (k, raw) in raw_edges.iter().enumerate() {
        let mut edge_graph = EdgeGraph {
            ids: &ids,
            drafts: &drafts,
            successors: &mut successors,
            seen: &mut seen_edges,
        };
        if let Some(edge) = parse_edge(k, raw, &mut edge_graph, &mut errors) {
            edges.push(edge);
        }
    }
    if let Some(cycle) = graph::find_cycle(&successors) {
        let name = |i: usize| drafts[i].raw_id.unwrap_or_default();
        let mut names: Vec<&str> = cycle.nodes.iter().map(|&i| name(i)).collect();
        names.push(name(cycle.nodes[0]));
        errors.push(
            format!("edges[{}]", cycle.closing_edge),
            Code::Cycle,
            format!("cycle: {}", names.join(" -> ")),
        );
    }

    if errors.len() > 0 {
        let mut errors = errors.0;
        // Cross-checks run after the per-node pass; reading order is what a person fixing
        // the document wants. The sort is stable, so each node's own order is kept.
        errors.sort_by_key(|e| document_position(&e.path));
        return Err(errors);
    }
    let nodes = drafts
        .into_iter()
        .map(|d| d.node.expect("a document without errors has every node"))
        .collect();
    Ok(WorkflowDocument::build(
        version.expect("a document without errors has a version"),
        nodes,
        edges,
        signatures,
    ))
}

fn parse_version(raw: Option<&Value>, errors: &mut Errors) -> Option<u32> {
    let Some(raw) = raw else {
        errors.push(
            "version",
            Code::MissingField,
            format!("a workflow document needs `\"version\": {DOCUMENT_VERSION}`"),
        );
        return None;
    };
    match raw.as_u64() {
        Some(v) if v == u64::from(DOCUMENT_VERSION) => Some(DOCUMENT_VERSION),
        Some(v) => {
            errors.push(
                "version",
                Code::UnsupportedVersion,
                format!(
                    "document version {v} is not supported; this server reads version \
                     {DOCUMENT_VERSION}"
                ),
            );
            None
        }
        None => {
            errors.push(
                "version",
                Code::InvalidShape,
                format!(
                    "`version` must be the integer {DOCUMENT_VERSION}, not {}",
                    describe(raw)
                ),
            );
            None
        }
    }
}

fn parse_node<'a>(
    i: usize,
    raw: &'a Value,
    tools: &dyn ToolLookup,
    signatures: &mut BTreeMap<String, ToolSignature>,
    errors: &mut Errors,
) -> NodeDraft<'a> {
    let path = format!("nodes[{i}]");
    let mut draft = NodeDraft {
        raw_id: None,
        spec: None,
        node: None,
        refs: Vec::new(),
    };
    let Some(map) = object(raw, &path, "a node", errors) else {
        return draft;
    };
    let errors_before = errors.len();
    unknown_fields(map, NODE_FIELDS, &path, errors);

    draft.raw_id = required_str(map, "id", &path, errors);
    let id = draft.raw_id.and_then(|id| match NodeId::new(id) {
        Ok(id) => Some(id),
        Err(e) => {
            errors.push(format!("{path}.id"), Code::InvalidNodeId, e.to_string());
            None
        }
    });
    let who = draft
        .raw_id
        .map_or_else(|| path.clone(), |id| format!("node '{id}'"));

    draft.spec = required_str(map, "type", &path, errors).and_then(|t| {
        let spec = node_types::find(t);
        if spec.is_none() {
            let known: Vec<&str> = node_types::catalog().iter().map(|s| s.node_type).collect();
            errors.push(
                format!("{path}.type"),
                Code::UnknownNodeType,
                format!(
                    "{who} has unknown type '{t}'; the node types are {}",
                    known.join(", ")
                ),
            );
        }
        spec
    });

    let name = required_str(map, "name", &path, errors).filter(|name| {
        let chars = name.chars().count();
        let problem = if name.trim().is_empty() {
            Some("must not be empty or blank".to_owned())
        } else if chars > MAX_NAME_CHARS {
            Some(format!(
                "must be at most {MAX_NAME_CHARS} characters, not {chars}"
            ))
        } else {
            None
        };
        if let Some(problem) = &problem {
            errors.push(
                format!("{path}.name"),
                Code::InvalidName,
                format!("the name of {who} {problem}"),
            );
        }
        problem.is_none()
    });

    let config = match map.get("config") {
        None => Some(json!({})),
        Some(config @ Value::Object(_)) => Some(config.clone()),
        Some(other) => {
            errors.push(
                format!("{path}.config"),
                Code::InvalidShape,
                format!(
                    "the config of {who} must be an object, not {}",
                    describe(other)
                ),
            );
            None
        }
    };
    if let (Some(spec), Some(config)) = (draft.spec, &config) {
        check_config(spec, config, &path, &who, tools, signatures, errors);
    }

    let inputs = parse_inputs(map.get("inputs"), &path, &who, &mut draft.refs, errors);
    let retry = map
        .get("retry")
        .and_then(|raw| parse_retry(raw, &format!("{path}.retry"), &who, errors));
    let timeout_ms = map.get("timeoutMs").and_then(|raw| {
        bounded_u64(
            raw,
            &format!("{path}.timeoutMs"),
            &who,
            1,
            MAX_TIMEOUT_MS,
            errors,
        )
    });
    let position = map
        .get("position")
        .and_then(|raw| parse_position(raw, &format!("{path}.position"), errors));

    if errors.len() == errors_before {
        draft.node = Some(Node {
            id: id.expect("checked"),
            node_type: draft.spec.expect("checked").node_type,
            name: name.expect("checked").to_owned(),
            config: config.expect("checked"),
            inputs: inputs.expect("checked"),
            retry,
            timeout_ms,
            position,
        });
    }
    draft
}

fn check_config(
    spec: &'static NodeTypeSpec,
    config: &Value,
    path: &str,
    who: &str,
    tools: &dyn ToolLookup,
    signatures: &mut BTreeMap<String, ToolSignature>,
    errors: &mut Errors,
) {
    let mut lookup = |id: &str, at: String, errors: &mut Errors| match tools.tool(id) {
        Some(signature) => {
            signatures.insert(id.to_owned(), signature);
        }
        None => errors.push(
            at,
            Code::UnknownTool,
            format!("{who} uses tool '{id}', which does not exist or is not available"),
        ),
    };

    let mut checked = config;
    let placeholder;
    match spec.node_type {
        node_types::CUSTOM => match config.get("toolId") {
            Some(Value::String(id)) if !id.is_empty() => {
                lookup(id, format!("{path}.config.toolId"), errors);
            }
            missing_or_wrong => {
                let what = missing_or_wrong
                    .map_or_else(|| "has none".to_owned(), |v| format!("has {}", describe(v)));
                errors.push(
                    format!("{path}.config.toolId"),
                    Code::MissingToolId,
                    format!(
                        "custom {who} needs `config.toolId`, the id of the registry tool it \
                         runs; it {what}"
                    ),
                );
                // Reported once above; the schema would only repeat it.
                let mut without = config.clone();
                without["toolId"] = json!("-");
                placeholder = without;
                checked = &placeholder;
            }
        },
        node_types::LLM_AGENT => {
            let listed = config.get("tools").and_then(Value::as_array);
            for (j, id) in listed.into_iter().flatten().enumerate() {
                if let Some(id) = id.as_str().filter(|id| !id.is_empty()) {
                    lookup(id, format!("{path}.config.tools[{j}]"), errors);
                }
            }
        }
        node_types::TRIGGER => {
            if let Some(schema @ (Value::Object(_) | Value::Bool(_))) = config.get("inputSchema")
                && let Err(problem) = json_schema::check_schema(schema)
            {
                errors.push(
                    format!(
                        "{path}.config.inputSchema{}",
                        pointer_to_path(&problem.path)
                    ),
                    Code::InvalidConfig,
                    format!(
                        "the inputSchema of {who} is not a valid JSON Schema: {}",
                        problem.message
                    ),
                );
            }
        }
        _ => {}
    }

    if let Err(problems) = spec.validate_config(checked) {
        for SchemaProblem {
            path: pointer,
            message,
        } in problems
        {
            errors.push(
                format!("{path}.config{}", pointer_to_path(&pointer)),
                Code::InvalidConfig,
                format!("invalid config for {who}: {message}"),
            );
        }
    }
}

fn parse_inputs(
    raw: Option<&Value>,
    path: &str,
    who: &str,
    refs: &mut Vec<(String, OutputRef)>,
    errors: &mut Errors,
) -> Option<BTreeMap<String, InputBinding>> {
    let map = match raw {
        None => return Some(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(other) => {
            errors.push(
                format!("{path}.inputs"),
                Code::InvalidShape,
                format!(
                    "the inputs of {who} must be an object mapping input names to bindings, \
                     not {}",
                    describe(other)
                ),
            );
            return None;
        }
    };
    let mut inputs = BTreeMap::new();
    for (name, raw) in map {
        let at = format!("{path}.inputs.{name}");
        if name.is_empty() {
            errors.push(
                at,
                Code::InvalidBinding,
                format!("{who} has an input with an empty name"),
            );
            continue;
        }
        match InputBinding::parse(raw) {
            Ok(binding) => {
                if let InputBinding::Ref(r) = &binding {
                    refs.push((name.clone(), r.clone()));
                }
                inputs.insert(name.clone(), binding);
            }
            Err(BindingError::Shape(message)) => errors.push(
                at,
                Code::InvalidBinding,
                format!("input '{name}' of {who}: {message}"),
            ),
            Err(BindingError::Ref(message)) => errors.push(
                format!("{at}.ref"),
                Code::InvalidRef,
                format!("input '{name}' of {who}: {message}"),
            ),
        }
    }
    Some(inputs)
}

fn parse_retry(raw: &Value, path: &str, who: &str, errors: &mut Errors) -> Option<RetryPolicy> {
    let map = object(raw, path, "a retry policy", errors)?;
    unknown_fields(map, RETRY_FIELDS, path, errors);
    let field = |key: &str, min: u64, max: u64, errors: &mut Errors| match map.get(key) {
        Some(raw) => bounded_u64(raw, &format!("{path}.{key}"), who, min, max, errors),
        None => {
            errors.push(
                format!("{path}.{key}"),
                Code::MissingField,
                format!("the retry policy of {who} needs `{key}`"),
            );
            None
        }
    };
    let max_attempts = field("maxAttempts", 1, u64::from(MAX_ATTEMPTS), errors);
    let backoff_ms = field("backoffMs", 0, MAX_BACKOFF_MS, errors);
    Some(RetryPolicy {
        max_attempts: u32::try_from(max_attempts?).expect("bounded by MAX_ATTEMPTS"),
        backoff_ms: backoff_ms?,
    })
}

fn parse_position(raw: &Value, path: &str, errors: &mut Errors) -> Option<Position> {
    let map = object(raw, path, "a position", errors)?;
    unknown_fields(map, POSITION_FIELDS, path, errors);
    let mut coordinate = |key: &str| match map.get(key) {
        Some(v) if v.is_number() => v.as_f64(),
        Some(other) => {
            errors.push(
                format!("{path}.{key}"),
                Code::InvalidShape,
                format!("`{key}` must be a number, not {}", describe(other)),
            );
            None
        }
        None => {
            errors.push(
                format!("{path}.{key}"),
                Code::MissingField,
                format!("a position needs `{key}`"),
            );
            None
        }
    };
    let x = coordinate("x");
    let y = coordinate("y");
    Some(Position { x: x?, y: y? })
}

/// Node ids to node indices (first occurrence), reporting later duplicates.
fn index_ids<'a>(drafts: &[NodeDraft<'a>], errors: &mut Errors) -> HashMap<&'a str, usize> {
    let mut ids = HashMap::with_capacity(drafts.len());
    for (i, draft) in drafts.iter().enumerate() {
        let Some(id) = draft.raw_id else { continue };
        match ids.entry(id) {
            Entry::Occupied(first) => errors.push(
                format!("nodes[{i}].id"),
                Code::DuplicateNodeId,
                format!(
                    "node id '{id}' is used twice: by nodes[{}] and nodes[{i}]",
                    first.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    ids
}

fn check_triggers(drafts: &[NodeDraft<'_>], errors: &mut Errors) {
    let mut first: Option<usize> = None;
    for (i, draft) in drafts.iter().enumerate() {
        if draft
            .spec
            .is_none_or(|s| s.node_type != node_types::TRIGGER)
        {
            continue;
        }
        match first {
            None => first = Some(i),
            Some(f) => {
                let name = |d: &NodeDraft<'_>, i: usize| {
                    d.raw_id
                        .map_or_else(|| format!("nodes[{i}]"), |id| format!("'{id}'"))
                };
                errors.push(
                    format!("nodes[{i}].type"),
                    Code::MultipleTriggers,
                    format!(
                        "a workflow has at most one trigger; {} is a second one besides {}",
                        name(draft, i),
                        name(&drafts[f], f)
                    ),
                );
            }
        }
    }
}

fn check_ref_targets(drafts: &[NodeDraft<'_>], ids: &HashMap<&str, usize>, errors: &mut Errors) {
    for (i, draft) in drafts.iter().enumerate() {
        for (input, r) in &draft.refs {
            if !ids.contains_key(r.node().as_str()) {
                let who = draft
                    .raw_id
                    .map_or_else(|| format!("nodes[{i}]"), |id| format!("node '{id}'"));
                errors.push(
                    format!("nodes[{i}].inputs.{input}.ref"),
                    Code::UnknownRefNode,
                    format!(
                        "input '{input}' of {who} refers to '{}', which is not a node of this \
                         workflow",
                        r.node()
                    ),
                );
            }
        }
    }
}

/// What edge parsing reads and fills in, bundled to keep `parse_edge` readable.
struct EdgeGraph<'g, 'a> {
    ids: &'g HashMap<&'a str, usize>,
    drafts: &'g [NodeDraft<'a>],
    /// Per node, `(target, edge index)` of its well-formed outgoing edges, for cycle search.
    successors: &'g mut Vec<Vec<(usize, usize)>>,
    /// `(source, handle, target, target handle)` to the first edge with them.
    seen: &'g mut HashMap<(usize, String, usize, Option<String>), usize>,
}

fn parse_edge(
    k: usize,
    raw: &Value,
    graph: &mut EdgeGraph<'_, '_>,
    errors: &mut Errors,
) -> Option<Edge> {
    let path = format!("edges[{k}]");
    let map = object(raw, &path, "an edge", errors)?;
    let errors_before = errors.len();
    unknown_fields(map, EDGE_FIELDS, &path, errors);
    let source = required_str(map, "source", &path, errors);
    let target = required_str(map, "target", &path, errors);
    let source_handle = optional_handle(map, "sourceHandle", &path, errors);
    let target_handle = optional_handle(map, "targetHandle", &path, errors);
    let (Some(source), Some(target)) = (source, target) else {
        return None;
    };
    let describe_edge = format!("edge from '{source}' to '{target}'");

    let endpoint = |id: &str, key: &str, errors: &mut Errors| {
        let found = graph.ids.get(id).copied();
        if found.is_none() {
            errors.push(
                format!("{path}.{key}"),
                Code::DanglingEdge,
                format!("{describe_edge}: '{id}' is not a node of this workflow"),
            );
        }
        found
    };
    let from = endpoint(source, "source", errors);
    let to = endpoint(target, "target", errors);
    let (Some(from), Some(to)) = (from, to) else {
        return None;
    };
    if from == to {
        errors.push(
            &path,
            Code::SelfLoop,
            format!("node '{source}' has an edge to itself"),
        );
        return None;
    }

    let handle = source_handle.flatten().unwrap_or(node_types::MAIN_HANDLE);
    if let Some(spec) = graph.drafts[from].spec
        && !spec.has_handle(handle)
    {
        let handles: Vec<&str> = spec.handles().collect();
        let named = if source_handle.flatten().is_some() {
            format!("leaves from handle '{handle}'")
        } else {
            format!("names no sourceHandle, which means '{handle}'")
        };
        errors.push(
            format!("{path}.sourceHandle"),
            Code::UnknownHandle,
            format!(
                "{describe_edge} {named}, but {} nodes have only {}",
                spec.node_type,
                handles.join(", ")
            ),
        );
    }
    if graph.drafts[to]
        .spec
        .is_some_and(|s| s.node_type == node_types::TRIGGER)
    {
        errors.push(
            format!("{path}.target"),
            Code::EdgeIntoTrigger,
            format!("{describe_edge}: '{target}' is a trigger, which nothing may lead into"),
        );
    }
    let key = (
        from,
        handle.to_owned(),
        to,
        target_handle.flatten().map(str::to_owned),
    );
    match graph.seen.entry(key) {
        Entry::Occupied(first) => errors.push(
            &path,
            Code::DuplicateEdge,
            format!("{describe_edge} repeats edges[{}]", first.get()),
        ),
        Entry::Vacant(slot) => {
            slot.insert(k);
            graph.successors[from].push((to, k));
        }
    }

    if errors.len() > errors_before {
        return None;
    }
    Some(Edge {
        source: NodeId::new(source).ok()?,
        source_handle: source_handle.flatten().map(str::to_owned),
        target: NodeId::new(target).ok()?,
        target_handle: target_handle.flatten().map(str::to_owned),
    })
}

/// `Some(None)` for an absent or null handle (canvas libraries write `null`), `None` if the
/// value is unusable.
fn optional_handle<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Errors,
) -> Option<Option<&'a str>> {
    match map.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if !s.is_empty() => Some(Some(s)),
        Some(other) => {
            errors.push(
                format!("{path}.{key}"),
                Code::InvalidShape,
                format!(
                    "`{key}` must be a non-empty string when present, not {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

fn object<'a>(
    raw: &'a Value,
    path: &str,
    what: &str,
    errors: &mut Errors,
) -> Option<&'a Map<String, Value>> {
    match raw {
        Value::Object(map) => Some(map),
        other => {
            errors.push(
                path,
                Code::InvalidShape,
                format!("{what} must be a JSON object, not {}", describe(other)),
            );
            None
        }
    }
}

/// The elements of an optional array field; absent means empty.
fn list<'a>(raw: Option<&'a Value>, path: &str, errors: &mut Errors) -> &'a [Value] {
    match raw {
        None => &[],
        Some(Value::Array(items)) => items,
        Some(other) => {
            errors.push(
                path,
                Code::InvalidShape,
                format!("`{path}` must be an array, not {}", describe(other)),
            );
            &[]
        }
    }
}

fn unknown_fields(map: &Map<String, Value>, allowed: &[&str], path: &str, errors: &mut Errors) {
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let expected: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        errors.push(
            join(path, key),
            Code::UnknownField,
            format!("unknown field `{key}`; expected {}", expected.join(", ")),
        );
    }
}

fn required_str<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Errors,
) -> Option<&'a str> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            errors.push(
                join(path, key),
                Code::InvalidShape,
                format!("`{key}` must be a string, not {}", describe(other)),
            );
            None
        }
        None => {
            errors.push(
                join(path, key),
                Code::MissingField,
                format!("missing required field `{key}`"),
            );
            None
        }
    }
}

fn bounded_u64(
    raw: &Value,
    path: &str,
    who: &str,
    min: u64,
    max: u64,
    errors: &mut Errors,
) -> Option<u64> {
    let field = path.rsplit('.').next().unwrap_or(path);
    match raw.as_u64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ if raw.is_number() => {
            errors.push(
                path,
                Code::OutOfRange,
                format!("`{field}` of {who} must be a whole number from {min} to {max}, not {raw}"),
            );
            None
        }
        _ => {
            errors.push(
                path,
                Code::InvalidShape,
                format!(
                    "`{field}` of {who} must be an integer, not {}",
                    describe(raw)
                ),
            );
            None
        }
    }
}

/// Document-level problems first, then nodes, then edges, each by index.
fn document_position(path: &str) -> (u8, usize) {
    let index = |rest: &str| {
        rest.split_once(']')
            .and_then(|(i, _)| i.parse().ok())
            .unwrap_or(0)
    };
    if let Some(rest) = path.strip_prefix("nodes[") {
        (1, index(rest))
    } else if let Some(rest) = path.strip_prefix("edges[") {
        (2, index(rest))
    } else {
        (0, 0)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A JSON pointer (`/headers/0`) as a document path suffix (`.headers[0]`).
fn pointer_to_path(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                format!("[{segment}]")
            } else {
                format!(".{segment}")
            }
        })
        .collect()
}

/// A value's type for messages, with short scalars shown.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("{} {n}", json_type_name(value)),
        Value::String(s) if s.chars().count() <= 40 => format!("string \"{s}\""),
        other => format!("{} value", json_type_name(other)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Instant;

    use serde_json::{Value, json};

    use super::super::{DocumentError, DocumentErrorCode as Code, ToolSignature};
    use super::*;

    fn tools() -> HashMap<String, ToolSignature> {
        let tool = ToolSignature {
            id: "slugify".into(),
            input_schema: json!({
                "type": "object",
                "properties": { "text": { "type": "string" } },
                "required": ["text"]
            }),
            output_schema: json!({
                "type": "object",
                "properties": { "slug": { "type": "string" } }
            }),
        };
        HashMap::from([(tool.id.clone(), tool)])
    }

    fn parse(raw: &Value) -> Result<WorkflowDocument, Vec<DocumentError>> {
        WorkflowDocument::parse(raw, &tools())
    }

    fn errors(raw: &Value) -> Vec<DocumentError> {
        match parse(raw) {
            Ok(_) => panic!("expected errors for {raw:#}"),
            Err(errors) => errors,
        }
    }

    #[track_caller]
    fn find<'e>(errors: &'e [DocumentError], path: &str, code: Code) -> &'e DocumentError {
        errors
            .iter()
            .find(|e| e.path == path && e.code == code)
            .unwrap_or_else(|| panic!("no {code} at {path} in {errors:#?}"))
    }

    fn node(id: &str, node_type: &str) -> Value {
        let config = match node_type {
            "data-transform" | "condition" => json!({ "expr": "." }),
            "custom" => json!({ "toolId": "slugify" }),
            "llm-agent" => json!({ "model": "gpt-4o-mini" }),
            "database-query" => json!({ "queryId": "q_1" }),
            "webhook" => json!({ "webhookId": "wh_1" }),
            _ => json!({}),
        };
        json!({ "id": id, "type": node_type, "name": id, "config": config })
    }

    fn edge(source: &str, target: &str) -> Value {
        json!({ "source": source, "target": target })
    }

    fn doc(nodes: Vec<Value>, edges: Vec<Value>) -> Value {
        json!({ "version": 1, "nodes": nodes, "edges": edges })
    }

    /// The document from DESIGN.md, with the placeholder config and the edge's nodes filled
    /// in so that it is a complete workflow.
    fn design_document() -> Value {
        json!({ "version": 1,
          "nodes": [
            { "id": "trigger", "type": "trigger", "name": "Start",
              "config": { "kind": "manual" }, "inputs": {} },
            { "id": "fetch", "type": "api-call", "name": "Fetch orders",
              "config": { "method": "GET", "url": "https://shop.example/orders" },
              "inputs": { "url": { "value": "https://…" },
                          "customerId": { "ref": "trigger.output.customer.id" },
                          "note": { "template": "Order for {{ trigger.output.name }}" },
                          "total": { "expr": ".nodes.fetch.output.items | map(.price) | add" } },
              "retry": { "maxAttempts": 3, "backoffMs": 200 }, "timeoutMs": 10000,
              "position": { "x": 0, "y": 0 } },
            { "id": "check", "type": "condition", "name": "Big order?",
              "config": { "expr": ". > 100" },
              "inputs": { "value": { "ref": "fetch.output.body.total" } },
              "position": { "x": 240.5, "y": -80 } },
            { "id": "notify", "type": "webhook", "name": "Notify",
              "config": { "webhookId": "wh_1" },
              "inputs": { "payload": { "ref": "fetch.output.body" } } }
          ],
          "edges": [
            { "source": "trigger", "target": "fetch" },
            { "source": "fetch", "target": "check" },
            { "source": "check", "sourceHandle": "true", "target": "notify" }
          ] })
    }

    #[test]
    fn the_design_document_round_trips_exactly() {
        let raw = design_document();
        let parsed = parse(&raw).expect("the design document is valid");
        assert_eq!(parsed.to_value(), raw);
        assert_eq!(parse(&parsed.to_value()).unwrap(), parsed);
    }

    #[test]
    fn the_design_document_is_read_into_typed_nodes_and_bindings() {
        let parsed = parse(&design_document()).unwrap();
        let fetch = parsed.node("fetch").unwrap();
        assert_eq!(fetch.node_type(), "api-call");
        assert_eq!(fetch.name(), "Fetch orders");
        assert_eq!(
            fetch.retry(),
            Some(RetryPolicy {
                max_attempts: 3,
                backoff_ms: 200
            })
        );
        assert_eq!(fetch.timeout_ms(), Some(10_000));
        let customer = fetch
            .input("customerId")
            .and_then(InputBinding::as_ref)
            .unwrap();
        assert_eq!(customer.node().as_str(), "trigger");
        assert_eq!(customer.path(), ["customer", "id"]);
        assert!(matches!(
            fetch.input("note"),
            Some(InputBinding::Template(_))
        ));
        assert!(matches!(fetch.input("total"), Some(InputBinding::Expr(_))));
        assert_eq!(parsed.edges()[2].source_handle(), "true");
        assert_eq!(parsed.edges()[0].source_handle(), "main");
        assert_eq!(parsed.edges()[0].declared_source_handle(), None);
        assert_eq!(parsed.trigger().map(|n| n.id().as_str()), Some("trigger"));
    }

    #[test]
    fn omitted_config_inputs_and_edges_are_written_back_as_empty() {
        let raw = json!({ "version": 1,
                          "nodes": [ { "id": "out", "type": "output", "name": "Out" } ] });
        let parsed = parse(&raw).unwrap();
        assert_eq!(
            parsed.to_value(),
            json!({ "version": 1, "edges": [],
                    "nodes": [ { "id": "out", "type": "output", "name": "Out",
                                 "config": {}, "inputs": {} } ] })
        );
    }

    #[test]
    fn a_null_source_handle_means_main_and_is_not_written_back() {
        let raw = doc(
            vec![node("a", "data-transform"), node("b", "output")],
            vec![json!({ "source": "a", "sourceHandle": null, "target": "b",
                         "targetHandle": null })],
        );
        let parsed = parse(&raw).unwrap();
        assert_eq!(parsed.edges()[0].source_handle(), "main");
        assert_eq!(
            parsed.to_value()["edges"][0],
            json!({ "source": "a", "target": "b" })
        );
    }

    #[test]
    fn an_empty_workflow_is_valid() {
        let parsed = parse(&json!({ "version": 1, "nodes": [], "edges": [] })).unwrap();
        assert!(parsed.nodes().is_empty());
        assert!(parsed.topological_order().is_empty());
    }

    #[test]
    fn a_document_that_is_not_an_object_is_rejected() {
        let errors = errors(&json!([1, 2]));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "");
        assert_eq!(errors[0].code, Code::InvalidShape);
    }

    #[test]
    fn a_version_other_than_1_is_rejected() {
        let errors = errors(&json!({ "version": 2, "nodes": [] }));
        find(&errors, "version", Code::UnsupportedVersion);
        let errors = self::errors(&json!({ "nodes": [] }));
        find(&errors, "version", Code::MissingField);
        let errors = self::errors(&json!({ "version": "1", "nodes": [] }));
        find(&errors, "version", Code::InvalidShape);
    }

    #[test]
    fn unknown_fields_are_rejected_rather_than_silently_dropped() {
        let mut raw = doc(vec![node("a", "output")], vec![]);
        raw["viewport"] = json!({});
        raw["nodes"][0]["data"] = json!({});
        let errors = errors(&raw);
        find(&errors, "viewport", Code::UnknownField);
        find(&errors, "nodes[0].data", Code::UnknownField);
    }

    #[test]
    fn node_ids_must_match_the_id_pattern() {
        for bad in ["", "1abc", "a b", "a.b", "é", &"a".repeat(65)] {
            let errors = errors(&doc(vec![node(bad, "output")], vec![]));
            let error = find(&errors, "nodes[0].id", Code::InvalidNodeId);
            assert!(error.message.contains(&format!("'{bad}'")) || bad.is_empty());
        }
        for good in ["a", "_x", "fetch-orders_2", &"a".repeat(64)] {
            assert!(
                parse(&doc(vec![node(good, "output")], vec![])).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn a_duplicate_node_id_is_reported_at_the_second_node_and_names_the_id() {
        let errors = errors(&doc(
            vec![
                node("a", "output"),
                node("b", "output"),
                node("a", "output"),
            ],
            vec![],
        ));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let error = find(&errors, "nodes[2].id", Code::DuplicateNodeId);
        assert!(error.message.contains("'a'"), "{}", error.message);
        assert!(error.message.contains("nodes[0]"), "{}", error.message);
    }

    #[test]
    fn node_names_must_have_1_to_100_characters() {
        let mut raw = doc(vec![node("a", "output"), node("b", "output")], vec![]);
        raw["nodes"][0]["name"] = json!("  ");
        raw["nodes"][1]["name"] = json!("x".repeat(101));
        let errors = errors(&raw);
        find(&errors, "nodes[0].name", Code::InvalidName);
        find(&errors, "nodes[1].name", Code::InvalidName);

        // Characters, not bytes: 100 multi-byte characters are fine.
        raw["nodes"][0]["name"] = json!("ü".repeat(100));
        raw["nodes"][1]["name"] = json!("B");
        assert!(parse(&raw).is_ok());
    }

    #[test]
    fn missing_required_node_fields_are_each_reported() {
        let errors = errors(&doc(vec![json!({})], vec![]));
        find(&errors, "nodes[0].id", Code::MissingField);
        find(&errors, "nodes[0].type", Code::MissingField);
        find(&errors, "nodes[0].name", Code::MissingField);
    }

    #[test]
    fn more_than_1000_nodes_are_rejected_before_anything_else() {
        let nodes: Vec<Value> = (0..1001).map(|_| json!({ "bogus": true })).collect();
        let errors = errors(&doc(nodes, vec![]));
        assert_eq!(errors.len(), 1, "no per-node errors: {:?}", errors.first());
        find(&errors, "nodes", Code::TooManyNodes);
    }

    #[test]
    fn more_than_5000_edges_are_rejected() {
        let edges: Vec<Value> = (0..5001).map(|_| edge("a", "b")).collect();
        let errors = errors(&doc(vec![], edges));
        find(&errors, "edges", Code::TooManyEdges);
    }

    #[test]
    fn an_unknown_node_type_is_rejected_and_the_known_types_are_listed() {
        let errors = errors(&doc(vec![node("a", "http")], vec![]));
        let error = find(&errors, "nodes[0].type", Code::UnknownNodeType);
        assert!(error.message.contains("'http'"));
        assert!(error.message.contains("api-call"));
    }

    #[test]
    fn a_custom_node_without_a_tool_id_is_rejected_once_at_config_tool_id() {
        let mut raw = doc(vec![node("slug", "custom")], vec![]);
        raw["nodes"][0]["config"] = json!({});
        let errors = errors(&raw);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let error = find(&errors, "nodes[0].config.toolId", Code::MissingToolId);
        assert!(error.message.contains("'slug'"));
    }

    #[test]
    fn a_custom_node_naming_an_unknown_tool_is_rejected() {
        let mut raw = doc(vec![node("slug", "custom")], vec![]);
        raw["nodes"][0]["config"]["toolId"] = json!("nope");
        let errors = errors(&raw);
        let error = find(&errors, "nodes[0].config.toolId", Code::UnknownTool);
        assert!(error.message.contains("'nope'") && error.message.contains("'slug'"));
    }

    #[test]
    fn a_custom_node_takes_its_schemas_from_its_tool() {
        let parsed = parse(&doc(vec![node("slug", "custom")], vec![])).unwrap();
        let slug = parsed.node("slug").unwrap();
        assert_eq!(slug.tool_id(), Some("slugify"));
        assert_eq!(parsed.input_schema(slug)["required"], json!(["text"]));
        assert!(parsed.output_schema(slug)["properties"]["slug"].is_object());
        assert!(parsed.tool("slugify").is_some());
    }

    #[test]
    fn an_llm_agent_may_only_offer_tools_that_exist() {
        let mut raw = doc(vec![node("agent", "llm-agent")], vec![]);
        raw["nodes"][0]["config"]["tools"] = json!(["slugify", "ghost"]);
        let errors = errors(&raw);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        find(&errors, "nodes[0].config.tools[1]", Code::UnknownTool);
    }

    #[test]
    fn config_is_checked_against_the_type_schema_with_a_path_into_it() {
        let mut raw = doc(
            vec![node("call", "api-call"), node("agent", "llm-agent")],
            vec![],
        );
        raw["nodes"][0]["config"] = json!({ "method": "FETCH", "headers": { "X-A": 1 } });
        raw["nodes"][1]["config"] = json!({});
        let errors = errors(&raw);
        find(&errors, "nodes[0].config.method", Code::InvalidConfig);
        find(&errors, "nodes[0].config.headers.X-A", Code::InvalidConfig);
        let missing = find(&errors, "nodes[1].config", Code::InvalidConfig);
        assert!(missing.message.contains("'agent'") && missing.message.contains("model"));
    }

    #[test]
    fn a_config_that_is_not_an_object_is_rejected() {
        let mut raw = doc(vec![node("a", "output")], vec![]);
        raw["nodes"][0]["config"] = json!([]);
        find(&errors(&raw), "nodes[0].config", Code::InvalidShape);
    }

    #[test]
    fn a_trigger_input_schema_must_be_a_valid_schema_and_types_the_trigger_output() {
        let mut raw = doc(vec![node("start", "trigger")], vec![]);
        raw["nodes"][0]["config"]["inputSchema"] =
            json!({ "properties": { "n": { "type": "int" } } });
        let errors = errors(&raw);
        find(
            &errors,
            "nodes[0].config.inputSchema.properties.n.type",
            Code::InvalidConfig,
        );

        let schema = json!({ "type": "object", "properties": { "n": { "type": "integer" } } });
        raw["nodes"][0]["config"]["inputSchema"] = schema.clone();
        let parsed = parse(&raw).unwrap();
        assert_eq!(parsed.output_schema(parsed.node("start").unwrap()), &schema);
    }

    #[test]
    fn a_dangling_edge_names_the_missing_node() {
        let errors = errors(&doc(
            vec![node("a", "data-transform")],
            vec![edge("a", "ghost"), edge("phantom", "a")],
        ));
        let error = find(&errors, "edges[0].target", Code::DanglingEdge);
        assert!(error.message.contains("'ghost'"), "{}", error.message);
        let error = find(&errors, "edges[1].source", Code::DanglingEdge);
        assert!(error.message.contains("'phantom'"), "{}", error.message);
    }

    #[test]
    fn an_edge_to_a_node_with_an_invalid_id_is_not_also_called_dangling() {
        let errors = errors(&doc(
            vec![node("a", "data-transform"), node("b c", "output")],
            vec![edge("a", "b c")],
        ));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        find(&errors, "nodes[1].id", Code::InvalidNodeId);
    }

    #[test]
    fn a_self_loop_is_rejected() {
        let errors = errors(&doc(
            vec![node("a", "data-transform")],
            vec![edge("a", "a")],
        ));
        let error = find(&errors, "edges[0]", Code::SelfLoop);
        assert!(error.message.contains("'a'"));
    }

    #[test]
    fn a_cycle_is_rejected_with_the_path_of_an_edge_on_it() {
        let errors = errors(&doc(
            vec![
                node("start", "trigger"),
                node("a", "data-transform"),
                node("b", "data-transform"),
                node("c", "data-transform"),
            ],
            vec![
                edge("start", "a"),
                edge("a", "b"),
                edge("b", "c"),
                edge("c", "a"),
            ],
        ));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let error = find(&errors, "edges[3]", Code::Cycle);
        assert_eq!(error.message, "cycle: a -> b -> c -> a");
    }

    #[test]
    fn an_edge_from_a_condition_must_leave_from_true_false_or_error() {
        let raw = doc(
            vec![
                node("check", "condition"),
                node("x", "output"),
                node("y", "output"),
            ],
            vec![
                edge("check", "x"),
                json!({ "source": "check", "sourceHandle": "maybe", "target": "y" }),
            ],
        );
        let errors = errors(&raw);
        let error = find(&errors, "edges[0].sourceHandle", Code::UnknownHandle);
        assert!(error.message.contains("'main'") && error.message.contains("true, false, error"));
        find(&errors, "edges[1].sourceHandle", Code::UnknownHandle);

        let raw = doc(
            vec![
                node("check", "condition"),
                node("x", "output"),
                node("y", "output"),
            ],
            vec![
                json!({ "source": "check", "sourceHandle": "true", "target": "x" }),
                json!({ "source": "check", "sourceHandle": "false", "target": "y" }),
            ],
        );
        assert!(parse(&raw).is_ok());
    }

    #[test]
    fn every_node_type_has_an_error_handle() {
        for spec in node_types::catalog() {
            if spec.node_type == "output" {
                continue;
            }
            let raw = doc(
                vec![node("n", spec.node_type), node("fallback", "output")],
                vec![json!({ "source": "n", "sourceHandle": "error", "target": "fallback" })],
            );
            assert!(
                parse(&raw).is_ok(),
                "{}: {:?}",
                spec.node_type,
                parse(&raw).err()
            );
        }
    }

    #[test]
    fn an_output_node_only_has_the_error_handle() {
        let errors = errors(&doc(
            vec![node("out", "output"), node("next", "output")],
            vec![edge("out", "next")],
        ));
        find(&errors, "edges[0].sourceHandle", Code::UnknownHandle);
    }

    #[test]
    fn a_second_trigger_is_rejected() {
        let errors = errors(&doc(
            vec![node("t1", "trigger"), node("t2", "trigger")],
            vec![],
        ));
        let error = find(&errors, "nodes[1].type", Code::MultipleTriggers);
        assert!(error.message.contains("'t2'") && error.message.contains("'t1'"));
    }

    #[test]
    fn an_edge_into_the_trigger_is_rejected() {
        let errors = errors(&doc(
            vec![node("t", "trigger"), node("a", "data-transform")],
            vec![edge("a", "t")],
        ));
        find(&errors, "edges[0].target", Code::EdgeIntoTrigger);
    }

    #[test]
    fn a_duplicate_edge_is_rejected() {
        let errors = errors(&doc(
            vec![node("a", "data-transform"), node("b", "output")],
            vec![
                edge("a", "b"),
                json!({ "source": "a", "sourceHandle": "main", "target": "b" }),
            ],
        ));
        let error = find(&errors, "edges[1]", Code::DuplicateEdge);
        assert!(error.message.contains("edges[0]"));
    }

    #[test]
    fn an_input_binding_needs_exactly_one_known_key() {
        let mut raw = doc(vec![node("a", "data-transform")], vec![]);
        raw["nodes"][0]["inputs"] = json!({
            "none": {},
            "two": { "value": 1, "ref": "a.output" },
            "unknown": { "literal": 1 },
            "bare": 42,
            "wrongType": { "template": 7 },
        });
        let errors = errors(&raw);
        for input in ["none", "two", "unknown", "bare", "wrongType"] {
            let error = find(
                &errors,
                &format!("nodes[0].inputs.{input}"),
                Code::InvalidBinding,
            );
            assert!(error.message.contains("'a'"), "{}", error.message);
        }
        assert!(
            find(&errors, "nodes[0].inputs.two", Code::InvalidBinding)
                .message
                .contains("`value` and `ref`")
        );
        assert!(
            find(&errors, "nodes[0].inputs.unknown", Code::InvalidBinding)
                .message
                .contains("`literal`")
        );
    }

    #[test]
    fn a_ref_must_name_a_node_then_output_then_a_path() {
        let mut raw = doc(
            vec![node("a", "data-transform"), node("b", "output")],
            vec![],
        );
        raw["nodes"][1]["inputs"] = json!({
            "noOutput": { "ref": "a.result.x" },
            "emptySegment": { "ref": "a.output..x" },
            "badId": { "ref": "9a.output" },
            "ok": { "ref": "a.output" },
        });
        let errors = errors(&raw);
        assert_eq!(errors.len(), 3, "{errors:#?}");
        find(&errors, "nodes[1].inputs.noOutput.ref", Code::InvalidRef);
        find(
            &errors,
            "nodes[1].inputs.emptySegment.ref",
            Code::InvalidRef,
        );
        find(&errors, "nodes[1].inputs.badId.ref", Code::InvalidRef);
    }

    #[test]
    fn a_ref_to_an_unknown_node_is_rejected() {
        let mut raw = doc(vec![node("b", "output")], vec![]);
        raw["nodes"][0]["inputs"] = json!({ "value": { "ref": "ghost.output.x" } });
        let error = find(
            &errors(&raw),
            "nodes[0].inputs.value.ref",
            Code::UnknownRefNode,
        )
        .clone();
        assert!(error.message.contains("'ghost'") && error.message.contains("'b'"));
    }

    #[test]
    fn retry_timeout_and_position_are_range_and_shape_checked() {
        let mut raw = doc(vec![node("a", "output"), node("b", "output")], vec![]);
        raw["nodes"][0]["retry"] = json!({ "maxAttempts": 21, "backoffMs": -1 });
        raw["nodes"][0]["timeoutMs"] = json!(0);
        raw["nodes"][0]["position"] = json!({ "x": "left" });
        raw["nodes"][1]["retry"] = json!({ "maxAttempts": 0, "jitter": true });
        let errors = errors(&raw);
        find(&errors, "nodes[0].retry.maxAttempts", Code::OutOfRange);
        find(&errors, "nodes[0].retry.backoffMs", Code::OutOfRange);
        find(&errors, "nodes[0].timeoutMs", Code::OutOfRange);
        find(&errors, "nodes[0].position.x", Code::InvalidShape);
        find(&errors, "nodes[0].position.y", Code::MissingField);
        find(&errors, "nodes[1].retry.maxAttempts", Code::OutOfRange);
        find(&errors, "nodes[1].retry.backoffMs", Code::MissingField);
        find(&errors, "nodes[1].retry.jitter", Code::UnknownField);

        raw["nodes"][0]["retry"] = json!({ "maxAttempts": 20, "backoffMs": 0 });
        raw["nodes"][0]["timeoutMs"] = json!(1);
        raw["nodes"][0]["position"] = json!({ "x": 1.5, "y": -3 });
        raw["nodes"][1]["retry"] = json!({ "maxAttempts": 1, "backoffMs": 3_600_000 });
        assert!(parse(&raw).is_ok(), "{:#?}", parse(&raw).err());
    }

    #[test]
    fn every_problem_is_collected_not_just_the_first() {
        let raw = json!({ "version": 2,
          "nodes": [ node("a", "nope"), node("a", "output"), node("x", "custom") ],
          "edges": [ edge("a", "zz"), edge("x", "x") ] });
        let mut raw = raw;
        raw["nodes"][2]["config"] = json!({ "toolId": "missing" });
        let errors = errors(&raw);
        find(&errors, "version", Code::UnsupportedVersion);
        find(&errors, "nodes[0].type", Code::UnknownNodeType);
        find(&errors, "nodes[1].id", Code::DuplicateNodeId);
        find(&errors, "nodes[2].config.toolId", Code::UnknownTool);
        find(&errors, "edges[0].target", Code::DanglingEdge);
        find(&errors, "edges[1]", Code::SelfLoop);
    }

    #[test]
    fn problems_are_reported_in_document_order() {
        let raw = json!({ "version": 2,
          "nodes": [ node("a", "output"), node("a", "nope") ],
          "edges": [ edge("a", "zz") ] });
        let paths: Vec<String> = errors(&raw).into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            ["version", "nodes[1].type", "nodes[1].id", "edges[0].target"]
        );
    }

    #[test]
    fn the_topological_order_puts_parents_first_and_ties_in_document_order() {
        let parsed = parse(&doc(
            vec![
                node("end", "output"),
                node("right", "data-transform"),
                node("left", "data-transform"),
                node("start", "trigger"),
            ],
            vec![
                edge("start", "right"),
                edge("start", "left"),
                edge("left", "end"),
                edge("right", "end"),
            ],
        ))
        .unwrap();
        let order: Vec<&str> = parsed
            .topological_order()
            .iter()
            .map(|n| n.id().as_str())
            .collect();
        assert_eq!(order, ["start", "right", "left", "end"]);
        let roots: Vec<&str> = parsed.roots().map(|n| n.id().as_str()).collect();
        assert_eq!(roots, ["start"]);
    }

    #[test]
    fn ancestors_are_every_upstream_node_and_nothing_else() {
        let parsed = parse(&doc(
            vec![
                node("start", "trigger"),
                node("a", "data-transform"),
                node("b", "data-transform"),
                node("side", "data-transform"),
                node("end", "output"),
            ],
            vec![
                edge("start", "a"),
                edge("a", "b"),
                edge("start", "side"),
                json!({ "source": "b", "sourceHandle": "error", "target": "end" }),
            ],
        ))
        .unwrap();
        assert_eq!(
            parsed.ancestors("end").into_iter().collect::<Vec<_>>(),
            ["a", "b", "start"]
        );
        assert!(parsed.ancestors("start").is_empty());
        assert!(parsed.ancestors("ghost").is_empty());
        assert_eq!(
            parsed.descendants("a").into_iter().collect::<Vec<_>>(),
            ["b", "end"]
        );
        let into_end: Vec<&str> = parsed
            .incoming("end")
            .map(|e| e.source().as_str())
            .collect();
        assert_eq!(into_end, ["b"]);
        assert_eq!(parsed.outgoing("start").count(), 2);
    }

    #[test]
    fn a_chain_of_1000_nodes_parses_quickly() {
        let nodes: Vec<Value> = (0..1000)
            .map(|i| {
                let mut n = node(&format!("n{i}"), "data-transform");
                if i > 0 {
                    n["inputs"] = json!({ "data": { "ref": format!("n{}.output", i - 1) } });
                }
                n
            })
            .collect();
        let edges: Vec<Value> = (1..1000)
            .map(|i| edge(&format!("n{}", i - 1), &format!("n{i}")))
            .collect();
        let raw = doc(nodes, edges);
        let started = Instant::now();
        let parsed = parse(&raw).unwrap();
        let elapsed = started.elapsed();
        assert_eq!(parsed.topological_order().len(), 1000);
        assert_eq!(parsed.ancestors("n999").len(), 999);
        // Generous for unoptimized builds; release is far faster.
        assert!(elapsed.as_millis() < 2_000, "took {elapsed:?}");
    }

    #[test]
    fn pointer_paths_become_document_paths() {
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(pointer_to_path("/headers/X-A"), ".headers.X-A");
        assert_eq!(pointer_to_path("/tools/1"), ".tools[1]");
        assert_eq!(pointer_to_path("/a~1b/c~0d"), ".a/b.c~d");
    }
}
