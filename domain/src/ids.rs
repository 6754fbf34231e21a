//! Row identifiers. UUIDv7 sorts by creation time, so `id` doubles as the keyset for
//! newest-first pagination without a second index.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when `id` has the shape of an id this crate generates; lets callers reject
/// garbage before it reaches a query.
pub fn is_well_formed(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

/// The smallest id [`new_id`] can produce at `at` or later: every id generated from that
/// millisecond on sorts at or above it, so "stored since `at`" becomes a primary-key
/// range scan.
pub fn id_floor(at: chrono::DateTime<chrono::Utc>) -> String {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10])
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_generated_after_a_moment_sort_at_or_above_its_floor() {
        let before = chrono::Utc::now();
        let floor = id_floor(before);
        for _ in 0..1_000 {
            assert!(new_id() >= floor);
        }
        let later = id_floor(before + chrono::Duration::seconds(1));
        assert!(
            new_id() < later,
            "the floor of a future moment is above ids of now"
        );
        assert!(is_well_formed(&floor));
    }
}
