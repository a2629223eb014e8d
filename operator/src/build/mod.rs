//! Desired state as pure functions: a resource in, the child objects it needs out. No client, no clock
//! (the few inputs that depend on the world, such as the current phase, are arguments), so every example
//! has a snapshot of exactly what the operator would apply.

pub mod booth_vote;
pub mod boothfleet;
pub mod election;
pub mod mesa;
pub mod pod;
pub mod record;
pub mod site;
pub mod tallyshard;

use kube::Resource;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Operator-wide defaults the builders need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub image: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Self { image: crate::workload::DEFAULT_IMAGE.into() }
    }
}

/// One object to server-side apply: its type, identity and full body (with apiVersion and kind).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Child {
    #[serde(skip)]
    pub api_version: String,
    #[serde(skip)]
    pub kind: String,
    #[serde(skip)]
    pub name: String,
    #[serde(flatten)]
    pub body: Value,
}

impl Child {
    pub fn new<K>(obj: &K) -> Result<Self>
    where
        K: Resource<DynamicType = ()> + Serialize,
    {
        let mut body = serde_json::to_value(obj)?;
        // k8s-openapi and kube-derive types serialize apiVersion and kind already; be explicit anyway, since
        // server-side apply requires both.
        body["apiVersion"] = K::api_version(&()).into();
        body["kind"] = K::kind(&()).into();
        Self::from_value(body)
    }

    /// A child of a type without Rust bindings (cert-manager's Certificate).
    pub fn from_value(body: Value) -> Result<Self> {
        let field = |f: &'static str| -> Result<String> {
            let v = if f == "name" { &body["metadata"]["name"] } else { &body[f] };
            v.as_str().map(str::to_owned).ok_or(Error::MissingField(f))
        };
        Ok(Self { api_version: field("apiVersion")?, kind: field("kind")?, name: field("name")?, body })
    }

    /// `Kind/name`, for logs, events and the apply cache.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}
