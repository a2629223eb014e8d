//! The results site's page (web/site), compiled into the binary as the voter app is ([`urna_service::web_dist`]);
//! `embedded_files_are_the_dist_directory` checks that this list names every file of the build.

use axum::response::Response;
use urna_service::embed_dist;

embed_dist!(FILES, "web/site/dist", {
    "index.html" => "text/html; charset=utf-8",
    "assets/site.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
});

/// Only this origin's scripts, styles and data; no framing, no inline script. Chart.js sizes its canvas through
/// the CSSOM, which `style-src 'self'` allows.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The embedded file at `path` with its security headers, or `None`.
pub fn file(path: &str) -> Option<Response> {
    urna_service::web_dist::file(FILES, CSP, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::header;

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken site.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/site/dist");
        let problems = urna_service::web_dist::mismatches(FILES, &dist, |_| false).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn serves_the_page_with_a_strict_policy_and_nothing_else() {
        let page = file("index.html").unwrap();
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        assert!(file("assets/site.js").is_some());
        assert!(file("../Cargo.toml").is_none());
        assert!(file("assets/../index.html").is_none());
    }
}
