//! Why a use case did not complete, in the protocol's vocabulary.
//!
//! A `ServiceError` carries the stable [`ErrorCode`] the client will see and a
//! human message. Anything unexpected is `internal`: its cause is logged, and
//! the client gets a generic message.

use backline_protocol::ErrorCode;
use backline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{message}")]
    Client { code: ErrorCode, message: String },
    /// Refused until a wait is over (`rate_limited`); REST says it in `Retry-After`.
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error("store unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError::Client {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Client { code, .. } => *code,
            ServiceError::Throttled { .. } => ErrorCode::RateLimited,
            ServiceError::Unavailable(_) => ErrorCode::Unavailable,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// How long the client must wait before it retries, when the server knows.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ServiceError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Client { message, .. } | ServiceError::Throttled { message, .. } => {
                message.clone()
            }
            ServiceError::Unavailable(_) => "the store is unavailable; retry later".into(),
            ServiceError::Internal(_) => "internal error".into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Aborted(cause) => match cause.downcast::<ServiceError>() {
                Ok(service_error) => *service_error,
                Err(other) => ServiceError::Internal(anyhow::anyhow!(other)),
            },
            StoreError::Unavailable(message) => {
                ServiceError::Unavailable(StoreError::Unavailable(message))
            }
            StoreError::Closed => {
                ServiceError::new(ErrorCode::ShuttingDown, "the server is shutting down")
            }
            error @ (StoreError::Database(_) | StoreError::Fault(_)) => {
                ServiceError::Unavailable(error)
            }
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Shorthand for a client error.
pub fn err(code: ErrorCode, message: impl Into<String>) -> ServiceError {
    ServiceError::new(code, message)
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
