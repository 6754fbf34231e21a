//! The scheduler of one execution: runs nodes when all their parents have finished,
//! routes by output handle, skips nodes whose every path in was not taken, follows
//! `error` edges after the last failed attempt, and stops everything on cancellation.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Map, Value};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::EngineInner;
use super::prepared::PreparedWorkflow;
use super::records::Recorder;
use crate::auth::Principal;
use crate::executors::{NodeContext, NodeFailure};
use crate::mapping::resolve::{RunContext, resolve_inputs};
use crate::node_error::NodeErrorCode;
use crate::node_types::ERROR_HANDLE;

/// A node that finished before this run started (resumed executions, `retryExecution`):
/// it is routed by its recorded handle and never run again.
#[derive(Debug, Clone)]
pub struct Completed {
    pub output: Value,
    pub handle: String,
}

pub struct RunPlan {
    pub prepared: Arc<PreparedWorkflow>,
    pub owner: Principal,
    pub input: Value,
    pub preset: HashMap<String, Completed>,
    /// Attempts already made per node (resumed executions continue counting).
    pub attempts_made: HashMap<String, u32>,
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Option<Value>),
    Failed(String),
    Cancelled,
}

enum NodeEnd {
    Succeeded {
        output: Value,
        handle: String,
    },
    /// Failed after its last attempt.
    Failed {
        message: String,
    },
    Cancelled,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EdgeState {
    Undecided,
    Taken,
    NotTaken,
}

struct Scheduler<'a> {
    prepared: &'a PreparedWorkflow,
    edges: Vec<EdgeState>,
    /// Incoming edge indexes per node index.
    incoming: Vec<Vec<usize>>,
    outgoing: Vec<Vec<usize>>,
    node_index: HashMap<&'a str, usize>,
    done: Vec<bool>,
}

impl<'a> Scheduler<'a> {
    fn new(prepared: &'a PreparedWorkflow) -> Self {
        let doc = &prepared.document;
        let node_index: HashMap<&str, usize> = doc
            .nodes()
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id().as_str(), i))
            .collect();
        let mut incoming = vec![Vec::new(); doc.nodes().len()];
        let mut outgoing = vec![Vec::new(); doc.nodes().len()];
        for (e, edge) in doc.edges().iter().enumerate() {
            outgoing[node_index[edge.source().as_str()]].push(e);
            incoming[node_index[edge.target().as_str()]].push(e);
        }
        Self {
            prepared,
            edges: vec![EdgeState::Undecided; doc.edges().len()],
            incoming,
            outgoing,
            node_index,
            done: vec![false; doc.nodes().len()],
        }
    }

    /// Decides the outgoing edges of a finished node. Returns nodes that became ready
    /// (`true`) or skipped (`false`).
    fn finish(&mut self, node: usize, handle: Option<&str>, decided: &mut Vec<(usize, bool)>) {
        self.done[node] = true;
        let doc = &self.prepared.document;
        for &e in &self.outgoing[node] {
            let taken = handle.is_some_and(|h| doc.edges()[e].source_handle() == h);
            self.edges[e] = if taken {
                EdgeState::Taken
            } else {
                EdgeState::NotTaken
            };
            let target = self.node_index[doc.edges()[e].target().as_str()];
            if self.done[target] {
                continue;
            }
            let states: Vec<EdgeState> = self.incoming[target]
                .iter()
                .map(|&i| self.edges[i])
                .collect();
            if states.contains(&EdgeState::Undecided) {
                continue;
            }
            let runs = states.contains(&EdgeState::Taken);
            if !decided.iter().any(|(n, _)| *n == target) {
                decided.push((target, runs));
            }
        }
    }
}

