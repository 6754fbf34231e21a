//! The structured error of a failed node attempt. The message string alone cannot tell a
//! user (or the studio) what kind of failure it was, whether another attempt could help, or
//! what lay underneath it; this record says so in fields, is stored next to the message on
//! the node's row, and is read back by `nodeRuns.errorDetail`.

use serde::{Deserialize, Serialize};

/// What kind of failure ended an attempt. Stored by name, so new kinds can be added
/// without rewriting old rows; a name this build does not know reads as `Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NodeErrorCode {
    /// The node's resolved input did not match its input schema, or a mapping failed.
    InvalidInput,
    /// The node (or an outgoing request) ran out of time.
    Timeout,
    /// The node produced more output than the configured limit.
    OutputTooLarge,
    /// An outgoing request was answered with an unsuccessful HTTP status.
    HttpStatus,
    /// An outgoing request got no answer (connection refused, reset, DNS…).
    Network,
    /// The outbound policy refused the address, or a limit on the request was hit.
    Refused,
    /// A response was larger than the outbound size cap.
    ResponseTooLarge,
    /// `stopExecution` cancelled the attempt.
    Cancelled,
    /// The executor reported a failure of its own (a tool's error, a rejected query…).
    /// Last, because serde reads unknown names into the last variant marked `other`.
    #[default]
    #[serde(other)]
    Failed,
}

/// One failed attempt, as stored in `node_executions.error_detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeErrorDetail {
    pub code: NodeErrorCode,
    pub message: String,
    /// Whether the engine considered another attempt worth making.
    pub retryable: bool,
    /// What lay underneath the message, outermost first (may be empty).
    #[serde(default)]
    pub cause: Vec<String>,
}

impl NodeErrorDetail {
    /// The detail of a stored row; a row written before this column existed, or one that
    /// does not parse, has none.
    pub fn from_stored(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }

    /// A code stored on its own (in an event payload).
    pub fn code_from_stored(value: &serde_json::Value) -> Option<NodeErrorCode> {
        serde_json::from_value(value.clone()).ok()
    }

    pub fn to_stored(&self) -> serde_json::Value {
        // A struct of strings, bools and a unit enum always serialises.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The messages of `error`'s sources, outermost first, for the `cause` chain.
pub fn source_chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut chain = Vec::new();
    let mut next = error.source();
    while let Some(source) = next {
        let text = source.to_string();
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        next = source.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detail_round_trips_through_its_stored_form() {
        let detail = NodeErrorDetail {
            code: NodeErrorCode::HttpStatus,
            message: "HTTP 503 from http://127.0.0.1:9".into(),
            retryable: true,
            cause: vec!["busy".into()],
        };
        let stored = detail.to_stored();
        assert_eq!(stored["code"], "HTTP_STATUS");
        assert_eq!(NodeErrorDetail::from_stored(&stored), Some(detail));
    }

    #[test]
    fn an_unknown_code_reads_as_failed_and_a_missing_cause_as_empty() {
        let stored =
            serde_json::json!({ "code": "SOMETHING_NEW", "message": "m", "retryable": false });
        let detail = NodeErrorDetail::from_stored(&stored).expect("parses");
        assert_eq!(detail.code, NodeErrorCode::Failed);
        assert!(detail.cause.is_empty());
    }
}
