//! Save-time checks of input bindings against the schemas of the nodes they connect.
//!
//! The checks are conservative: where a schema says too little to decide (no `type`, a
//! non-local `$ref`, `patternProperties`, an open object without the property), a binding is
//! accepted and the run-time validation of the resolved input has the last word. Where the
//! schemas do decide, a mismatch is an error before anything runs.

use std::collections::BTreeSet;

use serde_json::Value;

use super::expr::JqProgram;
use super::resolve::INPUT_ROOT;
use super::template;
use crate::json_schema::json_type_name;
use crate::node_types::TRIGGER;
use crate::workflow::{
    DocumentError, DocumentErrorCode as Code, InputBinding, Node, OutputRef, WorkflowDocument,
};

/// Checks every input binding of every node of `doc`:
///
/// - a `ref` reads a node upstream of its own (an ancestor along edges), along a path the
///   upstream output schema allows, and the type found there fits the input's schema
///   (`integer` fits `number`, not the other way round; type lists, `enum`, `const`, `anyOf`
///   and `oneOf` fit if any of their types does);
/// - a `value` has a JSON type the input's schema allows;
/// - a `template` parses, reads only `input` and upstream nodes' `output`, and targets an
///   input that accepts a string;
/// - an `expr` compiles (its result is checked at run time);
/// - every input the node's schema requires is bound (trigger nodes are fed the execution
///   input instead), and no input is bound that a closed schema (`additionalProperties:
///   false`) does not declare.
///
/// Errors come in document order, with paths such as `nodes[2].inputs.url`.
pub fn check_mappings(doc: &WorkflowDocument) -> Vec<DocumentError> {
    (0..doc.nodes().len())
        .flat_map(|index| {
            let inputs = check_node(doc, index)
                .into_iter()
                .flat_map(|input| input.errors);
            config_expr_error(doc, index).into_iter().chain(inputs)
        })
        .collect()
}

/// `condition` and `data-transform` run `config.expr`: it must compile at save rather than
/// first fail (or be found too large) when the workflow runs.
fn config_expr_error(doc: &WorkflowDocument, index: usize) -> Option<DocumentError> {
    let node = &doc.nodes()[index];
    if !matches!(node.node_type(), "condition" | "data-transform") {
        return None;
    }
    let source = node.config().get("expr").and_then(Value::as_str)?;
    let error = JqProgram::compile(source).err()?;
    Some(DocumentError::new(
        format!("nodes[{index}].config.expr"),
        Code::InvalidExpr,
        format!(
            "node `{}`: config.expr does not compile: {error}",
            node.id()
        ),
    ))
}

/// What the checker found for one input of one node. [`check_mappings`] is made of these, so
/// a client showing them (the parameter mapping dialog) can never disagree with a save.
#[derive(Debug, Clone, PartialEq)]
pub struct InputCheck {
    /// The input's name.
    pub name: String,
    /// The type the binding delivers, as the checker names it (`object`, `string or null`);
    /// `None` where the checker cannot say (an `expr`, an untyped upstream schema).
    pub source_type: Option<String>,
    /// The type the input accepts; `None` when its schema does not constrain it.
    pub target_type: Option<String>,
    /// [`Verdict::Ok`] when the binding is known to fit, [`Verdict::Error`] when
    /// [`Self::errors`] is not empty, [`Verdict::Unchecked`] when the run decides.
    pub verdict: Verdict,
    /// Every problem of this input, in the order [`check_mappings`] reports them.
    pub errors: Vec<DocumentError>,
}

/// The checker's verdict on one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The binding fits the input's schema.
    Ok,
    /// The binding does not fit; see [`InputCheck::errors`].
    Error,
    /// Only the run can tell: an `expr` or `template`, a source whose schema does not say
    /// its type, or an optional input left unbound.
    Unchecked,
}

/// Checks the bindings of node `index` of `doc`: one [`InputCheck`] per bound input in input
/// name order, then one per required input left unbound.
///
/// # Panics
///
/// If `index` is not a node of `doc`.
pub fn check_node(doc: &WorkflowDocument, index: usize) -> Vec<InputCheck> {
    let node = &doc.nodes()[index];
    let mut check = NodeCheck {
        doc,
        node,
        index,
        upstream: doc.ancestors(node.id().as_str()),
        checks: Vec::new(),
    };
    check.run();
    check.checks
}

