//! Reading resources from a directory of YAML files: the examples, and what `urna local <dir>` runs.

use std::path::Path;

use serde::Deserialize;

use crate::crd::{BoothFleet, Election, Mesa, TallyShard};
use crate::error::{Error, Result};

/// Every Urna resource found in a directory.
#[derive(Debug, Clone, Default)]
pub struct ExampleSet {
    pub elections: Vec<Election>,
    pub mesas: Vec<Mesa>,
    pub fleets: Vec<BoothFleet>,
    pub shards: Vec<TallyShard>,
    /// Other objects (ConfigMaps holding a census, Namespaces...), as read.
    pub others: Vec<serde_json::Value>,
}

impl ExampleSet {
    pub fn len(&self) -> usize {
        self.elections.len() + self.mesas.len() + self.fleets.len() + self.shards.len() + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parses one (multi-document) YAML text; `origin` names it in errors.
    pub fn add_yaml(&mut self, origin: &str, text: &str) -> Result<()> {
        let yaml_err = |source| Error::Yaml { path: origin.to_owned(), source };
        for (n, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
            let yaml = serde_yaml::Value::deserialize(doc).map_err(yaml_err)?;
            if yaml.is_null() {
                continue;
            }
            if let Some(bad) = non_string_key(&yaml, "") {
                return Err(Error::InvalidSpec(format!(
                    "{origin}: document {}: {bad}: kubectl, Helm and Argo CD refuse a map key that is not a \
                     string (quote it, e.g. \"null\": true)",
                    n + 1
                )));
            }
            let value = serde_json::to_value(&yaml).map_err(|e| Error::InvalidSpec(format!("{origin}: {e}")))?;
            let is_urna = value["apiVersion"].as_str().is_some_and(|v| v.starts_with("urna.dev/"));
            let kind = value["kind"].as_str().unwrap_or_default().to_owned();
            let typed = |e: serde_json::Error| Error::InvalidSpec(format!("{origin}: {kind}: {e}"));
            match (is_urna, kind.as_str()) {
                (true, "Election") => self.elections.push(serde_json::from_value(value).map_err(typed)?),
                (true, "Mesa") => self.mesas.push(serde_json::from_value(value).map_err(typed)?),
                (true, "BoothFleet") => self.fleets.push(serde_json::from_value(value).map_err(typed)?),
                (true, "TallyShard") => self.shards.push(serde_json::from_value(value).map_err(typed)?),
                (true, other) => {
                    return Err(Error::InvalidSpec(format!("{origin}: unknown urna.dev kind {other:?}")));
                }
                _ => self.others.push(value),
            }
        }
        Ok(())
    }

    /// Validates every resource, each Mesa and TallyShard against its Election when present.
    pub fn validate(&self) -> Result<()> {
        let election = |name: &str| self.elections.iter().find(|e| e.metadata.name.as_deref() == Some(name));
        for e in &self.elections {
            crate::validate::election(e)?;
        }
        for m in &self.mesas {
            crate::validate::mesa(m, election(&m.spec.election))?;
        }
        for f in &self.fleets {
            crate::validate::boothfleet(f)?;
        }
        for s in &self.shards {
            crate::validate::tallyshard(s, election(&s.spec.election))?;
        }
        Ok(())
    }
}

/// The first map key that is not a string, with its path. kubectl and Helm convert YAML to JSON with
/// sigs.k8s.io/yaml, which refuses a `null` key ("unsupported map key of type <nil>") and turns `true` or `1`
/// into strings; serde_yaml would read all of them, so a file this loader accepted could still be refused by
/// `kubectl apply`. Refusing every non-string key keeps the two readers in agreement.
fn non_string_key(v: &serde_yaml::Value, path: &str) -> Option<String> {
    match v {
        serde_yaml::Value::Mapping(m) => m.iter().find_map(|(k, child)| match k {
            serde_yaml::Value::String(s) => non_string_key(child, &format!("{path}.{s}")),
            other => {
                let shown = serde_yaml::to_string(other).map(|s| s.trim().to_owned()).unwrap_or_default();
                Some(format!("key `{shown}` under `{}` is not a string", if path.is_empty() { "." } else { path }))
            }
        }),
        serde_yaml::Value::Sequence(items) => {
            items.iter().enumerate().find_map(|(i, child)| non_string_key(child, &format!("{path}[{i}]")))
        }
        serde_yaml::Value::Tagged(t) => non_string_key(&t.value, path),
        _ => None,
    }
}

/// All resources in the `.yaml`/`.yml` files of `dir` (not recursive), files in name order.
pub fn load_dir(dir: impl AsRef<Path>) -> Result<ExampleSet> {
    let dir = dir.as_ref();
    let io = |path: &Path, source| Error::Io { path: path.display().to_string(), source };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    let mut set = ExampleSet::default();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
        set.add_yaml(&p.display().to_string(), &text)?;
    }
    Ok(set)
}

/// The municipal example as a unit test reads it.
#[cfg(test)]
pub(crate) fn municipal() -> ExampleSet {
    load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/municipal")).unwrap_or_else(|e| panic!("example: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_kubectl_refuses_is_refused_with_its_path() {
        let mut set = ExampleSet::default();
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: urna.dev/v1alpha1\n\
                    kind: Election\nspec:\n  contests:\n    - id: a\n      null: true\n";
        let err = set.add_yaml("e.yaml", text).expect_err("a null key must be refused").to_string();
        assert!(err.contains("e.yaml: document 2"), "{err}");
        assert!(err.contains("key `null` under `.spec.contests[0]`"), "{err}");
        assert!(err.contains("quote it"), "{err}");
        for key in ["true", "1", "~"] {
            let err = ExampleSet::default().add_yaml("k.yaml", &format!("a:\n  {key}: x\n")).expect_err(key);
            assert!(err.to_string().contains("is not a string"), "{key}: {err}");
        }
        // Quoted, the same key is an ordinary string.
        ExampleSet::default()
            .add_yaml("q.yaml", "apiVersion: v1\nkind: ConfigMap\ndata:\n  \"null\": x\n")
            .expect("quoted");
    }
}
