//! `Subscription.executionEvents`: what was stored first, then what happens live, with no
//! gap and no duplicate.
//!
//! The engine commits each event, then publishes it on an in-process broadcast bus that
//! never waits for anyone. A feed subscribes to the bus *before* it reads the store, so
//! every event is either already stored when it reads or arrives on the bus afterwards
//! (often both: duplicates are dropped by per-execution sequence). A subscriber that
//! falls so far behind that the bus drops events for it (`Lagged`) reads them back from
//! the store instead, so being slow costs the slow subscriber time, never events.
//!
//! Subscribers that selected the same fields share one rendering of each live event
//! ([`RenderCache`]), so fanning an event out to many costs little more than the writes.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use async_graphql::parser::types::Field;
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, ID, OutputType, Positioned, ServerResult, Subscription, Value,
};
use chrono::{DateTime, Duration, Utc};
use domain::DomainError;
use domain::access::{WorkflowRole, require_workflow};
use domain::auth::Principal;
use domain::engine::{Engine, EventKind};
use domain::store::executions::{self as store, MAX_EVENTS_PER_READ};
use futures::Stream;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError};

use super::context::{db, principal};
use super::errors::{ApiError, ApiResult};
use super::executions::ExecutionEvent;
use super::ids::{Kind, decode};

type Event = Arc<domain::engine::ExecutionEvent>;

/// How long a commit may take at most, as far as catching up a subscriber to many
/// executions is concerned: an event's id is taken just before its transaction commits,
/// so an event published after the last one seen may carry an id up to this much older.
const COMMIT_MARGIN_SECS: i64 = 10;

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Events of executions, in order per execution, as they happen.
    ///
    /// - `executionId`: that execution's stored events after `afterSequence` (default 0:
    ///   all of them), then its live events; the stream completes after
    ///   `EXECUTION_COMPLETE`. Reconnect with the last `sequence` seen as `afterSequence`
    ///   to get exactly the rest.
    /// - `workflowId` alone: live events of every execution of that workflow.
    /// - neither: live events of every execution the caller may see.
    ///
    /// `afterSequence` counts within one execution, so it is refused (`BAD_USER_INPUT`)
    /// without `executionId`. An execution or workflow the caller may not see is
    /// `NOT_FOUND`; events of workflows the caller may not see are never delivered (what
    /// the caller may see is decided once per workflow for the life of the subscription).
    async fn execution_events(
        &self,
        ctx: &Context<'_>,
        execution_id: Option<ID>,
        workflow_id: Option<ID>,
        after_sequence: Option<i64>,
    ) -> Result<impl Stream<Item = ApiResult<StreamedEvent>>, ApiError> {
        let principal = principal(ctx)?.clone();
        let db = db(ctx).clone();
        let bus = ctx.data_unchecked::<Engine>().events();
        let renders = ctx.data_unchecked::<RenderCache>().clone();
        let selection = selection_fingerprint(ctx);
        let execution_id = execution_id
            .map(|id| decode("executionId", Kind::Execution, &id))
            .transpose()?;
        let workflow_id = workflow_id
            .map(|id| decode("workflowId", Kind::Workflow, &id))
            .transpose()?;
        if after_sequence.is_some_and(|s| s < 0) {
            return Err(ApiError::bad_input("afterSequence", "must be 0 or more"));
        }
        // Subscribed before anything is read, so nothing committed from here on is missed.
        let receiver = bus.subscribe();
        let feed = match execution_id {
            Some(execution_id) => {
                let execution = store::get(&db, &principal, &execution_id).await?;
                if let Some(workflow_id) = workflow_id
                    && workflow_id != execution.workflow_id
                {
                    return Err(ApiError::bad_input(
                        "workflowId",
                        "the execution belongs to another workflow",
                    ));
                }
                let after = after_sequence.unwrap_or(0);
                let mut feed = Feed::new(
                    db,
                    principal,
                    Scope::Execution(execution_id.clone()),
                    receiver,
                );
                feed.last.insert(execution_id.clone(), after);
                feed.backlog = Some(Backlog::Execution(execution_id));
                // The status was read before the store is, so a finished execution's
                // EXECUTION_COMPLETE is among what the backlog reads, or was at or before
                // `afterSequence`: either way nothing live will follow.
                feed.finished_when_drained = matches!(
                    execution.status.as_str(),
                    "succeeded" | "failed" | "cancelled"
                );
                feed
            }
            None => {
                if after_sequence.is_some() {
                    return Err(ApiError::bad_input(
                        "afterSequence",
                        "sequences count within one execution: pass executionId with afterSequence",
                    ));
                }
                let scope = match workflow_id {
                    Some(workflow_id) => {
                        require_workflow(&db, &principal, &workflow_id, WorkflowRole::Viewer)
                            .await?;
                        Scope::Workflow(workflow_id)
                    }
                    None => Scope::Visible,
                };
                Feed::new(db, principal, scope, receiver)
            }
        };
        Ok(futures::stream::unfold(feed, move |mut feed| {
            let renders = renders.clone();
            async move {
                let item = feed.next().await?.map(|event| StreamedEvent {
                    event,
                    selection,
                    renders,
                });
                Some((item, feed))
            }
        }))
    }
}

