//! The execution engine: starts, stops, replays, retries and resumes executions of
//! workflow versions. Scheduling lives in `run`, persistence in `records`.

pub mod events;
mod prepared;
mod records;
mod run;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use entity::{node_executions, users, workflow_executions, workflow_versions, workflows};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use events::{EventBus, EventKind, ExecutionEvent};
use prepared::PreparedCache;
pub use prepared::PreparedWorkflow;
use records::Recorder;
use run::{Completed, Outcome, RunPlan};
use writer::Writer;

use crate::access::{WorkflowRole, require_workflow};
use crate::auth::{Principal, Role};
use crate::error::{DomainError, DomainResult, FieldProblem};
use crate::executors::{Registry, Services, registry};
use crate::ids::new_id;
use crate::node_types::ERROR_HANDLE;
use crate::store;
use crate::workflow::WorkflowDocument;

/// Largest output a node may produce, serialized; larger outputs fail the node loudly.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Applies to nodes without `timeoutMs`.
pub const DEFAULT_NODE_TIMEOUT_MS: u64 = 300_000;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub max_output_bytes: usize,
    pub default_timeout_ms: u64,
    /// The client nodes call out through; build it from the operator's policy
    /// (`OutboundClient::from_env`). The default enforces the secure default policy.
    pub outbound: crate::outbound::OutboundClient,
    /// Decrypts the credentials nodes name; without one such nodes fail saying so.
    pub vault: Option<crate::vault::Vault>,
    /// Runs `code` tools; the default is the process's shared sandbox.
    pub sandbox: crate::sandbox::Sandbox,
    /// Which database servers `database-query` nodes and saved queries may reach; the
    /// default permits public addresses only.
    pub database_policy: crate::dbquery::DatabasePolicy,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            default_timeout_ms: DEFAULT_NODE_TIMEOUT_MS,
            outbound: crate::outbound::OutboundClient::with_policy(Default::default())
                .expect("the default outbound policy builds a client"),
            vault: None,
            sandbox: crate::sandbox::Sandbox::shared().expect("the sandbox starts"),
            database_policy: Default::default(),
        }
    }
}

pub struct EngineInner {
    db: DatabaseConnection,
    registry: Registry,
    bus: EventBus,
    services: Services,
    config: EngineConfig,
    prepared: PreparedCache,
    running: Mutex<HashMap<String, CancellationToken>>,
    writer: Writer,
}

/// Cheap to clone; one per process.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

/// How a new execution came about.
enum Start {
    Fresh {
        trigger_kind: &'static str,
    },
    Replay {
        of: String,
    },
    Retry {
        of: String,
        preset: HashMap<String, Completed>,
        skipped: Vec<String>,
    },
}

impl Engine {
    pub fn new(db: DatabaseConnection, config: EngineConfig) -> Self {
        let writer = Writer::start(db.clone());
        let mut services = Services::new(
            db.clone(),
            config.outbound.clone(),
            config.vault.clone(),
            config.sandbox.clone(),
        );
        services.db_pools = crate::dbquery::DbPools::with_policy(config.database_policy.clone());
        Self {
            inner: Arc::new(EngineInner {
                db,
                registry: registry(),
                bus: EventBus::default(),
                services,
                config,
                prepared: PreparedCache::default(),
                running: Mutex::new(HashMap::new()),
                writer,
            }),
        }
    }

    /// The database pools the executors use; the API shares them to test connections and
    /// run queries, and closes a deleted connection's pool.
    pub fn db_pools(&self) -> &crate::dbquery::DbPools {
        &self.inner.services.db_pools
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.bus
    }

    /// What executors use (the database, outbound client, vault, tool log writer, pools),
    /// for API calls that act like a node outside a run (`testTool`, `testWebhook`).
    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    /// Runs the current version of a workflow. With `wait`, returns once it finished.
    #[tracing::instrument(skip(self, principal, input))]
    pub async fn execute(
        &self,
        principal: &Principal,
        workflow_id: &str,
        input: Value,
        wait: bool,
    ) -> DomainResult<workflow_executions::Model> {
        let (workflow, _) =
            require_workflow(&self.inner.db, principal, workflow_id, WorkflowRole::Runner).await?;
        self.execute_workflow(principal, &workflow, input, "manual", wait)
            .await
    }

