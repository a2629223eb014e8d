//! What every later check needs: the index, the manifest and its codec, the keys.

use urna_ballot::{BallotCodec, ElectionManifest, validate_manifest};
use urna_crypto::threshold::{CeremonyTranscript, ThresholdPublicKey};

use super::{Checked, Summary, VerifyFailure};
use crate::files::{read_bytes, read_json};
use crate::layout::{RecordDir, check_shard_name};
use crate::model::{AuditLogKey, RecordIndex, VoteServiceReport};

pub(crate) struct Context {
    pub index: RecordIndex,
    pub codec: BallotCodec,
    pub public: ThresholdPublicKey,
    pub audit_key: AuditLogKey,
    pub services: Vec<VoteServiceReport>,
}

fn fail(check: &'static str) -> impl Fn(crate::RecordError) -> VerifyFailure {
    move |e| VerifyFailure::new(check, e.to_string())
}

pub(crate) fn load(dir: &RecordDir, summary: &mut Summary) -> Checked<Context> {
    let index: RecordIndex = read_json(&dir.index()).map_err(fail("index"))?;
    if index.format != crate::FORMAT {
        return Err(VerifyFailure::new("index", format!("format {:?}, expected {:?}", index.format, crate::FORMAT)));
    }
    for s in &index.shards {
        check_shard_name(s).map_err(|e| VerifyFailure::new("index", e))?;
    }

    let manifest: ElectionManifest = read_json(&dir.manifest()).map_err(fail("manifest"))?;
    validate_manifest(&manifest).map_err(|e| VerifyFailure::new("manifest", e.to_string()))?;
    if manifest.election_id != index.election_id {
        return Err(VerifyFailure::new("manifest", "electionId differs from record.json"));
    }

    let text = String::from_utf8(read_bytes(&dir.threshold_public_key()).map_err(fail("keys"))?)
        .map_err(|_| VerifyFailure::new("keys", "threshold-public.json is not UTF-8"))?;
    let public = ThresholdPublicKey::from_json(&text).map_err(|e| VerifyFailure::new("keys", e.to_string()))?;
    let text = String::from_utf8(read_bytes(&dir.ceremony_transcript()).map_err(fail("keys"))?)
        .map_err(|_| VerifyFailure::new("keys", "ceremony-transcript.json is not UTF-8"))?;
    let transcript = CeremonyTranscript::from_json(&text).map_err(|e| VerifyFailure::new("keys", e.to_string()))?;
    transcript.verify(&public).map_err(|e| VerifyFailure::new("keys", format!("ceremony transcript: {e}")))?;

    let codec = BallotCodec::new(manifest, public.paillier().clone())
        .map_err(|e| VerifyFailure::new("manifest", e.to_string()))?;
    if codec.manifest_hash() != index.manifest_hash {
        return Err(VerifyFailure::new("manifest", "its hash differs from record.json's manifestHash"));
    }
    if codec.public_key().fingerprint() != index.public_key_fingerprint {
        return Err(VerifyFailure::new("keys", "the Paillier key's fingerprint differs from record.json's"));
    }
    let audit_key: AuditLogKey = read_json(&dir.audit_key()).map_err(fail("keys"))?;
    let services: Vec<VoteServiceReport> = read_json(&dir.vote_services()).map_err(fail("vote-services"))?;
    if services.is_empty() {
        return Err(VerifyFailure::new("vote-services", "no vote service"));
    }
    if let Some(s) = services.iter().find(|s| !s.closed) {
        return Err(VerifyFailure::new(
            "vote-services",
            format!("the {} vote service (partition {}) was not closed", s.modality, s.partition),
        ));
    }

    summary.election_id = index.election_id.clone();
    summary.manifest_hash = hex::encode(index.manifest_hash);
    summary.checks.push(format!(
        "manifest {} and threshold key {} ({}-of-{}) match the ceremony transcript",
        &summary.manifest_hash[..16],
        &public.fingerprint_hex()[..16],
        public.threshold(),
        public.trustees()
    ));
    Ok(Context { index, codec, public, audit_key, services })
}
