//! The one mapping from errors to HTTP answers: `{"code", "message"}` with the code's status.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use backline_protocol::{ErrorBody, ErrorCode};
use backline_service::ServiceError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds for `Retry-After` (a `rate_limited` answer says 1 without it).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// Tells the client when to retry (`Retry-After`, whole seconds, at least 1).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after_secs = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        if !matches!(
            error,
            ServiceError::Client { .. } | ServiceError::Throttled { .. }
        ) {
            tracing::error!(error.message = %error, error.cause_chain = ?error, "request failed");
        }
        ApiError {
            code: error.code(),
            message: error.public_message(),
            retry_after_secs: error
                .retry_after()
                .map(|wait| wait.as_millis().div_ceil(1000).max(1) as u64),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            }
            other => ApiError::new(ErrorCode::MalformedRequest, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorCode::InvalidRequest, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            code: self.code,
            message: self.message,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if self.code == ErrorCode::RateLimited || self.retry_after_secs.is_some() {
            let secs = self.retry_after_secs.unwrap_or(1);
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// JSON body extractor whose rejections use the error format. A body that
/// carries a NUL anywhere (see `backline_service::input`) is refused with
/// `invalid_request` before it is deserialized.
pub struct AppJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for AppJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::new(
                ErrorCode::MalformedRequest,
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
                } else {
                    ApiError::new(ErrorCode::MalformedRequest, rejection.body_text())
                }
            })?;
        backline_service::input::check_json(&bytes)?;
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(AppJson(value))
    }
}

/// `application/json`, or any `application/…+json`.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// Refuses a request whose path or query string carries a NUL (`%00`), for
/// every route: ids in path segments and every query parameter.
pub async fn refuse_nul_in_uri(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(field) = uri_nul_field(request.uri()) {
        return ApiError::from(backline_service::input::nul_error(&field)).into_response();
    }
    next.run(request).await
}

/// `Some(what)` when the path or a query parameter of `uri` decodes to a NUL.
fn uri_nul_field(uri: &axum::http::Uri) -> Option<String> {
    if uri.path().contains("%00") {
        return Some("a path segment".into());
    }
    let query = uri.query()?;
    if !query.contains("%00") {
        return None;
    }
    let parameter = query
        .split('&')
        .find(|pair| pair.contains("%00"))
        .unwrap_or_default();
    Some(match parameter.split_once('=') {
        Some((name, _)) if !name.contains("%00") => format!("query parameter {name:?}"),
        _ => "a query parameter name".into(),
    })
}

/// Query extractor whose rejections use the error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;