    /// A schedule fired: runs the workflow as its owner.
    pub async fn execute_scheduled(
        &self,
        workflow_id: &str,
        input: Value,
    ) -> DomainResult<workflow_executions::Model> {
        let workflow = workflows::Entity::find_by_id(workflow_id.to_owned())
            .one(&self.inner.db)
            .await?
            .ok_or_else(|| DomainError::not_found("workflow", workflow_id))?;
        let owner = owner_of(&self.inner.db, &workflow).await?;
        self.execute_workflow(&owner, &workflow, input, "schedule", false)
            .await
    }

    /// Starts `workflow` for a caller whose access was already checked.
    pub async fn execute_workflow(
        &self,
        principal: &Principal,
        workflow: &workflows::Model,
        input: Value,
        trigger_kind: &'static str,
        wait: bool,
    ) -> DomainResult<workflow_executions::Model> {
        let owner = owner_of(&self.inner.db, workflow).await?;
        let prepared = self.prepare(&workflow.id, workflow.version, &owner).await?;
        if let Err(problems) = prepared.check_execution_input(&input) {
            return Err(DomainError::BadInput(
                problems
                    .into_iter()
                    .map(|p| {
                        let path = format!("input{}", pointer_to_path(&p.path));
                        FieldProblem::new(
                            path,
                            format!("does not match the trigger's input schema: {}", p.message),
                        )
                    })
                    .collect(),
            ));
        }
        self.start(
            principal,
            prepared,
            owner,
            input,
            Start::Fresh { trigger_kind },
            wait,
        )
        .await
    }

    /// Runs the version an earlier execution ran, with the same input.
    pub async fn replay(
        &self,
        principal: &Principal,
        execution_id: &str,
        wait: bool,
    ) -> DomainResult<workflow_executions::Model> {
        let (original, owner, prepared) = self.original(principal, execution_id).await?;
        self.start(
            principal,
            prepared,
            owner,
            original.input.clone(),
            Start::Replay { of: original.id },
            wait,
        )
        .await
    }

    /// Re-runs an earlier execution from `from_node`: everything not downstream of it
    /// keeps its recorded result and is not run again.
    pub async fn retry_from(
        &self,
        principal: &Principal,
        execution_id: &str,
        from_node: &str,
        wait: bool,
    ) -> DomainResult<workflow_executions::Model> {
        let (original, owner, prepared) = self.original(principal, execution_id).await?;
        let doc = &prepared.document;
        if doc.node(from_node).is_none() {
            return Err(DomainError::bad_input(
                "input.fromNode",
                format!(
                    "workflow version {} has no node `{from_node}`",
                    original.workflow_version
                ),
            ));
        }
        let mut rerun = doc.descendants(from_node);
        rerun.insert(from_node);
        let rows = node_rows(&self.inner.db, &original.id).await?;
        let (mut preset, _, mut skipped) = reconstruct(&rows);
        preset.retain(|id, _| !rerun.contains(id.as_str()));
        skipped.retain(|id| !rerun.contains(id.as_str()));
        let start = Start::Retry {
            of: original.id.clone(),
            preset,
            skipped,
        };
        self.start(
            principal,
            prepared,
            owner,
            original.input.clone(),
            start,
            wait,
        )
        .await
    }

