//! Run-time resolution of a node's inputs from its bindings.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::expr::{ExprError, ProgramCache};
use super::template::{self, TemplateError};
use crate::json_schema::json_type_name;
use crate::workflow::{InputBinding, Node, OutputRef};

/// The name under which templates and expressions see the execution input.
pub const INPUT_ROOT: &str = "input";

/// What a node's bindings are resolved against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunContext {
    /// The execution input.
    pub input: Value,
    /// Node id to output, for the nodes that have completed.
    pub outputs: BTreeMap<String, Value>,
}

/// Why one input of a node could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node `{node}` input `{input}`: {problem}")]
pub struct MappingError {
    /// The node whose input failed.
    pub node: String,
    /// The input that failed.
    pub input: String,
    /// What went wrong.
    pub problem: MappingProblem,
}

/// What went wrong resolving one binding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingProblem {
    /// A `ref` to a node that has no output in the context: it has not run, was skipped, or
    /// is not upstream.
    #[error("`{node}` has no output to read (it has not run or was skipped)")]
    NoOutput {
        /// The node the ref names.
        node: String,
    },
    /// A `ref` whose path leads nowhere in the actual output.
    #[error("`{reference}` does not exist: {reason}")]
    MissingPath {
        /// The ref as written.
        reference: String,
        /// Where the path stopped and why.
        reason: String,
    },
    /// A `template` that failed to render.
    #[error("template failed: {0}")]
    Template(TemplateError),
    /// An `expr` that failed to compile or run.
    #[error("expression failed: {0}")]
    Expr(ExprError),
}

/// Resolves every input binding of `node` against `ctx`, compiling expressions through the
/// process-wide [`ProgramCache::shared`].
///
/// # Errors
///
/// The first binding that cannot be resolved, in input-name order.
pub fn resolve_inputs(node: &Node, ctx: &RunContext) -> Result<Map<String, Value>, MappingError> {
    resolve_inputs_with(node, ctx, ProgramCache::shared())
}

/// Resolves every input binding of `node` against `ctx`:
///
/// - `value`: the literal;
/// - `ref`: the part of the upstream output the path names (object keys, array indexes); a
///   missing part is an error, since refs are typed statically and cannot silently be null;
/// - `template`: the rendered string; the template sees `input` (the execution input) and,
///   for each completed node, `<id>.output`;
/// - `expr`: the first output of the jq program run over
///   `{ "nodes": { <id>: { "output": ... } }, "input": ... }`.
///
/// Templates and expressions see every output in `ctx`; for results that do not depend on
/// timing, `ctx.outputs` should hold only nodes upstream of `node` (save-time checks ensure
/// that refs and templates read nothing else).
///
/// # Errors
///
/// The first binding that cannot be resolved, in input-name order.
pub fn resolve_inputs_with(
    node: &Node,
    ctx: &RunContext,
    programs: &ProgramCache,
) -> Result<Map<String, Value>, MappingError> {
    let mut resolved = Map::new();
    for (name, binding) in node.inputs() {
        let fail = |problem| MappingError {
            node: node.id().to_string(),
            input: name.clone(),
            problem,
        };
        let value = resolve_binding(binding, ctx, programs).map_err(fail)?;
        resolved.insert(name.clone(), value);
    }
    Ok(resolved)
}

/// Resolves one binding against `ctx`, as [`resolve_inputs_with`] does each of a node's;
/// the mapping dialog's preview evaluates a binding this way, with a run's limits.
///
/// # Errors
///
/// Why the binding cannot be resolved.
pub fn resolve_binding(
    binding: &InputBinding,
    ctx: &RunContext,
    programs: &ProgramCache,
) -> Result<Value, MappingProblem> {
    Ok(match binding {
        InputBinding::Value(value) => value.clone(),
        InputBinding::Ref(reference) => follow(reference, ctx)?.clone(),
        InputBinding::Template(text) => {
            Value::String(render(text, ctx).map_err(MappingProblem::Template)?)
        }
        InputBinding::Expr(source) => {
            evaluate(source, ctx, programs).map_err(MappingProblem::Expr)?
        }
    })
}

