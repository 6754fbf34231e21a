//! `GET /metrics`: Prometheus text exposition (format 0.0.4), hand-written because it is
//! a handful of lines and needs no registry.
//!
//! Execution counts come from the database, so every process reports the same numbers
//! and they survive restarts. Node durations are observed in-process from the engine's
//! event bus: a histogram of what this process ran.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use domain::engine::{EventBus, EventKind};
use entity::workflow_executions;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QuerySelect};
use tokio::sync::broadcast::error::RecvError;

/// Upper bounds, in seconds, of the node duration buckets: from a 1 ms data transform to
/// a 30 s LLM call.
pub const NODE_DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const STATUSES: [&str; 5] = ["pending", "running", "succeeded", "failed", "cancelled"];
const OUTCOMES: [&str; 2] = ["succeeded", "failed"];

/// A cumulative histogram of millisecond durations, lock-free.
#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    buckets: [AtomicU64; NODE_DURATION_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_ms: AtomicU64,
}

impl Histogram {
    fn observe(&self, ms: u64) {
        let seconds = ms as f64 / 1000.0;
        let slot = NODE_DURATION_BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(NODE_DURATION_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, outcome: &str) {
        let mut cumulative = 0;
        for (i, le) in NODE_DURATION_BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{outcome=\"{outcome}\",le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[NODE_DURATION_BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{outcome=\"{outcome}\",le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.sum_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(out, "{name}_sum{{outcome=\"{outcome}\"}} {sum}");
        let _ = writeln!(out, "{name}_count{{outcome=\"{outcome}\"}} {cumulative}");
    }
}

#[derive(Default)]
struct Observed {
    /// Indexed like [`OUTCOMES`].
    node_durations: [Histogram; 2],
    /// Events the recorder lagged too far behind to see.
    missed: AtomicU64,
}

/// Counting every execution by status reads the whole status index (tens of ms at a
/// million rows), so a result is reused for this many times as long as it took to get:
/// counting then never takes more than about 1% of the time, however often something
/// scrapes, and a small database is counted afresh on every scrape.
const COUNT_REUSE_FACTOR: u32 = 100;
const COUNT_REUSE_MAX: Duration = Duration::from_secs(30);

struct Counted {
    at: Instant,
    took: Duration,
    by_status: Vec<(String, i64)>,
}

/// This process's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    bus: EventBus,
    observed: Arc<Observed>,
    recording: Arc<AtomicBool>,
    /// Held while counting, so concurrent scrapes wait for one count instead of each
    /// running their own.
    counted: Arc<tokio::sync::Mutex<Option<Counted>>>,
}

impl Metrics {
    /// Metrics of the engine publishing on `bus`.
    pub fn new(bus: EventBus) -> Self {
        Self {
            bus,
            observed: Arc::default(),
            recording: Arc::default(),
            counted: Arc::default(),
        }
    }

    /// Starts observing node durations, once. It happens on the first scrape so that a
    /// process nobody monitors keeps no extra receiver on the event bus (receivers are
    /// what the bus counts as subscribers); Prometheus scrapes from start-up on, and
    /// counting from the first scrape reads to it like a process restart.
    fn start_recording(&self) {
        if self.recording.swap(true, Ordering::AcqRel) {
            return;
        }
        let mut events = self.bus.subscribe();
        // Holds the histograms only: the task ends when the engine (every sender) is gone.
        let observed = self.observed.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let outcome = match event.kind {
                            EventKind::NodeComplete => 0,
                            EventKind::NodeError => 1,
                            _ => continue,
                        };
                        if let Some(ms) = event
                            .payload
                            .get("durationMs")
                            .and_then(serde_json::Value::as_u64)
                        {
                            observed.node_durations[outcome].observe(ms);
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        observed.missed.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    async fn counts_by_status(&self, db: &DatabaseConnection) -> Result<Vec<(String, i64)>, DbErr> {
        let mut counted = self.counted.lock().await;
        if let Some(c) = counted.as_ref()
            && c.at.elapsed() < (c.took * COUNT_REUSE_FACTOR).min(COUNT_REUSE_MAX)
        {
            return Ok(c.by_status.clone());
        }
        let started = Instant::now();
        let by_status: Vec<(String, i64)> = workflow_executions::Entity::find()
            .select_only()
            .column(workflow_executions::Column::Status)
            .column_as(
                Expr::expr(Func::count(Expr::col(workflow_executions::Column::Id))),
                "n",
            )
            .group_by(workflow_executions::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        *counted = Some(Counted {
            at: Instant::now(),
            took: started.elapsed(),
            by_status: by_status.clone(),
        });
        Ok(by_status)
    }

    /// The exposition text. Costs at most one grouped count over the executions' status
    /// index (README, "Benchmarks: execution history", has its cost at 1,000,000 rows).
    pub async fn render(&self, db: &DatabaseConnection) -> Result<String, DbErr> {
        self.start_recording();
        let counts = self.counts_by_status(db).await?;
        let count = |status: &str| {
            counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n)
        };
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP weft_executions_total Executions stored, by status. A gauge: retention \
             pruning lowers it.\n# TYPE weft_executions_total gauge\n",
        );
        for status in STATUSES {
            let _ = writeln!(
                out,
                "weft_executions_total{{status=\"{status}\"}} {}",
                count(status)
            );
        }
        let _ = write!(
            out,
            "# HELP weft_executions_running Executions in flight now.\n\
             # TYPE weft_executions_running gauge\n\
             weft_executions_running {}\n\
             # HELP weft_executions_pending Executions waiting to start (queue depth).\n\
             # TYPE weft_executions_pending gauge\n\
             weft_executions_pending {}\n",
            count("running"),
            count("pending")
        );
        out.push_str(
            "# HELP weft_node_duration_seconds Node attempts run by this process, by outcome.\n\
             # TYPE weft_node_duration_seconds histogram\n",
        );
        for (i, outcome) in OUTCOMES.iter().enumerate() {
            self.observed.node_durations[i].render(&mut out, "weft_node_duration_seconds", outcome);
        }
        let _ = write!(
            out,
            "# HELP weft_subscribers Open executionEvents subscriptions in this process.\n\
             # TYPE weft_subscribers gauge\n\
             weft_subscribers {}\n\
             # HELP weft_metrics_events_missed_total Node events the metrics recorder fell too \
             far behind to observe.\n\
             # TYPE weft_metrics_events_missed_total counter\n\
             weft_metrics_events_missed_total {}\n",
            // Every open subscription holds one bus receiver; the recorder started above
            // holds the only other one.
            self.bus.subscriber_count().saturating_sub(1),
            self.observed.missed.load(Ordering::Relaxed)
        );
        Ok(out)
    }
}

/// Compares a presented bearer token with the configured one without leaking, through
/// timing, how much of it matched.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets_with_sum_and_count() {
        let histogram = Histogram::default();
        for ms in [0, 3, 3, 40, 60_000] {
            histogram.observe(ms);
        }
        let mut out = String::new();
        histogram.render(&mut out, "h", "succeeded");
        assert!(out.contains("h_bucket{outcome=\"succeeded\",le=\"0.001\"} 1\n"));
        assert!(out.contains("h_bucket{outcome=\"succeeded\",le=\"0.005\"} 3\n"));
        assert!(out.contains("h_bucket{outcome=\"succeeded\",le=\"0.05\"} 4\n"));
        assert!(out.contains("h_bucket{outcome=\"succeeded\",le=\"30\"} 4\n"));
        assert!(out.contains("h_bucket{outcome=\"succeeded\",le=\"+Inf\"} 5\n"));
        assert!(out.contains("h_sum{outcome=\"succeeded\"} 60.046\n"));
        assert!(out.contains("h_count{outcome=\"succeeded\"} 5\n"));
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(token_matches("secret-token", "secret-token"));
        assert!(!token_matches("secret-toke", "secret-token"));
        assert!(!token_matches("secret-tokeN", "secret-token"));
        assert!(!token_matches("", "secret-token"));
    }
}
