//! The operations dashboard (web/ops), served at `/ops/` on the monitor's port. Its build (`web/ops/dist`)
//! is committed as generated files and compiled into the binary, as the voter app's is
//! ([`urna_service::web_dist`]): `.ci/run` checks that a fresh build reproduces it byte for byte, and the test below
//! that this list names every file of the build.
//!
//! The map needs no internet: boundaries and geofences come from the fleet's resources. A tile server is an
//! option (`urna booth monitor --tiles URL`); its origin is then the one image source allowed besides this one.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::StatusCode;
use urna_service::embed_dist;

embed_dist!(FILES, "web/ops/dist", {
    "index.html" => "text/html; charset=utf-8",
    "assets/ops.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
});

/// The origin (`scheme://host[:port]`) of a tile URL template, if it is an http(s) URL.
pub fn tile_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split('/').next().filter(|h| !h.is_empty() && !h.contains(['{', '}', ' ', '\'', ';']))?;
    Some(format!("{scheme}://{host}"))
}

/// Only this origin's scripts, styles and API (and the tile server's images, when one is configured); no
/// framing, no inline script.
fn csp(tiles: Option<&str>) -> String {
    let img = tiles.and_then(tile_origin).map_or_else(String::new, |o| format!(" {o}"));
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{img}; connect-src 'self'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn file(path: &str, csp: &str) -> Response {
    urna_service::web_dist::file(FILES, csp, path)
        .unwrap_or_else(|| (StatusCode::NOT_FOUND, "not found").into_response())
}

/// `/ops/` (the page) and `/ops/assets/{name}`; `/ops` redirects to `/ops/` so relative URLs resolve.
pub fn router(tiles: Option<String>) -> Router {
    let policy: Arc<str> = csp(tiles.as_deref()).into();
    Router::new()
        .route("/ops", get(|| async { Redirect::permanent("/ops/") }))
        .route("/ops/", get(|State(c): State<Arc<str>>| async move { file("index.html", &c) }))
        .route(
            "/ops/assets/{name}",
            get(|State(c): State<Arc<str>>, Path(name): Path<String>| async move { file(&format!("assets/{name}"), &c) }),
        )
        .with_state(policy)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken dashboard.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/ops/dist");
        let problems = urna_service::web_dist::mismatches(FILES, &dist, |_| false).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_tile_server_is_the_only_other_image_source() {
        assert!(!csp(None).contains("http"));
        assert!(
            csp(Some("https://tiles.example.org/{z}/{x}/{y}.png"))
                .contains("img-src 'self' data: https://tiles.example.org;")
        );
        assert_eq!(tile_origin("javascript:alert(1)"), None);
        assert_eq!(tile_origin("https://a.b; script-src *"), None);
    }
}
