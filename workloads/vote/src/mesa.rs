//! Mesas (polling boards) and their booths, for the booth modality (DOMAIN "Booth vote").
//!
//! A booth ballot is authorized by two things the booth cannot forge and the voter never hands over:
//! - the **mesa session**: a mesa member admits the voter at the mesa console (`POST
//!   /v1/mesas/{mesa}/admissions`, bearer = the mesa's console token), which uses that voter's single right
//!   and adds one to the mesa's admission count;
//! - the **device identity**: the broker proved the booth's X.509 identity and confined it to its own topics,
//!   and the bridge (`POST /v1/booth/ballots`, bearer = the bridge token) passes that device id on; the
//!   device belongs to exactly one mesa.
//!
//! A booth ballot is recorded only while its mesa has more admissions than recorded booth ballots, so
//! booth ballots never outnumber admitted voters, mesa by mesa; the booth never learns or sends who voted.
//!
//! The mesas file ([`crate::mesa_file`]) lists each Mesa's booths, console token digest and members; the
//! members (the Mesa resource's members and their Ed25519 keys) verify the mesa's signed actas
//! ([`crate::acta`]); a mesa without members can admit voters but have no acta accepted.

use std::collections::HashMap;
use std::path::Path;

use subtle::ConstantTimeEq;
use urna_ballot::ElectionManifest;

use crate::acta::Member;
use crate::error::VoteError;
use crate::mesa_file::{Mesa, MesasFile, token_sha256};

/// The mesas a vote service serves, by id and by booth device id.
#[derive(Debug, Clone, Default)]
pub struct MesaRegistry {
    mesas: HashMap<String, Mesa>,
    by_device: HashMap<String, String>,
    /// Each mesa's members with their keys parsed, by mesa id.
    members: HashMap<String, Vec<Member>>,
}

impl MesaRegistry {
    /// Checks the mesas against the manifest: unique ids, leaf districts, each booth in one mesa, unique
    /// member ids, member keys that parse.
    pub fn new(mesas: Vec<Mesa>, manifest: &ElectionManifest) -> Result<Self, VoteError> {
        let bad = |m: &str| VoteError::Config(format!("mesas: {m}"));
        let mut out = Self::default();
        for mesa in mesas {
            if mesa.id.is_empty() || mesa.id.len() > 128 {
                return Err(bad("a mesa id must have 1 to 128 characters"));
            }
            let Some(d) = manifest.districts.iter().find(|d| d.id == mesa.district) else {
                return Err(bad(&format!("mesa {}: district {:?} is not in the manifest", mesa.id, mesa.district)));
            };
            if !urna_ballot::Districts::new(&manifest.districts).is_leaf(&d.id) {
                return Err(bad(&format!(
                    "mesa {}: district {:?} has sub-districts; a mesa belongs to a leaf district",
                    mesa.id, mesa.district
                )));
            }
            let mut ids: Vec<&str> = mesa.members.iter().map(|m| m.id.as_str()).collect();
            ids.sort_unstable();
            if ids.windows(2).any(|w| w[0] == w[1]) {
                return Err(bad(&format!("mesa {}: a member id appears twice", mesa.id)));
            }
            let members = mesa
                .members
                .iter()
                .map(|m| m.parse().map_err(|e| bad(&format!("mesa {}: member {}: {e}", mesa.id, m.id))))
                .collect::<Result<Vec<_>, _>>()?;
            for booth in &mesa.booths {
                if let Some(other) = out.by_device.insert(booth.clone(), mesa.id.clone()) {
                    return Err(bad(&format!("booth {booth:?} is in mesa {other} and mesa {}", mesa.id)));
                }
            }
            let id = mesa.id.clone();
            out.members.insert(id.clone(), members);
            if out.mesas.insert(id.clone(), mesa).is_some() {
                return Err(bad(&format!("mesa {id} appears twice")));
            }
        }
        Ok(out)
    }