/// What a subscription yields: the event, and how to share its rendering.
pub struct StreamedEvent {
    event: ExecutionEvent,
    /// Identifies what the subscriber selected: equal fingerprints render an event alike.
    selection: u64,
    renders: RenderCache,
}

/// The selection set (as executed: async-graphql has already removed what `@skip` and
/// `@include` excluded), fragments and variables of the subscribing operation, hashed: two
/// subscriptions with equal fingerprints render any event to the same value, because an
/// `ExecutionEvent` field depends on the event alone, never on who asks. (Reads
/// async-graphql's hidden query environment: the public `SelectionField` API loses
/// fragments' directives.)
fn selection_fingerprint(ctx: &Context<'_>) -> u64 {
    // Keyed per process, so nobody can craft an operation that collides with another's.
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    let env = &ctx.query_env;
    let mut fragments: Vec<_> = env.fragments.iter().collect();
    fragments.sort_by(|a, b| a.0.cmp(b.0));
    let text = format!(
        "{:?}\n{:?}\n{:?}",
        ctx.item.node.selection_set, fragments, env.variables
    );
    KEYS.get_or_init(RandomState::new).hash_one(text)
}

/// Renderings of recent live events, shared by the subscribers that selected the same
/// fields: with a thousand subscribers, resolving each event a thousand times was the
/// largest part of the server's cost of fanning it out.
#[derive(Clone, Default)]
pub struct RenderCache(Arc<Mutex<Renders>>);

#[derive(Default)]
struct Renders {
    /// Keyed by the event's address and the selection fingerprint. `order` holds a weak
    /// reference to each event: it keeps the address from being reused by another event
    /// while the entry lives, without keeping the event's payload alive.
    by_key: HashMap<(usize, u64), Value>,
    order: VecDeque<((usize, u64), Weak<domain::engine::ExecutionEvent>)>,
}

/// Renderings kept. A rendering is only useful while one event is being fanned out, so
/// this covers every selection in use over the last few dozen events.
const RENDERS_KEPT: usize = 512;

impl RenderCache {
    fn get(&self, event: &Event, selection: u64) -> Option<Value> {
        let key = (Arc::as_ptr(event) as usize, selection);
        self.0.lock().ok()?.by_key.get(&key).cloned()
    }

    fn put(&self, event: &Event, selection: u64, value: Value) {
        let key = (Arc::as_ptr(event) as usize, selection);
        let Ok(mut renders) = self.0.lock() else {
            return;
        };
        if renders.by_key.insert(key, value).is_none() {
            renders.order.push_back((key, Arc::downgrade(event)));
        }
        while renders.order.len() > RENDERS_KEPT {
            if let Some((old, _)) = renders.order.pop_front() {
                renders.by_key.remove(&old);
            }
        }
    }
}

impl OutputType for StreamedEvent {
    fn type_name() -> Cow<'static, str> {
        ExecutionEvent::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        ExecutionEvent::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let event = &self.event.0;
        // Only live events are shared: one read back from the store is this
        // subscriber's alone.
        if event.committed.is_none() {
            return OutputType::resolve(&self.event, ctx, field).await;
        }
        if let Some(value) = self.renders.get(event, self.selection) {
            return Ok(value);
        }
        let value = OutputType::resolve(&self.event, ctx, field).await?;
        self.renders.put(event, self.selection, value.clone());
        Ok(value)
    }
}

