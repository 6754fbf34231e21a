//! Serves Weft Studio, the browser app built from `web/` by `build.rs` and embedded here.
//!
//! Vite names every asset after its content hash, so `/assets/*` can be cached for a year and
//! never revalidated; `index.html` (and GraphiQL's page) must instead be revalidated on every
//! load, or a browser would keep asking for assets a new release no longer has. Client-side
//! routes (`/workflows/<id>`, `/executions`, …) are deep links: any GET that is not an API
//! path and does not look like a file gets `index.html`, and the app's router takes over.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;

#[derive(RustEmbed)]
#[folder = "$OUT_DIR/web"]
struct Built;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Routes of the app; merged under the API routes, whose paths win.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/{*path}", get(asset))
        .fallback(get(client_route))
        .layer(CompressionLayer::new().gzip(true).br(true))
}

/// `GET /graphql`: GraphiQL, bundled from the local `graphiql` package (no CDN).
pub async fn graphiql() -> Response {
    page("graphiql.html")
}

async fn index() -> Response {
    page("index.html")
}

async fn client_route(uri: Uri) -> Response {
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return not_found();
    }
    page("index.html")
}

async fn asset(Path(path): Path<String>) -> Response {
    match Built::get(&format!("assets/{path}")) {
        Some(file) => file_response(&path, file.data.into_owned(), IMMUTABLE),
        None => not_found(),
    }
}

fn page(name: &str) -> Response {
    match Built::get(name) {
        Some(file) => file_response(name, file.data.into_owned(), REVALIDATE),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the studio was not built into this binary",
        )
            .into_response(),
    }
}

fn file_response(name: &str, body: Vec<u8>, cache: &'static str) -> Response {
    let content_type = mime_type(name);
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE))],
        "not found",
    )
        .into_response()
}

/// The content types the build produces; anything else is served as bytes.
fn mime_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}
