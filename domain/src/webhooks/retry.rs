//! When to try a delivery again and how long to wait first: exponential backoff with full
//! jitter, or what the receiver asked for in `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::{Deserialize, Serialize};

/// Attempts per delivery when the webhook does not say.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Upper bound on attempts; beyond it a failing receiver just gets hammered for longer.
pub const MAX_ATTEMPTS: u32 = 10;
/// Backoff ceiling before the first retry, when the webhook does not say.
pub const DEFAULT_INITIAL_BACKOFF_MS: u64 = 500;
/// Ceiling of any one backoff, when the webhook does not say.
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 30_000;
/// Largest backoff a webhook may configure.
pub const MAX_BACKOFF_MS: u64 = 300_000;
/// `Retry-After` is honoured up to this long; a receiver asking for more gets this, since
/// a delivery that waits hours would hold its workflow for as long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A webhook's retry settings, as stored in `webhooks.retry_config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff_ms: DEFAULT_INITIAL_BACKOFF_MS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
        }
    }
}

impl RetryPolicy {
    /// Problems with the settings as `(field, message)`, for the store to place.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            problems.push((
                "maxAttempts",
                format!(
                    "must be between 1 and {MAX_ATTEMPTS}, got {}",
                    self.max_attempts
                ),
            ));
        }
        if self.initial_backoff_ms > MAX_BACKOFF_MS {
            problems.push((
                "initialBackoffMs",
                format!("must be at most {MAX_BACKOFF_MS}"),
            ));
        }
        if self.max_backoff_ms > MAX_BACKOFF_MS {
            problems.push(("maxBackoffMs", format!("must be at most {MAX_BACKOFF_MS}")));
        } else if self.max_backoff_ms < self.initial_backoff_ms {
            problems.push((
                "maxBackoffMs",
                "must not be less than initialBackoffMs".to_owned(),
            ));
        }
        problems
    }

    /// The ceiling of the wait after failed attempt `attempt` (1-based): the initial
    /// backoff doubled per attempt, capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let ms = self
            .initial_backoff_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_ms);
        Duration::from_millis(ms)
    }

    /// The wait after failed attempt `attempt`: uniformly random up to [`Self::ceiling`]
    /// ("full jitter"), so receivers recovering from an outage are not hit by every sender
    /// in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rand::random_range(0..=ceiling))
    }
}

/// What a `Retry-After` header asks for (delay-seconds or an HTTP-date), capped at
/// [`MAX_RETRY_AFTER`]; `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            // IMF-fixdate is RFC 2822 with `GMT`; the obsolete HTTP date forms are not worth
            // a parser of their own.
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Whether a response status is worth another attempt: 429 and 5xx (the receiver is busy
/// or broken for now). Every other 4xx, 408 included, is final: the contract with
/// receivers is that only those are retried, and a receiver that wants another try says
/// 429 or 503.
pub fn status_is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_ceiling_doubles_and_stops_at_the_maximum() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| policy.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(policy.ceiling(u32::MAX).as_millis(), 1_000);
    }

    #[test]
    fn full_jitter_stays_within_the_ceiling_and_varies() {
        let policy = RetryPolicy::default();
        let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= policy.ceiling(3)));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 10, "jitter should spread the waits");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_and_is_capped() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&headers("1"), now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            retry_after(&headers("Thu, 01 Jan 2026 00:00:05 GMT"), now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after(&headers("Wed, 31 Dec 2025 23:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("86400"), now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn only_busy_or_broken_receivers_are_retried() {
        for status in [429, 500, 502, 503, 504] {
            assert!(status_is_retryable(status), "{status}");
        }
        for status in [400, 401, 403, 404, 408, 409, 410, 422] {
            assert!(!status_is_retryable(status), "{status}");
        }
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let bad = RetryPolicy {
            max_attempts: 11,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 10,
        };
        let fields: Vec<&str> = bad.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["maxAttempts", "maxBackoffMs"]);
        assert!(RetryPolicy::default().problems().is_empty());
    }
}