enum Scope {
    Execution(String),
    Workflow(String),
    /// Every workflow the caller may see.
    Visible,
}

/// Stored events to read before listening to the bus again.
enum Backlog {
    /// The rest of one execution, after the last sequence queued for it.
    Execution(String),
    /// Everything stored with an id above this one: catching up a subscriber to many
    /// executions after the bus dropped events for it.
    AfterId(String),
}

struct Feed {
    db: DatabaseConnection,
    principal: Principal,
    scope: Scope,
    receiver: broadcast::Receiver<Event>,
    /// Accepted events not yet handed out, in delivery order.
    ready: VecDeque<Event>,
    backlog: Option<Backlog>,
    /// The last sequence queued per execution: drops duplicates and reveals gaps.
    last: HashMap<String, i64>,
    /// Executions whose end was queued, oldest first, so `last` can forget them once no
    /// catch-up can reach their events again; otherwise a subscription to everything
    /// would remember every execution it ever saw.
    completed: VecDeque<(DateTime<Utc>, String)>,
    /// Whether the caller may see a workflow, decided once per workflow.
    visible: HashMap<String, bool>,
    /// The latest `at` among events received from the bus; a catch-up starts a commit
    /// margin before it.
    newest_live_at: DateTime<Utc>,
    /// Set when the execution had already finished when the subscription started.
    finished_when_drained: bool,
    done: bool,
}

impl Feed {
    fn new(
        db: DatabaseConnection,
        principal: Principal,
        scope: Scope,
        receiver: broadcast::Receiver<Event>,
    ) -> Self {
        Self {
            db,
            principal,
            scope,
            receiver,
            ready: VecDeque::new(),
            backlog: None,
            last: HashMap::new(),
            completed: VecDeque::new(),
            visible: HashMap::new(),
            newest_live_at: Utc::now(),
            finished_when_drained: false,
            done: false,
        }
    }