fn backoff(base_ms: u64, attempt: u32) -> Duration {
    // Exponential with jitter: between half and all of base * 2^(attempt-1), capped at a minute,
    // so retries of many executions do not hit a recovering service in lockstep.
    let exp = base_ms.saturating_mul(1u64 << (attempt.saturating_sub(1)).min(20));
    let capped = exp.min(60_000);
    let jittered = if capped == 0 {
        0
    } else {
        rand::rng().random_range(capped / 2..=capped)
    };
    Duration::from_millis(jittered)
}

pub async fn run(
    engine: Arc<EngineInner>,
    recorder: Arc<Recorder>,
    plan: RunPlan,
    cancel: CancellationToken,
) -> Outcome {
    let started = Instant::now();
    let prepared = plan.prepared.clone();
    let doc = &prepared.document;
    let mut scheduler = Scheduler::new(&prepared);
    let mut context = RunContext {
        input: plan.input.clone(),
        outputs: BTreeMap::new(),
    };
    let mut ready: Vec<usize> = Vec::new();
    let mut to_skip: Vec<usize> = Vec::new();
    let mut decided = Vec::new();

    // Replay what finished before: in topological order, so routing is rebuilt exactly.
    for node in doc.topological_order() {
        let i = scheduler.node_index[node.id().as_str()];
        if let Some(done) = plan.preset.get(node.id().as_str()) {
            context
                .outputs
                .insert(node.id().as_str().to_owned(), done.output.clone());
            scheduler.finish(i, Some(&done.handle), &mut decided);
        } else if plan.skipped.iter().any(|s| s == node.id().as_str()) {
            scheduler.finish(i, None, &mut decided);
        }
    }
    for (i, runs) in decided.drain(..) {
        if !scheduler.done[i] {
            if runs { ready.push(i) } else { to_skip.push(i) }
        }
    }
    for i in 0..doc.nodes().len() {
        if !scheduler.done[i] && scheduler.incoming[i].is_empty() && !ready.contains(&i) {
            ready.push(i);
        }
    }

    let mut tasks: JoinSet<(usize, NodeEnd)> = JoinSet::new();
    let mut failure: Option<String> = None;
    let mut running = 0usize;
    loop {
        // Skips cascade: a skipped node decides its outgoing edges as not taken.
        while let Some(i) = to_skip.pop() {
            if scheduler.done[i] {
                continue;
            }
            let node = &doc.nodes()[i];
            if let Err(e) = recorder.node_skipped(node).await {
                tracing::error!(error = %e, "recording a skipped node");
            }
            scheduler.finish(i, None, &mut decided);
            for (n, runs) in decided.drain(..) {
                if runs { ready.push(n) } else { to_skip.push(n) }
            }
        }
        if failure.is_none() && !cancel.is_cancelled() {
            for i in ready.drain(..) {
                let node = &doc.nodes()[i];
                // Inputs are resolved here, against the outputs finished so far, so no
                // task needs its own copy of the context.
                let input = resolve_inputs(node, &context).map_err(|e| e.to_string());
                let engine = engine.clone();
                let recorder = recorder.clone();
                let prepared = prepared.clone();
                let owner = plan.owner.clone();
                let execution_input = plan.input.clone();
                let cancel = cancel.clone();
                let first_attempt = plan
                    .attempts_made
                    .get(node.id().as_str())
                    .copied()
                    .unwrap_or(0)
                    + 1;
                running += 1;
                tasks.spawn(async move {
                    let end = run_node(
                        &engine,
                        &recorder,
                        &prepared,
                        i,
                        input,
                        &owner,
                        &execution_input,
                        cancel,
                        first_attempt,
                    )
                    .await;
                    (i, end)
                });
            }
        } else {
            ready.clear();
        }
        if running == 0 {
            break;
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        running -= 1;
        let (i, end) = match joined {
            Ok(done) => done,
            Err(panic) => {
                failure.get_or_insert_with(|| format!("a node task crashed: {panic}"));
                cancel.cancel();
                continue;
            }
        };
        let node = &doc.nodes()[i];
        match end {
            NodeEnd::Succeeded { output, handle } => {
                context
                    .outputs
                    .insert(node.id().as_str().to_owned(), output);
                scheduler.finish(i, Some(&handle), &mut decided);
            }
            NodeEnd::Failed { message } => {
                let has_fallback = doc
                    .outgoing(node.id().as_str())
                    .any(|e| e.source_handle() == ERROR_HANDLE);
                if has_fallback {
                    // The fallback path reads the error as this node's output.
                    context.outputs.insert(
                        node.id().as_str().to_owned(),
                        serde_json::json!({ "error": message }),
                    );
                    scheduler.finish(i, Some(ERROR_HANDLE), &mut decided);
                } else if failure.is_none() {
                    let id = node.id().as_str();
                    failure = Some(if message.starts_with(&format!("node `{id}`")) {
                        message
                    } else {
                        format!("node `{id}` failed: {message}")
                    });
                    // Siblings still running are cancelled: the execution has failed.
                    cancel.cancel();
                }
            }
            NodeEnd::Cancelled => {}
        }
        for (n, runs) in decided.drain(..) {
            if runs { ready.push(n) } else { to_skip.push(n) }
        }
    }

    let outcome = if let Some(message) = failure {
        Outcome::Failed(message)
    } else if cancel.is_cancelled() {
        Outcome::Cancelled
    } else {
        Outcome::Succeeded(execution_output(&prepared, &context))
    };
    let (status, output, error) = match &outcome {
        Outcome::Succeeded(output) => ("succeeded", output.clone(), None),
        Outcome::Failed(message) => ("failed", None, Some(message.clone())),
        Outcome::Cancelled => (
            "cancelled",
            None,
            Some("cancelled by stopExecution".to_owned()),
        ),
    };
    let total = plan_elapsed(started);
    if let Err(e) = recorder
        .execution_finished(status, output, error, total)
        .await
    {
        tracing::error!(error = %e, execution = %recorder.execution_id, "recording the end of an execution");
    }
    outcome
}

fn plan_elapsed(started: Instant) -> Duration {
    started.elapsed()
}

/// What the execution returns: the `output` node's output; several output nodes give an
/// object keyed by node id; none gives `null`.
fn execution_output(prepared: &PreparedWorkflow, context: &RunContext) -> Option<Value> {
    let outputs: Vec<_> = prepared
        .document
        .nodes()
        .iter()
        .filter(|n| n.node_type() == "output")
        .filter_map(|n| {
            context
                .outputs
                .get(n.id().as_str())
                .map(|v| (n.id().as_str(), v))
        })
        .collect();
    match outputs.as_slice() {
        [] => None,
        [(_, value)] => Some((*value).clone()),
        many => Some(Value::Object(
            many.iter()
                .map(|(id, v)| ((*id).to_owned(), (*v).clone()))
                .collect::<Map<_, _>>(),
        )),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_node(
    engine: &EngineInner,
    recorder: &Recorder,
    prepared: &PreparedWorkflow,
    index: usize,
    input: Result<Map<String, Value>, String>,
    owner: &Principal,
    execution_input: &Value,
    cancel: CancellationToken,
    first_attempt: u32,
) -> NodeEnd {
    let node = &prepared.document.nodes()[index];
    let retry = node.retry();
    let max_attempts = retry.map_or(1, |r| r.max_attempts.max(1));
    let backoff_ms = retry.map_or(0, |r| r.backoff_ms);
    let timeout = Duration::from_millis(
        node.timeout_ms()
            .unwrap_or(engine.config.default_timeout_ms),
    );
    let has_fallback = prepared
        .document
        .outgoing(node.id().as_str())
        .any(|e| e.source_handle() == ERROR_HANDLE);
    // Mapping and schema problems are the same on every attempt: fail at once.
    let checked = input.and_then(|input| prepared.check_input(node, &input).map(|()| input));
    let mut attempt = first_attempt.max(1);
    loop {
        let started = Instant::now();
        let input_value = checked.as_ref().ok().map(|m| Value::Object(m.clone()));
        let row = match recorder
            .node_started(node, attempt, input_value.as_ref())
            .await
        {
            Ok(row) => row,
            Err(e) => {
                return NodeEnd::Failed {
                    message: format!("recording the node start failed: {e}"),
                };
            }
        };
        let result = match &checked {
            Err(message) => {
                Err(NodeFailure::permanent(message.clone()).with_code(NodeErrorCode::InvalidInput))
            }
            Ok(input) => {
                let Some(executor) = engine.registry.get(node.node_type()) else {
                    return NodeEnd::Failed {
                        message: format!("no executor for node type `{}`", node.node_type()),
                    };
                };
                let ctx = NodeContext {
                    execution_id: &recorder.execution_id,
                    workflow_id: &recorder.workflow_id,
                    node,
                    attempt,
                    execution_input,
                    owner,
                    services: &engine.services,
                    cancel: cancel.clone(),
                };
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => {
                        let _ = recorder.node_cancelled(&row, started.elapsed()).await;
                        return NodeEnd::Cancelled;
                    }
                    result = tokio::time::timeout(timeout, executor.execute(&ctx, input.clone())) => match result {
                        Ok(result) => result,
                        Err(_) => Err(NodeFailure::retryable(format!("timed out after {} ms", timeout.as_millis())).with_code(NodeErrorCode::Timeout)),
                    }
                }
            }
        };
        let result = result.and_then(|outcome| {
            let size = serde_json::to_vec(&outcome.output)
                .map(|v| v.len())
                .unwrap_or(usize::MAX);
            if size > engine.config.max_output_bytes {
                Err(NodeFailure::permanent(format!(
                    "node `{}` produced {size} bytes of output, over the limit of {} bytes",
                    node.id().as_str(),
                    engine.config.max_output_bytes
                ))
                .with_code(NodeErrorCode::OutputTooLarge))
            } else {
                Ok(outcome)
            }
        });
        match result {
            Ok(outcome) => {
                if let Err(e) = recorder
                    .node_completed(
                        &row,
                        node,
                        &outcome.output,
                        &outcome.handle,
                        started.elapsed(),
                    )
                    .await
                {
                    return NodeEnd::Failed {
                        message: format!("recording the node result failed: {e}"),
                    };
                }
                return NodeEnd::Succeeded {
                    output: outcome.output,
                    handle: outcome.handle,
                };
            }
            Err(failure) => {
                let will_retry =
                    failure.retryable && attempt < max_attempts && !cancel.is_cancelled();
                let handle = (!will_retry && has_fallback).then_some(ERROR_HANDLE);
                // Drawn before recording so the event can say how long the wait is.
                let wait = will_retry.then(|| backoff(backoff_ms, attempt));
                if let Err(e) = recorder
                    .node_failed(
                        &row,
                        node,
                        attempt,
                        &failure.detail(),
                        wait,
                        handle,
                        started.elapsed(),
                    )
                    .await
                {
                    return NodeEnd::Failed {
                        message: format!("recording the node failure failed: {e}"),
                    };
                }
                if !will_retry {
                    let message = if attempt > 1 {
                        format!("{} (after {attempt} attempts)", failure.message)
                    } else {
                        failure.message
                    };
                    return NodeEnd::Failed { message };
                }
                tokio::select! {
                    _ = cancel.cancelled() => return NodeEnd::Cancelled,
                    _ = tokio::time::sleep(wait.unwrap_or_default()) => {}
                }
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_its_jitter_band() {
        for attempt in 1..=5u32 {
            let full = 100u64 * (1 << (attempt - 1));
            for _ in 0..50 {
                let d = backoff(100, attempt).as_millis() as u64;
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d} not in [{}, {full}]",
                    full / 2
                );
            }
        }
        assert_eq!(backoff(0, 3), Duration::ZERO);
        assert!(backoff(1_000_000, 30) <= Duration::from_secs(60));
    }
}
