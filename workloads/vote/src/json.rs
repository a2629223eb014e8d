//! Request bodies: size-limited bytes parsed as JSON, with the failing field's path in the error.

use axum::extract::rejection::BytesRejection;
use bytes::Bytes;
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub(crate) fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "request body too large")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("cannot read the body: {e}"))
        }
    })?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let err = ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("invalid JSON body: {inner}"));
        if path == "." { err } else { err.with_field(path) }
    })?;
    de.end().map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("trailing data: {e}")))?;
    Ok(value)
}
