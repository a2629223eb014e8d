//! The error every workload's HTTP API answers with: a status code and [`ErrorBody`]. One type for the vote
//! service, the tally shard, the audit log and the capture desk, so an error reads the same whichever answers.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use urna_status::error::{ErrorBody, ErrorDetail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail { code: code.into(), message: message.into(), field: None, partition: None },
        }
    }

    /// The request field at fault, as a path (`ballot.contests[0].proofs`).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.detail.field = Some(field.into());
        self
    }

    pub fn code(&self) -> &str {
        &self.detail.code
    }

    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A request that could not be read as what the endpoint takes, naming the field at fault.
    pub fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request("malformed", message).with_field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Internal failures: the message is generic (the details go to the workload's log, never to a client).
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; retry later")
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

/// A body that is not the endpoint's JSON, for handlers that answer it with `?`.
impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let code = match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_body",
        };
        Self::new(r.status(), code, r.body_text())
    }
}

/// A query string that is not the endpoint's, for handlers that answer it with `?`.
impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request("invalid_query", r.body_text())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.detail.code, self.detail.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::error_response(self.status, ErrorBody { error: self.detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_shared_body() {
        let r = ApiError::malformed("ballot.contests[0]", "not a contest").into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let e = ApiError::new(StatusCode::CONFLICT, "sealed", "the shard is sealed");
        assert_eq!((e.code(), e.to_string().as_str()), ("sealed", "409 sealed: the shard is sealed"));
    }
}
