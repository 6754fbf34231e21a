//! Per-webhook rate limits: at most N requests in any sliding minute. A request over the
//! limit waits for a free slot if one comes within a bounded time, in arrival order, and
//! otherwise fails at once saying when the next slot opens.
//!
//! Every attempt counts, retries included: the limit protects the receiver, which sees
//! each of them. The limits live in the process (one sliding log per webhook), so with
//! several worker processes each enforces the limit on its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Requests per minute when the webhook does not say.
pub const DEFAULT_PER_MINUTE: u32 = 100;
/// Highest limit a webhook may set; the sliding log holds one instant per request.
pub const MAX_PER_MINUTE: u32 = 10_000;
/// The longest a request queues for a slot before failing.
pub const DEFAULT_MAX_QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Once this many webhooks have logs, idle ones are dropped.
const PRUNE_AT: usize = 1_024;

const WINDOW: Duration = Duration::from_secs(60);

/// Why a request did not get a slot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimited {
    #[error(
        "rate limit of {limit} requests per minute reached; the next slot opens in {}s, \
         longer than the {}s a request may queue",
        .next_slot_in.as_secs_f64().ceil(),
        .max_wait.as_secs()
    )]
    Full {
        limit: u32,
        next_slot_in: Duration,
        max_wait: Duration,
    },
    #[error("cancelled while waiting for the rate limit")]
    Cancelled,
}

/// The sliding logs of every webhook, shared by node runs and test sends.
pub struct RateLimits {
    logs: Mutex<HashMap<String, VecDeque<Instant>>>,
    window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            logs: Mutex::default(),
            window: WINDOW,
        }
    }
}

impl RateLimits {
    /// The process-wide limits.
    pub fn shared() -> Arc<Self> {
        static SHARED: LazyLock<Arc<RateLimits>> = LazyLock::new(Arc::default);
        SHARED.clone()
    }

    /// Waits for a slot for `webhook_id` under `per_minute`, at most `max_wait`.
    pub async fn acquire(
        &self,
        webhook_id: &str,
        per_minute: u32,
        max_wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), RateLimited> {
        let slot = self.reserve(webhook_id, per_minute, max_wait, Instant::now())?;
        if slot > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(slot) => {}
                () = cancel.cancelled() => return Err(RateLimited::Cancelled),
            }
        }
        Ok(())
    }

    /// Books the earliest slot at or after `now` that keeps every minute within the limit.
    /// Booked slots count at once, so concurrent callers queue behind each other.
    fn reserve(
        &self,
        webhook_id: &str,
        per_minute: u32,
        max_wait: Duration,
        now: Instant,
    ) -> Result<Instant, RateLimited> {
        let window = self.window;
        let limit = per_minute.max(1) as usize;
        let mut logs = self.logs.lock().expect("rate limit logs");
        if logs.len() >= PRUNE_AT {
            logs.retain(|_, log| log.back().is_some_and(|last| *last + window > now));
        }
        let log = logs.entry(webhook_id.to_owned()).or_default();
        while log.front().is_some_and(|first| *first + window <= now) {
            log.pop_front();
        }
        // A lowered limit leaves older bookings behind; only the newest `limit` matter.
        let slot = if log.len() < limit {
            now
        } else {
            (log[log.len() - limit] + window).max(now)
        };
        let wait = slot - now;
        if wait > max_wait {
            return Err(RateLimited::Full {
                limit: per_minute,
                next_slot_in: wait,
                max_wait,
            });
        }
        log.push_back(slot);
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_minute_queues_briefly_or_fails_saying_when() {
        let limits = RateLimits::default();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limits.reserve("w", 3, Duration::ZERO, start), Ok(start));
        }
        // The fourth would have to wait a whole minute.
        let refused = limits
            .reserve("w", 3, Duration::from_secs(10), start)
            .unwrap_err();
        assert!(
            matches!(refused, RateLimited::Full { limit: 3, next_slot_in, .. } if next_slot_in == WINDOW)
        );
        assert!(
            refused.to_string().contains("3 requests per minute"),
            "{refused}"
        );
        // 55 s later the first slot frees up 5 s on: within a 10 s queue.
        let later = start + Duration::from_secs(55);
        assert_eq!(
            limits.reserve("w", 3, Duration::from_secs(10), later),
            Ok(start + WINDOW)
        );
        // That booking counts: the next caller queues behind it.
        assert_eq!(
            limits.reserve("w", 3, Duration::from_secs(10), later),
            Ok(start + WINDOW)
        );
        assert!(
            limits
                .reserve("w", 3, Duration::from_secs(4), later)
                .is_err()
        );
        // Other webhooks are unaffected.
        assert_eq!(limits.reserve("other", 3, Duration::ZERO, later), Ok(later));
    }

    #[tokio::test]
    async fn a_queued_request_waits_for_its_slot_and_cancel_stops_the_wait() {
        let window = Duration::from_millis(200);
        let limits = RateLimits {
            window,
            ..RateLimits::default()
        };
        let cancel = CancellationToken::new();
        limits
            .acquire("w", 1, Duration::ZERO, &cancel)
            .await
            .unwrap();
        let started = Instant::now();
        limits.acquire("w", 1, window, &cancel).await.unwrap();
        assert!(started.elapsed() >= window - Duration::from_millis(5));

        let cancelled = CancellationToken::new();
        cancelled.cancel();
        assert_eq!(
            limits.acquire("w", 1, window, &cancelled).await,
            Err(RateLimited::Cancelled)
        );
    }
}