fn follow<'c>(reference: &OutputRef, ctx: &'c RunContext) -> Result<&'c Value, MappingProblem> {
    let output =
        ctx.outputs
            .get(reference.node().as_str())
            .ok_or_else(|| MappingProblem::NoOutput {
                node: reference.node().to_string(),
            })?;
    reference
        .resolve(output)
        .ok_or_else(|| MappingProblem::MissingPath {
            reference: reference.to_string(),
            reason: why_missing(reference, output),
        })
}

/// Walks the path again to say where and why it stops; only called once it has.
fn why_missing(reference: &OutputRef, output: &Value) -> String {
    let mut walked = format!("{}.output", reference.node());
    let mut value = output;
    for segment in reference.path() {
        let next = match value {
            Value::Object(map) => map.get(segment).ok_or_else(|| {
                let mut keys: Vec<&str> = map.keys().map(String::as_str).take(10).collect();
                keys.sort_unstable();
                format!(
                    "`{walked}` has no key `{segment}` (it has {})",
                    if keys.is_empty() {
                        "none".to_owned()
                    } else {
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )
            }),
            Value::Array(items) => match segment.parse::<usize>() {
                Ok(index) => items.get(index).ok_or_else(|| {
                    format!(
                        "`{walked}` has {} element(s), so there is no index {index}",
                        items.len()
                    )
                }),
                Err(_) => Err(format!(
                    "`{walked}` is an array, indexed by numbers, not by `{segment}`"
                )),
            },
            other => Err(format!(
                "`{walked}` is {}, which has no `{segment}`",
                json_type_name(other)
            )),
        };
        match next {
            Ok(next) => value = next,
            Err(reason) => return reason,
        }
        walked.push('.');
        walked.push_str(segment);
    }
    format!("`{walked}` exists")
}

fn render(text: &str, ctx: &RunContext) -> Result<String, TemplateError> {
    template::render_with(text, |root| {
        if root == INPUT_ROOT {
            return Some(minijinja::Value::from(minijinja::value::Serde(&ctx.input)));
        }
        ctx.outputs.get(root).map(|output| {
            minijinja::Value::from_pairs([(
                "output",
                minijinja::Value::from(minijinja::value::Serde(output)),
            )])
        })
    })
}

fn evaluate(source: &str, ctx: &RunContext, programs: &ProgramCache) -> Result<Value, ExprError> {
    let program = programs.get(source)?;
    program.run_one_over_nodes(
        ctx.outputs.iter().map(|(id, output)| (id.as_str(), output)),
        &ctx.input,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{ToolSignature, WorkflowDocument};
    use serde_json::json;

    fn document(inputs: Value) -> WorkflowDocument {
        let raw = json!({ "version": 1,
            "nodes": [
                { "id": "trigger", "type": "trigger", "name": "Start" },
                { "id": "fetch", "type": "api-call", "name": "Fetch" },
                { "id": "use", "type": "custom", "name": "Use",
                  "config": { "toolId": "any" }, "inputs": inputs }
            ],
            "edges": [
                { "source": "trigger", "target": "fetch" },
                { "source": "fetch", "target": "use" }
            ] });
        let tools = BTreeMap::from([(
            "any".to_owned(),
            ToolSignature {
                id: "any".into(),
                input_schema: json!({ "type": "object" }),
                output_schema: json!({}),
            },
        )]);
        WorkflowDocument::parse(&raw, &tools).expect("valid test document")
    }

    fn context() -> RunContext {
        RunContext {
            input: json!({ "customer": { "id": "c-7", "name": "Ada" } }),
            outputs: BTreeMap::from([
                (
                    "trigger".to_owned(),
                    json!({ "customer": { "id": "c-7", "name": "Ada" } }),
                ),
                (
                    "fetch".to_owned(),
                    json!({ "status": 200, "body": {
                        "items": [ { "price": 2 }, { "price": 3.5 } ] } }),
                ),
            ]),
        }
    }

    fn resolve(inputs: Value) -> Result<Map<String, Value>, MappingError> {
        let doc = document(inputs);
        resolve_inputs(doc.node("use").unwrap(), &context())
    }

    #[test]
    fn each_binding_kind_resolves_as_the_design_describes() {
        let resolved = resolve(json!({
            "url": { "value": "https://shop.example" },
            "customerId": { "ref": "trigger.output.customer.id" },
            "firstPrice": { "ref": "fetch.output.body.items.0.price" },
            "note": { "template": "Order for {{ trigger.output.customer.name }} ({{ input.customer.id }})" },
            "total": { "expr": ".nodes.fetch.output.body.items | map(.price) | add" },
            "whole": { "ref": "fetch.output" }
        }))
        .unwrap();
        assert_eq!(
            Value::Object(resolved),
            json!({
                "url": "https://shop.example",
                "customerId": "c-7",
                "firstPrice": 2,
                "note": "Order for Ada (c-7)",
                "total": 5.5,
                "whole": context().outputs["fetch"]
            })
        );
    }

    #[test]
    fn an_expression_reads_the_execution_input() {
        let resolved =
            resolve(json!({ "id": { "expr": ".input.customer.id | ascii_upcase" } })).unwrap();
        assert_eq!(resolved["id"], "C-7");
    }

    #[test]
    fn a_missing_ref_path_names_node_input_and_where_it_stopped() {
        let error =
            resolve(json!({ "p": { "ref": "fetch.output.body.items.5.price" } })).unwrap_err();
        assert_eq!(error.node, "use");
        assert_eq!(error.input, "p");
        let text = error.to_string();
        assert!(text.starts_with("node `use` input `p`: "), "{text}");
        assert!(
            text.contains("`fetch.output.body.items.5.price` does not exist"),
            "{text}"
        );
        assert!(text.contains("has 2 element(s)"), "{text}");

        let error = resolve(json!({ "p": { "ref": "fetch.output.body.nope" } })).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("has no key `nope` (it has `items`)"),
            "{error}"
        );

        let error = resolve(json!({ "p": { "ref": "fetch.output.status.x" } })).unwrap_err();
        assert!(
            error.to_string().contains("is integer, which has no `x`"),
            "{error}"
        );
    }

    #[test]
    fn a_ref_to_a_node_without_output_is_an_error() {
        let doc = document(json!({ "p": { "ref": "fetch.output.body" } }));
        let mut ctx = context();
        ctx.outputs.remove("fetch");
        let error = resolve_inputs(doc.node("use").unwrap(), &ctx).unwrap_err();
        assert_eq!(
            error.problem,
            MappingProblem::NoOutput {
                node: "fetch".into()
            }
        );
    }

    #[test]
    fn a_template_reading_a_missing_field_fails_naming_it() {
        let error =
            resolve(json!({ "t": { "template": "{{ fetch.output.body.total }}" } })).unwrap_err();
        assert!(matches!(error.problem, MappingProblem::Template(_)));
        assert!(
            error.to_string().contains("`fetch.output.body.total`"),
            "{error}"
        );
    }

    #[test]
    fn an_expression_error_or_empty_result_is_reported_for_its_input() {
        let error = resolve(
            json!({ "e": { "expr": ".nodes.fetch.output.status | error(\"bad \\(.)\")" } }),
        )
        .unwrap_err();
        assert_eq!(
            error.problem,
            MappingProblem::Expr(ExprError::Runtime("bad 200".into()))
        );
        let error = resolve(json!({ "e": { "expr": "empty" } })).unwrap_err();
        assert_eq!(error.problem, MappingProblem::Expr(ExprError::NoOutput));
    }
}