    async fn next(&mut self) -> Option<ApiResult<ExecutionEvent>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                if matches!(self.scope, Scope::Execution(_))
                    && event.kind == EventKind::ExecutionComplete
                {
                    // Nothing follows the end of an execution.
                    self.done = true;
                    self.ready.clear();
                    self.backlog = None;
                }
                return Some(Ok(ExecutionEvent(event)));
            }
            if self.done {
                return None;
            }
            let step = if let Some(backlog) = self.backlog.take() {
                self.read_backlog(backlog).await
            } else if self.finished_when_drained {
                return None;
            } else {
                match self.receiver.recv().await {
                    Ok(event) => {
                        self.newest_live_at = self.newest_live_at.max(event.at);
                        self.accept(event).await
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(
                            missed,
                            "a subscriber fell behind; catching up from the store"
                        );
                        self.backlog = Some(match &self.scope {
                            Scope::Execution(id) => Backlog::Execution(id.clone()),
                            Scope::Workflow(_) | Scope::Visible => {
                                Backlog::AfterId(domain::ids::id_floor(
                                    self.newest_live_at - Duration::seconds(COMMIT_MARGIN_SECS),
                                ))
                            }
                        });
                        Ok(())
                    }
                    Err(RecvError::Closed) => return None,
                }
            };
            if let Err(error) = step {
                self.done = true;
                return Some(Err(error));
            }
        }
    }

    /// Reads one page of the backlog; leaves the rest of it for the next call so a long
    /// history is streamed, not loaded whole.
    async fn read_backlog(&mut self, backlog: Backlog) -> ApiResult<()> {
        let (rows, rest) = match backlog {
            Backlog::Execution(id) => {
                let after = self.last.get(&id).copied().unwrap_or(0);
                let rows = store::events(&self.db, &id, Some(after), MAX_EVENTS_PER_READ).await?;
                (rows, Backlog::Execution(id))
            }
            Backlog::AfterId(after_id) => {
                let workflow_id = match &self.scope {
                    Scope::Workflow(id) => Some(id.as_str()),
                    _ => None,
                };
                let rows =
                    store::events_after_id(&self.db, workflow_id, &after_id, MAX_EVENTS_PER_READ)
                        .await?;
                let next = rows.last().map_or(after_id, |row| row.id.clone());
                (rows, Backlog::AfterId(next))
            }
        };
        if rows.len() as u64 == MAX_EVENTS_PER_READ {
            self.backlog = Some(rest);
        }
        for row in rows {
            self.accept(Arc::new(row.try_into()?)).await?;
        }
        Ok(())
    }

    /// Queues `event` unless it is out of scope or already queued; a gap before it is
    /// filled from the store first.
    async fn accept(&mut self, event: Event) -> ApiResult<()> {
        if !self.in_scope(&event).await? {
            return Ok(());
        }
        match self.last.get(&event.execution_id).copied() {
            Some(last) if event.sequence <= last => Ok(()),
            Some(last) if event.sequence > last + 1 => self.fill_gap(event, last).await,
            _ => {
                self.queue(event);
                Ok(())
            }
        }
    }

    /// Everything of `event`'s execution after `last`, from the store, where `event`
    /// itself is too (it was committed before it was published).
    async fn fill_gap(&mut self, event: Event, mut last: i64) -> ApiResult<()> {
        loop {
            let rows = store::events(
                &self.db,
                &event.execution_id,
                Some(last),
                MAX_EVENTS_PER_READ,
            )
            .await?;
            let full = rows.len() as u64 == MAX_EVENTS_PER_READ;
            for row in rows {
                last = row.sequence;
                self.queue(Arc::new(row.try_into()?));
            }
            if !full {
                break;
            }
        }
        if event.sequence > last {
            self.queue(event);
        }
        Ok(())
    }

    fn queue(&mut self, event: Event) {
        // Looked up first: this runs once per event per subscriber, and most events belong
        // to an execution already known, whose id need not be copied again.
        match self.last.get_mut(&event.execution_id) {
            Some(last) => *last = event.sequence,
            None => {
                self.last.insert(event.execution_id.clone(), event.sequence);
            }
        }
        if !matches!(self.scope, Scope::Execution(_)) {
            if event.kind == EventKind::ExecutionComplete {
                self.completed
                    .push_back((event.at, event.execution_id.clone()));
            }
            let forget_before = self.newest_live_at - Duration::seconds(2 * COMMIT_MARGIN_SECS);
            while let Some((at, _)) = self.completed.front()
                && *at < forget_before
            {
                let (_, id) = self.completed.pop_front().expect("checked above");
                self.last.remove(&id);
            }
        }
        self.ready.push_back(event);
    }

    async fn in_scope(&mut self, event: &Event) -> ApiResult<bool> {
        match &self.scope {
            Scope::Execution(id) => Ok(event.execution_id == *id),
            Scope::Workflow(id) => Ok(event.workflow_id == *id),
            Scope::Visible => self.may_see(&event.workflow_id).await,
        }
    }

    async fn may_see(&mut self, workflow_id: &str) -> ApiResult<bool> {
        if self.principal.is_admin() {
            return Ok(true);
        }
        if let Some(&visible) = self.visible.get(workflow_id) {
            return Ok(visible);
        }
        let visible =
            match require_workflow(&self.db, &self.principal, workflow_id, WorkflowRole::Viewer)
                .await
            {
                Ok(_) => true,
                Err(DomainError::NotFound { .. } | DomainError::Forbidden(_)) => false,
                Err(error) => return Err(error.into()),
            };
        self.visible.insert(workflow_id.to_owned(), visible);
        Ok(visible)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use domain::store::workflows::WorkflowDraft;
    use serde_json::json;

    use super::*;
    use crate::{Application, Config};

    struct Fixture {
        _dir: tempfile::TempDir,
        db: DatabaseConnection,
        admin: Principal,
        /// Stored events of two finished executions of one workflow.
        runs: [Vec<Event>; 2],
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let token = domain::auth::generate_token();
        let app = Application::build(Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            admin_token: Some(token.clone().into()),
            ..Config::default()
        })
        .await
        .unwrap();
        let db = app.db().clone();
        let admin = domain::auth::authenticate(&db, &token).await.unwrap();
        let document = json!({ "version": 1, "nodes": [
            { "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } },
            { "id": "a", "type": "data-transform", "name": "a", "config": { "expr": "." },
              "inputs": { "data": { "ref": "start.output" } } },
            { "id": "b", "type": "data-transform", "name": "b", "config": { "expr": "." },
              "inputs": { "data": { "ref": "a.output" } } }
        ], "edges": [ { "source": "start", "target": "a" }, { "source": "a", "target": "b" } ] });
        let workflow = domain::store::workflows::create(
            &db,
            &admin,
            WorkflowDraft {
                name: "lag".into(),
                description: String::new(),
                document,
            },
        )
        .await
        .unwrap();
        let mut runs = [Vec::new(), Vec::new()];
        for run in &mut runs {
            let execution = app
                .engine()
                .execute(&admin, &workflow.id, json!({}), true)
                .await
                .unwrap();
            *run = store::events(&db, &execution.id, None, 1_000)
                .await
                .unwrap()
                .into_iter()
                .map(|row| Arc::new(row.try_into().unwrap()))
                .collect();
        }
        Fixture {
            _dir: dir,
            db,
            admin,
            runs,
        }
    }

    fn key(event: &Event) -> (String, i64) {
        (event.execution_id.clone(), event.sequence)
    }

    async fn take(feed: &mut Feed, n: usize) -> Vec<(String, i64)> {
        let mut taken = Vec::new();
        for _ in 0..n {
            let event = tokio::time::timeout(StdDuration::from_secs(5), feed.next())
                .await
                .expect("an event")
                .expect("the stream is open")
                .unwrap_or_else(|e| panic!("{:?}", async_graphql::Error::from(e).message));
            taken.push(key(&event.0));
        }
        taken
    }

    #[tokio::test]
    async fn an_execution_subscriber_that_lags_catches_up_from_the_store_without_gap_or_duplicate()
    {
        let f = fixture().await;
        let [mine, other] = &f.runs;
        // A bus that holds two events, so the subscriber below is certain to lag.
        let (bus, receiver) = broadcast::channel(2);
        let execution = mine[0].execution_id.clone();
        let mut feed = Feed::new(
            f.db.clone(),
            f.admin.clone(),
            Scope::Execution(execution.clone()),
            receiver,
        );
        feed.last.insert(execution, 0);
        for event in &mine[..2] {
            bus.send(event.clone()).unwrap();
        }
        assert_eq!(
            take(&mut feed, 2).await,
            mine[..2].iter().map(key).collect::<Vec<_>>()
        );
        // The bus drops all of the rest of this execution: only the store has it.
        for event in mine[2..].iter().chain(&other[..2]) {
            bus.send(event.clone()).unwrap();
        }
        let rest = take(&mut feed, mine.len() - 2).await;
        assert_eq!(rest, mine[2..].iter().map(key).collect::<Vec<_>>());
        assert!(
            feed.next().await.is_none(),
            "the stream ends after EXECUTION_COMPLETE"
        );
    }

    #[tokio::test]
    async fn a_subscriber_to_everything_that_lags_catches_up_on_every_execution_exactly_once() {
        let f = fixture().await;
        let (bus, receiver) = broadcast::channel(2);
        let mut feed = Feed::new(f.db.clone(), f.admin.clone(), Scope::Visible, receiver);
        let [first, second] = &f.runs;
        bus.send(first[0].clone()).unwrap();
        let mut got = take(&mut feed, 1).await;
        for event in first[1..].iter().chain(second) {
            bus.send(event.clone()).unwrap();
        }
        got.extend(take(&mut feed, first.len() + second.len() - 1).await);
        let mut expected: Vec<_> = first.iter().chain(second).map(key).collect();
        let mut sorted = got.clone();
        sorted.sort();
        expected.sort();
        assert_eq!(sorted, expected, "each event exactly once");
        for run in [first, second] {
            let order: Vec<_> = got
                .iter()
                .filter(|(id, _)| *id == run[0].execution_id)
                .map(|(_, sequence)| *sequence)
                .collect();
            assert_eq!(order, (1..=run.len() as i64).collect::<Vec<_>>());
        }
        let more = tokio::time::timeout(StdDuration::from_millis(200), feed.next()).await;
        assert!(more.is_err(), "nothing is delivered twice");
    }
}
