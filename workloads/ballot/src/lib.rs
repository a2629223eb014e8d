//! Urna's ballot layer: the election manifest, the deterministic choice numbering, ballot encoding into
//! Paillier plaintexts (with chunking when a contest does not fit one), whole-ballot encryption with validity
//! proofs, and decoding decrypted totals back to per-choice counts (PROTOCOL §2–3).

pub mod anon;
pub mod challenge;
pub mod choices;
mod codec;
mod decode;
pub mod districts;
mod encrypted;
pub mod error;
mod hash;
pub mod layout;
pub mod manifest;
mod selection;
mod statements;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod validate;
pub mod weeding;

pub use anon::{AnonId, anon_id};
pub use challenge::{ChallengeReport, ChallengedBallot, check_challenge};
pub use codec::{BallotCodec, ContestCodec, write_in_name, write_in_plaintext};
pub use decode::{ChoiceCount, ContestResult};
pub use districts::Districts;
pub use encrypted::{EncryptedBallot, EncryptedContest, EncryptedWriteIn};
pub use error::{BallotError, Result};
pub use hash::manifest_hash;
pub use manifest::{Coalition, Contest, ContestKind, ContestOption, District, ElectionManifest, Party};
pub use selection::{MAX_WRITE_IN_BYTES, Selection};
pub use validate::validate_manifest;

/// The contests on the ballot of a voter in `district`: those declared for the district or any ancestor.
pub fn contests_for_district<'a>(m: &'a ElectionManifest, district: &str) -> Vec<&'a Contest> {
    let chain = Districts::new(&m.districts).self_and_ancestors(district);
    m.contests.iter().filter(|c| c.districts.iter().any(|d| chain.contains(&d.as_str()))).collect()
}
