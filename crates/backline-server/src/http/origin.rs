//! The origin rule for browser requests, in one place: the WebSocket upgrade
//! and every cookie-authenticated change of state go through it.
//!
//! A browser names the page that made a request in `Origin` (and, in
//! `Sec-Fetch-Site`, whether it is the same origin). A request made with the
//! session cookie and a method that changes state (POST, PUT, PATCH, DELETE)
//! must come from the server's own origin or one of `server.allowed_origins`;
//! otherwise it is refused with `origin_not_allowed` before its handler runs.
//! Requests with a bearer token (integrations, the load tool) carry no ambient
//! credential and are not affected; neither are requests without the cookie.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use backline_protocol::ErrorCode;

use crate::error::ApiError;
use crate::state::{AppState, SESSION_COOKIE};

/// Whether a request's `Origin` is the server's own host or an allowed origin;
/// requests without `Origin` (not browsers, or same-origin GETs) pass.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    !host.is_empty() && origin_host == host
}

/// Whether a browser request comes from the server's own pages: by `Origin`
/// when it is sent, else by `Sec-Fetch-Site`; a request with neither is not
/// from a browser that could be tricked into sending it.
fn same_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    if headers.contains_key(header::ORIGIN) {
        return origin_allowed(headers, allowed);
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(site) => site == b"same-origin" || site == b"none",
        None => true,
    }
}

fn changes_state(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

/// Middleware: refuses a cookie-authenticated change from another origin.
pub async fn refuse_cross_origin_changes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if changes_state(request.method())
        && !has_bearer(headers)
        && CookieJar::from_headers(headers)
            .get(SESSION_COOKIE)
            .is_some()
        && !same_origin(headers, &state.config.server.allowed_origins)
    {
        return ApiError::new(
            ErrorCode::OriginNotAllowed,
            "a change signed in with the session cookie must come from Backline's own pages",
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_origin_must_be_the_host_or_an_allowed_origin() {
        let allowed = vec!["https://desk.example.com".to_owned()];
        let own = headers(&[
            ("host", "backline:8080"),
            ("origin", "http://backline:8080"),
        ]);
        assert!(origin_allowed(&own, &allowed));
        let listed = headers(&[
            ("host", "backline:8080"),
            ("origin", "https://desk.example.com"),
        ]);
        assert!(origin_allowed(&listed, &allowed));
        let foreign = headers(&[
            ("host", "backline:8080"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!origin_allowed(&foreign, &allowed));
        let null = headers(&[("host", "backline:8080"), ("origin", "null")]);
        assert!(!origin_allowed(&null, &allowed));
        assert!(origin_allowed(
            &headers(&[("host", "backline:8080")]),
            &allowed
        ));
    }

    #[test]
    fn without_origin_sec_fetch_site_decides() {
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &[]
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &[]
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            &[]
        ));
        assert!(same_origin(&HeaderMap::new(), &[]));
    }
}
