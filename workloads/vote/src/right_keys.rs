//! The voting-right keys of this service: one partially blind key pair per ballot style, derived from the
//! service's signing key with the public metadata `(election, modality, ballot style)`
//! ([`urna_crypto::blind::voting_right_info`], docs/protocol.md §5.3). A right issued to a voter of district
//! `d` at a `remote` service verifies only for ballots of style `d` submitted as `remote` ballots of this
//! election, so the ballot box needs no other bookkeeping to refuse a ballot of another constituency or one
//! moved between modalities.
//!
//! Everything is derived once at start-up: `DeriveKeyPair` costs a few modular inversions per style.

use std::collections::HashMap;

use urna_ballot::ElectionManifest;
use urna_crypto::blind::{
    BlindSigningKey, DerivedSigningKey, DerivedVerifyingKey, PreparedMessage, Signature, voting_right_info,
};
use urna_status::Modality;

use crate::error::VoteError;

/// The modalities a vote service can have (`VoteConfig::modality`).
/// At most this many other ballot styles are tried to explain a refused signature: the diagnosis is a courtesy
/// to an honest client, and must not let a bad package cost the service a verification per district.
const MAX_STYLES_DIAGNOSED: usize = 64;

pub struct RightKeys {
    modality: Modality,
    signing: HashMap<String, DerivedSigningKey>,
    /// Verifying keys of the *other* modality, by style: only to name a modality mismatch.
    other_modality: HashMap<String, DerivedVerifyingKey>,
}

/// Why a signature does not verify as a right for this service's modality and the ballot's style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// It is a right for the same style in the other modality.
    Modality(String),
    /// It is a right of this modality for another style.
    BallotStyle(String),
    /// Not a right this service's key made for any of the styles tried.
    Invalid,
}

impl RightKeys {
    /// Derives the keys of every district of `manifest` for `modality`. The key must be made of safe primes
    /// (the draft's requirement for partially blind RSA; `urna voting-key` makes such keys).
    pub fn derive(key: &BlindSigningKey, manifest: &ElectionManifest, modality: Modality) -> Result<Self, VoteError> {
        if !key.has_safe_primes() {
            return Err(VoteError::Config(
                "the voting-right signing key is not made of safe primes, which partially blind signatures require \
                 (make one with `urna voting-key --out FILE`)"
                    .into(),
            ));
        }
        let other = modality.other();
        let mut signing = HashMap::new();
        let mut other_modality = HashMap::new();
        for d in &manifest.districts {
            let info = voting_right_info(&manifest.election_id, modality.as_str(), &d.id);
            let derived = key.derive(&info).map_err(|e| VoteError::Config(format!("voting-right key: {e}")))?;
            signing.insert(d.id.clone(), derived);
            let info = voting_right_info(&manifest.election_id, other.as_str(), &d.id);
            let derived =
                key.verifying_key().derive(&info).map_err(|e| VoteError::Config(format!("voting-right key: {e}")))?;
            other_modality.insert(d.id.clone(), derived);
        }
        Ok(Self { modality, signing, other_modality })
    }

    /// The key that signs rights for ballots of `style` (`None`: not a district of the manifest).
    pub fn signer(&self, style: &str) -> Option<&DerivedSigningKey> {
        self.signing.get(style)
    }

    /// The key that verifies rights for ballots of `style`.
    pub fn verifier(&self, style: &str) -> Option<&DerivedVerifyingKey> {
        self.signing.get(style).map(DerivedSigningKey::verifying_key)
    }

    /// Explains why `sig` is not a right for `style` in this modality (call only after that check failed).
    pub fn diagnose(&self, prepared: &PreparedMessage, sig: &Signature, style: &str) -> Mismatch {
        if self.other_modality.get(style).is_some_and(|k| k.verify(prepared, sig).is_ok()) {
            return Mismatch::Modality(self.modality.other().to_string());
        }
        let mut styles: Vec<&String> = self.signing.keys().filter(|s| s.as_str() != style).collect();
        styles.sort();
        for s in styles.into_iter().take(MAX_STYLES_DIAGNOSED) {
            if self.verifier(s).is_some_and(|k| k.verify(prepared, sig).is_ok()) {
                return Mismatch::BallotStyle(s.clone());
            }
        }
        Mismatch::Invalid
    }
}
