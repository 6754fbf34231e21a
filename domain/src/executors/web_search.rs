//! `web-search`: a web search through a SearXNG instance or the Brave Search API, as
//! `{results: [{title, url, snippet}]}` with at most `count` results.

use reqwest::Method;
use reqwest::header::ACCEPT;
use serde_json::{Map, Value, json};

use super::api_call::{self, HttpCall, Reply};
use super::http_auth::{Credential, Secrets};
use super::{Executor, NodeContext, NodeFailure, NodeOutcome, NodeResult};
use crate::vault::CredentialSecret;

/// Where Brave requests go when `config.baseUrl` is absent; `/web/search` is appended.
pub const BRAVE_BASE_URL: &str = "https://api.search.brave.com/res/v1";
/// Results returned when neither the input nor the config sets `count`.
pub const DEFAULT_COUNT: u64 = 10;
/// The most results Brave returns for one request.
const BRAVE_MAX_COUNT: u64 = 20;

/// The `web-search` executor.
pub struct WebSearch;

#[async_trait::async_trait]
impl Executor for WebSearch {
    fn node_type(&self) -> &'static str {
        "web-search"
    }

    async fn execute(&self, ctx: &NodeContext<'_>, input: Map<String, Value>) -> NodeResult {
        let config = ctx.node.config();
        let query = input
            .get("query")
            .and_then(Value::as_str)
            .ok_or_else(|| NodeFailure::permanent("the `query` input is missing"))?;
        let count = input
            .get("count")
            .or_else(|| config.get("count"))
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_COUNT);
        let base_url = config.get("baseUrl").and_then(Value::as_str);
        let credential = match config.get("credentialId").and_then(Value::as_str) {
            Some(id) => Some(Credential::load(ctx, id).await?),
            None => None,
        };
        let mut secrets = Secrets::default();
        let provider = config
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or("searxng");
        let results = match provider {
            "searxng" => {
                let base_url = base_url.ok_or_else(|| {
                    NodeFailure::permanent(
                        "config.baseUrl is required for SearXNG: the URL of your instance",
                    )
                })?;
                let mut call = search_call(
                    ctx,
                    base_url,
                    "/search",
                    &json!({
                        "q": query, "format": "json"
                    }),
                )?;
                call.default_header(ACCEPT, "application/json");
                let body = fetch(ctx, call, credential.as_ref(), &mut secrets, "SearXNG").await?;
                extract(&body["results"], "content", false)
            }
            "brave" => {
                let key = brave_key(credential.as_ref())?;
                secrets.add(key.clone());
                let mut call = search_call(
                    ctx,
                    base_url.unwrap_or(BRAVE_BASE_URL),
                    "/web/search",
                    &json!({ "q": query, "count": count.min(BRAVE_MAX_COUNT) }),
                )?;
                call.set_header("X-Subscription-Token", &key)?;
                call.default_header(ACCEPT, "application/json");
                let body = fetch(ctx, call, None, &mut secrets, "Brave Search").await?;
                extract(&body["web"]["results"], "description", true)
            }
            other => {
                return Err(NodeFailure::permanent(format!(
                    "unknown search provider `{other}`; use searxng or brave"
                )));
            }
        };
        let results: Vec<Value> = results
            .into_iter()
            .take(usize::try_from(count).unwrap_or(usize::MAX))
            .collect();
        Ok(NodeOutcome::main(json!({ "results": results })))
    }
}

fn search_call(
    ctx: &NodeContext<'_>,
    base_url: &str,
    path: &str,
    query: &Value,
) -> Result<HttpCall, NodeFailure> {
    let url = format!("{}{path}", base_url.trim_end_matches('/'));
    let mut call = HttpCall::new(Method::GET, api_call::parse_url(&url, "config.baseUrl")?);
    call.append_query(query.as_object().expect("a query object"))?;
    call.idempotency_key(&ctx.idempotency_key())?;
    Ok(call)
}

async fn fetch(
    ctx: &NodeContext<'_>,
    call: HttpCall,
    credential: Option<&Credential>,
    secrets: &mut Secrets,
    provider: &str,
) -> Result<Value, NodeFailure> {
    let response = api_call::perform(ctx, call, credential, secrets).await?;
    let reply = Reply::read(&response, secrets);
    api_call::check_status(&response, &reply, None).map_err(|failure| {
        let hint = if provider == "SearXNG" && response.status == 403 {
            " (is `json` listed under search.formats in the instance's settings.yml?)"
        } else {
            ""
        };
        NodeFailure {
            message: format!("{provider}: {}{hint}", failure.message),
            ..failure
        }
    })?;
    if !reply.body.is_object() {
        return Err(NodeFailure::permanent(format!(
            "{provider} did not answer with a JSON object"
        )));
    }
    Ok(reply.body)
}

/// The Brave API key: the value of an `api-key` credential, the token of a `bearer` one,
/// or the only value of a `generic` one.
fn brave_key(credential: Option<&Credential>) -> Result<String, NodeFailure> {
    let Some(credential) = credential else {
        return Err(NodeFailure::permanent(
            "Brave Search needs config.credentialId: an api-key credential holding the \
             subscription token",
        ));
    };
    match credential.secret() {
        CredentialSecret::ApiKey { value, .. } => Ok(value.clone()),
        CredentialSecret::Bearer { token } => Ok(token.clone()),
        CredentialSecret::Generic(fields) if fields.len() == 1 => {
            Ok(fields.values().next().cloned().unwrap_or_default())
        }
        other => Err(NodeFailure::permanent(format!(
            "Brave Search needs an api-key credential, not a `{}` one",
            other.kind()
        ))),
    }
}

/// `[{title, url, snippet}]` from a provider's result list, reading the snippet from
/// `snippet_field`; entries without a URL are dropped.
fn extract(results: &Value, snippet_field: &str, strip_html: bool) -> Vec<Value> {
    let text = |result: &Value, field: &str| {
        let raw = result
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default();
        if strip_html {
            plain_text(raw)
        } else {
            raw.to_owned()
        }
    };
    results
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("url")
                .and_then(Value::as_str)
                .is_some_and(|u| !u.is_empty())
        })
        .map(|r| {
            json!({
                "title": text(r, "title"),
                "url": r["url"],
                "snippet": text(r, snippet_field),
            })
        })
        .collect()
}

/// Brave marks matches with `<strong>` and escapes entities; a snippet is plain text.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brave_snippets_lose_their_markup() {
        assert_eq!(
            plain_text("The <strong>Rust</strong> &amp; &quot;Cargo&quot; book"),
            "The Rust & \"Cargo\" book"
        );
    }

    #[test]
    fn results_without_a_url_are_dropped_and_missing_fields_are_empty() {
        let results = json!([
            { "title": "A", "url": "https://a.example", "content": "about a" },
            { "title": "no url" },
            { "url": "https://b.example" }
        ]);
        assert_eq!(
            extract(&results, "content", false),
            vec![
                json!({ "title": "A", "url": "https://a.example", "snippet": "about a" }),
                json!({ "title": "", "url": "https://b.example", "snippet": "" }),
            ]
        );
        assert!(extract(&Value::Null, "content", false).is_empty());
    }
}
