//! Blocked (revoked) devices: refused at CONNECT, and disconnected at once when blocked while connected.
//!
//! Two sources, blocked if in either: the blocklist file (one device id per line, `#` comments; the
//! durable source, e.g. a ConfigMap rendered from the BoothFleet's blocked devices, re-read on change) and
//! the status API (in memory, for an officer's immediate action; lost on restart unless also in the file).

use std::collections::BTreeSet;
use std::sync::RwLock;

use tokio::sync::watch;

#[derive(Debug, Default)]
struct Sets {
    file: BTreeSet<String>,
    api: BTreeSet<String>,
}

#[derive(Debug)]
pub struct Blocklist {
    sets: RwLock<Sets>,
    /// Bumped on every change; each live session watches it and re-checks its own device.
    generation: watch::Sender<u64>,
}

impl Default for Blocklist {
    fn default() -> Self {
        Self { sets: RwLock::default(), generation: watch::Sender::new(0) }
    }
}

impl Blocklist {
    pub fn is_blocked(&self, device: &str) -> bool {
        let s = self.sets.read().unwrap_or_else(|e| e.into_inner());
        s.file.contains(device) || s.api.contains(device)
    }

    /// Blocks through the API; true if it was not blocked by the API before.
    pub fn block(&self, device: &str) -> bool {
        let added = self.sets.write().unwrap_or_else(|e| e.into_inner()).api.insert(device.to_owned());
        self.bump();
        added
    }

    /// Lifts an API block (a block from the file stays until the file changes).
    pub fn unblock(&self, device: &str) -> bool {
        let removed = self.sets.write().unwrap_or_else(|e| e.into_inner()).api.remove(device);
        self.bump();
        removed
    }

    pub fn set_file(&self, devices: BTreeSet<String>) {
        let mut s = self.sets.write().unwrap_or_else(|e| e.into_inner());
        if s.file != devices {
            s.file = devices;
            drop(s);
            self.bump();
        }
    }

    /// Every blocked device, sorted.
    pub fn list(&self) -> Vec<String> {
        let s = self.sets.read().unwrap_or_else(|e| e.into_inner());
        s.file.union(&s.api).cloned().collect()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }
}

/// The device ids in a blocklist file.
pub fn parse_file(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_api_blocks_combine_and_notify() {
        let b = Blocklist::default();
        let mut rx = b.subscribe();
        b.set_file(parse_file("# blocked by the returning officer\nmesa-1-1\n\n mesa-2-3  # seized\n"));
        assert!(rx.has_changed().unwrap_or(false));
        rx.mark_unchanged();
        assert!(b.is_blocked("mesa-1-1") && b.is_blocked("mesa-2-3"));
        assert!(b.block("mesa-9-9"));
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(b.list(), vec!["mesa-1-1", "mesa-2-3", "mesa-9-9"]);
        assert!(!b.unblock("mesa-1-1"), "file blocks are not lifted by the API");
        assert!(b.is_blocked("mesa-1-1"));
        assert!(b.unblock("mesa-9-9"));
        assert!(!b.is_blocked("mesa-9-9"));
    }
}
