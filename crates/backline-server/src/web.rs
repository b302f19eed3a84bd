//! Serves the web desktop: embedded in the binary (release builds), or from a folder (`web.assets`).
//!
//! Without a built desktop (`web/dist` missing at compile time and no folder
//! configured), `/` answers a short page saying how to build it.

use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Backline</title>\
<h1>Backline</h1><p>The API is running, but the web desktop is not built. \
Run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>, then rebuild or pass \
<code>--web-dir web/dist</code>.</p>";

/// Answers a path from the embedded build, falling back to `index.html` for client routes.
pub async fn embedded(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = Assets::get(path).filter(|_| !path.is_empty()) {
        let mime = file.metadata.mimetype().to_owned();
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
            file.data,
        )
            .into_response();
    }
    match Assets::get("index.html") {
        Some(file) => ([(header::CACHE_CONTROL, "no-cache")], Html(file.data)).into_response(),
        None => (StatusCode::OK, Html(NOT_BUILT)).into_response(),
    }
}
