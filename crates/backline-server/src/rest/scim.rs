//! Provisioning with SCIM 2.0 under `/scim/v2` (RFC 7644): accounts and
//! groups, for an identity provider holding an integration token with the
//! `scim` scope. Answers and errors are `application/scim+json`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use backline_protocol::interactions::IntegrationScope;
use backline_service::interactions::Integration;
use backline_service::scim::{self, ListQuery, ScimError};
use backline_service::ServiceError;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Where the resources live; `meta.location` is relative to the server.
const BASE: &str = "/scim/v2";
const CONTENT_TYPE: &str = "application/scim+json";

/// A SCIM answer: a status and a body.
pub struct Scim(StatusCode, Option<Value>);

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        match self.1 {
            Some(body) => (
                self.0,
                [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
                body.to_string(),
            )
                .into_response(),
            None => self.0.into_response(),
        }
    }
}

/// A SCIM error answer.
pub struct ScimFailure(ScimError);

impl From<ScimError> for ScimFailure {
    fn from(error: ScimError) -> Self {
        ScimFailure(error)
    }
}

impl From<ServiceError> for ScimFailure {
    fn from(error: ServiceError) -> Self {
        if !matches!(
            error,
            ServiceError::Client { .. } | ServiceError::Throttled { .. }
        ) {
            tracing::error!(error.message = %error, error.cause_chain = ?error, "SCIM request failed");
        }
        ScimFailure(error.into())
    }
}

impl IntoResponse for ScimFailure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Scim(status, Some(self.0.body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ScimAnswer = Result<Scim, ScimFailure>;

/// The integration a SCIM request comes from: `Authorization: Bearer bli_…`
/// (never a cookie), holding the `scim` scope.
pub struct Provisioner(pub Integration);

impl FromRequestParts<AppState> for Provisioner {
    type Rejection = ScimFailure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ScimError::new(401, None, "an integration token is required (Bearer bli_…)")
            })?;
        let integration = state.backline.authenticate_integration(token).await?;
        integration.require(IntegrationScope::Scim)?;
        Ok(Provisioner(integration))
    }
}

/// A request body: a JSON object (sent as `application/scim+json` or
/// `application/json`), without NUL.
pub struct ScimBody(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ScimBody {
    type Rejection = ScimFailure;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ScimFailure> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::new(413, None, "the request body is too large")
                } else {
                    ScimError::new(400, Some("invalidSyntax"), rejection.body_text())
                }
            })?;
        body(&bytes).map(ScimBody)
    }
}

fn body(bytes: &Bytes) -> Result<Value, ScimFailure> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ScimError::new(
            400,
            Some("invalidSyntax"),
            format!("the body is not JSON: {e}"),
        )
    })?;
    if let Some(path) = backline_service::input::nul_path(&value) {
        return Err(ScimError::invalid_value(format!("{path}: contains a NUL character")).into());
    }
    if !value.is_object() {
        return Err(ScimError::new(400, Some("invalidSyntax"), "the body is a JSON object").into());
    }
    Ok(value)
}

fn list_query(query: &HashMap<String, String>) -> Result<ListQuery, ScimFailure> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let number = |name: &str| -> Result<Option<i64>, ScimFailure> {
        get(name)
            .map(|text| {
                text.trim().parse::<i64>().map_err(|_| {
                    ScimFailure(ScimError::invalid_value(format!("{name}: an integer")))
                })
            })
            .transpose()
    };
    Ok(ListQuery {
        filter: get("filter"),
        start_index: number("startIndex")?,
        count: number("count")?,
        excluded_attributes: get("excludedAttributes"),
    })
}

fn ok(value: Value) -> ScimAnswer {
    Ok(Scim(StatusCode::OK, Some(value)))
}