    pub fn load(path: &Path, manifest: &ElectionManifest) -> Result<Self, VoteError> {
        let text = std::fs::read(path)
            .map_err(|e| VoteError::Config(format!("reading mesas file {}: {e}", path.display())))?;
        let file: MesasFile = serde_json::from_slice(&text)
            .map_err(|e| VoteError::Config(format!("mesas file {}: {e}", path.display())))?;
        Self::new(file.mesas, manifest)
    }

    pub fn is_empty(&self) -> bool {
        self.mesas.is_empty()
    }

    /// Every mesa, by id.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.mesas.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub fn get(&self, mesa: &str) -> Option<&Mesa> {
        self.mesas.get(mesa)
    }

    /// The members of `mesa` whose signatures count on its actas (none for an unknown mesa).
    pub fn members(&self, mesa: &str) -> &[Member] {
        self.members.get(mesa).map_or(&[], Vec::as_slice)
    }

    /// The mesa a booth belongs to.
    pub fn of_device(&self, device: &str) -> Option<&Mesa> {
        self.by_device.get(device).and_then(|m| self.mesas.get(m))
    }

    /// The mesa if `token` is its console token (compared in constant time).
    pub fn authenticate(&self, mesa: &str, token: &str) -> Option<&Mesa> {
        let m = self.mesas.get(mesa)?;
        bool::from(token_sha256(token).ct_eq(&m.token_sha256)).then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> ElectionManifest {
        let district = |id: &str, parent: Option<&str>| urna_ballot::District {
            id: id.into(),
            name: id.into(),
            parent: parent.map(str::to_owned),
        };
        ElectionManifest {
            election_id: "e".into(),
            title: "t".into(),
            districts: vec![district("root", None), district("a", Some("root"))],
            contests: vec![],
            slot_bits: urna_ballot::manifest::DEFAULT_SLOT_BITS,
        }
    }

    fn mesa(id: &str, district: &str, booths: &[&str]) -> Mesa {
        Mesa {
            id: id.into(),
            district: district.into(),
            token_sha256: token_sha256(&format!("token-{id}")),
            booths: booths.iter().map(|b| (*b).to_owned()).collect(),
            members: vec![],
        }
    }

    #[test]
    fn finds_mesas_by_device_and_token() -> Result<(), VoteError> {
        let r = MesaRegistry::new(vec![mesa("m1", "a", &["b1", "b2"]), mesa("m2", "a", &["b3"])], &manifest())?;
        assert_eq!(r.of_device("b2").map(|m| m.id.as_str()), Some("m1"));
        assert!(r.of_device("b9").is_none());
        assert!(r.authenticate("m2", "token-m2").is_some());
        assert!(r.authenticate("m2", "token-m1").is_none());
        assert!(r.authenticate("m3", "token-m3").is_none());
        Ok(())
    }

    #[test]
    fn refuses_unknown_or_inner_districts_and_shared_booths() {
        let err = |mesas| MesaRegistry::new(mesas, &manifest()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(vec![mesa("m1", "zz", &[])]).contains("district \"zz\" is not in the manifest"));
        assert!(err(vec![mesa("m1", "root", &[])]).contains("has sub-districts"));
        assert!(err(vec![mesa("m1", "a", &["b1"]), mesa("m2", "a", &["b1"])]).contains("booth \"b1\" is in mesa m1"));
        assert!(err(vec![mesa("m1", "a", &[]), mesa("m1", "a", &[])]).contains("mesa m1 appears twice"));
        let member = |key: &str| crate::mesa_file::DeclaredMember {
            id: "ana".into(),
            public_key: key.into(),
            role: crate::acta::Role::President,
        };
        let keyed = |key: &str| Mesa { members: vec![member(key)], ..mesa("m1", "a", &[]) };
        assert!(err(vec![keyed("zz")]).contains("mesa m1: member ana: public key"));
        let r = MesaRegistry::new(vec![keyed(&"ab".repeat(32))], &manifest()).ok();
        assert_eq!(r.map(|r| r.members("m1")[0].public_key), Some([0xab; 32]));
    }
}
