//! The parameter mapping dialog: `nodeMapping` (the save-time checker's verdict per input)
//! and `previewMapping` (one binding through the run-time mapping engine). The logic lives in
//! `domain::store::mapping_dialog`.

use async_graphql::{Context, Enum, Json, Object, SimpleObject};
use domain::mapping::fields::OutputField as DomainField;
use domain::mapping::inspect::{InputMapping as DomainInput, UpstreamOutput as DomainUpstream};
use domain::store::mapping_dialog as store;
use serde_json::Value;

use super::context::{db, principal};
use super::errors::ApiResult;
use super::workflows::ValidationProblem;

/// OK: the binding fits; ERROR: it does not (see reason); UNCHECKED: only the run can tell
/// (an expr or template, an untyped source, an optional input left unbound).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::mapping::typecheck::Verdict")]
pub enum MappingVerdictStatus {
    Ok,
    Error,
    Unchecked,
}

#[derive(SimpleObject)]
pub struct MappingVerdict {
    pub status: MappingVerdictStatus,
    pub reason: Option<String>,
    /// Where, as in `validateWorkflow` problems (e.g. `nodes[2].inputs.url`).
    pub path: Option<String>,
}

/// One input of a node, with the server's verdict on its binding.
#[derive(SimpleObject)]
pub struct InputMapping {
    pub name: String,
    /// The input's JSON Schema (from the node type or the tool).
    pub schema: Json<Value>,
    pub required: bool,
    /// The schema's default, if any.
    pub default: Option<Json<Value>>,
    pub description: Option<String>,
    /// The current binding ({ref}/{value}/{template}/{expr}) or null.
    pub binding: Option<Json<Value>>,
    /// The type the binding delivers as the checker sees it, e.g. "object", "string".
    pub source_type: Option<String>,
    /// The type the input wants, e.g. "string", "null or integer"; "any" when unconstrained.
    pub target_type: String,
    pub verdict: MappingVerdict,
}

impl From<DomainInput> for InputMapping {
    fn from(input: DomainInput) -> Self {
        Self {
            name: input.name,
            schema: Json(input.schema),
            required: input.required,
            default: input.default.map(Json),
            description: input.description,
            binding: input.binding.map(Json),
            source_type: input.source_type,
            target_type: input.target_type,
            verdict: MappingVerdict {
                status: input.verdict.into(),
                reason: input.reason,
                path: Some(input.path),
            },
        }
    }
}

/// A field of an upstream node's output, ready to bind.
#[derive(SimpleObject)]
pub struct OutputField {
    /// A binding's ref, e.g. "fetch.output.items".
    #[graphql(name = "ref")]
    pub reference: String,
    /// The last segment, e.g. "items".
    pub name: String,
    /// e.g. "array", "string", "object"; "any" when the schema does not say.
    #[graphql(name = "type")]
    pub type_name: String,
    /// 0 for the node's whole output, 1 for its top-level fields, ...
    pub depth: i32,
    pub description: Option<String>,
}

impl From<DomainField> for OutputField {
    fn from(field: DomainField) -> Self {
        Self {
            reference: field.reference,
            name: field.name,
            type_name: field.type_name,
            depth: i32::try_from(field.depth).unwrap_or(i32::MAX),
            description: field.description,
        }
    }
}

/// A node upstream of the inspected one: what its refs may read.
#[derive(SimpleObject)]
pub struct UpstreamOutput {
    pub node_id: String,
    pub node_name: String,
    pub node_type: String,
    /// The node's output JSON Schema.
    pub schema: Json<Value>,
    /// The schema as a flattened tree in pre-order, bounded in depth and count.
    pub fields: Vec<OutputField>,
    /// Whether `fields` stops at a bound before the end of the schema.
    pub fields_truncated: bool,
}

impl From<DomainUpstream> for UpstreamOutput {
    fn from(upstream: DomainUpstream) -> Self {
        Self {
            node_id: upstream.node_id,
            node_name: upstream.node_name,
            node_type: upstream.node_type,
            schema: Json(upstream.schema),
            fields: upstream.fields.into_iter().map(OutputField::from).collect(),
            fields_truncated: upstream.fields_truncated,
        }
    }
}

#[derive(SimpleObject)]
pub struct NodeMapping {
    pub node_id: String,
    pub inputs: Vec<InputMapping>,
    /// Only nodes upstream of nodeId (what a ref may point at), parents first.
    pub upstream: Vec<UpstreamOutput>,
    /// validateWorkflow problems whose path is under this node.
    pub problems: Vec<ValidationProblem>,
}

#[derive(Default)]
pub struct MappingQuery;

#[Object]
impl MappingQuery {
    /// Every input of node `nodeId` in `document` (a workflow document, saved or not), with
    /// its schema, current binding and the server's verdict; plus the upstream nodes' outputs
    /// as flattened field trees. Uses exactly the save-time type checker.
    async fn node_mapping(
        &self,
        ctx: &Context<'_>,
        document: Json<Value>,
        node_id: String,
    ) -> ApiResult<NodeMapping> {
        let principal = principal(ctx)?;
        let view = store::node_mapping(db(ctx), principal, &document.0, &node_id).await?;
        Ok(NodeMapping {
            node_id: view.node_id,
            inputs: view
                .mapping
                .inputs
                .into_iter()
                .map(InputMapping::from)
                .collect(),
            upstream: view
                .mapping
                .upstream
                .into_iter()
                .map(UpstreamOutput::from)
                .collect(),
            problems: view
                .problems
                .into_iter()
                .map(|p| ValidationProblem {
                    path: p.path,
                    message: p.message,
                })
                .collect(),
        })
    }
}