/// # `GET /scim/v2/Users`
///
/// Accounts, `filter=userName eq "…"` (also `externalId`, `id`, `displayName`,
/// `active`, joined by `and`), paged by `startIndex` (1-based) and `count` (at most 200).
#[utoipa::path(get, path = "/Users", tag = "scim",
    params(("filter" = Option<String>, Query), ("startIndex" = Option<i64>, Query), ("count" = Option<i64>, Query)),
    responses((status = 200, description = "A ListResponse of Users", content_type = "application/scim+json"),
        (status = 400, description = "invalidFilter"), (status = 401), (status = 403)))]
pub async fn list_users(
    State(state): State<AppState>,
    Provisioner(_integration): Provisioner,
    Query(query): Query<HashMap<String, String>>,
) -> ScimAnswer {
    ok(state
        .backline
        .scim_list_users(BASE, &list_query(&query)?)
        .await?)
}

/// # `POST /scim/v2/Users`
///
/// Creates an agent account; without `password` it has none, and password
/// sign-in is refused (`invalid_credentials`) until an administrator sets one. A
/// taken `userName` is 409 `uniqueness`.
#[utoipa::path(post, path = "/Users", tag = "scim", request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 201, description = "The User", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 409, description = "uniqueness")))]
pub async fn create_user(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    ScimBody(body): ScimBody,
) -> ScimAnswer {
    let created = state
        .backline
        .scim_create_user(&integration, BASE, &body)
        .await?;
    Ok(Scim(StatusCode::CREATED, Some(created)))
}

/// # `GET /scim/v2/Users/{id}`
#[utoipa::path(get, path = "/Users/{id}", tag = "scim",
    responses((status = 200, description = "The User", content_type = "application/scim+json"),
        (status = 401), (status = 403), (status = 404)))]
pub async fn get_user(
    State(state): State<AppState>,
    Provisioner(_integration): Provisioner,
    Path(id): Path<String>,
) -> ScimAnswer {
    ok(state.backline.scim_get_user(BASE, &id).await?)
}

/// # `PUT /scim/v2/Users/{id}`
///
/// Replaces the attributes Backline keeps; `active: false` disables the
/// account and signs it out everywhere.
#[utoipa::path(put, path = "/Users/{id}", tag = "scim", request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "The User", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn replace_user(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimAnswer {
    ok(state
        .backline
        .scim_replace_user(&integration, BASE, &id, &body)
        .await?)
}

/// # `PATCH /scim/v2/Users/{id}`
///
/// A PatchOp: `add`, `replace`, `remove` of `active` (also `"False"`),
/// `displayName`, `name.formatted`, `externalId`, `password`.
#[utoipa::path(patch, path = "/Users/{id}", tag = "scim", request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "The User", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn patch_user(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimAnswer {
    ok(state
        .backline
        .scim_patch_user(&integration, BASE, &id, &body)
        .await?)
}

/// # `DELETE /scim/v2/Users/{id}`
///
/// Disables the account (signed out everywhere) and hides it from SCIM; the
/// account stays for the history it is part of.
#[utoipa::path(delete, path = "/Users/{id}", tag = "scim",
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_user(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    Path(id): Path<String>,
) -> ScimAnswer {
    state.backline.scim_delete_user(&integration, &id).await?;
    Ok(Scim(StatusCode::NO_CONTENT, None))
}

/// # `GET /scim/v2/Groups`
///
/// Groups, `filter=displayName eq "…"` (also `externalId`, `id`);
/// `excludedAttributes=members` leaves members out.
#[utoipa::path(get, path = "/Groups", tag = "scim",
    params(("filter" = Option<String>, Query), ("startIndex" = Option<i64>, Query), ("count" = Option<i64>, Query),
        ("excludedAttributes" = Option<String>, Query)),
    responses((status = 200, description = "A ListResponse of Groups", content_type = "application/scim+json"),
        (status = 400, description = "invalidFilter"), (status = 401), (status = 403)))]
