//! Service-to-service authentication between an election's workloads: one bearer token per election
//! (`<election>-internal-token`, mounted from a Secret) that the vote service presents to the tally shards
//! (`POST /v1/contests`, `POST /v1/seal`) and to the audit log (`POST /v1/entries`, `POST /v1/close`), and
//! that an officer presents to seal and close. Network policies are the first layer; this is the second, so
//! a pod that reaches a shard cannot inject a contest or end voting there.
//!
//! One home for the concept: the token type (never printed, zeroed when dropped), the check (SHA-256 of
//! both sides compared in constant time, so neither the bytes nor the length of the token leak through
//! timing), the refusal (401 with a JSON error in the workloads' shape), and the axum middleware that puts
//! the check in front of a route before its body is read.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, StatusCode, header};
use rand::TryRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is empty")]
    Empty,
    #[error("a token may hold only visible ASCII characters (no spaces or control characters)")]
    NotVisibleAscii,
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
}

/// A bearer token. Surrounding whitespace (a file's final newline) is not part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Zeroizing<String>);

impl Token {
    pub fn new(text: &str) -> Result<Self, TokenError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(TokenError::Empty);
        }
        // What an HTTP header carries unchanged: a token that cannot be sent must fail at start-up, not at
        // the first request.
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotVisibleAscii);
        }
        Ok(Self(Zeroizing::new(t.to_owned())))
    }

    /// A fresh token: 32 bytes from the OS CSPRNG, hex (as the operator generates them).
    pub fn generate() -> Result<Self, TokenError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::SysRng.try_fill_bytes(&mut bytes[..]).map_err(|e| TokenError::Rng(e.to_string()))?;
        Ok(Self(Zeroizing::new(hex::encode(&bytes[..]))))
    }

    /// The token itself, to write into a file or a header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The `Authorization` header value: `Bearer <token>`.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.expose())
    }

    fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// How a server's write endpoints are guarded. There is no default: an open endpoint must be asked for by
/// name (`--insecure-no-auth`, loopback only, for tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceAuth {
    /// Every guarded request must carry `Authorization: Bearer <token>`.
    Token(Token),
    /// No authentication: anything that reaches the port may write.
    InsecureNoAuth,
}

impl ServiceAuth {
    /// Whether `headers` carry what this guard asks for. The digests of the expected and the presented
    /// token are compared in constant time.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Self::Token(expected) = self else { return true };
        let Some(given) = bearer(headers) else { return false };
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(given.ct_eq(&expected.digest()))
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The refusal: 401, `WWW-Authenticate: Bearer`, and `{"error": {"code": "unauthorized", "message"}}`.
pub fn unauthorized() -> Response {
    let body = serde_json::json!({
        "error": {
            "code": "unauthorized",
            "message": "this endpoint needs the election's internal token (Authorization: Bearer ...)",
        }
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    headers.insert(header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer realm=\"urna\""));
    // The refusal comes before the body is read, so the server drops the connection after it; saying so keeps
    // a client's pool from sending its next request down a socket that is closing.
    headers.insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}

/// axum middleware (`middleware::from_fn_with_state(auth, require)`, as a `route_layer`): refuses a request
/// that [`ServiceAuth::admits`] does not, before its body is read.
pub async fn require(State(auth): State<ServiceAuth>, request: Request, next: Next) -> Response {
    if auth.admits(request.headers()) { next.run(request).await } else { unauthorized() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn tokens_are_trimmed_checked_and_never_printed() -> Result<(), TokenError> {
        let t = Token::new(" s3cret\n")?;
        assert_eq!(t.expose(), "s3cret");
        assert_eq!(format!("{t:?}"), "Token(..)");
        assert!(matches!(Token::new(" \n"), Err(TokenError::Empty)));
        assert!(matches!(Token::new("two words"), Err(TokenError::NotVisibleAscii)));
        let (a, b) = (Token::generate()?, Token::generate()?);
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b, "two draws from the CSPRNG differ");
        Ok(())
    }

    #[test]
    fn only_the_exact_token_is_admitted() -> Result<(), TokenError> {
        let auth = ServiceAuth::Token(Token::new("s3cret")?);
        assert!(auth.admits(&headers("Bearer s3cret")));
        assert!(auth.admits(&headers("bearer s3cret")));
        for wrong in ["Bearer s3cre", "Bearer s3cret2", "Bearer ", "Basic s3cret", "s3cret", "Bearer S3CRET"] {
            assert!(!auth.admits(&headers(wrong)), "{wrong:?}");
        }
        assert!(!auth.admits(&HeaderMap::new()));
        assert!(ServiceAuth::InsecureNoAuth.admits(&HeaderMap::new()));
        Ok(())
    }

    #[test]
    fn the_refusal_is_a_json_401() {
        let r = unauthorized();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(r.headers()[header::CONNECTION], "close", "the unread body ends the connection");
    }
}
