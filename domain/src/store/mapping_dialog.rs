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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entity::{node_executions, workflow_executions};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::{tools, workflows};
use crate::access::{WorkflowRole, require_workflow};
use crate::auth::Principal;
use crate::error::{DomainError, DomainResult, FieldProblem};
use crate::json_schema;
use crate::mapping::ProgramCache;
use crate::mapping::inspect::{self, NodeMapping};
use crate::mapping::resolve::{MappingError, RunContext, resolve_binding};
use crate::mapping::typecheck::Verdict;
use crate::node_types::{self, CUSTOM, TRIGGER};
use crate::workflow::{InputBinding, ToolSignature, WorkflowDocument, referenced_tool_ids};

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
    db: &impl ConnectionTrait,
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

fn raw_edges(raw: &Value) -> Vec<&Value> {
    raw.get("edges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect()
}

fn end(edge: &Value, key: &str) -> Option<String> {
    edge.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Node `node_id` and its ancestors by the raw edges (which need not form a valid graph).
fn with_ancestors(raw: &Value, node_id: &str) -> BTreeSet<String> {
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for edge in raw_edges(raw) {
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
    keep
}

/// The node and its ancestors (by the raw edges), in document order, with the edges among
/// them; and the node's index in that smaller document.
fn ancestors_document(raw: &Value, node_id: &str) -> (Value, usize) {
    let edges = raw_edges(raw);
    let keep = with_ancestors(raw, node_id);
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

/// Where `previewMapping`'s sample outputs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleSource {
    /// The `sample` the user typed.
    UserSample,
    /// The node outputs recorded by the workflow's last execution.
    LastExecution,
    /// No sample: refs and reads of node outputs find nothing.
    None,
}

/// What `previewMapping` evaluates.
#[derive(Debug, Clone)]
pub struct PreviewRequest {
    pub document: Value,
    pub node_id: String,
    /// The input the binding is for; when absent, the node's input bound to exactly this
    /// binding, if any.
    pub input_name: Option<String>,
    pub binding: Value,
    /// `{ <nodeId>: <output>, ... }`.
    pub sample: Option<Value>,
    /// A workflow (row id) whose last execution's outputs are the sample when `sample` is
    /// absent.
    pub workflow_id: Option<String>,
}

/// `previewMapping`'s answer.
#[derive(Debug, Clone)]
pub struct MappingPreview {
    pub value: Option<Value>,
    /// The mapping engine's error, worded as a run reports it.
    pub error: Option<String>,
    pub sample_source: SampleSource,
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub path: Option<String>,
}

/// Evaluates one binding of node `node_id` with the run-time mapping engine (the process-wide
/// program cache, a run's limits) against sample upstream outputs, and validates the value
/// against the input's schema as a run would. Reads only.
#[tracing::instrument(skip_all, fields(node_id = %request.node_id))]
pub async fn preview_mapping(
    db: &impl ConnectionTrait,
    principal: &Principal,
    request: PreviewRequest,
) -> DomainResult<MappingPreview> {
    let raw = &request.document;
    let index = node_index(raw, &request.node_id, "input.nodeId")?;
    let binding = InputBinding::parse(&request.binding).map_err(|e| {
        DomainError::bad_input(
            "input.binding",
            match e {
                crate::workflow::BindingError::Shape(m) | crate::workflow::BindingError::Ref(m) => {
                    m
                }
            },
        )
    })?;
    let node = &raw["nodes"][index];
    let (context, sample_source) = sample_context(db, principal, &request, raw).await?;
    let input_name = request.input_name.clone().or_else(|| {
        node.get("inputs")
            .and_then(Value::as_object)?
            .iter()
            .find(|(_, bound)| **bound == request.binding)
            .map(|(name, _)| name.clone())
    });

    // Expressions run with a run's step and time budgets; off the async threads, as a run's
    // would block them for as long.
    let evaluated = tokio::task::spawn_blocking({
        let binding = binding.clone();
        move || resolve_binding(&binding, &context, ProgramCache::shared())
    })
    .await
    .map_err(|e| DomainError::Internal(format!("preview evaluation panicked: {e}")))?;
    let value = match evaluated {
        Ok(value) => value,
        Err(problem) => {
            let error = MappingError {
                node: request.node_id.clone(),
                input: input_name.clone().unwrap_or_else(|| "(preview)".to_owned()),
                problem,
            }
            .to_string();
            return Ok(MappingPreview {
                value: None,
                reason: Some(error.clone()),
                error: Some(error),
                sample_source,
                verdict: Verdict::Error,
                path: input_name.map(|name| format!("nodes[{index}].inputs.{name}")),
            });
        }
    };

    let signatures = tools::signatures(db, principal, &referenced_tool_ids(raw)).await?;
    let (verdict, reason, path) = match &input_name {
        None => (
            Verdict::Unchecked,
            Some("no input named; the value is not checked against a schema".to_owned()),
            None,
        ),
        Some(name) => {
            let at = format!("nodes[{index}].inputs.{name}");
            match check_value(&input_schema_of(node, &signatures), name, &value) {
                Ok(()) => (Verdict::Ok, None, Some(at)),
                Err(reason) => (Verdict::Error, Some(reason), Some(at)),
            }
        }
    };
    Ok(MappingPreview {
        value: Some(value),
        error: None,
        sample_source,
        verdict,
        reason,
        path,
    })
}

/// The outputs (and execution input) the preview reads: the user's sample, else the last
/// execution of the workflow, else nothing. Only the node's ancestors are kept, as in a run,
/// where nothing else has finished when the node's inputs are resolved.
async fn sample_context(
    db: &impl ConnectionTrait,
    principal: &Principal,
    request: &PreviewRequest,
    raw: &Value,
) -> DomainResult<(RunContext, SampleSource)> {
    let upstream = with_ancestors(raw, &request.node_id);
    let keep = |outputs: BTreeMap<String, Value>| -> BTreeMap<String, Value> {
        outputs
            .into_iter()
            .filter(|(id, _)| id != &request.node_id && upstream.contains(id))
            .collect()
    };
    if let Some(sample) = request.sample.as_ref().filter(|s| !s.is_null()) {
        let Value::Object(outputs) = sample else {
            return Err(DomainError::bad_input(
                "input.sample",
                "must be an object mapping node ids to their outputs, e.g. \
                 { \"fetch\": { \"items\": [] } }",
            ));
        };
        // The trigger's output is the execution input, which templates read as `input`.
        let trigger = raw
            .get("nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|n| n.get("type").and_then(Value::as_str) == Some(TRIGGER))
            .and_then(|n| n.get("id").and_then(Value::as_str));
        let input = trigger
            .and_then(|id| outputs.get(id))
            .cloned()
            .unwrap_or(Value::Null);
        let outputs = outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return Ok((
            RunContext {
                input,
                outputs: keep(outputs),
            },
            SampleSource::UserSample,
        ));
    }
    let Some(workflow_id) = &request.workflow_id else {
        return Ok((RunContext::default(), SampleSource::None));
    };
    require_workflow(db, principal, workflow_id, WorkflowRole::Viewer)
        .await
        .map_err(|e| match e {
            // Seeing it but lacking a role cannot happen for Viewer; anything else hides it.
            DomainError::Storage(_) | DomainError::Internal(_) => e,
            _ => DomainError::not_found("workflow", workflow_id),
        })?;
    let Some(execution) = workflow_executions::Entity::find()
        .filter(workflow_executions::Column::WorkflowId.eq(workflow_id))
        .order_by_desc(workflow_executions::Column::Id)
        .one(db)
        .await?
    else {
        return Ok((RunContext::default(), SampleSource::None));
    };
    let runs = node_executions::Entity::find()
        .filter(node_executions::Column::ExecutionId.eq(&execution.id))
        .order_by_asc(node_executions::Column::Id)
        .all(db)
        .await?;
    // Later attempts come later by id; the last one that succeeded is what a run read.
    let mut outputs = BTreeMap::new();
    for run in runs {
        if run.status == "succeeded"
            && let Some(output) = run.output
        {
            outputs.insert(run.node_id, output);
        }
    }
    Ok((
        RunContext {
            input: execution.input,
            outputs: keep(outputs),
        },
        SampleSource::LastExecution,
    ))
}

/// Validates `value` as input `name` of a node whose input schema is `schema`, as a run
/// validates the resolved input; the other inputs are not required here.
fn check_value(schema: &Value, name: &str, value: &Value) -> Result<(), String> {
    let mut schema = schema.clone();
    if let Some(map) = schema.as_object_mut() {
        map.remove("required");
    }
    json_schema::validate_instance(&schema, &json!({ name: value })).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| {
                if p.path.is_empty() {
                    p.message
                } else {
                    format!("at {}: {}", p.path, p.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}
