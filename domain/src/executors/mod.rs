//! Node executors: one file per node type, all behind [`Executor`], registered in
//! [`registry`]. Adding a node type touches its file, one line in `registry`, and its
//! palette entry in `node_types`.

pub(crate) mod api_call;
pub(crate) mod code_tool;
mod condition;
mod custom;
mod data_transform;
pub mod database_query;
pub mod http_auth;
mod llm_agent;
mod output;
mod trigger;
mod web_search;
mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::auth::Principal;
use crate::node_error::{NodeErrorCode, NodeErrorDetail};
use crate::node_types::MAIN_HANDLE;
use crate::workflow::Node;

/// Everything an executor may use besides its input. Shared by all runs of one engine.
pub struct Services {
    pub db: DatabaseConnection,
    /// Every outgoing HTTP request goes through it: the SSRF guard, timeouts, size cap.
    pub http: crate::outbound::OutboundClient,
    /// Decrypts credentials for executors; `None` when the server runs without one, in
    /// which case nodes that name a credential fail saying so.
    pub vault: Option<crate::vault::Vault>,
    /// OAuth2 access tokens reused across runs until they expire.
    pub oauth_tokens: http_auth::OAuthTokenCache,
    /// Runs `code` tools.
    pub sandbox: crate::sandbox::Sandbox,
    /// Records every tool run (`tool_execution_logs`) off the node's path.
    pub tool_logs: crate::store::tool_logs::ToolLogWriter,
    /// One bounded pool per database connection, reused across runs.
    pub db_pools: crate::dbquery::DbPools,
}

impl Services {
    /// Services over `db`; starts the tool log writer, so call it inside a Tokio runtime.
    pub fn new(
        db: DatabaseConnection,
        http: crate::outbound::OutboundClient,
        vault: Option<crate::vault::Vault>,
        sandbox: crate::sandbox::Sandbox,
    ) -> Self {
        Self {
            tool_logs: crate::store::tool_logs::ToolLogWriter::start(db.clone()),
            db,
            http,
            vault,
            oauth_tokens: Default::default(),
            sandbox,
            db_pools: Default::default(),
        }
    }
}

/// One attempt of one node.
pub struct NodeContext<'a> {
    pub execution_id: &'a str,
    pub workflow_id: &'a str,
    pub node: &'a Node,
    pub attempt: u32,
    /// The input the execution was started with.
    pub execution_input: &'a Value,
    /// The workflow's owner: tools and credentials are looked up as them.
    pub owner: &'a Principal,
    pub services: &'a Services,
    /// Cancelled by `stopExecution`; long-running executors should watch it.
    pub cancel: CancellationToken,
}

impl NodeContext<'_> {
    /// Sent as `Idempotency-Key` on outgoing calls: the same for every attempt and every
    /// resumed run of this node in this execution, so receivers can drop repeats.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.execution_id, self.node.id().as_str())
    }
}

/// What a node produced and which output handle the run continues on.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOutcome {
    pub output: Value,
    pub handle: String,
}

impl NodeOutcome {
    pub fn main(output: Value) -> Self {
        Self {
            output,
            handle: MAIN_HANDLE.to_owned(),
        }
    }
}

/// Why an attempt failed. `retryable: false` skips the remaining attempts (a 400 will
/// not turn into a 200 by asking again). `code` and `cause` are stored as the attempt's
/// structured error (see [`crate::node_error`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFailure {
    pub message: String,
    pub retryable: bool,
    pub code: NodeErrorCode,
    pub cause: Vec<String>,
}

impl NodeFailure {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
            code: NodeErrorCode::Failed,
            cause: Vec::new(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            code: NodeErrorCode::Failed,
            cause: Vec::new(),
        }
    }

    pub fn with_code(self, code: NodeErrorCode) -> Self {
        Self { code, ..self }
    }

    pub fn detail(&self) -> NodeErrorDetail {
        NodeErrorDetail {
            code: self.code,
            message: self.message.clone(),
            retryable: self.retryable,
            cause: self.cause.clone(),
        }
    }
}

pub type NodeResult = Result<NodeOutcome, NodeFailure>;

pub use custom::{ToolRunError, ToolRunReport, test_tool};

/// A node type's behaviour. `input` has been resolved from the node's bindings and
/// validated against the node's input schema before this is called.
#[async_trait::async_trait]
pub trait Executor: Send + Sync + 'static {
    fn node_type(&self) -> &'static str;

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult;
}

pub type Registry = HashMap<&'static str, Arc<dyn Executor>>;

/// Every executor, keyed by node type. The one place node types are registered.
pub fn registry() -> Registry {
    let executors: Vec<Arc<dyn Executor>> = vec![
        Arc::new(trigger::Trigger),
        Arc::new(data_transform::DataTransform),
        Arc::new(condition::Condition),
        Arc::new(output::Output),
        Arc::new(api_call::ApiCall),
        Arc::new(llm_agent::LlmAgent::default()),
        Arc::new(web_search::WebSearch),
        Arc::new(custom::Custom::default()),
        Arc::new(database_query::DatabaseQuery),
        Arc::new(webhook::WebhookNode),
    ];
    executors.into_iter().map(|e| (e.node_type(), e)).collect()
}
