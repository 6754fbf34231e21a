//! The studio as `weft` serves it: the app at `/` and every client route, long-cached
//! compressed assets, GraphiQL from local assets. The routes do not touch the database, so
//! one backend (SQLite) is enough.

use weft_e2e::{Backend, spawn_app};

async fn app() -> weft_e2e::TestApp {
    spawn_app(Backend::Sqlite).await.expect("sqlite")
}

async fn get(
    app: &weft_e2e::TestApp,
    path: &str,
    accept_encoding: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.base_url));
    if let Some(encoding) = accept_encoding {
        request = request.header("accept-encoding", encoding);
    }
    request.send().await.expect("request")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The `src`/`href` values of an HTML page that point at our assets.
fn asset_links(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_studio_is_served_at_the_root_and_revalidated_on_every_load() {
    let app = app().await;
    let page = get(&app, "/", None).await;
    assert_eq!(page.status(), 200);
    assert!(header(&page, "content-type").starts_with("text/html"));
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Weft Studio</title>"), "{html}");
    assert!(
        asset_links(&html).iter().any(|l| l.ends_with(".js")),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_routes_are_deep_links_to_the_studio() {
    let app = app().await;
    let index = get(&app, "/", None).await.text().await.unwrap();
    for path in [
        "/signin",
        "/workflows",
        "/workflows/V29ya2Zsb3c6MQ",
        "/executions",
        "/executions/RXhlY3V0aW9uOjE",
        "/tools",
        "/templates",
    ] {
        let page = get(&app, path, None).await;
        assert_eq!(page.status(), 200, "{path}");
        assert_eq!(header(&page, "cache-control"), "no-cache", "{path}");
        assert_eq!(page.text().await.unwrap(), index, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_assets_are_cached_for_a_year_and_compressed_when_the_browser_accepts_it() {
    let app = app().await;
    let html = get(&app, "/", None).await.text().await.unwrap();
    let script = asset_links(&html)
        .into_iter()
        .find(|l| l.ends_with(".js"))
        .expect("a script");

    let plain = get(&app, &script, None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(
        header(&plain, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&plain, "content-type").starts_with("text/javascript"));
    assert_eq!(header(&plain, "content-encoding"), "");
    let plain_len = plain.bytes().await.unwrap().len();

    for encoding in ["br", "gzip"] {
        let packed = get(&app, &script, Some(encoding)).await;
        assert_eq!(packed.status(), 200);
        assert_eq!(header(&packed, "content-encoding"), encoding);
        assert_eq!(
            header(&packed, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        let packed_len = packed.bytes().await.unwrap().len();
        assert!(
            packed_len * 2 < plain_len,
            "{encoding}: {packed_len} of {plain_len} bytes"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_not_found_rather_than_the_app() {
    let app = app().await;
    for path in [
        "/assets/missing-0000.js",
        "/favicon.ico",
        "/workflows/x/data.json",
    ] {
        let response = get(&app, path, None).await;
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_loads_only_assets_served_by_weft() {
    let app = app().await;
    let page = get(&app, "/graphql", None).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let html = page.text().await.unwrap();
    assert!(html.contains("GraphiQL"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("src=\"//"),
        "{html}"
    );
    let links = asset_links(&html);
    assert!(links.iter().any(|l| l.ends_with(".js")), "{html}");
    for link in links {
        assert_eq!(get(&app, &link, None).await.status(), 200, "{link}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_routes_keep_their_answers_beside_the_studio() {
    let app = app().await;
    assert_eq!(
        get(&app, "/healthz", None).await.text().await.unwrap(),
        "ok"
    );
    let body = app
        .gql(
            Some(&app.admin_token),
            "{ viewer { role } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(body["data"]["viewer"]["role"], "ADMIN");
    let hook = get(&app, "/hooks/unknown-token", None).await;
    assert!(
        !hook
            .text()
            .await
            .unwrap()
            .contains("<title>Weft Studio</title>")
    );
}