/// The type names the checker gives a schema, for inputs it has no binding to check.
pub(crate) fn type_name(root: &Value, schema: &Value) -> Option<String> {
    Types::of_schema(root, schema).map(|types| types.to_string())
}

struct NodeCheck<'d> {
    doc: &'d WorkflowDocument,
    node: &'d Node,
    index: usize,
    upstream: BTreeSet<&'d str>,
    checks: Vec<InputCheck>,
}

impl<'d> NodeCheck<'d> {
    fn run(&mut self) {
        let schema = self.doc.input_schema(self.node);
        for (name, binding) in self.node.inputs() {
            self.start(name, Verdict::Ok);
            let at = format!("nodes[{}].inputs.{name}", self.index);
            let Some(target) = input_property(schema, name) else {
                let known = property_names(schema);
                self.push(
                    at,
                    Code::UnknownInput,
                    format!(
                        "node `{}` has no input `{name}`; its inputs are {}",
                        self.node.id(),
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
                continue;
            };
            let target = Typed::new(schema, target);
            self.current().target_type =
                Types::of_schema(target.root, target.schema).map(|t| t.to_string());
            match binding {
                InputBinding::Value(value) => {
                    let gets = Types::of_value(value);
                    self.check_fit(&at, name, Some(gets), "its literal value", target);
                }
                InputBinding::Ref(reference) => self.check_ref(&at, name, reference, target),
                InputBinding::Template(text) => self.check_template(&at, name, text, target),
                InputBinding::Expr(source) => {
                    self.unchecked();
                    if let Err(error) = JqProgram::compile(source) {
                        self.push(
                            format!("{at}.expr"),
                            Code::InvalidExpr,
                            format!(
                                "node `{}` input `{name}`: the expression does not compile: \
                                 {error}",
                                self.node.id()
                            ),
                        );
                    }
                }
            }
        }
        if self.node.node_type() != TRIGGER {
            for required in required_names(schema) {
                if !self.node.inputs().contains_key(required) {
                    self.start(required, Verdict::Error);
                    self.current().target_type = input_property(schema, required)
                        .and_then(|target| Types::of_schema(schema, target))
                        .map(|t| t.to_string());
                    self.push(
                        format!("nodes[{}].inputs", self.index),
                        Code::MissingInput,
                        format!(
                            "node `{}` is missing its required input `{required}`",
                            self.node.id()
                        ),
                    );
                }
            }
        }
    }

    /// Opens the check of input `name`; what follows is recorded on it.
    fn start(&mut self, name: &str, verdict: Verdict) {
        self.checks.push(InputCheck {
            name: name.to_owned(),
            source_type: None,
            target_type: None,
            verdict,
            errors: Vec::new(),
        });
    }

    fn current(&mut self) -> &mut InputCheck {
        self.checks
            .last_mut()
            .expect("a check is started before anything is recorded")
    }

    /// Marks the current input as decided only at run time, unless it already failed.
    fn unchecked(&mut self) {
        let current = self.current();
        if current.verdict == Verdict::Ok {
            current.verdict = Verdict::Unchecked;
        }
    }

    fn push(&mut self, path: String, code: Code, message: String) {
        let current = self.current();
        current.verdict = Verdict::Error;
        current.errors.push(DocumentError::new(path, code, message));
    }

    /// Whether `source` names a node this node may read, reporting it when not.
    fn is_upstream(&mut self, path: &str, name: &str, source: &str, how: &str) -> bool {
        if self.upstream.contains(source) {
            return true;
        }
        let me = self.node.id();
        let message = if source == me.as_str() {
            format!(
                "node `{me}` input `{name}` {how} `{me}` itself; a node cannot read its own output"
            )
        } else {
            format!(
                "node `{me}` input `{name}` {how} `{source}`, which is not upstream of `{me}`; \
                 add a path of edges from `{source}` to `{me}`"
            )
        };
        self.push(path.to_owned(), Code::RefNotUpstream, message);
        false
    }

    fn check_ref(&mut self, at: &str, name: &str, reference: &OutputRef, target: Typed<'_>) {
        let source = reference.node().as_str();
        if !self.is_upstream(&format!("{at}.ref"), name, source, "reads") {
            return;
        }
        let Some(upstream) = self.doc.node(source) else {
            return; // parse already reported a ref to a node that does not exist
        };
        let output = self.doc.output_schema(upstream);
        match walk(output, reference) {
            Walk::Found(found) => {
                let gets = found
                    .iter()
                    .map(|schema| Types::of_schema(output, schema))
                    .try_fold(Types::NONE, |all, types| types.map(|t| all.union(t)));
                let from = format!("`{reference}`");
                self.check_fit(at, name, gets, &from, target);
            }
            // Nothing is known of the source; an input that accepts anything still fits.
            Walk::Unknown if self.current().target_type.is_some() => self.unchecked(),
            Walk::Unknown => {}
            Walk::Missing(reason) => self.push(
                format!("{at}.ref"),
                Code::UnknownRefPath,
                format!(
                    "node `{}` input `{name}`: `{reference}` cannot exist: {reason}",
                    self.node.id()
                ),
            ),
        }
    }

    fn check_template(&mut self, at: &str, name: &str, text: &str, target: Typed<'_>) {
        let path = format!("{at}.template");
        if let Err(error) = template::check(text) {
            self.push(
                path,
                Code::InvalidTemplate,
                format!(
                    "node `{}` input `{name}`: the template does not parse: {error}",
                    self.node.id()
                ),
            );
            return;
        }
        self.unchecked();
        self.check_fit(at, name, Some(Types::STRING), "its template", target);
        for root in template::referenced_roots(text) {
            if root == INPUT_ROOT {
                continue;
            }
            if self.doc.node(&root).is_some() {
                self.is_upstream(&path, name, &root, "has a template that reads");
            } else {
                self.push(
                    path.clone(),
                    Code::InvalidTemplate,
                    format!(
                        "node `{}` input `{name}`: the template reads `{root}`, which is neither \
                         `{INPUT_ROOT}` nor a node of this workflow",
                        self.node.id()
                    ),
                );
            }
        }
        for read in template::referenced_paths(text) {
            let mut segments = read.split('.');
            let root = segments.next().unwrap_or_default();
            if root == INPUT_ROOT || !self.upstream.contains(root) {
                continue;
            }
            match segments.next() {
                None | Some("output") => {}
                Some(other) => {
                    self.push(
                        path.clone(),
                        Code::InvalidTemplate,
                        format!(
                            "node `{}` input `{name}`: the template reads `{root}.{other}`, but \
                             a node is read through its output, as `{root}.output`",
                            self.node.id()
                        ),
                    );
                    continue;
                }
            }
            let (Ok(reference), Some(upstream)) = (OutputRef::parse(&read), self.doc.node(root))
            else {
                continue;
            };
            if let Walk::Missing(reason) = walk(self.doc.output_schema(upstream), &reference) {
                self.push(
                    path.clone(),
                    Code::UnknownRefPath,
                    format!(
                        "node `{}` input `{name}`: the template reads `{read}`, which cannot \
                         exist: {reason}",
                        self.node.id()
                    ),
                );
            }
        }
    }

    fn check_fit(
        &mut self,
        at: &str,
        name: &str,
        gets: Option<Types>,
        from: &str,
        target: Typed<'_>,
    ) {
        let needs = Types::of_schema(target.root, target.schema);
        let current = self.current();
        current.source_type = gets.map(|t| t.to_string());
        current.target_type = needs.map(|t| t.to_string());
        if gets.is_none() && needs.is_some() {
            // The source does not say what it delivers; the run-time validation decides.
            self.unchecked();
        }
        if let (Some(gets), Some(needs)) = (gets, needs)
            && !gets.fits(needs)
        {
            self.push(
                at.to_owned(),
                Code::TypeMismatch,
                format!(
                    "node `{}` input `{name}`: gets {gets} from {from}, needs {needs}",
                    self.node.id()
                ),
            );
        }
    }
}

/// A schema together with the document it came from, so local `$ref`s can be followed.
#[derive(Clone, Copy)]
struct Typed<'s> {
    root: &'s Value,
    schema: &'s Value,
}

impl<'s> Typed<'s> {
    fn new(root: &'s Value, schema: &'s Value) -> Self {
        Self { root, schema }
    }
}

const ACCEPT_ALL: &Value = &Value::Bool(true);

/// The schema of input `name` in a node's input schema; `None` if the schema is closed and
/// does not declare it.
pub(super) fn input_property<'s>(schema: &'s Value, name: &str) -> Option<&'s Value> {
    let schema = deref(schema, schema);
    let Value::Object(map) = schema else {
        return (schema != &Value::Bool(false)).then_some(ACCEPT_ALL);
    };
    if let Some(property) = map.get("properties").and_then(|p| p.get(name)) {
        return Some(property);
    }
    match map.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        Some(extra @ Value::Object(_)) => Some(extra),
        _ => Some(ACCEPT_ALL),
    }
}

