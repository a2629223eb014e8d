//! The mesa console (web/console), served at `/mesa/` by a booth vote service that serves mesas (`--mesas`);
//! elsewhere `/mesa/` answers `404 booth_disabled` as the console API does. A mesa member signs in with the
//! mesa id and its console token, and the page uses only the console API (`/v1/mesas/{mesa}/...`, see
//! [`crate::mesa`] and [`crate::actas`]), so every check stays the service's. Its build (`web/console/dist`)
//! is compiled into the binary ([`urna_service::web_dist`]); the test `embedded_files_are_the_dist_directory`
//! checks that this list names every file of the build.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use urna_service::embed_dist;

use crate::error::ApiError;

embed_dist!(FILES, "web/console/dist", {
    "index.html" => "text/html; charset=utf-8",
    "assets/console.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
});

/// Only this origin's scripts, styles and API; no framing, no inline script, no worker.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

fn file(path: &str) -> Response {
    urna_service::web_dist::file(FILES, CSP, path)
        .unwrap_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response())
}

/// `GET /mesa/`: the console's page.
pub fn page() -> Response {
    file("index.html")
}

/// `GET /mesa/assets/{name}`: its script and styles.
pub fn asset(name: &str) -> Response {
    file(&format!("assets/{name}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::header;

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken console.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/console/dist");
        let problems = urna_service::web_dist::mismatches(FILES, &dist, |_| false).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn serves_the_page_with_a_strict_policy_and_404_for_unknown_assets() {
        let p = page();
        assert_eq!(p.status(), StatusCode::OK);
        assert_eq!(p.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(p.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("connect-src 'self'"));
        assert_eq!(asset("console.js").headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(asset("../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }
}
