//! Scrubbing secret values out of text and JSON before it is logged, stored or returned.

use serde_json::{Map, Value};

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "***";

/// Secrets shorter than this are not redacted: replacing every `a` or `42` would destroy
/// the text while protecting nothing a guess would not find.
pub const MIN_REDACTED_LEN: usize = 4;

fn candidates(secrets: &[String]) -> Vec<&str> {
    let mut list: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.chars().count() >= MIN_REDACTED_LEN)
        .collect();
    // Longest first, so a secret containing another is replaced whole rather than leaving
    // its remainder behind.
    list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    list.dedup();
    list
}

fn redact_with(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

/// `text` with every occurrence of each secret (of at least [`MIN_REDACTED_LEN`]
/// characters) replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    redact_with(text, &candidates(secrets))
}

/// A copy of `value` with secrets redacted from every string in it, object keys included.
pub fn redact_value(value: &Value, secrets: &[String]) -> Value {
    let secrets = candidates(secrets);
    if secrets.is_empty() {
        return value.clone();
    }
    redact_value_with(value, &secrets)
}

fn redact_value_with(value: &Value, secrets: &[&str]) -> Value {
    match value {
        Value::String(s) => Value::String(redact_with(s, secrets)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| redact_value_with(v, secrets))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (redact_with(k, secrets), redact_value_with(v, secrets)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_occurrence_of_a_secret_is_replaced() {
        assert_eq!(
            redact("token=abcd1234, again abcd1234!", &secrets(&["abcd1234"])),
            "token=***, again ***!"
        );
    }

    #[test]
    fn secrets_shorter_than_four_characters_are_left_alone() {
        assert_eq!(redact("a b abc", &secrets(&["a", "abc"])), "a b abc");
        assert_eq!(redact("käse", &secrets(&["käse"])), "***");
    }

    #[test]
    fn a_longer_secret_containing_a_shorter_one_is_replaced_whole() {
        assert_eq!(
            redact("x=secret-long", &secrets(&["secret", "secret-long"])),
            "x=***"
        );
    }

    #[test]
    fn json_values_are_redacted_recursively_including_keys() {
        let value = json!({
            "headers": {"Authorization": "Bearer tok3n-value"},
            "list": ["tok3n-value", 1, null, {"tok3n-value": true}],
            "n": 5
        });
        assert_eq!(
            redact_value(&value, &secrets(&["tok3n-value"])),
            json!({
                "headers": {"Authorization": "Bearer ***"},
                "list": ["***", 1, null, {"***": true}],
                "n": 5
            })
        );
    }

    #[test]
    fn text_without_secrets_is_unchanged() {
        assert_eq!(redact("nothing here", &[]), "nothing here");
        assert_eq!(redact_value(&json!({"a": "b"}), &[]), json!({"a": "b"}));
    }
}