    /// Cancels a running execution: running nodes are interrupted, the rest never start.
    pub async fn stop(
        &self,
        principal: &Principal,
        execution_id: &str,
    ) -> DomainResult<workflow_executions::Model> {
        let db = &self.inner.db;
        let execution = store::executions::get(db, principal, execution_id).await?;
        require_workflow(db, principal, &execution.workflow_id, WorkflowRole::Runner).await?;
        if !matches!(execution.status.as_str(), "running" | "pending") {
            return Err(DomainError::Conflict(format!(
                "execution {execution_id} has already finished ({})",
                execution.status
            )));
        }
        let token = self
            .inner
            .running
            .lock()
            .expect("running map")
            .get(execution_id)
            .cloned();
        match token {
            Some(token) => {
                token.cancel();
                // The scheduler records the end; wait briefly so the caller sees it.
                for _ in 0..200 {
                    let current = store::executions::get(db, principal, execution_id).await?;
                    if current.status != "running" && current.status != "pending" {
                        return Ok(current);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
            None => {
                // Not running in this process (left over by a crash): close it here.
                let recorder = Recorder::open(
                    db,
                    self.inner.writer.clone(),
                    self.inner.bus.clone(),
                    execution.id.clone(),
                    execution.workflow_id.clone(),
                )
                .await?;
                recorder
                    .execution_finished(
                        "cancelled",
                        None,
                        Some("cancelled by stopExecution".into()),
                        std::time::Duration::ZERO,
                    )
                    .await?;
            }
        }
        store::executions::get(db, principal, execution_id).await
    }

    /// Picks up executions a previous process left running: nodes that finished keep
    /// their results; the rest run (again). Returns how many were resumed.
    pub async fn resume_interrupted(&self) -> DomainResult<usize> {
        let db = &self.inner.db;
        let interrupted = workflow_executions::Entity::find()
            .filter(workflow_executions::Column::Status.is_in(["running", "pending"]))
            .order_by_asc(workflow_executions::Column::Id)
            .all(db)
            .await?;
        let mut resumed = 0;
        for execution in interrupted {
            let Some(workflow) = workflows::Entity::find_by_id(execution.workflow_id.clone())
                .one(db)
                .await?
            else {
                continue;
            };
            let owner = owner_of(db, &workflow).await?;
            let prepared = match self
                .prepare(&workflow.id, execution.workflow_version, &owner)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(execution = %execution.id, error = %e, "cannot resume execution");
                    continue;
                }
            };
            let recorder = Recorder::open(
                db,
                self.inner.writer.clone(),
                self.inner.bus.clone(),
                execution.id.clone(),
                execution.workflow_id.clone(),
            )
            .await?;
            let rows = node_rows(db, &execution.id).await?;
            if let Some(failure) = close_interrupted(&recorder, &prepared, &rows).await? {
                recorder
                    .execution_finished("failed", None, Some(failure), std::time::Duration::ZERO)
                    .await?;
                continue;
            }
            // Read again: closing may have routed a node onto its error edge.
            let rows = node_rows(db, &execution.id).await?;
            let (preset, attempts_made, skipped) = reconstruct(&rows);
            let plan = RunPlan {
                prepared,
                owner,
                input: execution.input.clone(),
                preset,
                attempts_made,
                skipped,
            };
            self.launch(Arc::new(recorder), plan);
            resumed += 1;
        }
        Ok(resumed)
    }

    /// An earlier execution the caller may run again, with the owner it runs as and the
    /// version it ran, ready to run.
    async fn original(
        &self,
        principal: &Principal,
        execution_id: &str,
    ) -> DomainResult<(workflow_executions::Model, Principal, Arc<PreparedWorkflow>)> {
        let db = &self.inner.db;
        let original = store::executions::get(db, principal, execution_id).await?;
        let (workflow, _) =
            require_workflow(db, principal, &original.workflow_id, WorkflowRole::Runner).await?;
        let owner = owner_of(db, &workflow).await?;
        let prepared = self
            .prepare(&workflow.id, original.workflow_version, &owner)
            .await?;
        Ok((original, owner, prepared))
    }

    async fn prepare(
        &self,
        workflow_id: &str,
        version: i32,
        owner: &Principal,
    ) -> DomainResult<Arc<PreparedWorkflow>> {
        if let Some(prepared) = self.inner.prepared.get(workflow_id, version) {
            return Ok(prepared);
        }
        let db = &self.inner.db;
        let row = workflow_versions::Entity::find()
            .filter(workflow_versions::Column::WorkflowId.eq(workflow_id))
            .filter(workflow_versions::Column::Version.eq(version))
            .one(db)
            .await?
            .ok_or_else(|| {
                DomainError::not_found("workflow version", format!("{workflow_id}@{version}"))
            })?;
        let tool_ids = crate::workflow::referenced_tool_ids(&row.document);
        let tools = store::tools::signatures(db, owner, &tool_ids).await?;
        let document = WorkflowDocument::parse(&row.document, &tools).map_err(|errors| {
            DomainError::Conflict(format!(
                "workflow version {version} no longer validates (a tool it uses may be gone): {}",
                errors
                    .first()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .unwrap_or_default()
            ))
        })?;
        let prepared = Arc::new(
            PreparedWorkflow::new(workflow_id.to_owned(), version, document)
                .map_err(DomainError::Internal)?,
        );
        self.inner.prepared.insert(prepared.clone());
        Ok(prepared)
    }

    async fn start(
        &self,
        principal: &Principal,
        prepared: Arc<PreparedWorkflow>,
        owner: Principal,
        input: Value,
        start: Start,
        wait: bool,
    ) -> DomainResult<workflow_executions::Model> {
        let db = &self.inner.db;
        let now = Utc::now();
        let id = new_id();
        let (trigger_kind, replay_of, preset, skipped) = match start {
            Start::Fresh { trigger_kind } => {
                (trigger_kind.to_owned(), None, HashMap::new(), Vec::new())
            }
            Start::Replay { of } => ("replay".to_owned(), Some(of), HashMap::new(), Vec::new()),
            Start::Retry {
                of,
                preset,
                skipped,
            } => ("retry".to_owned(), Some(of), preset, skipped),
        };
        let row = workflow_executions::Model {
            id: id.clone(),
            workflow_id: prepared.workflow_id.clone(),
            workflow_version: prepared.version,
            started_by: principal.user_id.clone(),
            status: "running".into(),
            trigger_kind,
            input: input.clone(),
            output: None,
            error: None,
            replay_of,
            started_at: now,
            finished_at: None,
            duration_ms: None,
            created_at: now,
        };
        let plan = RunPlan {
            prepared,
            owner,
            input,
            preset,
            attempts_made: HashMap::new(),
            skipped,
        };
        // Storing and starting run as one task of their own: the execution row is committed
        // by the writer even when the caller's future is dropped (a client hanging up), so
        // a start that ran on that future could be cut off between the commit and the
        // launch and leave a `running` execution nothing runs. A spawned task is not
        // cancelled by dropping its handle.
        let engine = self.clone();
        let store_and_launch = tokio::spawn(async move {
            let recorder = Recorder::open(
                &engine.inner.db,
                engine.inner.writer.clone(),
                engine.inner.bus.clone(),
                row.id.clone(),
                row.workflow_id.clone(),
            )
            .await?;
            recorder.create_execution(row).await?;
            Ok::<_, DomainError>(engine.launch(Arc::new(recorder), plan))
        });
        let handle = store_and_launch
            .await
            .map_err(|e| DomainError::Internal(format!("starting the execution failed: {e}")))??;
        if wait {
            let _ = handle.await;
        }
        workflow_executions::Entity::find_by_id(id.clone())
            .one(db)
            .await?
            .ok_or_else(|| DomainError::not_found("execution", id))
    }

    fn launch(&self, recorder: Arc<Recorder>, plan: RunPlan) -> tokio::task::JoinHandle<Outcome> {
        let cancel = CancellationToken::new();
        let execution_id = recorder.execution_id.clone();
        self.inner
            .running
            .lock()
            .expect("running map")
            .insert(execution_id.clone(), cancel.clone());
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let outcome = run::run(inner.clone(), recorder, plan, cancel).await;
            inner
                .running
                .lock()
                .expect("running map")
                .remove(&execution_id);
            outcome
        })
    }
}

