//! The one GraphQL-over-HTTP client every benchmark speaks through, so each measures the
//! same request path a real client takes (JSON body, bearer token, errors are failures).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A client of one Weft server's `/graphql` endpoint.
pub struct GraphqlClient {
    http: reqwest::Client,
    url: String,
}

impl GraphqlClient {
    /// `base` is the server's origin, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{base}/graphql"),
        }
    }

    /// The `data` of one request; any GraphQL error fails the benchmark.
    pub async fn gql(&self, token: &str, query: &str, variables: &Value) -> anyhow::Result<Value> {
        let body: Value = self
            .http
            .post(&self.url)
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        if let Some(errors) = body.get("errors") {
            anyhow::bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }

    /// The sorted durations of `iterations` sequential requests (after a warm-up of a tenth
    /// as many), and the last response.
    pub async fn measure(
        &self,
        token: &str,
        query: &str,
        variables: &Value,
        iterations: usize,
    ) -> anyhow::Result<(Vec<Duration>, Value)> {
        for _ in 0..(iterations / 10).max(3) {
            self.gql(token, query, variables).await?;
        }
        let mut times = Vec::with_capacity(iterations);
        let mut last = Value::Null;
        for _ in 0..iterations {
            let started = Instant::now();
            last = self.gql(token, query, variables).await?;
            times.push(started.elapsed());
        }
        times.sort();
        Ok((times, last))
    }
}
