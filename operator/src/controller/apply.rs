//! Server-side apply of child objects under one field manager, skipping bodies identical to the last
//! applied: a steady-state reconcile sends no writes. The cache entries expire, so drift (someone editing or
//! deleting a child) is corrected at least every [`REAPPLY_AFTER`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use sha2::{Digest, Sha256};

use crate::build::Child;
use crate::error::Result;
use crate::workload::FIELD_MANAGER;

pub const REAPPLY_AFTER: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct AppliedCache {
    entries: Mutex<HashMap<String, ([u8; 32], Instant)>>,
}

impl AppliedCache {
    fn fresh(&self, key: &str, digest: &[u8; 32]) -> bool {
        self.entries
            .lock()
            .map(|m| m.get(key).is_some_and(|(d, at)| d == digest && at.elapsed() < REAPPLY_AFTER))
            .unwrap_or(false)
    }

    fn record(&self, key: String, digest: [u8; 32]) {
        if let Ok(mut m) = self.entries.lock() {
            m.insert(key, (digest, Instant::now()));
        }
    }

    /// Forgets everything under a parent (after its deletion, or when it is paused and resumed).
    pub fn forget_prefix(&self, prefix: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.retain(|k, _| !k.starts_with(prefix));
        }
    }
}

pub fn api_resource(child: &Child) -> ApiResource {
    let (group, version) = child.api_version.rsplit_once('/').unwrap_or(("", child.api_version.as_str()));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &child.kind))
}

pub fn params() -> PatchParams {
    // force: the operator is the only intended owner of the fields it sets on its children.
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Applies each child unless unchanged since the last apply; returns how many were sent.
pub async fn apply_all(
    client: &Client,
    cache: &AppliedCache,
    ns: &str,
    owner: &str,
    children: &[Child],
) -> Result<usize> {
    let mut sent = 0;
    for child in children {
        let body = serde_json::to_vec(&child.body)?;
        let digest: [u8; 32] = Sha256::digest(&body).into();
        let key = format!("{owner}|{ns}/{}", child.id());
        if cache.fresh(&key, &digest) {
            continue;
        }
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource(child));
        api.patch(&child.name, &params(), &Patch::Apply(&child.body)).await?;
        cache.record(key, digest);
        sent += 1;
    }
    Ok(sent)
}
