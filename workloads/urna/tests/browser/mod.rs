//! What the tests in real headless Chromium share: where the web workspace is, and whether this machine has
//! what they need (Debian's Chromium, node, and playwright-core in web/node_modules).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The web workspace (web/), whose pages' e2e scripts the tests run with node.
pub const WEB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web");

/// What the browser test needs, or why it cannot run.
pub fn browser_tools() -> Result<PathBuf, String> {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !chromium.exists() {
        return Err(format!("no Chromium at {} (apt-get install chromium)", chromium.display()));
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Err("no node on PATH".into()),
    }
    if !Path::new(WEB).join("node_modules/playwright-core").exists() {
        return Err("web/node_modules has no playwright-core (run `npm ci` in web/)".into());
    }
    Ok(chromium)
}