fn property_names(schema: &Value) -> Vec<String> {
    let properties = deref(schema, schema)
        .get("properties")
        .and_then(Value::as_object);
    // Sorted, so the message reads the same whatever order the schema declares them in.
    let mut names: Vec<String> = properties
        .into_iter()
        .flat_map(|p| p.keys())
        .map(|k| format!("`{k}`"))
        .collect();
    names.sort();
    names
}

pub(super) fn required_names(schema: &Value) -> impl Iterator<Item = &str> {
    deref(schema, schema)
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Follows local `$ref`s (`#/$defs/...`) within `root`; remote ones are left alone, and
/// the schema then counts as unknown.
pub(super) fn deref<'s>(root: &'s Value, mut schema: &'s Value) -> &'s Value {
    // Enough for any sensible chain of aliases, and stops reference cycles.
    for _ in 0..32 {
        let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let Some(pointer) = target.strip_prefix('#') else {
            return ACCEPT_ALL;
        };
        match root.pointer(pointer) {
            Some(next) => schema = next,
            None => return ACCEPT_ALL,
        }
    }
    ACCEPT_ALL
}

/// What a ref's path leads to in an output schema.
enum Walk<'s> {
    /// The schemas the value may have (several when `anyOf`/`oneOf` branch).
    Found(Vec<&'s Value>),
    /// The schema does not say.
    Unknown,
    /// The schema rules the path out, for this reason.
    Missing(String),
}

/// Most branches followed at once; beyond it the walk gives up as unknown rather than let a
/// pathological schema of nested `anyOf`s multiply the work.
const MAX_BRANCHES: usize = 64;

fn walk<'s>(root: &'s Value, reference: &OutputRef) -> Walk<'s> {
    let mut current = vec![root];
    let mut walked = format!("{}.output", reference.node());
    for segment in reference.path() {
        let mut next = Vec::new();
        let mut first_missing = None;
        for schema in current {
            match step(root, schema, segment, &walked, 0) {
                Walk::Found(found) => next.extend(found),
                Walk::Unknown => return Walk::Unknown,
                Walk::Missing(reason) => {
                    first_missing.get_or_insert(reason);
                }
            }
        }
        if next.is_empty() {
            return Walk::Missing(first_missing.unwrap_or_default());
        }
        if next.len() > MAX_BRANCHES {
            return Walk::Unknown;
        }
        current = next;
        walked.push('.');
        walked.push_str(segment);
    }
    Walk::Found(current)
}

