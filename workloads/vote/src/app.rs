//! The voter web app (web/app), served at `/` on the API's own origin. Its build (`web/app/dist`) is committed
//! as generated files and compiled into the binary, so serving it needs no file and no JavaScript toolchain;
//! `.ci/run` checks that a fresh `npm run build` reproduces the committed files byte for byte, and the test
//! `app_assets::embedded_files_are_the_dist_directory` that this list names every file of the build.
//!
//! The build uses fixed file names (web/app/vite.config.ts), so the pages are served with `no-cache`: a
//! browser revalidates them and never mixes two versions of the app.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::error::ApiError;

macro_rules! dist {
    ($($path:literal => $mime:literal),* $(,)?) => {
        /// Every file of the build: its path under `dist/`, content type and bytes.
        pub const FILES: &[(&str, &str, &[u8])] = &[
            $(($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/app/dist/", $path))),)*
        ];
    };
}

dist! {
    "index.html" => "text/html; charset=utf-8",
    "assets/app.js" => "text/javascript; charset=utf-8",
    "assets/worker.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
}

/// Only this origin's scripts, styles, workers and API; no framing, no inline script. `blob:` is for the
/// receipt and challenge files the voter downloads.
const CSP: &str = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

fn file(path: &str) -> Response {
    let Some((_, mime, bytes)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response();
    };
    let mut r = (*bytes).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
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

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken app.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/app/dist");
        let mut on_disk = Vec::new();
        listing(&dist, "", &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
        let html = std::str::from_utf8(FILES[0].2).unwrap();
        for (path, _, _) in &FILES[1..] {
            let referenced = html.contains(&format!("./{path}")) || path.ends_with("worker.js");
            assert!(referenced, "{path} is not referenced by index.html");
        }
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
