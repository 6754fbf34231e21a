//! `weft-bench seed`: fills a database with synthetic execution history, for benchmarks and for
//! trying the history UI on realistic volumes.
//!
//! Rows are generated deterministically (a fixed PRNG seed) and oldest first, so the UUIDv7
//! ids append to the primary key instead of splitting pages all over it, and every id
//! carries its execution's `started_at` as the engine's ids do (the history queries rely
//! on that; see `domain::store::executions`). Inserts are multi-row statements inside
//! large transactions: per-row round trips and commits would dominate otherwise.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{node_executions, users, workflow_executions, workflow_versions, workflows};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde_json::{Value, json};

/// Executions per transaction; each also writes three node runs.
const EXECUTIONS_PER_TRANSACTION: usize = 10_000;
/// Rows per INSERT statement: under SQLite's 32,766 bound parameters (14 columns each)
/// and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;
/// How far back the synthetic history reaches.
pub const SEED_HISTORY_DAYS: i64 = 90;

/// What `weft-bench seed` creates.
pub struct SeedOptions {
    /// Finished executions, each with three node runs.
    pub executions: usize,
    /// New workflows the executions are spread over (unevenly, as in real installs).
    pub workflows: usize,
}

/// What was seeded, so the caller can print it (and benchmarks can find their data).
pub struct SeedReport {
    pub owner_id: String,
    pub workflow_ids: Vec<String>,
    pub executions: usize,
    pub node_runs: usize,
    pub elapsed: Duration,
    /// Set when the database had no users and an administrator was created for the seed.
    pub generated_admin_token: Option<String>,
}

/// SplitMix64: tiny, fast, and reproducible across runs and platforms, which is all
/// synthetic data needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A UUIDv7 whose timestamp is `at`, like `Uuid::now_v7()` would have produced then.
    fn id_at(&mut self, at: DateTime<Utc>) -> String {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next().to_le_bytes());
        random[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &random)
            .into_uuid()
            .to_string()
    }
}

const CUSTOMERS: &[&str] = &[
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
];

const ERRORS: &[&str] = &[
    "HTTP 503 Service Unavailable from https://api.example.com/orders",
    "timed out after 10000 ms",
    "HTTP 429 Too Many Requests from https://api.example.com/orders (rate limited)",
    "input.customerId: expected string, got null",
    "connection refused: https://crm.example.com/v2/customers",
];

fn document() -> Value {
    json!({
        "version": 1,
        "nodes": [
            { "id": "start", "type": "trigger", "name": "Start", "config": { "kind": "manual" } },
            { "id": "enrich", "type": "data-transform", "name": "Enrich order",
              "config": { "expr": "{ order: .orderId, total }" },
              "inputs": { "data": { "ref": "start.output" } } },
            { "id": "done", "type": "output", "name": "Done",
              "inputs": { "value": { "ref": "enrich.output" } } }
        ],
        "edges": [
            { "source": "start", "target": "enrich" },
            { "source": "enrich", "target": "done" }
        ]
    })
}

/// The user seeded rows belong to: the administrator, created if the database is empty.
async fn owner(db: &DatabaseConnection) -> anyhow::Result<(String, Option<String>)> {
    let generated = domain::auth::bootstrap_admin(db, None)
        .await
        .map_err(|e| anyhow::anyhow!("creating the admin user: {e}"))?
        .and_then(|b| b.generated_token);
    let admin = users::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(&users::Column::Role, "admin"))
        .order_by_asc(users::Column::Id)
        .one(db)
        .await?
        .context("the database has no administrator")?;
    Ok((admin.id, generated))
}

