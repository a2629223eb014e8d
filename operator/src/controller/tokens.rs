//! The Election's token Secrets (the internal token of vote → tally and audit; with a booth vote service the
//! bridge token and one console token per Mesa): created once with a fresh token, never rewritten, so a
//! Mesa console provisioned before election day keeps working, the collector and the vote service always
//! share the bridge token, and the vote services, shards and log always share the internal token. Tokens
//! are never logged; only their SHA-256 leaves this module.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use tracing::info;

use super::Context;
use super::secrets::CreateOnce;
use crate::build::booth_vote::{TOKEN_COMPONENT, TokenSecret};
use crate::crd::Election;
use crate::error::{Error, Result};
use crate::meta::{LABEL_COMPONENT, LABEL_ELECTION};
use crate::token;

/// The Election's token Secrets that exist (by their labels).
pub async fn existing(e: &Election, ctx: &Context, ns: &str) -> Result<Vec<Secret>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let selector = format!("{LABEL_ELECTION}={},{LABEL_COMPONENT}={TOKEN_COMPONENT}", e.name_any());
    Ok(api.list(&ListParams::default().labels(&selector)).await?.items)
}

/// Creates the token Secrets of `wanted` missing from `existing` ([`existing`]); returns the hash (hex) of each
/// token a file lists, by its [`TokenSecret::hash_key`] (a Mesa's console token under the Mesa's name).
pub async fn ensure(
    ctx: &Context,
    ns: &str,
    existing: &[Secret],
    wanted: &[TokenSecret],
) -> Result<BTreeMap<String, String>> {
    let mut secrets = CreateOnce::with(Api::namespaced(ctx.client.clone(), ns), existing.to_vec());
    let mut hashes = BTreeMap::new();
    let mut created = BTreeSet::new();
    for want in wanted {
        let name = want.meta.name.clone().unwrap_or_default();
        let (data, new) = secrets.ensure(&want.meta, "Opaque", token::new_secret_data).await?;
        let value = token::from_secret_data(Some(&data)).ok_or_else(|| {
            Error::InvalidSpec(format!("Secret {name} holds no token under key {:?}", crate::workload::TOKEN_KEY))
        })?;
        if new {
            created.insert(name);
        }
        if let Some(key) = &want.hash_key {
            hashes.insert(key.clone(), token::token_sha256(&value));
        }
    }
    if !created.is_empty() {
        info!(created = ?created, "created token Secrets");
    }
    Ok(hashes)
}

/// The election's internal token (Secret `<election>-internal-token`, key `token`): what the operator
/// presents to the vote services, shards and audit log for their writes (close, seal). `None` until the
/// controller has created the Secret.
pub async fn internal_token(ctx: &Context, ns: &str, election: &str) -> Result<Option<urna_auth::Token>> {
    let name = crate::build::election::internal_token_secret(election);
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), ns).get_opt(&name).await?;
    let Some(text) = secret.and_then(|s| token::from_secret_data(s.data.as_ref())) else { return Ok(None) };
    urna_auth::Token::new(&text)
        .map(Some)
        .map_err(|e| Error::InvalidSpec(format!("Secret {name} holds no usable token: {e}")))
}
