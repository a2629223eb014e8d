//! The public results site's data (docs/site.md): one JSON document, `site.json`, derived from the record
//! alone, that the site's page (web/site) renders. Every number in it names the record file and the JSON
//! pointers (RFC 6901) of the values it is read or summed from, so the page links each figure to the file
//! that proves it, and anyone can recompute it from the downloadable record.
//!
//! [`build`] is pure (the record's parsed files in, the document out); [`load`] reads the files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use urna_audit::{Checkpoint, Note};
use urna_ballot::ElectionManifest;
use urna_tally::Modality;

use crate::error::{RecordError, Result};
use crate::files::{read_json, read_jsonl};
use crate::layout::RecordDir;
use crate::model::{AuditLogKey, CheckpointRow, RecordIndex, ResultsFile, VoteServiceReport};

/// The `format` of `site.json`.
pub const SITE_FORMAT: &str = "urna-site/1";

/// Where a figure comes from: a record file and the values in it that add up to the figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    pub value: u64,
    /// The record file, relative to the record's root (`results.json`, `vote-services.json`).
    pub file: String,
    /// JSON pointers into `file` of the values whose sum is `value` (one for a value read as is).
    pub pointers: Vec<String>,
}

impl Figure {
    fn sum(file: &str) -> Self {
        Self { value: 0, file: file.to_owned(), pointers: Vec::new() }
    }

    fn add(&mut self, value: u64, pointer: String) {
        self.value += value;
        self.pointers.push(pointer);
    }
}

