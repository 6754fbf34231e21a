//! One node's inputs and upstream outputs as the parameter mapping dialog shows them.
//!
//! The verdicts are the save-time checker's own ([`super::typecheck::check_node`]): the
//! dialog and `validateWorkflow` read the same [`InputCheck`]s, so they cannot disagree.
//! This module only adds what a person needs around them: every input the schema declares
//! (bound or not), its schema, default and description, and the fields of the nodes upstream
//! that a `ref` may read.

use serde_json::Value;

use super::fields::{OutputField, output_fields};
use super::typecheck::{
    InputCheck, Verdict, check_node, deref, input_property, required_names, type_name,
};
use crate::workflow::{InputBinding, WorkflowDocument};

/// What the dialog shows for one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeMapping {
    pub inputs: Vec<InputMapping>,
    pub upstream: Vec<UpstreamOutput>,
}

/// One input of the node.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMapping {
    pub name: String,
    /// The input's JSON Schema (`false` for an input a closed schema does not declare).
    pub schema: Value,
    pub required: bool,
    pub default: Option<Value>,
    pub description: Option<String>,
    /// The current binding (`{ref}`, `{value}`, `{template}` or `{expr}`), if any.
    pub binding: Option<Value>,
    pub source_type: Option<String>,
    /// The type the input accepts; `any` when its schema does not constrain it.
    pub target_type: String,
    pub verdict: Verdict,
    /// Why, for an error (the checker's message) or an unchecked input.
    pub reason: Option<String>,
    /// The document path of the first problem, or of the input itself.
    pub path: String,
}

/// A node upstream of the inspected one: what its `ref`s may read.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamOutput {
    pub node_id: String,
    pub node_name: String,
    pub node_type: String,
    pub schema: Value,
    pub fields: Vec<OutputField>,
    /// Whether `fields` stopped at a bound before the end of the schema.
    pub fields_truncated: bool,
}

const ANY: &str = "any";

/// The inputs and upstream outputs of node `index` of `doc`.
///
/// # Panics
///
/// If `index` is not a node of `doc`.
pub fn inspect(doc: &WorkflowDocument, index: usize) -> NodeMapping {
    let node = &doc.nodes()[index];
    let bindings = node
        .inputs()
        .iter()
        .map(|(name, binding)| (name.as_str(), Some(binding)));
    let inputs = describe_inputs(
        doc.input_schema(node),
        bindings,
        check_node(doc, index),
        index,
    );
    let ancestors = doc.ancestors(node.id().as_str());
    let upstream = doc
        .topological_order()
        .into_iter()
        .filter(|n| ancestors.contains(n.id().as_str()))
        .map(|n| {
            let schema = doc.output_schema(n);
            let (fields, fields_truncated) = output_fields(n.id().as_str(), schema);
            UpstreamOutput {
                node_id: n.id().to_string(),
                node_name: n.name().to_owned(),
                node_type: n.node_type().to_owned(),
                schema: schema.clone(),
                fields,
                fields_truncated,
            }
        })
        .collect();
    NodeMapping { inputs, upstream }
}

/// The inputs of a node the checker could not reach (the document does not parse): every
/// input the schema declares, with its binding, none of them checked.
pub fn unchecked_inputs<'b>(
    schema: &Value,
    bindings: impl IntoIterator<Item = (&'b str, Value)>,
    index: usize,
    reason: &str,
) -> Vec<InputMapping> {
    let bindings: Vec<(&str, Value)> = bindings.into_iter().collect();
    let mut inputs = describe_inputs(
        schema,
        bindings.iter().map(|(name, _)| (*name, None)),
        Vec::new(),
        index,
    );
    for input in &mut inputs {
        input.binding = bindings
            .iter()
            .find(|(name, _)| *name == input.name)
            .map(|(_, raw)| raw.clone());
        input.verdict = Verdict::Unchecked;
        input.reason = Some(reason.to_owned());
    }
    inputs
}

/// Merges the schema's declared inputs (in declaration order), the bound ones it does not
/// declare, and the checker's findings, by name.
fn describe_inputs<'b>(
    schema: &Value,
    bound: impl Iterator<Item = (&'b str, Option<&'b InputBinding>)>,
    checks: Vec<InputCheck>,
    index: usize,
) -> Vec<InputMapping> {
    let declared: Vec<&str> = deref(schema, schema)
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.keys().map(String::as_str))
        .collect();
    let bound: Vec<(&str, Option<&InputBinding>)> = bound.collect();
    let mut names: Vec<&str> = declared.clone();
    names.extend(
        bound
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !declared.contains(name)),
    );
    let required: Vec<&str> = required_names(schema).collect();
    names
        .into_iter()
        .map(|name| {
            let property = input_property(schema, name);
            let resolved = property.map(|p| deref(schema, p));
            let text = |key: &str| {
                [property, resolved]
                    .into_iter()
                    .flatten()
                    .find_map(|s| s.get(key))
                    .cloned()
            };
            let binding = bound
                .iter()
                .find(|(bound_name, _)| *bound_name == name)
                .and_then(|(_, binding)| *binding);
            let check = checks.iter().find(|c| c.name == name);
            let at = format!("nodes[{index}].inputs.{name}");
            let (verdict, reason, path) = match check {
                Some(check) if !check.errors.is_empty() => {
                    let first = &check.errors[0];
                    (
                        Verdict::Error,
                        Some(first.message.clone()),
                        first.path.clone(),
                    )
                }
                Some(check) => (check.verdict, unchecked_reason(check, binding), at),
                None => (
                    Verdict::Unchecked,
                    Some("not bound; the input is optional".to_owned()),
                    at,
                ),
            };
            InputMapping {
                name: name.to_owned(),
                schema: property.cloned().unwrap_or(Value::Bool(false)),
                required: required.contains(&name),
                default: text("default"),
                description: text("description").and_then(|d| d.as_str().map(str::to_owned)),
                binding: binding.map(|b| serde_json::to_value(b).unwrap_or(Value::Null)),
                source_type: check.and_then(|c| c.source_type.clone()),
                target_type: check
                    .and_then(|c| c.target_type.clone())
                    .or_else(|| property.and_then(|p| type_name(schema, p)))
                    .unwrap_or_else(|| ANY.to_owned()),
                verdict,
                reason,
                path,
            }
        })
        .collect()
}

fn unchecked_reason(check: &InputCheck, binding: Option<&InputBinding>) -> Option<String> {
    if check.verdict != Verdict::Unchecked {
        return None;
    }
    Some(
        match binding {
            Some(InputBinding::Expr(_)) => {
                "an expression's result is known only when the node runs; the run validates it"
            }
            Some(InputBinding::Template(_)) => {
                "a template renders a string whose content is known only when the node runs"
            }
            Some(InputBinding::Ref(_)) => {
                "the source's schema does not say its type; the run validates the value"
            }
            _ => "checked when the node runs",
        }
        .to_owned(),
    )
}