/// How often the process may exit while one node is running before that node fails
/// instead of running again: a node that took the process down once may have done so by
/// itself (an allocation, a stack overflow), and running it forever would keep the server
/// from ever coming back.
pub const MAX_INTERRUPTIONS_PER_NODE: u32 = 2;

const INTERRUPTED: &str = "the process exited while this node was running";

/// Closes the attempts a previous process left open (`running`, no end): each becomes a
/// failed attempt with a `NODE_ERROR` event, so no attempt stays running forever. A node
/// interrupted [`MAX_INTERRUPTIONS_PER_NODE`] times is not run again: it follows its
/// `error` edge, or the returned message fails the execution.
async fn close_interrupted(
    recorder: &Recorder,
    prepared: &PreparedWorkflow,
    rows: &[node_executions::Model],
) -> DomainResult<Option<String>> {
    let mut failure = None;
    for open in rows.iter().filter(|r| r.status == "running") {
        let Some(node) = prepared.document.node(&open.node_id) else {
            continue;
        };
        let earlier = rows
            .iter()
            .filter(|r| {
                r.node_id == open.node_id
                    && r.status == "failed"
                    && r.error
                        .as_deref()
                        .is_some_and(|e| e.starts_with(INTERRUPTED))
            })
            .count() as u32;
        let times = earlier + 1;
        let error = format!(
            "{INTERRUPTED} ({times} {})",
            if times == 1 { "time" } else { "times" }
        );
        let final_attempt = times >= MAX_INTERRUPTIONS_PER_NODE;
        let has_fallback = prepared
            .document
            .outgoing(node.id().as_str())
            .any(|e| e.source_handle() == ERROR_HANDLE);
        let handle = (final_attempt && has_fallback).then_some(ERROR_HANDLE);
        let ran_for = (Utc::now() - open.started_at).to_std().unwrap_or_default();
        recorder
            .node_failed(
                &open.id,
                node,
                open.attempt.max(0) as u32,
                &crate::node_error::NodeErrorDetail {
                    code: crate::node_error::NodeErrorCode::Failed,
                    message: error.clone(),
                    retryable: !final_attempt,
                    cause: Vec::new(),
                },
                (!final_attempt).then_some(std::time::Duration::ZERO),
                handle,
                ran_for,
            )
            .await?;
        if final_attempt && !has_fallback && failure.is_none() {
            failure = Some(format!("node `{}` failed: {error}", open.node_id));
        }
    }
    Ok(failure)
}

