//! The secret a credential holds, per kind, and its validation.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::FieldProblem;

/// The credential kinds, as stored in `credentials.kind` and accepted by the API.
pub const CREDENTIAL_KINDS: &[&str] = &[
    "bearer",
    "basic",
    "api-key",
    "oauth2-client-credentials",
    "database-password",
    "generic",
];

/// Header used by an `api-key` credential that does not name one.
pub const DEFAULT_API_KEY_HEADER: &str = "X-API-Key";

/// Upper bound on a secret's serialized size; credentials are small, and the bound keeps a
/// client from storing arbitrary blobs in the vault.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// A decrypted credential. Stored (encrypted) as `{"kind": ..., "secret": {...}}`; the
/// `secret` object is also exactly what the API accepts for the kind.
///
/// `Debug` shows the kind and field names only, so logging one leaks nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "secret")]
pub enum CredentialSecret {
    /// `Authorization: Bearer <token>`.
    #[serde(rename = "bearer")]
    Bearer { token: String },
    /// HTTP basic authentication.
    #[serde(rename = "basic")]
    Basic { username: String, password: String },
    /// A key sent in a header, `X-API-Key` unless the credential names another.
    #[serde(rename = "api-key")]
    ApiKey { header: String, value: String },
    /// OAuth 2.0 client credentials grant; executors exchange these for an access token.
    #[serde(rename = "oauth2-client-credentials", rename_all = "camelCase")]
    OAuth2ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
    /// The password of a database connection whose other settings live elsewhere.
    #[serde(rename = "database-password")]
    DatabasePassword { password: String },
    /// Named strings for anything else; every value is treated as secret.
    #[serde(rename = "generic")]
    Generic(BTreeMap<String, String>),
}

impl CredentialSecret {
    /// The kind, as in [`CREDENTIAL_KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            CredentialSecret::Bearer { .. } => "bearer",
            CredentialSecret::Basic { .. } => "basic",
            CredentialSecret::ApiKey { .. } => "api-key",
            CredentialSecret::OAuth2ClientCredentials { .. } => "oauth2-client-credentials",
            CredentialSecret::DatabasePassword { .. } => "database-password",
            CredentialSecret::Generic(_) => "generic",
        }
    }

    fn field_names(&self) -> Vec<&str> {
        match self {
            CredentialSecret::Generic(fields) => fields.keys().map(String::as_str).collect(),
            CredentialSecret::OAuth2ClientCredentials {
                scope, audience, ..
            } => {
                let mut names = vec!["tokenUrl", "clientId", "clientSecret"];
                names.extend(scope.as_ref().map(|_| "scope"));
                names.extend(audience.as_ref().map(|_| "audience"));
                names
            }
            other => spec(other.kind())
                .unwrap_or_default()
                .iter()
                .map(|f| f.name)
                .collect(),
        }
    }

    /// Validates `secret` (the API's JSON object) as a credential of `kind`, reporting every
    /// problem under `path` (e.g. `input.secret.token`); an unknown kind is reported at
    /// `kind_path`.
    pub fn from_input(
        kind: &str,
        secret: &Value,
        kind_path: &str,
        path: &str,
    ) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let Some(fields) = (if kind == "generic" {
            Some(&[][..])
        } else {
            spec(kind)
        }) else {
            return Err(vec![FieldProblem::new(
                kind_path,
                format!(
                    "unknown credential kind `{kind}`; expected one of {}",
                    CREDENTIAL_KINDS.join(", ")
                ),
            )]);
        };
        let Some(object) = secret.as_object() else {
            let expected = if kind == "generic" {
                "named strings".to_owned()
            } else {
                fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            };
            return Err(vec![FieldProblem::new(
                path,
                format!("must be a JSON object with {expected}"),
            )]);
        };
        let secret = if kind == "generic" {
            generic(object, path, &mut problems)
        } else {
            typed(kind, fields, object, path, &mut problems)
        };
        if problems.is_empty() {
            let size = serde_json::to_vec(&secret).map(|v| v.len()).unwrap_or(0);
            if size > MAX_SECRET_BYTES {
                problems.push(FieldProblem::new(
                    path,
                    format!("must be at most {MAX_SECRET_BYTES} bytes, got {size}"),
                ));
            }
        }
        if problems.is_empty() {
            Ok(secret)
        } else {
            Err(problems)
        }
    }
}

impl fmt::Debug for CredentialSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSecret")
            .field("kind", &self.kind())
            .field("fields", &self.field_names())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Any non-empty string.
    Any,
    /// Sent as (part of) an HTTP header value: CR or LF would let it inject headers.
    HeaderValue,
    HeaderName,
    /// Basic auth joins `username:password`, so a colon would move the split.
    Username,
    HttpUrl,
}

