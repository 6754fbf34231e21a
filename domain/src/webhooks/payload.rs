//! Request bodies for outgoing webhooks, one encoding per format, each escaping what a
//! template interpolates so a value stays data whatever characters it holds:
//!
//! - `json`: the template is a JSON document in which every `{{ … }}` prints a complete
//!   JSON value (strings quoted and escaped, objects and arrays as JSON). So
//!   `{"name": {{ payload.name }}}` is right, and text is joined inside the expression:
//!   `{"greeting": {{ "Hello " ~ payload.name }}}`. The result must parse as JSON. Without a
//!   template the payload itself is sent.
//! - `form` (`application/x-www-form-urlencoded`) and `multipart` (`multipart/form-data`):
//!   the template is a map of field name to text template; each rendered value is
//!   percent-encoded, or sent as its own part. Without a template the payload's top-level
//!   fields are sent (strings as they are, anything else as JSON).
//! - `xml`: the template is an XML document; every `{{ … }}` is escaped (`& < > " '`), so
//!   it is safe in text and in attribute values alike. A template is required.
//!
//! Templates see the payload as `payload`; they are strict (a missing field is an error
//! naming it) and bounded by the same fuel as mapping templates.

use std::collections::BTreeMap;

use minijinja::value::{Serde, ValueKind};
use minijinja::{Environment, ErrorKind, Output, State, UndefinedBehavior};
use serde_json::Value;

use crate::mapping::template::{self, TEMPLATE_FUEL, TEMPLATE_RECURSION_LIMIT, TemplateError};

/// Rendered bytes that cost one unit of fuel, as in mapping templates.
const BYTES_PER_FUEL: usize = 64;

/// How a webhook encodes its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    Json,
    Form,
    Multipart,
    Xml,
}

impl PayloadFormat {
    pub const ALL: [PayloadFormat; 4] = [Self::Json, Self::Form, Self::Multipart, Self::Xml];

    /// The name stored in `webhooks.payload_format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
            Self::Multipart => "multipart",
            Self::Xml => "xml",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether its template is a map of field templates rather than one document.
    pub fn has_fields(self) -> bool {
        matches!(self, Self::Form | Self::Multipart)
    }
}

/// What a webhook's body is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadTemplate {
    /// The payload as it is (JSON, or its fields for form and multipart).
    Payload,
    /// One document template (`json`, `xml`).
    Document(String),
    /// Field name → text template (`form`, `multipart`), sent in name order.
    Fields(BTreeMap<String, String>),
}

impl PayloadTemplate {
    /// Reads the stored column: a field map is stored as a JSON object.
    pub fn from_column(format: PayloadFormat, column: Option<&str>) -> Result<Self, String> {
        match (column, format.has_fields()) {
            (None, _) => Ok(Self::Payload),
            (Some(text), false) => Ok(Self::Document(text.to_owned())),
            (Some(text), true) => serde_json::from_str(text)
                .map(Self::Fields)
                .map_err(|e| format!("stored form fields are not a JSON object of strings: {e}")),
        }
    }

    /// The value of the `payload_template` column.
    pub fn to_column(&self) -> Option<String> {
        match self {
            Self::Payload => None,
            Self::Document(text) => Some(text.clone()),
            Self::Fields(fields) => {
                Some(serde_json::to_string(fields).expect("a map of strings serializes"))
            }
        }
    }

