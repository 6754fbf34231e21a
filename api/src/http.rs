//! HTTP routes: GraphQL (POST) and GraphiQL (GET) at `/graphql`, subscriptions over
//! WebSocket at `/graphql/ws` (see `graphql_ws`), health and readiness, and the studio at `/`
//! and every other GET path (see `studio`).

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use domain::auth::Principal;
use sea_orm::DatabaseConnection;

use crate::graphql::WeftSchema;
use crate::graphql::context::Caller;
use crate::graphql::loaders::Loaders;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: WeftSchema,
    pub metrics: crate::metrics::Metrics,
    /// `GET /metrics` wants this bearer token when set.
    pub metrics_token: Option<secrecy::SecretString>,
    /// Incoming webhook triggers (`/hooks/{token}`).
    pub hooks: crate::hooks::Hooks,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(crate::studio::graphiql).post(graphql))
        .route("/graphql/ws", get(crate::graphql_ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/hooks/{token}", any(crate::hooks::receive))
        .with_state(state)
        .merge(crate::studio::routes())
}

/// The bearer token's principal; `None` for a missing, malformed or unknown token, so
/// resolvers answer `UNAUTHENTICATED` uniformly.
async fn caller(db: &DatabaseConnection, headers: &HeaderMap) -> Option<Principal> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    match domain::auth::authenticate(db, token.trim()).await {
        Ok(principal) => Some(principal),
        Err(domain::DomainError::Unauthenticated) => None,
        Err(error) => {
            tracing::error!(%error, "authentication lookup failed");
            None
        }
    }
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let principal = caller(&state.db, &headers).await;
    let loaders = Loaders::new(&state.db, principal.clone());
    let request = request.into_inner().data(Caller(principal)).data(loaders);
    state.schema.execute(request).await.into()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "database is not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Prometheus scrape target; open unless `WEFT_METRICS_TOKEN` is set.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> axum::response::Response {
    if let Some(expected) = &state.metrics_token {
        use secrecy::ExposeSecret;
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        if !presented.is_some_and(|t| crate::metrics::token_matches(t, expected.expose_secret())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need `Authorization: Bearer <WEFT_METRICS_TOKEN>`",
            )
                .into_response();
        }
    }
    match state.metrics.render(&state.db).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
