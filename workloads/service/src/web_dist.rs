//! A web page's build (a Vite `dist/` directory) compiled into the binary and served with the same security
//! headers wherever it is: the voter app in the vote service, the results site in `urna site`, the operations dashboard in the fleet
//! monitor. The builds are
//! committed as generated files (`.ci/run` checks that a fresh `npm run build` reproduces them byte for byte)
//! and use fixed file names, so every file is served with `no-cache`: a browser revalidates and never mixes
//! two versions of a page.

use std::path::Path;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The files of a build, each `(path under dist/, content type, bytes)`; [`embed_dist!`] writes the list.
pub type Files = &'static [(&'static str, &'static str, &'static [u8])];

/// `embed_dist!(NAME, "web/app/dist", { "index.html" => "text/html; charset=utf-8", ... })`: a `const NAME:`
/// [`Files`] with each file's bytes included from the directory (relative to the workspace root, resolved from
/// the calling crate's manifest two levels down). `index.html` comes first.
#[macro_export]
macro_rules! embed_dist {
    ($name:ident, $dir:literal, { $($path:literal => $mime:literal),* $(,)? }) => {
        /// Every file of the build: its path under `dist/`, content type and bytes.
        pub const $name: $crate::web_dist::Files = &[
            $(($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../", $dir, "/", $path))),)*
        ];
    };
}

/// The embedded file at `path` (exactly as listed: no path resolution, so `..` finds nothing), with `csp` and
/// the headers every page gets; `None` when the build has no such file, or when `csp` is no valid header value
/// (a page is never served without its policy).
pub fn file(files: Files, csp: &str, path: &str) -> Option<Response> {
    let (_, mime, bytes) = files.iter().find(|(p, _, _)| *p == path)?;
    let csp = HeaderValue::from_str(csp).ok()?;
    let mut r = (*bytes).into_response();
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Some(r)
}

/// What differs between `files` and the build directory `dist` (a file built and not embedded, or embedded and
/// no longer built), and every embedded file other than `index.html` that the page does not reference, unless
/// `loaded_by_script` says a script loads it: empty when the binary serves exactly the build. For each page's
/// test, so a build that adds or renames a file cannot ship a broken page.
pub fn mismatches(files: Files, dist: &Path, loaded_by_script: impl Fn(&str) -> bool) -> std::io::Result<Vec<String>> {
    let mut on_disk = Vec::new();
    listing(dist, "", &mut on_disk)?;
    let embedded: Vec<&str> = files.iter().map(|(p, _, _)| *p).collect();
    let mut problems: Vec<String> = on_disk
        .iter()
        .filter(|f| !embedded.contains(&f.as_str()))
        .map(|f| format!("{f}: built but not embedded"))
        .chain(embedded.iter().filter(|f| !on_disk.iter().any(|d| d == *f)).map(|f| format!("{f}: not in the build")))
        .collect();
    let html = files.iter().find(|(p, _, _)| *p == "index.html").map_or(&b""[..], |(_, _, b)| b);
    let html = String::from_utf8_lossy(html);
    for path in embedded.iter().filter(|p| **p != "index.html") {
        if !html.contains(&format!("./{path}")) && !loaded_by_script(path) {
            problems.push(format!("{path}: not referenced by index.html"));
        }
    }
    Ok(problems)
}

fn listing(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            listing(&entry.path(), &format!("{name}/"), out)?;
        } else {
            out.push(name);
        }
    }
    Ok(())
}
