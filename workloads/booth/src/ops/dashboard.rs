//! The operations dashboard (web/ops), served at `/ops/` on the monitor's port. Its build (`web/ops/dist`)
//! is committed as generated files and compiled into the binary, as the voter app's is (see
//! `urna_vote::app`): `.ci/run` checks that a fresh build reproduces it byte for byte, and the test below
//! that this list names every file of the build.
//!
//! The map needs no internet: boundaries and geofences come from the fleet's resources. A tile server is an
//! option (`urna booth monitor --tiles URL`); its origin is then the one image source allowed besides this one.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

macro_rules! dist {
    ($($path:literal => $mime:literal),* $(,)?) => {
        /// Every file of the build: its path under `dist/`, content type and bytes.
        pub const FILES: &[(&str, &str, &[u8])] = &[
            $(($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/ops/dist/", $path))),)*
        ];
    };
}

dist! {
    "index.html" => "text/html; charset=utf-8",
    "assets/ops.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
}

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

fn file(path: &str, tiles: Option<&str>) -> Response {
    let Some((_, mime, bytes)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut r = (*bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&csp(tiles)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// `/ops/` (the page) and `/ops/assets/{name}`; `/ops` redirects to `/ops/` so relative URLs resolve.
pub fn router(tiles: Option<String>) -> Router {
    Router::new()
        .route("/ops", get(|| async { Redirect::permanent("/ops/") }))
        .route("/ops/", get(|State(t): State<Option<String>>| async move { file("index.html", t.as_deref()) }))
        .route(
            "/ops/assets/{name}",
            get(|State(t): State<Option<String>>, Path(name): Path<String>| async move {
                file(&format!("assets/{name}"), t.as_deref())
            }),
        )
        .with_state(tiles)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn listing(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                listing(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken dashboard.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/ops/dist");
        let mut on_disk = Vec::new();
        listing(&dist, "", &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
        let html = std::str::from_utf8(FILES[0].2).unwrap();
        for (path, _, _) in &FILES[1..] {
            assert!(html.contains(&format!("./{path}")), "{path} is not referenced by index.html");
        }
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