    /// Checks that every template parses for `format`: problems as `(field or "", message)`.
    pub fn problems(&self, format: PayloadFormat) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        match (self, format) {
            (Self::Payload, PayloadFormat::Xml) => problems.push((
                String::new(),
                "an XML webhook needs a payload template".to_owned(),
            )),
            (Self::Payload, _) => {}
            (Self::Document(_), f) if f.has_fields() => problems.push((
                String::new(),
                format!(
                    "a {} webhook takes form fields (a map of field to template), not a \
                     document template",
                    f.as_str()
                ),
            )),
            (Self::Fields(_), f) if !f.has_fields() => problems.push((
                String::new(),
                format!(
                    "a {} webhook takes a document template, not form fields",
                    f.as_str()
                ),
            )),
            (Self::Document(text), f) => {
                if let Err(e) = environment(f).template_from_str(text) {
                    problems.push((String::new(), TemplateError::from(e).to_string()));
                }
            }
            (Self::Fields(fields), _) => {
                for (name, text) in fields {
                    if name.is_empty() {
                        problems.push((name.clone(), "a field needs a name".to_owned()));
                    }
                    if let Err(e) = template::check(text) {
                        problems.push((name.clone(), e.to_string()));
                    }
                }
            }
        }
        problems
    }
}

/// A rendered body and its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a body could not be made; names the field or line where it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// Renders the body for `payload`.
pub fn render(
    format: PayloadFormat,
    template: &PayloadTemplate,
    payload: &Value,
) -> Result<Body, PayloadError> {
    let context = serde_json::json!({ "payload": payload });
    match (format, template) {
        (PayloadFormat::Json, PayloadTemplate::Payload) => Ok(Body {
            content_type: "application/json".to_owned(),
            bytes: serde_json::to_vec(payload).expect("a JSON value serializes"),
        }),
        (PayloadFormat::Json, PayloadTemplate::Document(text)) => {
            let rendered = render_document(format, text, &context)?;
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&rendered) {
                return Err(PayloadError(format!(
                    "the JSON payload template did not produce valid JSON ({e}); every \
                     `{{{{ … }}}}` prints a whole JSON value, so write `{{{{ payload.name }}}}` \
                     without surrounding quotes and join text inside the braces with `~`"
                )));
            }
            Ok(Body {
                content_type: "application/json".to_owned(),
                bytes: rendered.into_bytes(),
            })
        }
        (PayloadFormat::Xml, PayloadTemplate::Document(text)) => Ok(Body {
            content_type: "application/xml; charset=utf-8".to_owned(),
            bytes: render_document(format, text, &context)?.into_bytes(),
        }),
        (PayloadFormat::Form | PayloadFormat::Multipart, template) => {
            let fields = render_fields(template, payload, &context)?;
            Ok(if format == PayloadFormat::Form {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in &fields {
                    form.append_pair(name, value);
                }
                Body {
                    content_type: "application/x-www-form-urlencoded".to_owned(),
                    bytes: form.finish().into_bytes(),
                }
            } else {
                multipart(&fields)
            })
        }
        (format, _) => Err(PayloadError(format!(
            "the payload template does not fit the {} format",
            format.as_str()
        ))),
    }
}

fn render_document(
    format: PayloadFormat,
    text: &str,
    context: &Value,
) -> Result<String, PayloadError> {
    let env = environment(format);
    let render = || -> Result<String, minijinja::Error> {
        env.template_from_str(text)?
            .render(minijinja::Value::from(Serde(context)))
    };
    render().map_err(|e| PayloadError(format!("payload template: {}", TemplateError::from(e))))
}

fn render_fields(
    template: &PayloadTemplate,
    payload: &Value,
    context: &Value,
) -> Result<Vec<(String, String)>, PayloadError> {
    match template {
        PayloadTemplate::Fields(fields) => fields
            .iter()
            .map(|(name, text)| {
                template::render(text, context)
                    .map(|value| (name.clone(), value))
                    .map_err(|e| PayloadError(format!("form field `{name}`: {e}")))
            })
            .collect(),
        PayloadTemplate::Payload => {
            let Some(object) = payload.as_object() else {
                return Err(PayloadError(format!(
                    "a form payload without field templates must be a JSON object, not {}",
                    crate::json_schema::json_type_name(payload)
                )));
            };
            Ok(object
                .iter()
                .map(|(name, value)| {
                    let text = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (name.clone(), text)
                })
                .collect())
        }
        PayloadTemplate::Document(_) => Err(PayloadError(
            "a form payload takes field templates, not a document".to_owned(),
        )),
    }
}

