//! Status writes: server-side apply of only the fields the operator owns, and only when they changed
//! (the workloads own the other status fields under their own field managers).

use kube::api::{Api, Patch};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Context;
use super::conditions::{self, Desired, PAUSED};
use crate::error::Result;
use crate::meta;

/// True when every field of `owned` already has that value in `current` (the object's status as JSON).
pub fn unchanged(current: &Value, owned: &Value) -> bool {
    match owned.as_object() {
        Some(fields) => {
            fields.iter().all(|(k, v)| current.get(k) == Some(v) || (v.is_null() && current.get(k).is_none()))
        }
        None => false,
    }
}

/// Applies `owned` to the status subresource of `name` unless unchanged; returns whether it was sent.
pub async fn apply<K>(api: &Api<K>, name: &str, current: Option<&impl serde::Serialize>, owned: Value) -> Result<bool>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let current = match current {
        Some(c) => serde_json::to_value(c)?,
        None => json!({}),
    };
    if unchanged(&current, &owned) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": strip_nulls(owned),
    });
    api.patch_status(name, &super::apply::params(), &Patch::Apply(&body)).await?;
    Ok(true)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// Paused: write nothing but the Paused condition (keeping the others as they are).
pub async fn paused<K>(api: &Api<K>, obj: &K, ctx: &Context) -> Result<Action>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let value = serde_json::to_value(obj)?;
    let current = value.get("status").cloned().unwrap_or(json!({}));
    let existing: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> =
        serde_json::from_value(current.get("conditions").cloned().unwrap_or(json!([]))).unwrap_or_default();
    let mut conds: Vec<_> = existing.iter().filter(|c| c.type_ != PAUSED).cloned().collect();
    let desired = [Desired::new(PAUSED, true, "Paused", format!("{} is set to paused", meta::ANNOTATION_RECONCILE))];
    conds.extend(conditions::merge(&existing, &desired, obj.meta().generation, ctx.now()));
    if apply(api, &obj.name_any(), Some(&current), json!({ "conditions": conds })).await? {
        ctx.event(obj, EventType::Normal, "Paused", "Reconcile", "reconciliation paused by annotation").await;
    }
    Ok(Action::await_change())
}