async fn create_workflows(
    db: &DatabaseConnection,
    owner_id: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let now = Utc::now();
    let document = document();
    let mut ids = Vec::with_capacity(count);
    let txn = db.begin().await?;
    for i in 0..count {
        let id = domain::ids::new_id();
        workflows::Entity::insert(workflows::ActiveModel {
            id: Set(id.clone()),
            owner_id: Set(owner_id.to_owned()),
            name: Set(format!("Seeded workflow {}", i + 1)),
            description: Set("synthetic history from `weft-bench seed`".into()),
            document: Set(document.clone()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(&txn)
        .await?;
        workflow_versions::Entity::insert(workflow_versions::ActiveModel {
            id: Set(domain::ids::new_id()),
            workflow_id: Set(id.clone()),
            version: Set(1),
            document: Set(document.clone()),
            created_by: Set(owner_id.to_owned()),
            created_at: Set(now),
        })
        .exec(&txn)
        .await?;
        ids.push(id);
    }
    txn.commit().await?;
    Ok(ids)
}

struct Generator<'a> {
    rng: Rng,
    owner_id: &'a str,
    workflow_ids: &'a [String],
    start: DateTime<Utc>,
    step_ms: f64,
}

impl Generator<'_> {
    /// Execution number `n` (0 = oldest) with its three node runs.
    fn execution(
        &mut self,
        n: usize,
    ) -> (
        workflow_executions::ActiveModel,
        [node_executions::ActiveModel; 3],
    ) {
        let rng = &mut self.rng;
        // Evenly spread with jitter, so ids stay (almost) in insertion order.
        let offset_ms = (n as f64 + rng.unit()) * self.step_ms;
        let started_at = self.start + chrono::Duration::milliseconds(offset_ms as i64);
        let id = rng.id_at(started_at);
        // Skewed: a few busy workflows, a long tail of quiet ones, as in real installs.
        let workflow = ((rng.unit().powi(2)) * self.workflow_ids.len() as f64) as usize
            % self.workflow_ids.len();
        let roll = rng.unit();
        let status = if roll < 0.88 {
            "succeeded"
        } else if roll < 0.97 {
            "failed"
        } else {
            "cancelled"
        };
        let trigger_kind = match rng.below(20) {
            0..=11 => "manual",
            12..=16 => "webhook",
            _ => "schedule",
        };
        let customer = CUSTOMERS[rng.below(CUSTOMERS.len())];
        let total = rng.below(100_000) as f64 / 100.0;
        let input =
            json!({ "orderId": format!("ord-{n:07}"), "customer": customer, "total": total });
        // Log-normal-ish: most runs take milliseconds, a few take seconds.
        let enrich_ms = (2.0 + rng.unit().powi(4) * 3_000.0) as i64;
        let error = (status == "failed").then(|| {
            format!(
                "node `enrich` failed after 3 attempts: {}",
                ERRORS[rng.below(ERRORS.len())]
            )
        });
        let duration_ms = enrich_ms + 2;
        let finished_at = started_at + chrono::Duration::milliseconds(duration_ms);
        let output = (status == "succeeded")
            .then(|| json!({ "order": format!("ord-{n:07}"), "total": total }));
        let execution = workflow_executions::ActiveModel {
            id: Set(id.clone()),
            workflow_id: Set(self.workflow_ids[workflow].clone()),
            workflow_version: Set(1),
            started_by: Set(self.owner_id.to_owned()),
            status: Set(status.to_owned()),
            trigger_kind: Set(trigger_kind.to_owned()),
            input: Set(input.clone()),
            output: Set(output.clone()),
            error: Set(error.clone()),
            replay_of: Set(None),
            started_at: Set(started_at),
            finished_at: Set(Some(finished_at)),
            duration_ms: Set(Some(duration_ms)),
            created_at: Set(started_at),
        };
        let (enrich_status, done_status) = match status {
            "succeeded" => ("succeeded", "succeeded"),
            "failed" => ("failed", "skipped"),
            _ => ("cancelled", "skipped"),
        };
        let enrich_at = started_at + chrono::Duration::milliseconds(1);
        let done_at = enrich_at + chrono::Duration::milliseconds(enrich_ms);
        let node = |rng: &mut Rng,
                    node_id: &str,
                    node_type: &str,
                    status: &str,
                    at: DateTime<Utc>,
                    ms: i64,
                    input: Option<Value>,
                    output: Option<Value>,
                    error: Option<String>| {
            node_executions::ActiveModel {
                id: Set(rng.id_at(at)),
                execution_id: Set(id.clone()),
                node_id: Set(node_id.to_owned()),
                node_type: Set(node_type.to_owned()),
                attempt: Set(if status == "skipped" { 0 } else { 1 }),
                status: Set(status.to_owned()),
                input: Set(input),
                output: Set(output),
                error_detail: Set(error.as_ref().map(|message| {
                    domain::node_error::NodeErrorDetail {
                        code: domain::node_error::NodeErrorCode::Failed,
                        message: message.clone(),
                        retryable: false,
                        cause: Vec::new(),
                    }
                    .to_stored()
                })),
                error: Set(error),
                started_at: Set(at),
                finished_at: Set(Some(at + chrono::Duration::milliseconds(ms))),
                duration_ms: Set(Some(ms)),
                handle: Set((status == "succeeded").then(|| "main".to_owned())),
            }
        };
        let nodes = [
            node(
                rng,
                "start",
                "trigger",
                "succeeded",
                started_at,
                0,
                None,
                Some(input.clone()),
                None,
            ),
            node(
                rng,
                "enrich",
                "data-transform",
                enrich_status,
                enrich_at,
                enrich_ms,
                Some(json!({ "data": input })),
                output.clone(),
                error,
            ),
            node(
                rng,
                "done",
                "output",
                done_status,
                done_at,
                if done_status == "skipped" { 0 } else { 1 },
                output.clone().map(|o| json!({ "value": o })),
                output,
                None,
            ),
        ];
        (execution, nodes)
    }
}

/// Inserts `options.executions` finished executions spread over `options.workflows` new
/// workflows and the last [`SEED_HISTORY_DAYS`] days. None is left running: a server
/// started on the seeded database would try to resume them.
pub async fn seed(db: &DatabaseConnection, options: SeedOptions) -> anyhow::Result<SeedReport> {
    anyhow::ensure!(options.workflows > 0, "--workflows must be at least 1");
    let started = Instant::now();
    let (owner_id, generated_admin_token) = owner(db).await?;
    let workflow_ids = create_workflows(db, &owner_id, options.workflows).await?;
    let now = Utc::now();
    let start = now - chrono::Duration::days(SEED_HISTORY_DAYS);
    let mut generator = Generator {
        rng: Rng(0x5EED_0000 ^ options.executions as u64),
        owner_id: &owner_id,
        workflow_ids: &workflow_ids,
        start,
        step_ms: (SEED_HISTORY_DAYS * 86_400_000) as f64 / options.executions.max(1) as f64,
    };
    let mut done = 0;
    let mut node_runs = 0;
    while done < options.executions {
        let batch = EXECUTIONS_PER_TRANSACTION.min(options.executions - done);
        let mut executions = Vec::with_capacity(batch);
        let mut nodes = Vec::with_capacity(batch * 3);
        for n in done..done + batch {
            let (execution, runs) = generator.execution(n);
            executions.push(execution);
            nodes.extend(runs);
        }
        node_runs += nodes.len();
        let txn = db.begin().await?;
        for chunk in executions.chunks(ROWS_PER_STATEMENT) {
            workflow_executions::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in nodes.chunks(ROWS_PER_STATEMENT) {
            node_executions::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        done += batch;
        if done % 100_000 == 0 || done == options.executions {
            tracing::info!(done, total = options.executions, "seeded executions");
        }
    }
    // What autovacuum would soon do to an insert-only table: statistics, so plans are
    // not chosen blind, and the visibility map, so index-only scans skip the heap.
    // SQLite is left to the server's periodic `PRAGMA optimize` (its defaults plan every
    // history query well).
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE workflow_executions, node_executions")
            .await?;
    }
    Ok(SeedReport {
        owner_id,
        workflow_ids,
        executions: options.executions,
        node_runs,
        elapsed: started.elapsed(),
        generated_admin_token,
    })
}
