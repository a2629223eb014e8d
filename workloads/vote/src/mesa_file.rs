//! The mesas file (`urna vote --mesas FILE`, `urna capture serve --mesas FILE`): which Mesas a booth vote
//! service serves, their booths, console token digests and acta signers. Defined once here, without the
//! server, for the operator that writes it and the services that read it ([`crate::mesa::MesaRegistry`]).
//!
//! ```json
//! {"mesas": [{"booths": ["centro-1-b1"], "district": "centro", "id": "centro-1",
//!             "members": [{"id": "ana", "publicKey": "<64 hex or PEM>", "role": "president"}],
//!             "tokenSha256": "<64 hex: SHA-256 of the console token>"}]}
//! ```
//!
//! Fields are declared in alphabetical order: the operator wrote this file as sorted JSON objects before
//! these types existed, and its hash is in the booth vote pod's template, so another order would roll it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::acta::{self, Role};

/// The whole file. Written by the operator (`build::booth_vote::mesas_file`, the `<election>-mesas`
/// ConfigMap) and by tests; read by the booth vote service and PREP's capture service
/// ([`crate::mesa::MesaRegistry::load`]) and by `urna mesa acta verify --mesas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MesasFile {
    pub mesas: Vec<Mesa>,
}

/// One Mesa of the mesas file. Written by the operator from a Mesa resource (and by `urna local` for its
/// own fleet); read by the booth vote service, which checks it against the manifest
/// ([`crate::mesa::MesaRegistry::new`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mesa {
    /// Device ids of the booths that belong to the Mesa.
    pub booths: Vec<String>,
    /// The district whose ballot the mesa's booths cast (a leaf district of the manifest).
    pub district: String,
    pub id: String,
    /// The members who sign the mesa's actas, with their public keys.
    #[serde(default)]
    pub members: Vec<DeclaredMember>,
    #[serde(with = "hex::serde")]
    pub token_sha256: [u8; 32],
}

/// A Mesa member as the Mesa resource declares them (`spec.members[]`). Written by the operator, key text
/// as given; read by the booth vote service, which parses the key ([`DeclaredMember::parse`]) when it loads
/// the file, so a key keeps the spelling its Mesa declared (hex or PEM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredMember {
    pub id: String,
    /// Ed25519 public key: 64 hex characters or a PEM `PUBLIC KEY` block ([`acta::parse_public_key`]).
    pub public_key: String,
    pub role: Role,
}

impl DeclaredMember {
    /// The member whose signatures on actas are verified, or what is wrong with the declared key.
    pub fn parse(&self) -> Result<acta::Member, String> {
        let public_key = acta::parse_public_key(&self.public_key)?;
        Ok(acta::Member { id: self.id.clone(), role: self.role, public_key })
    }
}

/// SHA-256 of a console token, as the mesas file carries it.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