/// One path segment down from `schema`.
fn step<'s>(
    root: &'s Value,
    schema: &'s Value,
    segment: &str,
    walked: &str,
    depth: usize,
) -> Walk<'s> {
    let schema = deref(root, schema);
    let Value::Object(map) = schema else {
        return Walk::Unknown;
    };
    if let Some(property) = map.get("properties").and_then(|p| p.get(segment)) {
        return Walk::Found(vec![property]);
    }
    let index = segment.parse::<usize>().ok();
    if let Some(index) = index {
        if let Some(item) = map
            .get("prefixItems")
            .and_then(Value::as_array)
            .and_then(|items| items.get(index))
        {
            return Walk::Found(vec![item]);
        }
        match map.get("items") {
            Some(items @ (Value::Object(_) | Value::Bool(true))) => {
                return Walk::Found(vec![items]);
            }
            Some(Value::Array(tuple)) => {
                return tuple
                    .get(index)
                    .map_or(Walk::Unknown, |item| Walk::Found(vec![item]));
            }
            _ => {}
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(branches) = map.get(keyword).and_then(Value::as_array) {
            if depth > 8 {
                return Walk::Unknown;
            }
            let mut found = Vec::new();
            let mut first_missing = None;
            for branch in branches {
                match step(root, branch, segment, walked, depth + 1) {
                    Walk::Found(more) => found.extend(more),
                    Walk::Unknown => return Walk::Unknown,
                    Walk::Missing(reason) => {
                        first_missing.get_or_insert(reason);
                    }
                }
            }
            return if found.is_empty() {
                first_missing.map_or(Walk::Unknown, Walk::Missing)
            } else {
                Walk::Found(found)
            };
        }
    }
    let types = Types::of_schema(root, schema);
    if let Some(types) = types {
        if !types.contains(Types::OBJECT) && !types.contains(Types::ARRAY) {
            return Walk::Missing(format!("`{walked}` is {types}, which has no `{segment}`"));
        }
        if types == Types::ARRAY && index.is_none() {
            return Walk::Missing(format!(
                "`{walked}` is an array, indexed by numbers, not by `{segment}`"
            ));
        }
    }
    match map.get("additionalProperties") {
        Some(extra @ Value::Object(_)) => Walk::Found(vec![extra]),
        Some(Value::Bool(false)) if !map.contains_key("patternProperties") => {
            let mut known: Vec<String> = map
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|p| p.keys())
                .map(|k| format!("`{k}`"))
                .collect();
            known.sort();
            Walk::Missing(format!(
                "`{walked}` has no property `{segment}` (it has {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        }
        _ => Walk::Unknown,
    }
}

/// A set of JSON Schema types, as bits in the order of [`Types::NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Types(u8);

impl Types {
    const NAMES: [&'static str; 7] = [
        "null", "boolean", "integer", "number", "string", "array", "object",
    ];
    const NONE: Self = Self(0);
    const INTEGER: Self = Self(1 << 2);
    const NUMBER: Self = Self(1 << 3);
    const STRING: Self = Self(1 << 4);
    const ARRAY: Self = Self(1 << 5);
    const OBJECT: Self = Self(1 << 6);

    fn named(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|bit| Self(1 << bit))
    }

    /// The type JSON Schema sees in `value`: like [`json_type_name`], except that a number
    /// with a zero fraction, such as `3.0`, is an integer, as the `integer` keyword has it.
    fn of_value(value: &Value) -> Self {
        if value.as_f64().is_some_and(|f| f.fract() == 0.0) {
            return Self::INTEGER;
        }
        Self::named(json_type_name(value)).expect("json_type_name returns a schema type")
    }

    fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The types `schema` allows; `None` when it does not constrain them (or says it in a way
    /// not analysed here), which accepts anything.
    fn of_schema(root: &Value, schema: &Value) -> Option<Self> {
        Self::of_schema_at(root, schema, 0)
    }

    fn of_schema_at(root: &Value, schema: &Value, depth: usize) -> Option<Self> {
        let schema = deref(root, schema);
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(false) => return Some(Self::NONE),
            _ => return None,
        };
        if depth > 16 {
            return None;
        }
        if let Some(declared) = map.get("type") {
            return match declared {
                Value::String(name) => Self::named(name),
                Value::Array(names) => names.iter().try_fold(Self::NONE, |all, name| {
                    name.as_str().and_then(Self::named).map(|t| all.union(t))
                }),
                _ => None,
            };
        }
        if let Some(constant) = map.get("const") {
            return Some(Self::of_value(constant));
        }
        if let Some(values) = map.get("enum").and_then(Value::as_array) {
            return Some(
                values
                    .iter()
                    .fold(Self::NONE, |all, v| all.union(Self::of_value(v))),
            );
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(branches) = map.get(keyword).and_then(Value::as_array) {
                return branches.iter().try_fold(Self::NONE, |all, branch| {
                    Self::of_schema_at(root, branch, depth + 1).map(|t| all.union(t))
                });
            }
        }
        if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
            return parts
                .iter()
                .filter_map(|part| Self::of_schema_at(root, part, depth + 1))
                .reduce(|a, b| Self(a.0 & b.0));
        }
        None
    }

    /// Whether a value of one of these types can be one the target allows: any type fitting is
    /// enough, so `["string", "null"]` fits `string`; an integer is also a number.
    fn fits(self, target: Self) -> bool {
        let widened = if self.contains(Self::INTEGER) {
            self.union(Self::NUMBER)
        } else {
            self
        };
        self == Self::NONE || widened.0 & target.0 != 0
    }
}

