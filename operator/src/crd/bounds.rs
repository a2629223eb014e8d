//! Bounds on every string and list of a spec schema.
//!
//! The apiserver estimates the worst-case cost of each CEL rule from `maxLength` and `maxItems` and rejects a
//! CRD whose rules could exceed the budget. The manifest types come from the ballot crate and carry no
//! Kubernetes bounds, so the generator adds them here, by field name, where the rules need them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{JSONSchemaProps, JSONSchemaPropsOrArray};

/// Identifiers (DNS labels, as `urna_ballot::validate` requires).
const ID_LEN: i64 = 63;
/// Names and titles.
const TEXT_LEN: i64 = 256;

fn list_bound(name: &str) -> i64 {
    match name {
        // Districts a contest appears in (inherited by descendants, so a short list suffices). The bound keeps
        // the contest → district reference rule (contests × these × spec.districts) within the CEL cost budget.
        "districts" => 16,
        "parties" => 64,
        "coalitions" => 16,
        "options" => 256,
        _ => 64,
    }
}

fn string_bound(name: &str) -> i64 {
    match name {
        "id" | "parent" | "districts" | "parties" => ID_LEN,
        _ => TEXT_LEN,
    }
}

/// Bounds `spec` (only: status is written by controllers, not checked by rules).
pub fn bound_spec(root: &mut JSONSchemaProps) {
    if let Some(spec) = root.properties.as_mut().and_then(|p| p.get_mut("spec")) {
        walk(spec, "spec");
    }
}

fn walk(s: &mut JSONSchemaProps, name: &str) {
    match s.type_.as_deref() {
        Some("string") if s.max_length.is_none() && s.enum_.is_none() && s.format.is_none() => {
            s.max_length = Some(string_bound(name));
        }
        Some("array") => {
            if s.max_items.is_none() {
                s.max_items = Some(list_bound(name));
            }
            if let Some(JSONSchemaPropsOrArray::Schema(items)) = s.items.as_mut() {
                walk(items, name);
            }
        }
        _ => {}
    }
    if let Some(props) = s.properties.as_mut() {
        for (k, v) in props.iter_mut() {
            walk(v, k);
        }
    }
}
