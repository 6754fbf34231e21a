//! Relay global IDs (`base64url("Workflow:<uuid>")`) and opaque list cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::errors::{ApiError, ApiResult};

/// Object types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tool,
    Workflow,
    Template,
    Execution,
    User,
    Credential,
    ToolExecutionLog,
    DatabaseConnection,
    DatabaseQuery,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Tool => "Tool",
            Kind::Workflow => "Workflow",
            Kind::Template => "Template",
            Kind::Execution => "Execution",
            Kind::User => "User",
            Kind::Credential => "Credential",
            Kind::ToolExecutionLog => "ToolExecutionLog",
            Kind::DatabaseConnection => "DatabaseConnection",
            Kind::DatabaseQuery => "DatabaseQuery",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Kind::Tool,
            Kind::Workflow,
            Kind::Template,
            Kind::Execution,
            Kind::User,
            Kind::Credential,
            Kind::ToolExecutionLog,
            Kind::DatabaseConnection,
            Kind::DatabaseQuery,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

pub fn encode(kind: Kind, id: &str) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.as_str())))
}

/// Decodes any global ID into its kind and row id.
pub fn decode_any(path: &str, id: &str) -> ApiResult<(Kind, String)> {
    let malformed = || ApiError::bad_input(path, format!("`{}` is not a Weft ID", truncate(id)));
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (kind, raw) = text.split_once(':').ok_or_else(malformed)?;
    let kind = Kind::parse(kind).ok_or_else(malformed)?;
    if !domain::ids::is_well_formed(raw) {
        return Err(malformed());
    }
    Ok((kind, raw.to_owned()))
}

/// Decodes a global ID that must be of `expected` kind.
pub fn decode(path: &str, expected: Kind, id: &str) -> ApiResult<String> {
    let (kind, raw) = decode_any(path, id)?;
    if kind != expected {
        return Err(ApiError::bad_input(
            path,
            format!(
                "expected a {} ID, got a {} ID",
                expected.as_str(),
                kind.as_str()
            ),
        ));
    }
    Ok(raw)
}

pub fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("c:{id}"))
}

pub fn decode_cursor(cursor: &str) -> ApiResult<String> {
    let bad = || ApiError::bad_input("after", "is not a cursor returned by this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let id = text.strip_prefix("c:").ok_or_else(bad)?;
    if !domain::ids::is_well_formed(id) {
        return Err(bad());
    }
    Ok(id.to_owned())
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_id_round_trips_and_keeps_its_kind() {
        let raw = domain::ids::new_id();
        let id = encode(Kind::Workflow, &raw);
        assert_eq!(decode("id", Kind::Workflow, &id).ok(), Some(raw.clone()));
        assert!(decode("id", Kind::Tool, &id).is_err());
    }

    #[test]
    fn garbage_is_not_an_id() {
        for bad in ["", "abc", "V29ya2Zsb3c6bm90LWEtdXVpZA", "!!!"] {
            assert!(decode_any("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_round_trips() {
        let raw = domain::ids::new_id();
        assert_eq!(decode_cursor(&encode_cursor(&raw)).ok(), Some(raw));
        assert!(decode_cursor("nope").is_err());
    }
}
