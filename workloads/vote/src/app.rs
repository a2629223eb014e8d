//! The voter web app (web/app), served at `/` on the API's own origin. Its build (`web/app/dist`) is compiled
//! into the binary ([`urna_service::web_dist`]), so serving it needs no file and no JavaScript toolchain; the
//! test `embedded_files_are_the_dist_directory` checks that this list names every file of the build.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use urna_service::embed_dist;

use crate::error::ApiError;

embed_dist!(FILES, "web/app/dist", {
    "index.html" => "text/html; charset=utf-8",
    "assets/app.js" => "text/javascript; charset=utf-8",
    "assets/worker.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
});

/// Only this origin's scripts, styles, workers and API; no framing, no inline script. `blob:` is for the
/// receipt and challenge files the voter downloads.
const CSP: &str = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

fn file(path: &str) -> Response {
    urna_service::web_dist::file(FILES, CSP, path)
        .unwrap_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response())
}

/// `GET /`: the app's page.
pub async fn index() -> Response {
    file("index.html")
}

/// `GET /assets/{name}`: its scripts, worker and styles.
pub async fn asset(Path(name): Path<String>) -> Response {
    file(&format!("assets/{name}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::header;

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken app.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/app/dist");
        // The worker is loaded by the app's script, not by the page.
        let problems = urna_service::web_dist::mismatches(FILES, &dist, |p| p.ends_with("worker.js")).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[tokio::test]
    async fn serves_the_page_with_a_strict_policy_and_404_for_unknown_assets() {
        let page = index().await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        let js = asset(Path("app.js".into())).await;
        assert_eq!(js.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(asset(Path("../Cargo.toml".into())).await.status(), StatusCode::NOT_FOUND);
    }
}
