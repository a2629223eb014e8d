//! A simulated voter (what `urna local`, the benchmark and the tests drive): authenticate, encrypt and prove
//! the ballot with [`BallotCodec`], prepare + blind its hash (partially blind, for its style and modality), obtain the blind signature, finalize, submit
//! anonymously and check the receipt.
//!
//! The steps are public one by one so that tests can attack each of them (reuse a signature, tamper with a
//! proof, ...). [`cast`] runs them all.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use rand_core::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use urna_ballot::choices::ChoiceKind;
use urna_ballot::{BallotCodec, ContestKind, EncryptedBallot, Selection};
use urna_crypto::blind::{BlindSignature, PreparedMessage, Signature, voting_right_info};
use urna_crypto::paillier::RandomnessPool;

use crate::partition::Partition;
use crate::wire::parse_voter_id;
use crate::wire::{
    AdmissionRequest, AdmissionResponse, BallotPackage, BoothBallot, CloseResponse, ElectionInfo, Receipt,
    RightRequest, RightResponse, SessionRequest, SessionResponse, VoteStatus,
};
use urna_ballot::{AnonId, anon_id};
use urna_http::HttpClient;
use urna_status::error::ErrorBody;

/// Talks to the vote service: one base URL, or one per partition (index = partition).
#[derive(Clone)]
pub struct VoterClient {
    bases: Vec<String>,
    http: HttpClient,
    timeout: Duration,
}

impl VoterClient {
    pub fn new(base: &str) -> Self {
        Self::partitioned(vec![base.to_owned()])
    }

    /// One replica per partition, in partition order ([`crate::partition`]).
    pub fn partitioned(bases: Vec<String>) -> Self {
        let bases = bases.into_iter().map(|b| b.trim_end_matches('/').to_owned()).collect();
        Self { bases, http: HttpClient::new(), timeout: Duration::from_secs(120) }
    }

    /// The same replicas, reached from the local address `local` (on loopback, any 127.0.0.0/8 address):
    /// to a per-IP rate limit, another client.
    pub fn bound_to(&self, local: std::net::IpAddr) -> Self {
        Self { bases: self.bases.clone(), http: HttpClient::bound(local), timeout: self.timeout }
    }

    fn count(&self) -> u32 {
        u32::try_from(self.bases.len()).unwrap_or(u32::MAX).max(1)
    }

    fn base(&self, partition: u32) -> &str {
        self.bases.get(partition as usize).or(self.bases.first()).map(String::as_str).unwrap_or_default()
    }

    fn voter_base(&self, voter_id: &str) -> &str {
        match parse_voter_id(voter_id) {
            Ok(id) => self.base(Partition::of_voter(&id, self.count())),
            Err(_) => self.base(0),
        }
    }

    fn signature_base(&self, signature: &Signature) -> &str {
        self.base(Partition::of_signature(signature.as_bytes(), self.count()))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: String,
        bearer: Option<&str>,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Protocol(format!("encoding the request: {e}")))?;
        let (status, bytes) = self
            .http
            .send(method, &url, bearer, body, self.timeout)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(format!("{url}: {e}")));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => Err(ClientError::Api {
                status: status.as_u16(),
                code: b.error.code,
                message: b.error.message,
                field: b.error.field,
                partition: b.error.partition,
            }),
            Err(_) => Err(ClientError::Api {
                status: status.as_u16(),
                code: "http".into(),
                message: String::from_utf8_lossy(&bytes).into_owned(),
                field: None,
                partition: None,
            }),
        }
    }

    pub async fn election(&self) -> Result<ElectionInfo, ClientError> {
        self.call(Method::GET, format!("{}/v1/election", self.base(0)), None, None::<&()>).await
    }

    pub async fn authenticate(&self, voter_id: &str, credential: &str) -> Result<SessionResponse, ClientError> {
        let req = SessionRequest { voter_id: voter_id.to_owned(), credential: credential.to_owned() };
        self.call(Method::POST, format!("{}/v1/sessions", self.voter_base(voter_id)), None, Some(&req)).await
    }

    pub async fn request_right(
        &self,
        voter_id: &str,
        token: &str,
        request: &RightRequest,
    ) -> Result<BlindSignature, ClientError> {
        let url = format!("{}/v1/rights", self.voter_base(voter_id));
        let resp: RightResponse = self.call(Method::POST, url, Some(token), Some(request)).await?;
        Ok(resp.blind_signature)
    }

    pub async fn submit(&self, package: &BallotPackage) -> Result<Receipt, ClientError> {
        let url = format!("{}/v1/ballots", self.signature_base(&package.signature));
        self.call(Method::POST, url, None, Some(package)).await
    }

    /// `GET /v1/status` of partition `partition`.
    pub async fn status(&self, partition: u32) -> Result<VoteStatus, ClientError> {
        self.call(Method::GET, format!("{}/v1/status", self.base(partition)), None, None::<&()>).await
    }

    /// `POST /v1/close` (admin) on every partition.
    pub async fn close(&self, admin_token: &str) -> Result<Vec<CloseResponse>, ClientError> {
        let mut out = Vec::with_capacity(self.bases.len());
        for base in &self.bases {
            out.push(self.call(Method::POST, format!("{base}/v1/close"), Some(admin_token), None::<&()>).await?);
        }
        Ok(out)
    }

    /// Mesa console: admits a voter at `mesa` for one booth ballot (single-partition services).
    pub async fn admit(
        &self,
        mesa: &str,
        console_token: &str,
        voter_id: &str,
    ) -> Result<AdmissionResponse, ClientError> {
        let base = self.base(0);
        let body = AdmissionRequest { voter_id: voter_id.to_owned() };
        self.call(Method::POST, format!("{base}/v1/mesas/{mesa}/admissions"), Some(console_token), Some(&body)).await
    }

    /// Mesa console: submits a signed acta ([`crate::actas`]); the same acta again answers as before.
    pub async fn submit_acta(
        &self,
        mesa: &str,
        console_token: &str,
        acta: &crate::acta::SignedActa,
    ) -> Result<crate::wire::ActaStatus, ClientError> {
        let base = self.base(0);
        self.call(Method::POST, format!("{base}/v1/mesas/{mesa}/actas"), Some(console_token), Some(acta)).await
    }

    /// Mesa console: the figures the mesa's actas must state, and its accepted actas.
    pub async fn mesa_actas(&self, mesa: &str, console_token: &str) -> Result<crate::wire::MesaActas, ClientError> {
        let base = self.base(0);
        self.call(Method::GET, format!("{base}/v1/mesas/{mesa}/actas"), Some(console_token), None::<&()>).await
    }

    /// Bridge: submits a booth's ballot; an identical resubmission returns the first receipt.
    pub async fn submit_booth(&self, bridge_token: &str, ballot: &BoothBallot) -> Result<Receipt, ClientError> {
        let base = self.base(0);
        self.call(Method::POST, format!("{base}/v1/booth/ballots"), Some(bridge_token), Some(ballot)).await
    }

    pub async fn receipt(&self, anon: &AnonId, signature: &Signature) -> Result<Receipt, ClientError> {
        let url = format!("{}/v1/receipts/{anon}", self.signature_base(signature));
        self.call(Method::GET, url, None, None::<&()>).await
    }
}

