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
        for doc in serde_yaml::Deserializer::from_str(text) {
            let value = serde_json::Value::deserialize(doc).map_err(yaml_err)?;
            if value.is_null() {
                continue;
            }
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