struct FieldSpec {
    name: &'static str,
    required: bool,
    check: Check,
}

const fn field(name: &'static str, required: bool, check: Check) -> FieldSpec {
    FieldSpec {
        name,
        required,
        check,
    }
}

fn spec(kind: &str) -> Option<&'static [FieldSpec]> {
    const BEARER: &[FieldSpec] = &[field("token", true, Check::HeaderValue)];
    const BASIC: &[FieldSpec] = &[
        field("username", true, Check::Username),
        field("password", true, Check::Any),
    ];
    const API_KEY: &[FieldSpec] = &[
        field("header", false, Check::HeaderName),
        field("value", true, Check::HeaderValue),
    ];
    const OAUTH2: &[FieldSpec] = &[
        field("tokenUrl", true, Check::HttpUrl),
        field("clientId", true, Check::Any),
        field("clientSecret", true, Check::Any),
        field("scope", false, Check::Any),
        field("audience", false, Check::Any),
    ];
    const DATABASE_PASSWORD: &[FieldSpec] = &[field("password", true, Check::Any)];
    Some(match kind {
        "bearer" => BEARER,
        "basic" => BASIC,
        "api-key" => API_KEY,
        "oauth2-client-credentials" => OAUTH2,
        "database-password" => DATABASE_PASSWORD,
        _ => return None,
    })
}

fn check_value(check: Check, value: &str) -> Option<&'static str> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    match check {
        Check::Any => None,
        Check::HeaderValue => value
            .chars()
            .any(|c| c.is_control() && c != '\t')
            .then_some("must not contain line breaks or other control characters"),
        Check::HeaderName => (!value.chars().all(is_tchar))
            .then_some("must be an HTTP header name (letters, digits and -, no spaces)"),
        Check::Username => {
            if value.contains(':') {
                Some("must not contain `:`, which separates it from the password")
            } else {
                check_value(Check::HeaderValue, value)
            }
        }
        Check::HttpUrl => {
            let lower = value.to_ascii_lowercase();
            (!(lower.starts_with("https://") || lower.starts_with("http://"))
                || value.chars().any(char::is_whitespace))
            .then_some("must be an http:// or https:// URL")
        }
    }
}

