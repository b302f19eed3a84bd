//! The interactive API docs (Swagger UI at `/api/docs/`, its files embedded in
//! the binary) and the OpenAPI 3.1 `webhooks` object, which utoipa has no
//! builder for: it is added to the serialized document.

use axum::http::{header, HeaderValue};
use axum::Router;
use backline_protocol::interactions::WEBHOOK_EVENTS;
use serde_json::{json, Map, Value};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::http::headers::API_DOCS_CONTENT_SECURITY_POLICY;

use crate::state::AppState;

/// Where the docs are served.
pub const DOCS_PATH: &str = "/api/docs";
/// The document they read (served by the API router).
pub const OPENAPI_URL: &str = "/api/v1/openapi.json";

/// `/api/docs` (a redirect to `/api/docs/`) and Swagger UI's files under it.
/// Swagger UI loads only its own scripts and styles from this origin (no
/// inline script); its policy is the desktop's plus the hash of the one
/// `<style>` it injects (`API_DOCS_CONTENT_SECURITY_POLICY`). The online
/// validator (an outside fetch) is switched off.
pub fn ui() -> Router<AppState> {
    let config = Config::new([OPENAPI_URL]).validator_url("none");
    Router::from(SwaggerUi::new(DOCS_PATH).config(config)).layer(
        SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_DOCS_CONTENT_SECURITY_POLICY),
        ),
    )
}

/// The OpenAPI document as JSON, with a `webhooks` entry per event type: a
/// `POST` to the integration's URL whose body is a `WebhookEvent` with that
/// `type` (and the fields the event carries), signed as the headers say.
pub fn document(openapi: &utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(openapi).unwrap_or(Value::Null);
    let mut webhooks = Map::new();
    for event in WEBHOOK_EVENTS {
        let mut required = vec![json!("type")];
        let mut properties = Map::new();
        properties.insert("type".into(), json!({"const": event.name}));
        if event.consultation {
            required.push(json!("consultation"));
        }
        if event.transcript {
            required.push(json!("transcript"));
        }
        let schema = json!({
            "allOf": [
                {"$ref": "#/components/schemas/WebhookEvent"},
                {"type": "object", "required": required, "properties": properties}
            ]
        });
        webhooks.insert(
            event.name.into(),
            json!({
                "post": {
                    "operationId": format!("webhook_{}", event.name.replace('.', "_")),
                    "summary": event.name,
                    "description": format!(
                        "{} Sent to the integration's `webhook_url`; verify `X-Backline-Signature` \
                        before trusting the body (see docs/integration.md). Answer 2xx; anything \
                        else is retried.",
                        event.description
                    ),
                    "tags": ["webhooks"],
                    "parameters": [
                        {"name": "X-Backline-Event", "in": "header", "required": true,
                         "schema": {"const": event.name}, "description": "The event's type."},
                        {"name": "X-Backline-Delivery", "in": "header", "required": true,
                         "schema": {"type": "string"}, "description": "The event's id (de-duplicate retries by it)."},
                        {"name": "X-Backline-Timestamp", "in": "header", "required": true,
                         "schema": {"type": "string"}, "description": "Unix seconds when this attempt was signed."},
                        {"name": "X-Backline-Signature", "in": "header",
                         "required": true,
                         "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
                         "description": "sha256=<hex HMAC-SHA256 of \"<timestamp>.<body>\" keyed with the webhook secret>."}
                    ],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {"schema": schema}}
                    },
                    "responses": {
                        "2XX": {"description": "Received; Backline will not send this event again."},
                        "default": {"description": "Not received; Backline retries with back-off for 24 hours."}
                    }
                }
            }),
        );
    }
    if let Value::Object(map) = &mut document {
        map.insert("webhooks".into(), Value::Object(webhooks));
    }
    document
}