/// An election as a client prepares it once: the service's description, the codec and a randomness pool.
pub struct Election {
    pub info: ElectionInfo,
    pub codec: Arc<BallotCodec>,
    pub pool: Arc<RandomnessPool>,
}

impl Election {
    pub async fn fetch(client: &VoterClient) -> Result<Self, ClientError> {
        let info = client.election().await?;
        let codec = Arc::new(BallotCodec::new(info.manifest.clone(), info.public_key.clone())?);
        let pool = Arc::new(RandomnessPool::new(info.public_key.clone()));
        Ok(Self { info, codec, pool })
    }

    /// Encrypts and proves a ballot (on a blocking thread: it is the expensive step).
    pub async fn encrypt(
        &self,
        style: &str,
        selections: Vec<(String, Selection)>,
    ) -> Result<EncryptedBallot, ClientError> {
        let (codec, pool, style) = (self.codec.clone(), self.pool.clone(), style.to_owned());
        tokio::task::spawn_blocking(move || {
            let sel: Vec<(&str, Selection)> = selections.iter().map(|(c, s)| (c.as_str(), s.clone())).collect();
            codec.encrypt_ballot(&style, &sel, &pool, &mut urna_crypto::os_rng())
        })
        .await
        .map_err(|e| ClientError::Protocol(format!("encryption task: {e}")))?
        .map_err(ClientError::from)
    }
}

/// A voter as the census knows them.
#[derive(Debug, Clone)]
pub struct Voter {
    /// 64 hex digits, as in the census.
    pub voter_id: String,
    pub credential: String,
}

/// The outcome of [`cast`].
#[derive(Debug, Clone)]
pub struct Cast {
    pub package: BallotPackage,
    pub anon_id: AnonId,
    pub receipt: Receipt,
}

/// Steps 2–4: blind the ballot's hash, obtain the blind signature with the session token, finalize.
pub async fn sign_ballot(
    client: &VoterClient,
    election: &Election,
    voter_id: &str,
    token: &str,
    ballot: EncryptedBallot,
) -> Result<BallotPackage, ClientError> {
    // The right is partially blind: its public metadata binds it to this election, the service's modality and
    // the ballot's style (docs/protocol.md §5.3), so the client blinds under the key derived for them.
    let info = voting_right_info(&election.info.election_id, &election.info.modality, &ballot.ballot_style);
    let key = election.info.blind_key.derive(&info)?;
    let mut rng = urna_crypto::os_rng();
    let prepared: PreparedMessage = key.prepare(&ballot.hash(), &mut rng);
    let (blinded, secret) = key.blind(&prepared, &mut rng)?;
    let blind_sig = client.request_right(voter_id, token, &RightRequest { blinded_message: blinded }).await?;
    let signature = key.finalize(&prepared, &blind_sig, &secret)?;
    Ok(BallotPackage { ballot, prepared_message: prepared, signature })
}

