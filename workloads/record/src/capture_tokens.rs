//! The capture service's tokens file (`urna capture serve --tokens FILE`, `tokens.json` in the Election's
//! `<election>-capture-tokens` ConfigMap): who may capture sheets and who may read the captured state, as
//! SHA-256 digests of their tokens. Defined once here, without the server, for the operator that writes it
//! and the capture service that reads it.
//!
//! ```json
//! {"capturists": [{"id": "ana", "tokenSha256": "<64 hex: SHA-256 of the token>"}],
//!  "publishers": [{"id": "publisher", "tokenSha256": "<64 hex>"}]}
//! ```
//!
//! Fields are declared in alphabetical order of their JSON names: the operator wrote this file as sorted
//! JSON objects before these types existed, and its hash is in the site pod's template, so another order
//! would roll it.

use serde::{Deserialize, Serialize};

/// The whole file. Written by the operator (`build::site::capture_tokens_file`) and by tests; read by the
/// capture service (`urna capture serve`), which refuses two entries with one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureTokens {
    /// Who may upload photos and figures (`PUT /v1/photos`, `POST /v1/captures`).
    pub capturists: Vec<TokenEntry>,
    /// Who may read the captured state (`GET /v1/captures`): the publisher.
    #[serde(default)]
    pub publishers: Vec<TokenEntry>,
}

/// One holder of a capture token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenEntry {
    pub id: String,
    #[serde(with = "hex::serde")]
    pub token_sha256: [u8; 32],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_may_be_left_out_and_a_short_digest_is_refused() {
        let digest = "ab".repeat(32);
        let file: CaptureTokens =
            serde_json::from_str(&format!(r#"{{"capturists": [{{"id": "ana", "tokenSha256": "{digest}"}}]}}"#))
                .expect("parses");
        assert!(file.publishers.is_empty());
        assert_eq!(file.capturists[0].token_sha256, [0xab; 32]);
        let short = r#"{"capturists": [{"id": "ana", "tokenSha256": "abab"}]}"#;
        assert!(serde_json::from_str::<CaptureTokens>(short).is_err());
    }
}
