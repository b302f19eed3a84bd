//! Security headers on every answer: a strict Content-Security-Policy for the
//! desktop and the click-to-call page, no framing, no MIME sniffing, no
//! referrer, and HSTS when `http.hsts` says clients come over HTTPS.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The desktop's policy: scripts, styles and fonts only from the server's own
/// origin (the Vite build has no inline script or style), the REST API and the
/// WebSocket on the same origin (`'self'` covers `ws:`/`wss:` to it), images
/// from the origin or `data:` (the favicon), audio from WebRTC streams, and no
/// framing by any page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The interactive API docs' policy (`/api/docs/`): the desktop's, and one
/// inline `<style>` element that Swagger UI's bundle injects, allowed by its
/// hash alone (no `'unsafe-inline'`; a Swagger UI upgrade that changes it shows
/// as a violation in the end-to-end test of the docs).
pub const API_DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; img-src 'self' data:; \
media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One year, the usual HSTS lifetime; subdomains are left to their own servers.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds the security headers to every answer of `router` (a handler that sets
/// one itself keeps its own).
pub fn secure<S: Clone + Send + Sync + 'static>(router: Router<S>, hsts: bool) -> Router<S> {
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let mut router = router;
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if hsts {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        ));
    }
    router
}