/// `multipart/form-data` (RFC 7578) with a random boundary that no value contains.
fn multipart(fields: &[(String, String)]) -> Body {
    let boundary = loop {
        let candidate = format!("weft-{}", hex::encode(rand::random::<[u8; 16]>()));
        if !fields
            .iter()
            .any(|(name, value)| name.contains(&candidate) || value.contains(&candidate))
        {
            break candidate;
        }
    };
    let mut bytes = Vec::new();
    for (name, value) in fields {
        // The WHATWG encoding of field names, which every multipart parser understands.
        let name = name
            .replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        bytes.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Body {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        bytes,
    }
}

fn environment<'s>(format: PayloadFormat) -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(TEMPLATE_RECURSION_LIMIT);
    match format {
        PayloadFormat::Xml => env.set_formatter(format_xml),
        _ => env.set_formatter(format_json),
    }
    env
}

fn write_charged(
    out: &mut Output<'_>,
    state: &State<'_, '_>,
    text: &str,
) -> Result<(), minijinja::Error> {
    state.consume_fuel(u64::try_from(text.len() / BYTES_PER_FUEL).unwrap_or(u64::MAX))?;
    out.write_str(text)
        .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
}

fn to_json(value: &minijinja::Value) -> Result<String, minijinja::Error> {
    serde_json::to_string(value)
        .map_err(|e| minijinja::Error::new(ErrorKind::BadSerialization, e.to_string()))
}

/// Every value as a complete JSON value, whatever `|safe` says: a string can never end its
/// quotes early or add fields.
fn format_json(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    let text = to_json(value)?;
    write_charged(out, state, &text)
}

/// Every value escaped for XML text and attributes; objects and arrays as (escaped) JSON.
fn format_xml(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    let text = match value.kind() {
        ValueKind::Map | ValueKind::Seq | ValueKind::None | ValueKind::Bool => to_json(value)?,
        _ => value.to_string(),
    };
    write_charged(out, state, &escape_xml(&text))
}

