//! Secrets created once and never rewritten (the election's tokens, the fleet CA and its certificates): a
//! token or certificate handed out before election day must stay the one in use, so an existing Secret is
//! read, never replaced, and only a missing one is made.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};

use crate::error::Result;

pub type SecretData = BTreeMap<String, ByteString>;

/// The Secrets already there (of one selector, listed once, or one by name); [`CreateOnce::ensure`] creates
/// the missing ones.
pub struct CreateOnce {
    api: Api<Secret>,
    existing: BTreeMap<String, Secret>,
}

impl CreateOnce {
    pub async fn list(api: Api<Secret>, selector: &str) -> Result<Self> {
        let items = api.list(&ListParams::default().labels(selector)).await?.items;
        Ok(Self::with(api, items))
    }

    /// Over Secrets already read (a controller's dereference stage listed them).
    pub fn with(api: Api<Secret>, existing: Vec<Secret>) -> Self {
        Self { api, existing: existing.into_iter().map(|s| (s.name_any(), s)).collect() }
    }

    /// The one Secret `name`, read with a get (for a Secret no selector gathers with others).
    pub async fn get(api: Api<Secret>, name: &str) -> Result<Self> {
        let existing = api.get_opt(name).await?.map(|s| (s.name_any(), s)).into_iter().collect();
        Ok(Self { api, existing })
    }

    /// The data of the Secret `meta` names: the existing Secret's, or, when it is missing, `make()`'s, stored in
    /// a new Secret of `type_`; `true` when it was created.
    pub async fn ensure(
        &mut self,
        meta: &ObjectMeta,
        type_: &str,
        make: impl FnOnce() -> Result<SecretData>,
    ) -> Result<(SecretData, bool)> {
        let name = meta.name.clone().unwrap_or_default();
        if let Some(s) = self.existing.get(&name) {
            return Ok((s.data.clone().unwrap_or_default(), false));
        }
        let data = make()?;
        let secret = Secret {
            metadata: meta.clone(),
            type_: Some(type_.into()),
            data: Some(data.clone()),
            ..Default::default()
        };
        let pp = PostParams { field_manager: Some(crate::workload::FIELD_MANAGER.into()), ..Default::default() };
        let created = self.api.create(&pp, &secret).await?;
        self.existing.insert(name, created);
        Ok((data, true))
    }
}
