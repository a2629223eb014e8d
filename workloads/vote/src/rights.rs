//! The voter store (`DATA/voters.redb`): the census and the issued voting rights. It holds no ballot data
//! and the ballot path never opens it (crate docs, "The double envelope").
//!
//! Tables:
//! - `census`: voter id hash → `{district, credentialHash}` (JSON);
//! - `rights`: voter id hash → `{blindedMessage, blindSignature}` (JSON, hex) for a remote right, or
//!   `{admittedAt: MESA}` for a voter admitted at a mesa (booth modality, [`crate::mesa`]); one row per
//!   voter, never rewritten: it is the record that the voter's single right was issued and what it was;
//! - `admissions`: mesa id → voters admitted there (written in the transaction that writes their rights);
//! - `rights_by_style`: ballot style (the voter's district) → rights issued for it, remote and booth alike
//!   (written in the transaction that writes the right): the record's "rights issued ≥ ballots" holds per
//!   style and modality, so it needs the rights per style;
//! - `meta`: `binding` → the election, manifest hash, signing key and partition the store belongs to, so a
//!   data directory cannot be reused for another election or key (which would hand out second rights).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use urna_crypto::blind::{BlindSignature, BlindVerifyingKey, BlindedMessage};

use crate::census::{CensusError, CensusErrors, CensusReader, FIELD_VOTER, MAX_REPORTED_ERRORS};
use crate::error::VoteError;
use crate::partition::Partition;

const CENSUS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("census");
const RIGHTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("rights");
const ADMISSIONS: TableDefinition<&str, u64> = TableDefinition::new("admissions");
const RIGHTS_BY_STYLE: TableDefinition<&str, u64> = TableDefinition::new("rights_by_style");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Rows per write transaction during a census import: bounds the transaction's memory.
const IMPORT_BATCH: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoterRecord {
    pub district: String,
    pub credential_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum RightRecord {
    #[serde(rename_all = "camelCase")]
    Blind {
        #[serde(with = "hex::serde")]
        blinded_message: Vec<u8>,
        #[serde(with = "hex::serde")]
        blind_signature: Vec<u8>,
    },
    /// Admitted at a mesa: the right is the mesa's permission for one booth ballot, not a signature.
    #[serde(rename_all = "camelCase")]
    Admitted { admitted_at: String },
}

/// The outcome of admitting a voter at a mesa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Admitted now: the mesa may record one more booth ballot.
    Admitted,
    /// Admitted at this mesa before (a console's retry): nothing changes.
    AlreadyAdmitted,
    /// The voter's right was already used, remotely or at another mesa.
    RightUsed,
}

/// What the store is bound to (checked on every open).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreBinding {
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    #[serde(with = "hex::serde")]
    pub signing_key_fingerprint: [u8; 32],
    pub partition: u32,
    pub partitions: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Data rows read.
    pub read: u64,
    /// New voters added.
    pub inserted: u64,
    /// Rows already present, identically (a re-import).
    pub unchanged: u64,
    /// Rows of voters served by another partition (skipped).
    pub other_partition: u64,
}

/// The outcome of a right request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// Signed now and recorded.
    Issued(BlindSignature),
    /// The same blinded message was signed before: the stored signature, again.
    Repeated(BlindSignature),
    /// A right was issued for another blinded message: refused.
    AlreadyIssued,
}

pub struct VoterStore {
    db: Database,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> VoteError {
    VoteError::Corrupt(format!("{what}: {e}"))
}

impl VoterStore {
    /// Opens (or creates) `dir/voters.redb` and checks or records its binding.
    pub fn open(dir: &Path, binding: &StoreBinding) -> Result<Self, VoteError> {
        let db = Database::create(dir.join("voters.redb"))?;
        let txn = db.begin_write()?;
        {
            txn.open_table(CENSUS)?;
            txn.open_table(RIGHTS)?;
            txn.open_table(ADMISSIONS)?;
            txn.open_table(RIGHTS_BY_STYLE)?;
            let mut meta = txn.open_table(META)?;
            let stored = meta.get("binding")?.map(|v| v.value().to_vec());
            match stored {
                Some(bytes) => {
                    let stored: StoreBinding = serde_json::from_slice(&bytes).map_err(|e| corrupt("binding", e))?;
                    if stored != *binding {
                        return Err(VoteError::Config(format!(
                            "{} belongs to election {:?} (signing key {}, partition {}/{}); refusing to serve \
                             election {:?} (signing key {}, partition {}/{}) from it",
                            dir.join("voters.redb").display(),
                            stored.election_id,
                            hex::encode(&stored.signing_key_fingerprint[..8]),
                            stored.partition,
                            stored.partitions,
                            binding.election_id,
                            hex::encode(&binding.signing_key_fingerprint[..8]),
                            binding.partition,
                            binding.partitions,
                        )));
                    }
                }
                None => {
                    let bytes = serde_json::to_vec(binding).map_err(|e| corrupt("binding", e))?;
                    meta.insert("binding", bytes.as_slice())?;
                }
            }
        }
        txn.commit()?;
        Ok(Self { db })
    }

