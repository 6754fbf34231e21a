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
