//! Exporting the record from the running services over their public read APIs (the thin I/O edge; nothing
//! here decides anything a verifier relies on: `verify` re-checks every file).

use serde::de::DeserializeOwned;
use urna_crypto::threshold::{CeremonyTranscript, ThresholdPublicKey};
use urna_tally::{Modality, TallyClient, TotalsRecord};
use urna_vote::wire::{BallotsPage, ElectionInfo, PublishedBallot, VoteStatus};

use crate::decryption::request;
use crate::error::{RecordError, Result};
use crate::files::{write_json, write_jsonl, write_text};
use crate::layout::{RecordDir, check_shard_name};
use crate::model::{AuditEntryRow, AuditLogKey, CheckpointRow, RecordIndex, VoteServiceReport};

/// Where the record's parts are served, and the ceremony's public outputs.
pub struct Sources {
    /// Base URL of every vote service replica, with its modality.
    pub vote: Vec<(Modality, String)>,
    /// Every tally shard: name and base URL. Each must be sealed.
    pub shards: Vec<(String, String)>,
    pub audit: String,
    pub public: ThresholdPublicKey,
    pub transcript: CeremonyTranscript,
}

/// What was exported.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    pub ballots: u64,
    pub shard_records: u64,
    pub audit_entries: u64,
    pub checkpoints: u64,
    pub totals: u64,
}

async fn get<T: DeserializeOwned>(base: &str, path: &str) -> Result<T> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    urna_http::HttpClient::new()
        .call(http::Method::GET, &url, None, None, urna_http::DEFAULT_TIMEOUT)
        .await
        .map_err(|e| RecordError::Invalid(format!("GET {url}: {e}")))
}

/// Exports the whole record into `dir` (created; it should be empty), without the trustees' partials and the
/// results, which come after.
pub async fn export(dir: &RecordDir, sources: &Sources) -> Result<ExportReport> {
    let mut report = ExportReport::default();
    let Some((_, first_vote)) = sources.vote.first() else {
        return Err(RecordError::Invalid("no vote service to export from".into()));
    };
    let info: ElectionInfo = get(first_vote, "/v1/election").await?;
    let manifest = info.manifest.clone();

    let mut services = Vec::new();
    let mut ballots: Vec<PublishedBallot> = Vec::new();
    for (modality, base) in &sources.vote {
        let info: ElectionInfo = get(base, "/v1/election").await?;
        let status: VoteStatus = get(base, "/v1/status").await?;
        services.push(VoteServiceReport {
            modality: *modality,
            partition: status.partition,
            partitions: status.partitions,
            blind_key: info.blind_key,
            census: status.census,
            rights_issued: status.rights_issued,
            rights_by_style: status.rights_by_style,
            ballots_recorded: status.ballots_recorded,
            closed: status.closed,
        });
        let mut path = "/v1/ballots".to_owned();
        loop {
            let page: BallotsPage = get(base, &path).await?;
            ballots.extend(page.ballots);
            match page.next {
                Some(after) => path = format!("/v1/ballots?after={after}"),
                None => break,
            }
        }
    }
    ballots.sort_by_key(|b| b.anon_id);
    report.ballots = ballots.len() as u64;

    let mut names = Vec::new();
    let mut sealed: Vec<TotalsRecord> = Vec::new();
    for (name, base) in &sources.shards {
        check_shard_name(name).map_err(RecordError::Invalid)?;
        let client = TallyClient::new(base.as_str());
        let totals = client.totals().await.map_err(|e| RecordError::Invalid(format!("shard {name}: {e}")))?;
        if !totals.sealed {
            return Err(RecordError::Invalid(format!("shard {name} is not sealed; close the election first")));
        }
        let records = client.all_records().await.map_err(|e| RecordError::Invalid(format!("shard {name}: {e}")))?;
        report.shard_records += records.len() as u64;
        write_jsonl(&dir.shard_records(name), &records)?;
        write_json(&dir.shard_totals(name), &totals)?;
        names.push(name.clone());
        sealed.push(totals);
    }

    let latest: serde_json::Value = get(&sources.audit, "/v1/checkpoint").await?;
    let bad = |what: &str| RecordError::Invalid(format!("audit log checkpoint: {what}"));
    let mut log_key = [0u8; 32];
    hex::decode_to_slice(latest["log_public_key"].as_str().ok_or_else(|| bad("no log_public_key"))?, &mut log_key)
        .map_err(|_| bad("log_public_key is not 32 bytes of hex"))?;
    let origin = latest["origin"].as_str().ok_or_else(|| bad("no origin"))?.to_owned();
    let size = latest["size"].as_u64().ok_or_else(|| bad("no size"))?;
    let mut entries: Vec<AuditEntryRow> = Vec::new();
    while (entries.len() as u64) < size {
        let start = entries.len() as u64;
        let end = (start + urna_audit::wire::MAX_ENTRIES_PER_READ).min(size);
        let page: serde_json::Value = get(&sources.audit, &format!("/v1/entries?start={start}&end={end}")).await?;
        let rows: Vec<AuditEntryRow> = serde_json::from_value(page["entries"].clone())
            .map_err(|e| RecordError::Invalid(format!("audit log entries: {e}")))?;
        if rows.is_empty() {
            return Err(bad("an entries page came back empty"));
        }
        entries.extend(rows);
    }
    let mut checkpoints: Vec<CheckpointRow> = Vec::new();
    let mut from = 0u64;
    loop {
        let page: serde_json::Value = get(&sources.audit, &format!("/v1/checkpoints?from={from}")).await?;
        for c in page["checkpoints"].as_array().ok_or_else(|| bad("no checkpoints list"))? {
            let seq = c["seq"].as_u64().ok_or_else(|| bad("checkpoint without seq"))?;
            let note = c["note"].as_str().ok_or_else(|| bad("checkpoint without note"))?.to_owned();
            checkpoints.push(CheckpointRow { seq, note });
        }
        match page["next"].as_u64() {
            Some(n) => from = n,
            None => break,
        }
    }
    report.audit_entries = entries.len() as u64;
    report.checkpoints = checkpoints.len() as u64;

    let items = request(&sealed);
    report.totals = items.len() as u64;
    write_json(&dir.manifest(), &manifest)?;
    write_text(&dir.threshold_public_key(), &sources.public.to_json())?;
    write_text(&dir.ceremony_transcript(), &sources.transcript.to_json())?;
    write_json(&dir.audit_key(), &AuditLogKey { origin, public_key: log_key })?;
    write_json(&dir.vote_services(), &services)?;
    write_jsonl(&dir.ballots(), &ballots)?;
    write_jsonl(&dir.audit_entries(), &entries)?;
    write_jsonl(&dir.audit_checkpoints(), &checkpoints)?;
    write_json(&dir.decryption_request(), &items)?;
    write_json(
        &dir.index(),
        &RecordIndex {
            format: crate::FORMAT.into(),
            election_id: info.election_id,
            manifest_hash: info.manifest_hash,
            public_key_fingerprint: info.public_key.fingerprint(),
            shards: names,
            exported_at: jiff::Timestamp::now().to_string(),
        },
    )?;
    Ok(report)
}