    /// Imports a census (see [`crate::census`]): idempotent (identical rows are counted as unchanged), and a
    /// row that contradicts a stored voter is an error. Rows are committed in batches; the first error stops
    /// all further commits (the failing batch is rolled back) but reading goes on to report up to
    /// [`MAX_REPORTED_ERRORS`] errors. Because the import is idempotent, fixing the file and importing it
    /// again completes a partial import.
    pub fn import<R: BufRead>(
        &self,
        reader: CensusReader<'_, R>,
        partition: Partition,
    ) -> Result<ImportReport, VoteError> {
        let mut report = ImportReport::default();
        let mut errors: Vec<CensusError> = Vec::new();
        let mut txn = Some(self.db.begin_write()?);
        let mut in_batch = 0usize;
        for item in reader {
            if errors.len() >= MAX_REPORTED_ERRORS {
                break;
            }
            let rec = match item {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    txn = None; // drop = abort the batch
                    continue;
                }
            };
            report.read += 1;
            if !partition.owns_voter(&rec.voter_id) {
                report.other_partition += 1;
                continue;
            }
            let Some(t) = txn.as_ref() else {
                continue; // after an error: validate only
            };
            let value = VoterRecord { district: rec.district.clone(), credential_hash: rec.credential_hash.clone() };
            let conflict = {
                let mut table = t.open_table(CENSUS)?;
                let existing = table.get(rec.voter_id)?.map(|v| v.value().to_vec());
                match existing {
                    Some(bytes) => {
                        let stored: VoterRecord =
                            serde_json::from_slice(&bytes).map_err(|e| corrupt("census row", e))?;
                        if stored == value {
                            report.unchanged += 1;
                        }
                        stored != value
                    }
                    None => {
                        let bytes = serde_json::to_vec(&value).map_err(|e| corrupt("census row", e))?;
                        table.insert(rec.voter_id, bytes.as_slice())?;
                        report.inserted += 1;
                        in_batch += 1;
                        false
                    }
                }
            };
            if conflict {
                errors.push(CensusError::new(
                    rec.line,
                    Some(FIELD_VOTER),
                    "this voter is already in the census with a different district or credential",
                ));
                txn = None;
            } else if in_batch >= IMPORT_BATCH
                && let Some(t) = txn.take()
            {
                t.commit()?;
                txn = Some(self.db.begin_write()?);
                in_batch = 0;
            }
        }
        if !errors.is_empty() {
            return Err(CensusErrors { errors }.into());
        }
        if let Some(t) = txn {
            t.commit()?;
        }
        Ok(report)
    }