/// Checks a receipt against the package it is for: the AnonID recomputed locally and, when the receipt
/// carries them, the inclusion proof of the AnonID's leaf against the checkpoint's root (RFC 9162). The
/// checkpoint's signature is checked by whoever holds the log's public key (`urna verify`), not here.
pub fn check_receipt(package: &BallotPackage, receipt: &Receipt) -> Result<AnonId, ClientError> {
    let expected = anon_id(&package.ballot.hash(), &package.prepared_message, &package.signature);
    if receipt.anon_id != expected {
        return Err(ClientError::BadReceipt(format!("AnonID {} instead of {expected}", receipt.anon_id)));
    }
    if let (Some(checkpoint), Some(proof)) = (&receipt.checkpoint, &receipt.inclusion_proof) {
        check_inclusion(&expected, receipt.log_index, checkpoint, proof)?;
    }
    Ok(expected)
}

fn check_inclusion(
    anon: &AnonId,
    index: u64,
    checkpoint: &serde_json::Value,
    proof: &serde_json::Value,
) -> Result<(), ClientError> {
    let bad = |m: &str| ClientError::BadReceipt(m.to_owned());
    let hash = |v: &serde_json::Value| -> Option<[u8; 32]> {
        let mut h = [0u8; 32];
        hex::decode_to_slice(v.as_str()?, &mut h).ok()?;
        Some(h)
    };
    let size = checkpoint["size"].as_u64().ok_or_else(|| bad("checkpoint without size"))?;
    let root = hash(&checkpoint["root"]).ok_or_else(|| bad("checkpoint without root"))?;
    if proof["index"].as_u64() != Some(index) || proof["size"].as_u64() != Some(size) {
        return Err(bad("inclusion proof for another index or tree size"));
    }
    let path: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .ok_or_else(|| bad("inclusion proof without hashes"))?
        .iter()
        .map(|h| hash(h).ok_or_else(|| bad("inclusion proof hash is not 64 hex digits")))
        .collect::<Result<_, _>>()?;
    let leaf = urna_audit::LogEntry::Ballot { anon_id: anon.0 }.leaf_hash();
    urna_audit::verify_inclusion(&leaf, index, size, &path, &root)
        .map_err(|e| ClientError::BadReceipt(format!("inclusion proof does not verify: {e}")))
}

/// The whole remote vote: authenticate, encrypt `selections` (None: random ones), get the right, submit,
/// check the receipt.
pub async fn cast(
    client: &VoterClient,
    election: &Election,
    voter: &Voter,
    selections: Option<Vec<(String, Selection)>>,
) -> Result<Cast, ClientError> {
    let session = client.authenticate(&voter.voter_id, &voter.credential).await?;
    let selections = match selections {
        Some(s) => s,
        None => random_selections(&election.codec, &session.ballot_style, &mut urna_crypto::os_rng())?,
    };
    let ballot = election.encrypt(&session.ballot_style, selections).await?;
    let package = sign_ballot(client, election, &voter.voter_id, &session.token, ballot).await?;
    let receipt = client.submit(&package).await?;
    let anon_id = check_receipt(&package, &receipt)?;
    Ok(Cast { package, anon_id, receipt })
}

/// A uniformly random valid selection for every contest of `style` (write-ins get a fixed name).
pub fn random_selections<R: Rng + ?Sized>(
    codec: &BallotCodec,
    style: &str,
    rng: &mut R,
) -> Result<Vec<(String, Selection)>, ClientError> {
    let mut out = Vec::new();
    for cc in codec.style_contests(style)? {
        let n = cc.choices.len().max(1);
        let pick = |rng: &mut R, n: usize| (rng.next_u64() % n as u64) as usize;
        let selection = match cc.contest.kind {
            ContestKind::SingleChoice => {
                let choice = pick(rng, n);
                let write_in = (cc.choices.get(choice).map(|c| c.kind) == Some(ChoiceKind::WriteIn))
                    .then(|| "Simulated Write-In".to_owned());
                Selection::Single { choice, write_in }
            }
            ContestKind::MultiChoice => {
                let min = cc.contest.min_selections.unwrap_or(0) as usize;
                let max = (cc.contest.max_selections.unwrap_or(n as u32) as usize).min(n);
                let count = min + pick(rng, max.saturating_sub(min) + 1);
                let mut options: Vec<usize> = (0..n).collect();
                for i in 0..count {
                    let j = i + pick(rng, n - i);
                    options.swap(i, j);
                }
                options.truncate(count);
                options.sort_unstable();
                Selection::Multi { options }
            }
        };
        out.push((cc.contest.id.clone(), selection));
    }
    Ok(out)
}

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP {status}: {code}: {message}")]
    Api { status: u16, code: String, message: String, field: Option<String>, partition: Option<u32> },
    #[error("transport: {0}")]
    Transport(String),
    #[error("unexpected response: {0}")]
    Protocol(String),
    #[error(transparent)]
    Crypto(#[from] urna_crypto::CryptoError),
    #[error(transparent)]
    Ballot(#[from] urna_ballot::BallotError),
    #[error("receipt does not match the ballot: {0}")]
    BadReceipt(String),
}

impl ClientError {
    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}