pub async fn list_groups(
    State(state): State<AppState>,
    Provisioner(_integration): Provisioner,
    Query(query): Query<HashMap<String, String>>,
) -> ScimAnswer {
    ok(state
        .backline
        .scim_list_groups(BASE, &list_query(&query)?)
        .await?)
}

/// # `POST /scim/v2/Groups`
#[utoipa::path(post, path = "/Groups", tag = "scim", request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 201, description = "The Group", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 409, description = "uniqueness")))]
pub async fn create_group(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    ScimBody(body): ScimBody,
) -> ScimAnswer {
    let created = state
        .backline
        .scim_create_group(&integration, BASE, &body)
        .await?;
    Ok(Scim(StatusCode::CREATED, Some(created)))
}

/// # `GET /scim/v2/Groups/{id}`
#[utoipa::path(get, path = "/Groups/{id}", tag = "scim",
    responses((status = 200, description = "The Group", content_type = "application/scim+json"),
        (status = 401), (status = 403), (status = 404)))]
pub async fn get_group(
    State(state): State<AppState>,
    Provisioner(_integration): Provisioner,
    Path(id): Path<String>,
) -> ScimAnswer {
    ok(state.backline.scim_get_group(BASE, &id).await?)
}

/// # `PATCH /scim/v2/Groups/{id}`
///
/// Members added and removed, `displayName` replaced, in one write.
#[utoipa::path(patch, path = "/Groups/{id}", tag = "scim", request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 204), (status = 400), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "uniqueness")))]
pub async fn patch_group(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimAnswer {
    state
        .backline
        .scim_patch_group(&integration, &id, &body)
        .await?;
    Ok(Scim(StatusCode::NO_CONTENT, None))
}

/// # `DELETE /scim/v2/Groups/{id}`
#[utoipa::path(delete, path = "/Groups/{id}", tag = "scim",
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn delete_group(
    State(state): State<AppState>,
    Provisioner(integration): Provisioner,
    Path(id): Path<String>,
) -> ScimAnswer {
    state.backline.scim_delete_group(&integration, &id).await?;
    Ok(Scim(StatusCode::NO_CONTENT, None))
}

/// # `GET /scim/v2/ServiceProviderConfig`
#[utoipa::path(get, path = "/ServiceProviderConfig", tag = "scim",
    responses((status = 200, content_type = "application/scim+json"), (status = 401), (status = 403)))]
pub async fn service_provider_config(Provisioner(_integration): Provisioner) -> ScimAnswer {
    ok(scim::service_provider_config(BASE))
}

/// # `GET /scim/v2/ResourceTypes`
#[utoipa::path(get, path = "/ResourceTypes", tag = "scim",
    responses((status = 200, content_type = "application/scim+json"), (status = 401), (status = 403)))]
pub async fn resource_types(Provisioner(_integration): Provisioner) -> ScimAnswer {
    ok(scim::resource_types(BASE))
}

/// # `GET /scim/v2/Schemas`
#[utoipa::path(get, path = "/Schemas", tag = "scim",
    responses((status = 200, content_type = "application/scim+json"), (status = 401), (status = 403)))]
pub async fn schemas(Provisioner(_integration): Provisioner) -> ScimAnswer {
    ok(scim::schemas(BASE))
}

async fn not_found() -> ScimFailure {
    ScimFailure(ScimError::new(404, None, "no such SCIM endpoint"))
}

/// The routes to nest at `/scim/v2`, and their OpenAPI paths.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, replace_user, patch_user, delete_user))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, patch_group, delete_group))
        .routes(routes!(service_provider_config))
        .routes(routes!(resource_types))
        .routes(routes!(schemas))
        .split_for_parts();
    // The document's server is /api/v1: these paths name their own.
    openapi.paths.paths = std::mem::take(&mut openapi.paths.paths)
        .into_iter()
        .map(|(path, mut item)| {
            item.servers = Some(vec![utoipa::openapi::Server::new("/")]);
            (format!("{BASE}{path}"), item)
        })
        .collect();
    (router.fallback(not_found), openapi)
}