    pub fn voter(&self, voter_id: &[u8; 32]) -> Result<Option<VoterRecord>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CENSUS)?;
        let Some(v) = table.get(voter_id)? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value()).map(Some).map_err(|e| corrupt("census row", e))
    }

    pub fn has_right(&self, voter_id: &[u8; 32]) -> Result<bool, VoteError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(RIGHTS)?.get(voter_id)?.is_some())
    }

    /// Issues the voter's right for `blinded`, at most once (crate docs, "Consistency of the voting right").
    /// `sign` runs outside the transaction; its result is released only once recorded. Blocking: call it from
    /// a blocking thread.
    pub fn issue(
        &self,
        key: &BlindVerifyingKey,
        voter_id: &[u8; 32],
        ballot_style: &str,
        blinded: &BlindedMessage,
        sign: impl FnOnce() -> Result<BlindSignature, VoteError>,
    ) -> Result<Issue, VoteError> {
        if let Some(existing) = self.existing_right(key, voter_id, blinded)? {
            return Ok(existing);
        }
        let signature = sign()?;
        let txn = self.db.begin_write()?;
        {
            let mut rights = txn.open_table(RIGHTS)?;
            // Re-check inside the write transaction: a concurrent request may have committed meanwhile.
            if let Some(v) = rights.get(voter_id)? {
                let stored: RightRecord = serde_json::from_slice(v.value()).map_err(|e| corrupt("right", e))?;
                return Self::compare(key, &stored, blinded);
            }
            let record = RightRecord::Blind {
                blinded_message: blinded.as_bytes().to_vec(),
                blind_signature: signature.as_bytes().to_vec(),
            };
            let bytes = serde_json::to_vec(&record).map_err(|e| corrupt("right", e))?;
            rights.insert(voter_id, bytes.as_slice())?;
            count_style(&txn, ballot_style)?;
        }
        txn.commit()?;
        Ok(Issue::Issued(signature))
    }

    fn existing_right(
        &self,
        key: &BlindVerifyingKey,
        voter_id: &[u8; 32],
        blinded: &BlindedMessage,
    ) -> Result<Option<Issue>, VoteError> {
        let txn = self.db.begin_read()?;
        let rights = txn.open_table(RIGHTS)?;
        let Some(v) = rights.get(voter_id)? else {
            return Ok(None);
        };
        let stored: RightRecord = serde_json::from_slice(v.value()).map_err(|e| corrupt("right", e))?;
        Self::compare(key, &stored, blinded).map(Some)
    }

    fn compare(key: &BlindVerifyingKey, stored: &RightRecord, blinded: &BlindedMessage) -> Result<Issue, VoteError> {
        match stored {
            RightRecord::Blind { blinded_message, blind_signature } if blinded_message == blinded.as_bytes() => {
                Ok(Issue::Repeated(BlindSignature::from_bytes(key, blind_signature)?))
            }
            _ => Ok(Issue::AlreadyIssued),
        }
    }

    /// Uses the voter's right for one booth ballot at `mesa`, at most once, in the transaction that counts
    /// the admission (so the count always equals the voters admitted there). Blocking.
    pub fn admit(&self, voter_id: &[u8; 32], mesa: &str) -> Result<Admission, VoteError> {
        let txn = self.db.begin_write()?;
        {
            let mut rights = txn.open_table(RIGHTS)?;
            if let Some(v) = rights.get(voter_id)? {
                let stored: RightRecord = serde_json::from_slice(v.value()).map_err(|e| corrupt("right", e))?;
                return Ok(match stored {
                    RightRecord::Admitted { admitted_at } if admitted_at == mesa => Admission::AlreadyAdmitted,
                    _ => Admission::RightUsed,
                });
            }
            let bytes = serde_json::to_vec(&RightRecord::Admitted { admitted_at: mesa.to_owned() })
                .map_err(|e| corrupt("right", e))?;
            rights.insert(voter_id, bytes.as_slice())?;
            let mut admissions = txn.open_table(ADMISSIONS)?;
            let count = admissions.get(mesa)?.map_or(0, |v| v.value());
            admissions.insert(mesa, count + 1)?;
            let census = txn.open_table(CENSUS)?;
            let district = match census.get(voter_id)? {
                Some(v) => {
                    serde_json::from_slice::<VoterRecord>(v.value()).map_err(|e| corrupt("census row", e))?.district
                }
                None => return Err(VoteError::Corrupt("an admitted voter is not in the census".into())),
            };
            count_style(&txn, &district)?;
        }
        txn.commit()?;
        Ok(Admission::Admitted)
    }

    /// Voters admitted at `mesa` so far (it only grows).
    pub fn admitted(&self, mesa: &str) -> Result<u64, VoteError> {
        Ok(self.db.begin_read()?.open_table(ADMISSIONS)?.get(mesa)?.map_or(0, |v| v.value()))
    }

    pub fn census_size(&self) -> Result<u64, VoteError> {
        Ok(self.db.begin_read()?.open_table(CENSUS)?.len()?)
    }

    pub fn rights_issued(&self) -> Result<u64, VoteError> {
        Ok(self.db.begin_read()?.open_table(RIGHTS)?.len()?)
    }

    /// Rights issued per ballot style (they add up to [`VoterStore::rights_issued`]).
    pub fn rights_by_style(&self) -> Result<BTreeMap<String, u64>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RIGHTS_BY_STYLE)?;
        let mut out = BTreeMap::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.insert(k.value().to_owned(), v.value());
        }
        Ok(out)
    }
}

/// One more right for `style`, inside the transaction that writes the right.
fn count_style(txn: &redb::WriteTransaction, style: &str) -> Result<(), VoteError> {
    let mut table = txn.open_table(RIGHTS_BY_STYLE)?;
    let count = table.get(style)?.map_or(0, |v| v.value());
    table.insert(style, count + 1)?;
    Ok(())
}
