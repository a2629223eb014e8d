//! The results site's page (web/site), compiled into the binary as the voter app is (workloads/vote/src/app.rs):
//! its build (`web/site/dist`) is committed, `.ci/run` checks that a fresh `npm run build` reproduces it byte
//! for byte, and `embedded_files_are_the_dist_directory` that this list names every file of the build. Fixed
//! file names, so everything is served with `no-cache`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

macro_rules! dist {
    ($($path:literal => $mime:literal),* $(,)?) => {
        /// Every file of the build: its path under `dist/`, content type and bytes.
        pub const FILES: &[(&str, &str, &[u8])] = &[
            $(($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/site/dist/", $path))),)*
        ];
    };
}

dist! {
    "index.html" => "text/html; charset=utf-8",
    "assets/site.js" => "text/javascript; charset=utf-8",
    "assets/index.css" => "text/css; charset=utf-8",
}

/// Only this origin's scripts, styles and data; no framing, no inline script. Chart.js sizes its canvas through
/// the CSSOM, which `style-src 'self'` allows.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The embedded file at `path` with its security headers, or `None`.
pub fn file(path: &str) -> Option<Response> {
    let (_, mime, bytes) = FILES.iter().find(|(p, _, _)| *p == path)?;
    let mut r = (*bytes).into_response();
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Some(r)
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

    /// A build that adds or renames a file must be listed here, or the binary would serve a broken site.
    #[test]
    fn embedded_files_are_the_dist_directory() {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/site/dist");
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
    fn serves_the_page_with_a_strict_policy_and_nothing_else() {
        let page = file("index.html").unwrap();
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        assert!(file("assets/site.js").is_some());
        assert!(file("../Cargo.toml").is_none());
        assert!(file("assets/../index.html").is_none());
    }
}