impl std::fmt::Display for Types {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.0 & (1 << bit) != 0)
            .map(|(_, name)| *name)
            .collect();
        if names.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&names.join(" or "))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::workflow::ToolSignature;
    use serde_json::json;

    fn tools() -> BTreeMap<String, ToolSignature> {
        let fetcher = ToolSignature {
            id: "fetcher".into(),
            input_schema: json!({ "type": "object" }),
            output_schema: json!({
                "type": "object",
                "properties": {
                    "body": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string" },
                            "total": { "type": "number" },
                            "count": { "type": "integer" },
                            "tags": { "type": "array", "items": { "type": "string" } },
                            "maybe": { "type": ["string", "null"] },
                            "owner": { "$ref": "#/$defs/person" },
                            "loose": { "type": "object" }
                        },
                        "additionalProperties": false
                    }
                },
                "$defs": { "person": { "type": "object", "properties": {
                    "age": { "type": "integer" } } } }
            }),
        };
        let notifier = ToolSignature {
            id: "notifier".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "text": { "type": "string" },
                    "amount": { "type": "number" },
                    "count": { "type": "integer" },
                    "anything": {},
                    "flag": { "anyOf": [ { "type": "boolean" }, { "type": "string" } ] }
                },
                "required": ["text"],
                "additionalProperties": false
            }),
            output_schema: json!({}),
        };
        [fetcher, notifier]
            .into_iter()
            .map(|tool| (tool.id.clone(), tool))
            .collect()
    }

    /// trigger -> fetch -> notify, and trigger -> side: `side` is not upstream of `notify`.
    fn document(notify_inputs: Value) -> WorkflowDocument {
        let custom = |id: &str, tool: &str, inputs: Value| {
            json!({ "id": id, "type": "custom", "name": id, "config": { "toolId": tool },
                    "inputs": inputs })
        };
        let raw = json!({ "version": 1,
            "nodes": [
                { "id": "trigger", "type": "trigger", "name": "Start" },
                custom("fetch", "fetcher", json!({})),
                custom("notify", "notifier", notify_inputs),
                custom("side", "fetcher", json!({}))
            ],
            "edges": [
                { "source": "trigger", "target": "fetch" },
                { "source": "fetch", "target": "notify" },
                { "source": "trigger", "target": "side" }
            ] });
        WorkflowDocument::parse(&raw, &tools()).expect("valid test document")
    }

    fn check(notify_inputs: Value) -> Vec<DocumentError> {
        check_mappings(&document(notify_inputs))
    }

    /// Checks `inputs` (with a valid `text` unless they bind it) and returns the one error.
    #[track_caller]
    fn only_error(mut inputs: Value) -> DocumentError {
        inputs
            .as_object_mut()
            .unwrap()
            .entry("text")
            .or_insert(json!({ "value": "hi" }));
        let mut errors = check(inputs);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors.remove(0)
    }

    #[track_caller]
    fn accepted(mut inputs: Value) {
        inputs
            .as_object_mut()
            .unwrap()
            .entry("text")
            .or_insert(json!({ "value": "hi" }));
        let errors = check(inputs);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn string_to_string_is_accepted() {
        accepted(json!({ "text": { "ref": "fetch.output.body.name" } }));
    }

    #[test]
    fn an_object_mapped_onto_a_string_input_is_rejected_naming_node_input_and_both_types() {
        let error = only_error(json!({ "text": { "ref": "fetch.output.body" } }));
        assert_eq!(error.code, Code::TypeMismatch);
        assert_eq!(error.path, "nodes[2].inputs.text");
        assert_eq!(
            error.message,
            "node `notify` input `text`: gets object from `fetch.output.body`, needs string"
        );
    }

    #[test]
    fn an_integer_fits_a_number_input_but_a_number_does_not_fit_an_integer_input() {
        accepted(json!({ "amount": { "ref": "fetch.output.body.count" } }));
        let error = only_error(json!({ "count": { "ref": "fetch.output.body.total" } }));
        assert_eq!(error.code, Code::TypeMismatch);
        assert!(error.message.contains("gets number"), "{}", error.message);
        assert!(
            error.message.ends_with("needs integer"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_ref_to_a_node_that_is_not_upstream_is_rejected() {
        let error = only_error(json!({ "text": { "ref": "side.output.body.name" } }));
        assert_eq!(error.code, Code::RefNotUpstream);
        assert_eq!(error.path, "nodes[2].inputs.text.ref");
        assert!(
            error.message.contains(
                "node `notify` input `text` reads `side`, which is not upstream of `notify`"
            ),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_node_reading_its_own_output_is_rejected() {
        let error = only_error(json!({ "anything": { "ref": "notify.output" } }));
        assert_eq!(error.code, Code::RefNotUpstream);
        assert!(
            error.message.contains("its own output"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_ref_path_the_output_schema_rules_out_is_rejected() {
        let error = only_error(json!({ "anything": { "ref": "fetch.output.body.nope" } }));
        assert_eq!(error.code, Code::UnknownRefPath);
        assert_eq!(error.path, "nodes[2].inputs.anything.ref");
        assert!(
            error
                .message
                .contains("`fetch.output.body` has no property `nope` (it has `count`"),
            "{}",
            error.message
        );
        let error = only_error(json!({ "anything": { "ref": "fetch.output.body.name.first" } }));
        assert!(
            error
                .message
                .contains("`fetch.output.body.name` is string, which has no `first`"),
            "{}",
            error.message
        );
        let error = only_error(json!({ "anything": { "ref": "fetch.output.body.tags.first" } }));
        assert!(
            error.message.contains("indexed by numbers"),
            "{}",
            error.message
        );
    }

    #[test]
    fn array_items_and_local_schema_refs_are_followed() {
        accepted(json!({ "text": { "ref": "fetch.output.body.tags.0" } }));
        accepted(json!({ "amount": { "ref": "fetch.output.body.owner.age" } }));
        let error = only_error(json!({ "text": { "ref": "fetch.output.body.owner.age" } }));
        assert!(error.message.contains("gets integer"), "{}", error.message);
    }

    #[test]
    fn untyped_or_open_schemas_accept_anything() {
        // The trigger declares no inputSchema: its output is an object of unknown shape.
        accepted(json!({ "text": { "ref": "trigger.output.customer.name" } }));
        accepted(json!({ "count": { "ref": "fetch.output.body.loose.whatever" } }));
        accepted(json!({ "anything": { "ref": "fetch.output.body" } }));
        accepted(json!({ "anything": { "ref": "fetch.output" } }));
    }

    #[test]
    fn type_lists_and_any_of_are_accepted_if_any_branch_fits() {
        accepted(json!({ "text": { "ref": "fetch.output.body.maybe" } }));
        accepted(json!({ "flag": { "ref": "fetch.output.body.name" } }));
        let error = only_error(json!({ "flag": { "ref": "fetch.output.body.total" } }));
        assert_eq!(
            error.message,
            "node `notify` input `flag`: gets number from `fetch.output.body.total`, needs \
             boolean or string"
        );
    }

    #[test]
    fn a_literal_value_of_the_wrong_type_is_rejected() {
        accepted(json!({ "count": { "value": 3 }, "amount": { "value": 3 } }));
        accepted(json!({ "count": { "value": 3.0 } }));
        let error = only_error(json!({ "count": { "value": "3" } }));
        assert_eq!(
            error.message,
            "node `notify` input `count`: gets string from its literal value, needs integer"
        );
    }

    #[test]
    fn a_template_must_target_an_input_that_accepts_a_string() {
        accepted(json!({ "text": { "template": "{{ input.x }} {{ fetch.output.body.name }}" } }));
        let error = only_error(json!({ "count": { "template": "{{ fetch.output.body.count }}" } }));
        assert_eq!(error.code, Code::TypeMismatch);
        assert!(
            error.message.contains("gets string from its template"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_template_reading_an_unknown_variable_is_rejected() {
        let error = only_error(json!({ "text": { "template": "Hi {{ ghost.output }}" } }));
        assert_eq!(error.code, Code::InvalidTemplate);
        assert_eq!(error.path, "nodes[2].inputs.text.template");
        assert!(error.message.contains("reads `ghost`"), "{}", error.message);
    }

    #[test]
    fn a_template_reading_a_node_that_is_not_upstream_is_rejected() {
        let error = only_error(json!({ "text": { "template": "{{ side.output.body.name }}" } }));
        assert_eq!(error.code, Code::RefNotUpstream);
        assert!(error.message.contains("`side`"), "{}", error.message);
    }

    #[test]
    fn a_template_must_read_a_node_through_its_output_along_a_possible_path() {
        let error = only_error(json!({ "text": { "template": "{{ fetch.outpt }}" } }));
        assert_eq!(error.code, Code::InvalidTemplate);
        assert!(
            error.message.contains("`fetch.output`"),
            "{}",
            error.message
        );
        let error = only_error(json!({ "text": { "template": "{{ fetch.output.body.nope }}" } }));
        assert_eq!(error.code, Code::UnknownRefPath);
    }

    #[test]
    fn a_template_that_does_not_parse_is_rejected_with_its_line() {
        let error = only_error(json!({ "text": { "template": "ok\n{{ fetch.output.body.name" } }));
        assert_eq!(error.code, Code::InvalidTemplate);
        assert!(error.message.contains("(line 2)"), "{}", error.message);
    }

    #[test]
    fn an_expression_that_does_not_parse_is_rejected_with_its_position() {
        let error = only_error(json!({ "amount": { "expr": ".nodes.fetch.output.body.total +" } }));
        assert_eq!(error.code, Code::InvalidExpr);
        assert_eq!(error.path, "nodes[2].inputs.amount.expr");
        assert!(
            error
                .message
                .ends_with("expected term, found end of input at line 1, column 33"),
            "{}",
            error.message
        );
        accepted(json!({ "amount": { "expr": ".nodes.fetch.output.body.total + 1" } }));
    }

    #[test]
    fn a_missing_required_input_is_rejected() {
        let errors = check(json!({ "amount": { "value": 1 } }));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].code, Code::MissingInput);
        assert_eq!(errors[0].path, "nodes[2].inputs");
        assert_eq!(
            errors[0].message,
            "node `notify` is missing its required input `text`"
        );
    }

    #[test]
    fn built_in_node_types_require_their_inputs_but_a_trigger_requires_none() {
        let raw = json!({ "version": 1,
            "nodes": [
                { "id": "start", "type": "trigger", "name": "Start" },
                { "id": "ask", "type": "llm-agent", "name": "Ask",
                  "config": { "model": "m" } },
                { "id": "search", "type": "web-search", "name": "Search",
                  "inputs": { "query": { "ref": "ask.output.content" },
                              "count": { "ref": "ask.output.usage.totalTokens" } } }
            ],
            "edges": [
                { "source": "start", "target": "ask" },
                { "source": "ask", "target": "search" }
            ] });
        let doc = WorkflowDocument::parse(&raw, &tools()).unwrap();
        let errors = check_mappings(&doc);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].path, "nodes[1].inputs");
        assert!(
            errors[0].message.contains("`prompt`"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn an_input_a_closed_schema_does_not_declare_is_rejected() {
        let error = only_error(json!({ "bogus": { "value": 1 } }));
        assert_eq!(error.code, Code::UnknownInput);
        assert_eq!(error.path, "nodes[2].inputs.bogus");
        assert!(
            error.message.starts_with(
                "node `notify` has no input `bogus`; its inputs are `amount`, `anything`"
            ),
            "{}",
            error.message
        );
    }

    #[test]
    fn an_open_input_schema_accepts_undeclared_inputs() {
        let raw = json!({ "version": 1,
            "nodes": [ { "id": "f", "type": "custom", "name": "F",
                         "config": { "toolId": "fetcher" },
                         "inputs": { "whatever": { "value": [1] } } } ] });
        let doc = WorkflowDocument::parse(&raw, &tools()).unwrap();
        assert!(check_mappings(&doc).is_empty());
    }

    #[test]
    fn errors_of_several_nodes_come_in_document_order() {
        let raw = json!({ "version": 1,
            "nodes": [
                { "id": "a", "type": "web-search", "name": "A" },
                { "id": "b", "type": "web-search", "name": "B",
                  "inputs": { "query": { "value": 1 } } }
            ] });
        let doc = WorkflowDocument::parse(&raw, &tools()).unwrap();
        let paths: Vec<String> = check_mappings(&doc).into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["nodes[0].inputs", "nodes[1].inputs.query"]);
    }
}
