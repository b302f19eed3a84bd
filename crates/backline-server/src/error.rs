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
        if self.code == ErrorCode::RateLimited {
            let secs = self.retry_after_secs.unwrap_or(1);
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// JSON body extractor whose rejections use the error format.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

/// Query extractor whose rejections use the error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;
