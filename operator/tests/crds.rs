//! `crds/` and `charts/urna/crds/` are exactly what the types generate; the CRDs have what kubectl users
//! rely on (printer columns, short names, category, status subresource).

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn committed_crds_match_the_types() {
    let files = urna_operator::crd::files().expect("CRDs serialize");
    assert_eq!(files.len(), 4);
    // `URNA_UPDATE_CRDS=1 cargo test -p urna-operator --test crds` writes them, as crdgen does, without
    // building the crdgen binary's own dependency set.
    if std::env::var_os("URNA_UPDATE_CRDS").is_some() {
        for dir in ["crds", "charts/urna/crds"] {
            for (name, body) in &files {
                std::fs::write(root().join(dir).join(name), body).expect("write CRD");
            }
        }
    }
    for dir in ["crds", "charts/urna/crds"] {
        let mut on_disk: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        expected.sort();
        assert_eq!(on_disk, expected, "{dir} holds other files than the generated CRDs");
        for (name, body) in &files {
            let committed = std::fs::read_to_string(root().join(dir).join(name)).expect("read CRD");
            assert!(
                committed == *body,
                "{dir}/{name} differs from the types: run `cargo run -p urna-operator --bin crdgen`"
            );
        }
    }
}

#[test]
fn crds_have_columns_short_names_category_and_status() {
    for crd in urna_operator::crd::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        assert_eq!(crd.spec.group, "urna.dev");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.names.categories.as_deref(), Some(&["urna".to_string()][..]), "{name}");
        assert!(crd.spec.names.short_names.as_ref().is_some_and(|s| !s.is_empty()), "{name}");
        assert_eq!(
            crd.metadata.annotations.as_ref().and_then(|a| a.get("helm.sh/resource-policy")).map(String::as_str),
            Some("keep")
        );
        let v = &crd.spec.versions[0];
        assert_eq!(v.name, "v1alpha1");
        assert!(v.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(), "{name} has a status subresource");
        let cols: Vec<&str> = v.additional_printer_columns.iter().flatten().map(|c| c.name.as_str()).collect();
        for col in ["Phase", "Ready", "Age"] {
            assert!(cols.contains(&col), "{name} lacks column {col}: {cols:?}");
        }
        let json = serde_json::to_string(&crd).expect("json");
        assert!(json.contains("x-kubernetes-validations") || name.starts_with("boothfleets"), "{name} has CEL rules");
        assert!(!json.contains("\"$ref\""), "{name}: schemas must be inlined");
    }
}

#[test]
fn every_spec_string_and_list_is_bounded() {
    fn walk(v: &serde_json::Value, path: &str, bad: &mut Vec<String>) {
        if let Some(o) = v.as_object() {
            let ty = o.get("type").and_then(|t| t.as_str());
            if ty == Some("string")
                && !o.contains_key("maxLength")
                && !o.contains_key("enum")
                && !o.contains_key("format")
            {
                bad.push(path.to_owned());
            }
            if ty == Some("array") && !o.contains_key("maxItems") {
                bad.push(path.to_owned());
            }
            for (k, child) in o {
                walk(child, &format!("{path}.{k}"), bad);
            }
        }
    }
    for crd in urna_operator::crd::all() {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("json");
        let mut bad = vec![];
        walk(&schema["openAPIV3Schema"]["properties"]["spec"], "spec", &mut bad);
        assert!(bad.is_empty(), "{:?}: unbounded {bad:?}", crd.metadata.name);
    }
}