/// `site.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteData {
    pub format: &'static str,
    pub election_id: String,
    pub title: String,
    pub manifest_hash: String,
    /// When the record was exported (`record.json`).
    pub exported_at: String,
    pub districts: Vec<SiteDistrict>,
    pub turnout: Turnout,
    /// `None` until `results.json` is in the record (the trustees have not decrypted yet).
    pub results: Option<SiteResults>,
    /// The audit log's closing (or latest) checkpoint, for the receipt check.
    pub log: Option<LogSummary>,
    /// Every file of the record, for download and for checking a copy.
    pub files: Vec<RecordFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteDistrict {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Voters in the census, voting rights issued and ballots recorded, from `vote-services.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Turnout {
    pub census: Figure,
    pub rights_issued: Figure,
    pub ballots: Figure,
    pub by_modality: Vec<ModalityTurnout>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalityTurnout {
    pub modality: Modality,
    pub census: Figure,
    pub rights_issued: Figure,
    pub ballots: Figure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteResults {
    /// The trustees whose partial decryptions were combined.
    pub trustees: Vec<u32>,
    /// In manifest order, each contest that has any total.
    pub contests: Vec<SiteContest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteContest {
    pub contest_id: String,
    pub title: String,
    pub ballots: Figure,
    pub counts: Vec<SiteCount>,
    /// Per district (ballot style), over modalities, in manifest order.
    pub by_district: Vec<ContestPart>,
    /// Per modality, over districts.
    pub by_modality: Vec<ContestPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteCount {
    pub choice: String,
    pub label: String,
    pub votes: Figure,
}

/// A contest's counts within one district or one modality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContestPart {
    /// The district id or the modality.
    pub key: String,
    pub ballots: Figure,
    pub counts: Vec<SiteCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSummary {
    pub origin: String,
    /// The log's Ed25519 key, hex (as `keys/audit-log.json` has it).
    pub public_key: String,
    pub size: u64,
    pub closed: bool,
    /// Seconds since the Unix epoch when the log signed the checkpoint.
    pub timestamp: u64,
    /// Where the checkpoint is: `audit/checkpoints.jsonl` and its line (1-based).
    pub file: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordFile {
    /// Relative to the record's root, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The record's parsed files that the site shows.
#[derive(Debug, Clone)]
pub struct LatestCheckpoint {
    /// Its line in `audit/checkpoints.jsonl` (1-based).
    pub line: usize,
    pub checkpoint: Checkpoint,
    /// The full signed note, as the record holds it.
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct SiteInputs {
    pub index: RecordIndex,
    pub manifest: ElectionManifest,
    pub services: Vec<VoteServiceReport>,
    pub results: Option<ResultsFile>,
    pub audit_key: AuditLogKey,
    /// The last line of `audit/checkpoints.jsonl`.
    pub checkpoint: Option<LatestCheckpoint>,
    pub files: Vec<RecordFile>,
}

const SERVICES: &str = "vote-services.json";
const RESULTS: &str = "results.json";
const CHECKPOINTS: &str = "audit/checkpoints.jsonl";

/// `site.json` from the record's files: no I/O, no clock.
pub fn build(inputs: &SiteInputs) -> SiteData {
    let mut turnout = Turnout {
        census: Figure::sum(SERVICES),
        rights_issued: Figure::sum(SERVICES),
        ballots: Figure::sum(SERVICES),
        by_modality: Vec::new(),
    };
    for (k, s) in inputs.services.iter().enumerate() {
        let m = match turnout.by_modality.iter().position(|m| m.modality == s.modality) {
            Some(i) => i,
            None => {
                turnout.by_modality.push(ModalityTurnout {
                    modality: s.modality,
                    census: Figure::sum(SERVICES),
                    rights_issued: Figure::sum(SERVICES),
                    ballots: Figure::sum(SERVICES),
                });
                turnout.by_modality.len() - 1
            }
        };
        let by = &mut turnout.by_modality[m];
        for (total, part, field, value) in [
            (&mut turnout.census, &mut by.census, "census", s.census),
            (&mut turnout.rights_issued, &mut by.rights_issued, "rightsIssued", s.rights_issued),
            (&mut turnout.ballots, &mut by.ballots, "ballotsRecorded", s.ballots_recorded),
        ] {
            total.add(value, format!("/{k}/{field}"));
            part.add(value, format!("/{k}/{field}"));
        }
    }
    SiteData {
        format: SITE_FORMAT,
        election_id: inputs.index.election_id.clone(),
        title: inputs.manifest.title.clone(),
        manifest_hash: hex::encode(inputs.index.manifest_hash),
        exported_at: inputs.index.exported_at.clone(),
        districts: inputs
            .manifest
            .districts
            .iter()
            .map(|d| SiteDistrict { id: d.id.clone(), name: d.name.clone(), parent: d.parent.clone() })
            .collect(),
        turnout,
        results: inputs.results.as_ref().map(|r| results(&inputs.manifest, r)),
        log: inputs.checkpoint.as_ref().map(|c| LogSummary {
            origin: inputs.audit_key.origin.clone(),
            public_key: hex::encode(inputs.audit_key.public_key),
            size: c.checkpoint.size,
            closed: c.checkpoint.closed,
            timestamp: c.checkpoint.timestamp,
            file: CHECKPOINTS.to_owned(),
            line: c.line,
        }),
        files: inputs.files.clone(),
    }
}

fn results(manifest: &ElectionManifest, file: &ResultsFile) -> SiteResults {
    let district_order: BTreeMap<&str, usize> =
        manifest.districts.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
    let contests = file
        .totals
        .iter()
        .enumerate()
        .map(|(t, total)| {
            let title = manifest
                .contests
                .iter()
                .find(|c| c.id == total.contest_id)
                .map_or_else(|| total.contest_id.clone(), |c| c.title.clone());
            let counts = total
                .counts
                .iter()
                .enumerate()
                .map(|(j, c)| SiteCount {
                    choice: c.choice.clone(),
                    label: c.label.clone(),
                    votes: Figure {
                        value: c.votes,
                        file: RESULTS.to_owned(),
                        pointers: vec![format!("/totals/{t}/counts/{j}/votes")],
                    },
                })
                .collect();
            let mut by_district: Vec<ContestPart> = Vec::new();
            let mut by_modality: Vec<ContestPart> = Vec::new();
            for (k, r) in file.results.iter().enumerate().filter(|(_, r)| r.contest_id == total.contest_id) {
                for (parts, key) in [(&mut by_district, r.district.clone()), (&mut by_modality, r.modality.to_string())]
                {
                    let part = match parts.iter().position(|p| p.key == key) {
                        Some(i) => &mut parts[i],
                        None => {
                            parts.push(ContestPart {
                                key,
                                ballots: Figure::sum(RESULTS),
                                counts: r
                                    .counts
                                    .iter()
                                    .map(|c| SiteCount {
                                        choice: c.choice.clone(),
                                        label: c.label.clone(),
                                        votes: Figure::sum(RESULTS),
                                    })
                                    .collect(),
                            });
                            let last = parts.len() - 1;
                            &mut parts[last]
                        }
                    };
                    part.ballots.add(r.ballots, format!("/results/{k}/ballots"));
                    for (j, c) in r.counts.iter().enumerate() {
                        if let Some(sc) = part.counts.iter_mut().find(|sc| sc.choice == c.choice) {
                            sc.votes.add(c.votes, format!("/results/{k}/counts/{j}/votes"));
                        }
                    }
                }
            }
            by_district.sort_by_key(|p| district_order.get(p.key.as_str()).copied().unwrap_or(usize::MAX));
            SiteContest {
                contest_id: total.contest_id.clone(),
                title,
                ballots: Figure {
                    value: total.ballots,
                    file: RESULTS.to_owned(),
                    pointers: vec![format!("/totals/{t}/ballots")],
                },
                counts,
                by_district,
                by_modality,
            }
        })
        .collect();
    SiteResults { trustees: file.trustees.clone(), contests }
}

/// Reads what [`build`] needs from the record in `dir`. `results.json` and the checkpoints may be absent (a
/// record before decryption); everything else must be there.
pub fn load(dir: &RecordDir) -> Result<SiteInputs> {
    let index: RecordIndex = read_json(&dir.index())?;
    let manifest: ElectionManifest = read_json(&dir.manifest())?;
    let services: Vec<VoteServiceReport> = read_json(&dir.vote_services())?;
    let results = if dir.results().exists() { Some(read_json::<ResultsFile>(&dir.results())?) } else { None };
    let audit_key: AuditLogKey = read_json(&dir.audit_key())?;
    let checkpoint = if dir.audit_checkpoints().exists() {
        let rows: Vec<CheckpointRow> = read_jsonl(&dir.audit_checkpoints())?;
        match rows.len().checked_sub(1).and_then(|i| rows.get(i).map(|r| (i + 1, r))) {
            Some((line, row)) => {
                let malformed = |e: urna_audit::checkpoint::CheckpointError| RecordError::Malformed {
                    path: dir.audit_checkpoints(),
                    line: Some(line),
                    message: e.to_string(),
                };
                let note = Note::parse(&row.note).map_err(malformed)?;
                let checkpoint = Checkpoint::parse(&note.body).map_err(malformed)?;
                Some(LatestCheckpoint { line, checkpoint, note: row.note.clone() })
            }
            None => None,
        }
    } else {
        None
    };
    Ok(SiteInputs { index, manifest, services, results, audit_key, checkpoint, files: record_files(dir.root())? })
}

/// Every regular file under `root` (half-written `.tmp` files excepted), sorted by path, with its size and
/// SHA-256.
pub fn record_files(root: &Path) -> Result<Vec<RecordFile>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<RecordFile>) -> Result<()> {
        let io = |source| RecordError::Io { path: dir.to_owned(), source };
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() && path.extension().is_none_or(|e| e != "tmp") {
                let bytes = std::fs::read(&path).map_err(|source| RecordError::Io { path: path.clone(), source })?;
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push(RecordFile {
                    path: rel.join("/"),
                    bytes: bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{ContestTotal, TallyResult};
    use urna_ballot::ChoiceCount;

    fn count(choice: &str, votes: u64) -> ChoiceCount {
        ChoiceCount { choice: choice.into(), label: choice.to_uppercase(), votes }
    }

    fn entry(district: &str, modality: Modality, ballots: u64, a: u64, b: u64) -> TallyResult {
        TallyResult {
            contest_id: "mayor".into(),
            district: district.into(),
            modality,
            shard: format!("{district}-{modality}"),
            ballots,
            counts: vec![count("a", a), count("b", b)],
            plaintexts: Vec::new(),
        }
    }

    #[test]
    fn parts_add_up_the_entries_and_name_each_one() {
        let manifest: ElectionManifest = serde_json::from_value(serde_json::json!({
            "electionId": "e", "title": "E",
            "districts": [{"id": "norte", "name": "Norte"}, {"id": "sur", "name": "Sur"}],
            "contests": [{"id": "mayor", "title": "Mayor", "kind": "singleChoice", "districts": ["norte", "sur"],
                          "parties": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}]
        }))
        .unwrap();
        // Entries in shard order, the south first: districts are shown in manifest order all the same.
        let file = ResultsFile {
            election_id: "e".into(),
            manifest_hash: [0; 32],
            trustees: vec![1, 3],
            results: vec![
                entry("sur", Modality::Remote, 3, 2, 1),
                entry("norte", Modality::Remote, 2, 0, 2),
                entry("sur", Modality::Booth, 4, 1, 3),
            ],
            totals: vec![ContestTotal {
                contest_id: "mayor".into(),
                ballots: 9,
                counts: vec![count("a", 3), count("b", 6)],
            }],
        };
        let r = results(&manifest, &file);
        assert_eq!(r.trustees, vec![1, 3]);
        let c = &r.contests[0];
        assert_eq!(c.title, "Mayor");
        assert_eq!(c.ballots.pointers, vec!["/totals/0/ballots"]);
        assert_eq!(c.counts[1].votes.value, 6);
        assert_eq!(c.counts[1].votes.pointers, vec!["/totals/0/counts/1/votes"]);
        let keys: Vec<&str> = c.by_district.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["norte", "sur"]);
        let sur = &c.by_district[1];
        assert_eq!(sur.ballots.value, 7);
        assert_eq!(sur.ballots.pointers, vec!["/results/0/ballots", "/results/2/ballots"]);
        assert_eq!(sur.counts[0].votes.value, 3);
        assert_eq!(sur.counts[0].votes.pointers, vec!["/results/0/counts/0/votes", "/results/2/counts/0/votes"]);
        let remote = c.by_modality.iter().find(|p| p.key == "remote").unwrap();
        assert_eq!((remote.ballots.value, remote.counts[1].votes.value), (5, 3));
        // Every part adds up to the total.
        for parts in [&c.by_district, &c.by_modality] {
            assert_eq!(parts.iter().map(|p| p.ballots.value).sum::<u64>(), c.ballots.value);
        }
    }

    #[test]
    fn lists_every_file_but_half_written_ones_with_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("audit")).unwrap();
        std::fs::write(dir.path().join("record.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("audit/entries.jsonl"), b"").unwrap();
        std::fs::write(dir.path().join("results.tmp"), b"half").unwrap();
        let files = record_files(dir.path()).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["audit/entries.jsonl", "record.json"]);
        assert_eq!(files[1].bytes, 2);
        assert_eq!(files[1].sha256, hex::encode(Sha256::digest(b"{}")));
    }
}