async fn owner_of(db: &DatabaseConnection, workflow: &workflows::Model) -> DomainResult<Principal> {
    let user = users::Entity::find_by_id(workflow.owner_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| DomainError::Internal(format!("workflow {} has no owner", workflow.id)))?;
    Ok(Principal {
        user_id: user.id,
        role: Role::parse(&user.role).unwrap_or(Role::User),
    })
}

async fn node_rows(
    db: &DatabaseConnection,
    execution_id: &str,
) -> DomainResult<Vec<node_executions::Model>> {
    Ok(node_executions::Entity::find()
        .filter(node_executions::Column::ExecutionId.eq(execution_id))
        .order_by_asc(node_executions::Column::Id)
        .all(db)
        .await?)
}

type Reconstructed = (
    HashMap<String, Completed>,
    HashMap<String, u32>,
    Vec<String>,
);

/// What an execution's node rows say about each node: finished (with the handle it left
/// on), how many attempts were made, or skipped.
fn reconstruct(rows: &[node_executions::Model]) -> Reconstructed {
    let mut completed = HashMap::new();
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut skipped = Vec::new();
    for row in rows {
        let entry = attempts.entry(row.node_id.clone()).or_default();
        *entry = (*entry).max(row.attempt.max(0) as u32);
        match (row.status.as_str(), row.handle.as_deref()) {
            ("succeeded", Some(handle)) => {
                completed.insert(
                    row.node_id.clone(),
                    Completed {
                        output: row.output.clone().unwrap_or(Value::Null),
                        handle: handle.to_owned(),
                    },
                );
            }
            ("failed", Some(ERROR_HANDLE)) => {
                completed.insert(
                    row.node_id.clone(),
                    Completed {
                        output: json!({ "error": row.error }),
                        handle: ERROR_HANDLE.to_owned(),
                    },
                );
            }
            ("skipped", _) => skipped.push(row.node_id.clone()),
            _ => {}
        }
    }
    (completed, attempts, skipped)
}

/// `/a/b/0` → `.a.b[0]`, to name places inside an execution's input.
fn pointer_to_path(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|seg| {
            if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
                format!("[{seg}]")
            } else {
                format!(".{seg}")
            }
        })
        .collect()
}