/// Escapes the five characters XML gives meaning to.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NASTY: &str = r#"O'Brien "Bob" <b>&amp; co</b>"#;

    fn payload() -> Value {
        json!({ "name": NASTY, "n": 3, "tags": ["a", "b"], "ok": true })
    }

    fn fields(pairs: &[(&str, &str)]) -> PayloadTemplate {
        PayloadTemplate::Fields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn json_templates_print_values_as_json_so_quotes_stay_data() {
        let template = PayloadTemplate::Document(
            r#"{"name": {{ payload.name }}, "greeting": {{ "Hi " ~ payload.name }}, "n": {{ payload.n }}, "tags": {{ payload.tags }}, "ok": {{ payload.ok }}}"#.into(),
        );
        let body = render(PayloadFormat::Json, &template, &payload()).unwrap();
        assert_eq!(body.content_type, "application/json");
        let parsed: Value = serde_json::from_slice(&body.bytes).unwrap();
        assert_eq!(
            parsed,
            json!({ "name": NASTY, "greeting": format!("Hi {NASTY}"), "n": 3, "tags": ["a", "b"], "ok": true })
        );
        // `|safe` does not let a value out of its quotes.
        let template = PayloadTemplate::Document(r#"{"name": {{ payload.name | safe }}}"#.into());
        let body = render(PayloadFormat::Json, &template, &payload()).unwrap();
        let parsed: Value = serde_json::from_slice(&body.bytes).unwrap();
        assert_eq!(parsed["name"], NASTY);
    }

    #[test]
    fn a_json_template_that_does_not_produce_json_fails_with_a_hint() {
        let template = PayloadTemplate::Document(r#"{"name": "{{ payload.name }}"}"#.into());
        let error = render(PayloadFormat::Json, &template, &payload()).unwrap_err();
        assert!(error.0.contains("did not produce valid JSON"), "{error}");
        let template = PayloadTemplate::Document("{{ payload.missing }}".into());
        let error = render(PayloadFormat::Json, &template, &payload()).unwrap_err();
        assert!(error.0.contains("payload.missing"), "{error}");
    }

    #[test]
    fn without_a_template_json_sends_the_payload() {
        let body = render(PayloadFormat::Json, &PayloadTemplate::Payload, &payload()).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&body.bytes).unwrap(),
            payload()
        );
    }

    #[test]
    fn form_fields_are_percent_encoded() {
        let template = fields(&[("name", "{{ payload.name }}"), ("x&y", "a=b")]);
        let body = render(PayloadFormat::Form, &template, &payload()).unwrap();
        assert_eq!(body.content_type, "application/x-www-form-urlencoded");
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(&body.bytes)
            .into_owned()
            .collect();
        assert_eq!(
            decoded,
            vec![("name".into(), NASTY.into()), ("x&y".into(), "a=b".into())]
        );
        let body = render(PayloadFormat::Form, &PayloadTemplate::Payload, &payload()).unwrap();
        let decoded: BTreeMap<String, String> = url::form_urlencoded::parse(&body.bytes)
            .into_owned()
            .collect();
        assert_eq!(decoded["tags"], r#"["a","b"]"#);
        assert_eq!(decoded["name"], NASTY);
    }

    #[test]
    fn multipart_parts_carry_values_verbatim_under_a_fresh_boundary() {
        let template = fields(&[("name", "{{ payload.name }}"), ("quote\"d", "x")]);
        let body = render(PayloadFormat::Multipart, &template, &payload()).unwrap();
        let boundary = body
            .content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8(body.bytes).unwrap();
        assert!(text.contains(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{NASTY}\r\n"
        )));
        assert!(text.contains("name=\"quote%22d\""));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn xml_values_are_escaped_in_text_and_attributes() {
        let template = PayloadTemplate::Document(
            r#"<order name="{{ payload.name }}"><note>{{ payload.name }}</note><tags>{{ payload.tags }}</tags></order>"#
                .into(),
        );
        let body = render(PayloadFormat::Xml, &template, &payload()).unwrap();
        let text = String::from_utf8(body.bytes).unwrap();
        let escaped = "O&apos;Brien &quot;Bob&quot; &lt;b&gt;&amp;amp; co&lt;/b&gt;";
        assert_eq!(
            text,
            format!(
                r#"<order name="{escaped}"><note>{escaped}</note><tags>[&quot;a&quot;,&quot;b&quot;]</tags></order>"#
            )
        );
    }

    #[test]
    fn templates_are_checked_for_their_format() {
        assert!(
            PayloadTemplate::Payload
                .problems(PayloadFormat::Json)
                .is_empty()
        );
        assert_eq!(
            PayloadTemplate::Payload.problems(PayloadFormat::Xml).len(),
            1
        );
        let broken = PayloadTemplate::Document("{{ payload.name ".into());
        assert_eq!(broken.problems(PayloadFormat::Json).len(), 1);
        assert_eq!(
            PayloadTemplate::Document("<a/>".into())
                .problems(PayloadFormat::Form)
                .len(),
            1
        );
        let problems =
            fields(&[("ok", "{{ x }}"), ("bad", "{% if %}")]).problems(PayloadFormat::Form);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "bad");
    }

    #[test]
    fn the_column_round_trips() {
        let template = fields(&[("a", "{{ payload.n }}")]);
        let column = template.to_column();
        assert_eq!(
            PayloadTemplate::from_column(PayloadFormat::Form, column.as_deref()).unwrap(),
            template
        );
        assert_eq!(
            PayloadTemplate::from_column(PayloadFormat::Json, None).unwrap(),
            PayloadTemplate::Payload
        );
    }
}