fn typed(
    kind: &str,
    fields: &[FieldSpec],
    object: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<FieldProblem>,
) -> CredentialSecret {
    for key in object.keys() {
        if !fields.iter().any(|f| f.name == key) {
            problems.push(FieldProblem::new(
                format!("{path}.{key}"),
                format!(
                    "is not a field of a `{kind}` credential; expected {}",
                    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for f in fields {
        let at = format!("{path}.{}", f.name);
        match object.get(f.name) {
            None | Some(Value::Null) if f.required => {
                problems.push(FieldProblem::new(at, "is required"))
            }
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() => {
                // An optional field sent empty is the same as leaving it out.
                if f.required {
                    problems.push(FieldProblem::new(at, "must not be empty"));
                }
            }
            Some(Value::String(s)) => match check_value(f.check, s) {
                Some(message) => problems.push(FieldProblem::new(at, message)),
                None => {
                    values.insert(f.name, s.clone());
                }
            },
            Some(_) => problems.push(FieldProblem::new(at, "must be a string")),
        }
    }
    let mut take = |name: &str| values.remove(name).unwrap_or_default();
    match kind {
        "bearer" => CredentialSecret::Bearer {
            token: take("token"),
        },
        "basic" => CredentialSecret::Basic {
            username: take("username"),
            password: take("password"),
        },
        "api-key" => {
            let header = take("header");
            CredentialSecret::ApiKey {
                header: if header.is_empty() {
                    DEFAULT_API_KEY_HEADER.to_owned()
                } else {
                    header
                },
                value: take("value"),
            }
        }
        "oauth2-client-credentials" => CredentialSecret::OAuth2ClientCredentials {
            token_url: take("tokenUrl"),
            client_id: take("clientId"),
            client_secret: take("clientSecret"),
            scope: values.remove("scope"),
            audience: values.remove("audience"),
        },
        _ => CredentialSecret::DatabasePassword {
            password: take("password"),
        },
    }
}

fn generic(
    object: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<FieldProblem>,
) -> CredentialSecret {
    if object.is_empty() {
        problems.push(FieldProblem::new(path, "must have at least one field"));
    }
    let mut fields = BTreeMap::new();
    for (key, value) in object {
        let at = format!("{path}.{key}");
        if key.trim().is_empty() {
            problems.push(FieldProblem::new(path, "field names must not be empty"));
            continue;
        }
        match value {
            Value::String(s) if s.trim().is_empty() => {
                problems.push(FieldProblem::new(at, "must not be empty"));
            }
            Value::String(s) => {
                fields.insert(key.clone(), s.clone());
            }
            _ => problems.push(FieldProblem::new(at, "must be a string")),
        }
    }
    CredentialSecret::Generic(fields)
}

/// Every secret value of `secret`, plus the encodings in which it commonly shows up (the
/// basic-auth header, JSON escaping, percent-encoding), longest first, so callers can
/// [`redact`](super::redact) them from logs, outputs and errors.
///
/// Identifiers that are not secret on their own (usernames, client ids, header names, URLs,
/// scopes) are left out: redacting a username such as `admin` would mangle unrelated text.
pub fn secret_strings(secret: &CredentialSecret) -> Vec<String> {
    let b64 = |user: &str, pass: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    };
    let raw: Vec<String> = match secret {
        CredentialSecret::Bearer { token } => vec![token.clone()],
        CredentialSecret::Basic { username, password } => {
            vec![password.clone(), b64(username, password)]
        }
        CredentialSecret::ApiKey { value, .. } => vec![value.clone()],
        CredentialSecret::OAuth2ClientCredentials {
            client_id,
            client_secret,
            ..
        } => vec![client_secret.clone(), b64(client_id, client_secret)],
        CredentialSecret::DatabasePassword { password } => vec![password.clone()],
        CredentialSecret::Generic(fields) => fields.values().cloned().collect(),
    };
    let mut all = Vec::with_capacity(raw.len() * 3);
    for value in raw {
        let quoted = serde_json::to_string(&value).unwrap_or_default();
        let json = quoted
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or_default()
            .to_owned();
        let percent = percent_encode(&value);
        all.push(value);
        all.push(json);
        all.push(percent);
    }
    all.retain(|s| !s.is_empty());
    all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    all.dedup();
    all
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as in URLs and
/// form bodies.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(kind: &str, secret: Value) -> Result<CredentialSecret, Vec<FieldProblem>> {
        CredentialSecret::from_input(kind, &secret, "input.kind", "input.secret")
    }

    fn paths(problems: &[FieldProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.path.as_str()).collect()
    }

    #[test]
    fn each_kind_parses_from_its_api_fields() {
        assert_eq!(
            parse("bearer", json!({"token": "t0ken"})).unwrap(),
            CredentialSecret::Bearer {
                token: "t0ken".into()
            }
        );
        assert_eq!(
            parse("basic", json!({"username": "u", "password": "p"})).unwrap(),
            CredentialSecret::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert_eq!(
            parse("api-key", json!({"header": "X-Token", "value": "v"})).unwrap(),
            CredentialSecret::ApiKey {
                header: "X-Token".into(),
                value: "v".into()
            }
        );
        assert_eq!(
            parse(
                "oauth2-client-credentials",
                json!({"tokenUrl": "https://auth.example.com/token", "clientId": "id",
                       "clientSecret": "s", "scope": "read"})
            )
            .unwrap(),
            CredentialSecret::OAuth2ClientCredentials {
                token_url: "https://auth.example.com/token".into(),
                client_id: "id".into(),
                client_secret: "s".into(),
                scope: Some("read".into()),
                audience: None,
            }
        );
        assert_eq!(
            parse("database-password", json!({"password": "pw"})).unwrap(),
            CredentialSecret::DatabasePassword {
                password: "pw".into()
            }
        );
        assert_eq!(
            parse("generic", json!({"a": "1", "b": "2"})).unwrap(),
            CredentialSecret::Generic(BTreeMap::from([
                ("a".into(), "1".into()),
                ("b".into(), "2".into())
            ]))
        );
    }

    #[test]
    fn an_api_key_without_a_header_uses_x_api_key() {
        for secret in [json!({"value": "v"}), json!({"value": "v", "header": " "})] {
            let CredentialSecret::ApiKey { header, .. } = parse("api-key", secret).unwrap() else {
                panic!("not an api key");
            };
            assert_eq!(header, DEFAULT_API_KEY_HEADER);
        }
    }

    #[test]
    fn missing_empty_and_non_string_fields_are_reported_by_path() {
        let err = parse("bearer", json!({})).unwrap_err();
        assert_eq!(paths(&err), ["input.secret.token"]);
        assert_eq!(err[0].message, "is required");

        let err = parse("basic", json!({"username": "", "password": 5})).unwrap_err();
        assert_eq!(
            paths(&err),
            ["input.secret.username", "input.secret.password"]
        );
        assert_eq!(err[0].message, "must not be empty");
        assert_eq!(err[1].message, "must be a string");

        let err = parse(
            "oauth2-client-credentials",
            json!({"tokenUrl": "ftp://x", "clientId": "id", "scope": 1}),
        )
        .unwrap_err();
        assert_eq!(
            paths(&err),
            [
                "input.secret.tokenUrl",
                "input.secret.clientSecret",
                "input.secret.scope"
            ]
        );
    }

    #[test]
    fn unknown_fields_are_rejected_so_typos_surface() {
        let err = parse("bearer", json!({"token": "t", "tokn": "t"})).unwrap_err();
        assert_eq!(paths(&err), ["input.secret.tokn"]);
        assert!(
            err[0].message.contains("expected token"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn header_bound_values_cannot_inject_headers() {
        let err = parse("bearer", json!({"token": "abc\r\nX-Evil: 1"})).unwrap_err();
        assert_eq!(paths(&err), ["input.secret.token"]);
        let err = parse("api-key", json!({"header": "X Key", "value": "v"})).unwrap_err();
        assert_eq!(paths(&err), ["input.secret.header"]);
        let err = parse("basic", json!({"username": "a:b", "password": "p"})).unwrap_err();
        assert_eq!(paths(&err), ["input.secret.username"]);
    }

    #[test]
    fn generic_secrets_must_be_a_non_empty_object_of_strings() {
        assert_eq!(
            paths(&parse("generic", json!({})).unwrap_err()),
            ["input.secret"]
        );
        assert_eq!(
            paths(&parse("generic", json!({"a": "x", "b": {"c": "d"}})).unwrap_err()),
            ["input.secret.b"]
        );
        assert_eq!(
            paths(&parse("generic", json!(["a"])).unwrap_err()),
            ["input.secret"]
        );
    }

    #[test]
    fn an_unknown_kind_is_reported_at_the_kind_path() {
        let err = parse("ssh-key", json!({})).unwrap_err();
        assert_eq!(paths(&err), ["input.kind"]);
        assert!(
            err[0].message.contains("bearer, basic"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn an_oversized_secret_is_rejected() {
        let err = parse("bearer", json!({"token": "x".repeat(MAX_SECRET_BYTES)})).unwrap_err();
        assert_eq!(paths(&err), ["input.secret"]);
    }

    #[test]
    fn the_stored_form_round_trips_through_serde() {
        let secret = parse(
            "oauth2-client-credentials",
            json!({"tokenUrl": "https://a/t", "clientId": "id", "clientSecret": "s"}),
        )
        .unwrap();
        let stored = serde_json::to_value(&secret).unwrap();
        assert_eq!(
            stored,
            json!({"kind": "oauth2-client-credentials", "secret":
                {"tokenUrl": "https://a/t", "clientId": "id", "clientSecret": "s"}})
        );
        assert_eq!(
            serde_json::from_value::<CredentialSecret>(stored).unwrap(),
            secret
        );
        let generic = parse("generic", json!({"kind": "x"})).unwrap();
        let back: CredentialSecret =
            serde_json::from_slice(&serde_json::to_vec(&generic).unwrap()).unwrap();
        assert_eq!(back, generic);
    }

    #[test]
    fn debug_output_names_fields_but_not_values() {
        let secret = parse(
            "basic",
            json!({"username": "alice", "password": "hunter22"}),
        )
        .unwrap();
        let debug = format!("{secret:?}");
        assert!(
            debug.contains("basic") && debug.contains("password"),
            "{debug}"
        );
        assert!(
            !debug.contains("hunter22") && !debug.contains("alice"),
            "{debug}"
        );
    }

    #[test]
    fn secret_strings_cover_values_and_their_encodings_but_not_identifiers() {
        let secret = parse(
            "basic",
            json!({"username": "alice", "password": "p@ss \"word\""}),
        )
        .unwrap();
        let strings = secret_strings(&secret);
        assert!(strings.contains(&"p@ss \"word\"".to_owned()));
        assert!(strings.contains(&r#"p@ss \"word\""#.to_owned()));
        assert!(strings.contains(&"p%40ss%20%22word%22".to_owned()));
        let header = base64::engine::general_purpose::STANDARD.encode("alice:p@ss \"word\"");
        assert!(strings.contains(&header));
        assert!(!strings.contains(&"alice".to_owned()));
        assert!(strings.windows(2).all(|w| w[0].len() >= w[1].len()));
    }
}
