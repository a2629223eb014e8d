//! Ballots made on the device: the booth encrypts and proves each contest with the election's
//! [`BallotCodec`] (as a remote voter's client does, `workloads/vote/src/client.rs`), so only ciphertexts
//! and proofs leave the machine, and the booth never sees or sends who the voter is. The envelope body is
//! `{"ballot": EncryptedBallot}`; the collector's consumer hands it to the vote pipeline.

use std::sync::Arc;

use urna_ballot::{BallotCodec, ElectionManifest, EncryptedBallot, Selection};
use urna_crypto::paillier::{PublicKey, RandomnessPool};

use crate::device::Booth;
use crate::error::{Error, Result};

/// The election as loaded on the machine: codec, a nonce pool and the mesa's ballot style (district).
#[derive(Clone)]
pub struct BallotMachine {
    codec: Arc<BallotCodec>,
    pool: Arc<RandomnessPool>,
    style: String,
}

impl BallotMachine {
    pub fn new(manifest: ElectionManifest, pk: PublicKey, style: &str) -> Result<Self> {
        let codec = BallotCodec::new(manifest, pk).map_err(|e| Error::Ballot(e.to_string()))?;
        codec.style_contests(style).map_err(|e| Error::Ballot(e.to_string()))?;
        let pool = RandomnessPool::new(codec.public_key().clone());
        Ok(Self { codec: Arc::new(codec), pool: Arc::new(pool), style: style.to_owned() })
    }

    pub fn codec(&self) -> &BallotCodec {
        &self.codec
    }

    /// The ballot style (district) this machine casts.
    pub fn style(&self) -> &str {
        &self.style
    }

    /// Encrypts and proves one ballot (CPU-bound: call from a blocking thread).
    pub fn encrypt(&self, selections: &[(&str, Selection)]) -> Result<EncryptedBallot> {
        self.codec
            .encrypt_ballot(&self.style, selections, &self.pool, &mut urna_crypto::os_rng())
            .map_err(|e| Error::Ballot(e.to_string()))
    }
}

impl Booth {
    /// Encrypts and proves the voter's selections on the device, then queues the ballot for exactly-once
    /// delivery (refused while locked or blocked, before any work is done).
    pub async fn vote(&self, machine: &BallotMachine, selections: Vec<(String, Selection)>) -> Result<u64> {
        self.accepting()?;
        let m = machine.clone();
        let ballot = tokio::task::spawn_blocking(move || {
            let sel: Vec<(&str, Selection)> = selections.iter().map(|(c, s)| (c.as_str(), s.clone())).collect();
            m.encrypt(&sel)
        })
        .await
        .map_err(|e| Error::Ballot(format!("encryption task: {e}")))??;
        self.cast_ballot(serde_json::json!({ "ballot": ballot }))
    }
}
