//! The body of every error response of the workloads' HTTP APIs (vote, tally, audit), defined once for the
//! servers that write it and the clients that read it: `{"error": {"code", "message", "field"?, "partition"?}}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable and machine-readable; each service documents its own (the vote service's are in its
    /// `openapi.json`, `components.schemas.Error`).
    pub code: String,
    pub message: String,
    /// The request field at fault, as a path (`ballot.contests[0].proofs`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With the vote service's `wrong_partition`: the partition that serves this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

impl ErrorBody {
    /// A body with just a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { code: code.into(), message: message.into(), field: None, partition: None } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_left_out() {
        let json = serde_json::to_string(&ErrorBody::new("not_found", "no such route")).unwrap_or_default();
        assert_eq!(json, r#"{"error":{"code":"not_found","message":"no such route"}}"#);
    }
}
