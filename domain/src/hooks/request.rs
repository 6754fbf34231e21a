//! An incoming HTTP request as the trigger's output: `{ method, headers, query, body }`.

use serde_json::{Map, Value, json};

/// Headers left out of the execution input: the caller's own credentials (they would be
/// stored in the execution history and shown to everyone who may view it) and the
/// signature, which was verified already and means nothing downstream.
pub const DROPPED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "webhook-signature",
];

/// What the transport read from the request; the body is complete and within its limit.
#[derive(Debug, Clone)]
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    /// Names as received (any case); repeated names allowed.
    pub headers: Vec<(&'a str, &'a [u8])>,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// Why a body could not be turned into the execution input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body is neither JSON, form data nor UTF-8 text")]
    NotText,
}

impl IncomingRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The trigger's output. Header names are lower-cased and repeated headers joined with
    /// `, ` (RFC 9110 §5.3); a repeated query parameter becomes an array of its values.
    /// The body is parsed JSON for a JSON content type, an object of fields for
    /// `application/x-www-form-urlencoded`, otherwise text (`null` when empty).
    pub fn to_execution_input(&self) -> Result<Value, BodyError> {
        Ok(json!({
            "method": self.method.to_ascii_uppercase(),
            "headers": self.header_map(),
            "query": self.query.map(form_fields).unwrap_or_default(),
            "body": self.parsed_body()?,
        }))
    }

    fn header_map(&self) -> Map<String, Value> {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
            if DROPPED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let value = String::from_utf8_lossy(value).into_owned();
            match headers.get_mut(&name) {
                Some(Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                _ => {
                    headers.insert(name, Value::String(value));
                }
            }
        }
        headers
    }

    fn parsed_body(&self) -> Result<Value, BodyError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        let media_type = self
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if media_type == "application/json" || media_type.ends_with("+json") {
            return serde_json::from_slice(self.body)
                .map_err(|e| BodyError::InvalidJson(e.to_string()));
        }
        let text = std::str::from_utf8(self.body).map_err(|_| BodyError::NotText)?;
        if media_type == "application/x-www-form-urlencoded" {
            return Ok(Value::Object(form_fields(text)));
        }
        Ok(Value::String(text.to_owned()))
    }
}

/// `a=1&b=2&a=3` → `{"a": ["1", "3"], "b": "2"}`.
fn form_fields(encoded: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    for (name, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
        let value = Value::String(value.into_owned());
        match fields.get_mut(name.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                fields.insert(name.into_owned(), value);
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(headers: Vec<(&'a str, &'a [u8])>, body: &'a [u8]) -> IncomingRequest<'a> {
        IncomingRequest {
            method: "post",
            headers,
            query: Some("tag=a&tag=b&page=2&q=caf%C3%A9+au+lait"),
            body,
        }
    }

    #[test]
    fn a_json_request_becomes_method_headers_query_and_parsed_body() {
        let input = request(
            vec![
                ("Content-Type", b"application/json; charset=utf-8"),
                ("X-Trace", b"1"),
                ("x-trace", b"2"),
                ("Authorization", b"Bearer hunter2"),
                ("Cookie", b"session=s3cret"),
                ("webhook-signature", b"v1,abc"),
                ("webhook-id", b"msg_1"),
            ],
            br#"{"order": {"id": 7}}"#,
        )
        .to_execution_input()
        .unwrap();
        assert_eq!(
            input,
            json!({
                "method": "POST",
                "headers": {
                    "content-type": "application/json; charset=utf-8",
                    "x-trace": "1, 2",
                    "webhook-id": "msg_1"
                },
                "query": { "tag": ["a", "b"], "page": "2", "q": "café au lait" },
                "body": { "order": { "id": 7 } }
            })
        );
    }

    #[test]
    fn form_bodies_become_fields_and_other_bodies_text() {
        let form = request(
            vec![("content-type", b"application/x-www-form-urlencoded")],
            b"name=Ada+L&tags=x&tags=y",
        );
        assert_eq!(
            form.to_execution_input().unwrap()["body"],
            json!({ "name": "Ada L", "tags": ["x", "y"] })
        );
        let text = request(vec![("content-type", b"text/plain")], b"<b>hi</b>");
        assert_eq!(text.to_execution_input().unwrap()["body"], "<b>hi</b>");
        let untyped = request(vec![], b"{\"looks\": \"like json\"}");
        assert_eq!(
            untyped.to_execution_input().unwrap()["body"],
            "{\"looks\": \"like json\"}"
        );
        let empty = request(vec![("content-type", b"application/json")], b"");
        assert_eq!(empty.to_execution_input().unwrap()["body"], Value::Null);
    }

    #[test]
    fn invalid_json_and_binary_bodies_are_refused() {
        let json = request(vec![("content-type", b"application/json")], b"{nope");
        assert!(matches!(
            json.to_execution_input(),
            Err(BodyError::InvalidJson(_))
        ));
        let binary = request(
            vec![("content-type", b"application/octet-stream")],
            &[0xff, 0xfe],
        );
        assert_eq!(binary.to_execution_input(), Err(BodyError::NotText));
    }
}
