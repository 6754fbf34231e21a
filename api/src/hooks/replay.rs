//! Replay protection for signed requests: a `webhook-id` that already started an
//! execution does not start another within the signature's validity window. Senders retry
//! with the same id (Standard Webhooks), so a duplicate is answered like a success, with
//! the first execution's id, rather than refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::hooks::SIGNATURE_TOLERANCE_SECS;

/// A signature is accepted while its timestamp is within the tolerance either way of now,
/// so an id seen now can come back valid for up to twice the tolerance.
const REMEMBER_FOR: Duration = Duration::from_secs(2 * SIGNATURE_TOLERANCE_SECS as u64);
/// Bounds memory under a flood of distinct ids; past it, ids are not remembered (requests
/// are still verified, only duplicate detection lapses).
const MAX_REMEMBERED: usize = 100_000;

enum Seen {
    /// Claimed by a request that has not started its execution yet.
    Starting(Instant),
    Started(Instant, String),
}

impl Seen {
    fn at(&self) -> Instant {
        match self {
            Seen::Starting(at) | Seen::Started(at, _) => *at,
        }
    }
}

/// What a request with a given id may do.
pub enum Claim {
    /// First sighting: go ahead, then report [`SeenIds::started`] or [`SeenIds::abandon`].
    Fresh,
    /// Already started this execution (or is starting one right now: `None`).
    Duplicate(Option<String>),
}

#[derive(Default)]
pub struct SeenIds {
    ids: Mutex<HashMap<String, Seen>>,
}

impl SeenIds {
    pub fn claim(&self, key: String) -> Claim {
        let mut ids = self.ids.lock().expect("seen ids");
        let now = Instant::now();
        if let Some(seen) = ids.get(&key).filter(|s| now - s.at() < REMEMBER_FOR) {
            return Claim::Duplicate(match seen {
                Seen::Started(_, id) => Some(id.clone()),
                Seen::Starting(_) => None,
            });
        }
        if ids.len() >= MAX_REMEMBERED {
            ids.retain(|_, seen| now - seen.at() < REMEMBER_FOR);
        }
        if ids.len() < MAX_REMEMBERED {
            ids.insert(key, Seen::Starting(now));
        }
        Claim::Fresh
    }

    pub fn started(&self, key: &str, execution_id: &str) {
        if let Some(seen) = self.ids.lock().expect("seen ids").get_mut(key) {
            *seen = Seen::Started(seen.at(), execution_id.to_owned());
        }
    }

    /// The request was refused before starting anything: a retry must be allowed.
    pub fn abandon(&self, key: &str) {
        self.ids.lock().expect("seen ids").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_fresh_once_then_a_duplicate_naming_its_execution() {
        let seen = SeenIds::default();
        assert!(matches!(seen.claim("a".into()), Claim::Fresh));
        assert!(matches!(seen.claim("a".into()), Claim::Duplicate(None)));
        seen.started("a", "exec-1");
        assert!(matches!(seen.claim("a".into()), Claim::Duplicate(Some(id)) if id == "exec-1"));
        assert!(matches!(seen.claim("b".into()), Claim::Fresh));
    }

    #[test]
    fn an_abandoned_id_may_be_retried() {
        let seen = SeenIds::default();
        assert!(matches!(seen.claim("a".into()), Claim::Fresh));
        seen.abandon("a");
        assert!(matches!(seen.claim("a".into()), Claim::Fresh));
    }
}
