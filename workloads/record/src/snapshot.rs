//! PREP snapshots (docs/record.md, "PREP snapshots"): the format, defined once here for the publisher that
//! writes them (`urna publish`), the verifier (`urna verify snapshots`) and the public site that reads them.
//!
//! ```text
//! OUT/
//!   latest.json                {sequence, path, digest}: the newest snapshot (rewritten; not signed)
//!   000001/                    one directory per snapshot, named by its sequence (6 digits), never rewritten
//!     snapshot.json            {body: {format, electionId, manifestHash, sequence, createdAt, previous,
//!                                      publisherKey, actas, files: [{path, sha256, bytes}]}, signature}
//!     manifest.json            the election manifest (its hash is body.manifestHash)
//!     actas.json               INPUT: every expected mesa, its captures and, once counted, its figures
//!     results.json             DERIVED: progress, turnout, and per contest the totals and per-district counts
//!     contests.csv             DERIVED: contest,choice,label,votes
//!     districts.csv            DERIVED: district,name,actas_expected,actas_captured,actas_counted,actas_disputed,voted,ballots
//!     district_results.csv     DERIVED: district,contest,choice,votes
//!     mesas.csv                DERIVED: mesa,district,status,captures,photo_sha256,voted,ballots
//!     mesa_results.csv         DERIVED: mesa,contest,choice,votes (counted mesas only)
//!   000002/ ...
//! ```
//!
//! - **Digest** of a snapshot: SHA-256 of the compact JSON of `body` (fields in the order above, as
//!   [`SnapshotBody`] declares them). `previous` is the digest of the snapshot before it (64 zeros for the
//!   first): the chain. The audit log gets one `snapshot` event per snapshot with this digest.
//! - **Signature**: Ed25519 by the publisher's key (`publisherKey`, hex) over `urna-prep-snapshot-signature/1
//!   || 0x00 || digest`.
//! - **Files**: `files` lists every other file of the directory, sorted by path, with its SHA-256 and size;
//!   the directory holds exactly these and `snapshot.json`.
//! - **Derived files** are a pure function of `manifest.json` and `actas.json` ([`tabulate`]): a verifier
//!   recomputes them byte for byte, so every published number follows from the captured actas.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use urna_ballot::{ElectionManifest, choices::choices, contests_for_district, manifest_hash};

use crate::capture::{CaptureRef, SheetFigures, SheetStatus, decide};

/// `body.format` of `snapshot.json`.
pub const FORMAT: &str = "urna-prep-snapshot/1";
/// `format` of `actas.json`.
pub const ACTAS_FORMAT: &str = "urna-prep-actas/1";
/// `format` of `results.json`.
pub const RESULTS_FORMAT: &str = "urna-prep-results/1";
/// The domain separator of the publisher's signature.
pub const SIGNATURE_DOMAIN: &[u8] = b"urna-prep-snapshot-signature/1";
pub const SNAPSHOT_FILE: &str = "snapshot.json";
pub const LATEST_FILE: &str = "latest.json";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const ACTAS_FILE: &str = "actas.json";
/// `previous` of the first snapshot.
pub const GENESIS: [u8; 32] = [0; 32];

/// The directory name of snapshot `sequence`.
pub fn dir_name(sequence: u64) -> String {
    format!("{sequence:06}")
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io { path: path.to_path_buf(), source }
}

/// One expected mesa in `actas.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MesaSheet {
    pub mesa: String,
    /// The district whose ballot the mesa counts (a district of the manifest).
    pub district: String,
    /// [`decide`] applied to `captures`.
    pub status: SheetStatus,
    /// Every accepted capture, in arrival order.
    pub captures: Vec<CaptureRef>,
    /// The agreed figures: present exactly when counted, their digest that of the agreeing captures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<SheetFigures>,
}

/// `actas.json`: the capture service's state as published (`GET /v1/captures`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActasFile {
    pub format: String,
    pub election_id: String,
    /// Every expected mesa, sorted by id, each once.
    pub mesas: Vec<MesaSheet>,
}

/// Checks `actas.json` against the manifest: sorted unique mesas of known districts, each status the one
/// [`decide`] gives, figures present exactly when counted, equal to what the agreeing capturists typed
/// (by digest), and fitting the district's ballot.
pub fn check_actas(manifest: &ElectionManifest, actas: &ActasFile) -> Result<(), String> {
    if actas.format != ACTAS_FORMAT {
        return Err(format!("actas.json: format {:?}, expected {ACTAS_FORMAT:?}", actas.format));
    }
    if actas.election_id != manifest.election_id {
        return Err(format!(
            "actas.json: election {:?}, the manifest's is {:?}",
            actas.election_id, manifest.election_id
        ));
    }
    if let Some(w) = actas.mesas.windows(2).find(|w| w[0].mesa >= w[1].mesa) {
        return Err(format!("actas.json: mesas must be sorted and unique ({:?} before {:?})", w[0].mesa, w[1].mesa));
    }
    for m in &actas.mesas {
        let at = |what: String| format!("actas.json: mesa {}: {what}", m.mesa);
        if !manifest.districts.iter().any(|d| d.id == m.district) {
            return Err(at(format!("unknown district {:?}", m.district)));
        }
        let (status, agreed) = decide(&m.captures);
        if status != m.status {
            return Err(at(format!(
                "status {} but its {} captures make it {}",
                m.status.as_str(),
                m.captures.len(),
                status.as_str()
            )));
        }
        match (&m.figures, agreed) {
            (None, None) => {}
            (Some(f), Some(agreed)) => {
                if hex::encode(f.digest()) != agreed {
                    return Err(at(format!("figures differ from what the agreeing capturists typed ({agreed})")));
                }
                f.check(manifest, &m.district).map_err(at)?;
            }
            (Some(_), None) => return Err(at("figures published for a mesa that is not counted".into())),
            (None, Some(_)) => return Err(at("counted but its figures are missing".into())),
        }
    }
    Ok(())
}

/// How many actas: expected (mesas), captured (at least one capture), counted, disputed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Progress {
    pub expected: u64,
    pub captured: u64,
    pub counted: u64,
    pub disputed: u64,
}

impl Progress {
    fn add(&mut self, s: SheetStatus) {
        self.expected += 1;
        self.captured += u64::from(s != SheetStatus::Pending);
        self.counted += u64::from(s == SheetStatus::Counted);
        self.disputed += u64::from(s == SheetStatus::Disputed);
    }
}

/// Voters and ballots on the counted actas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Turnout {
    pub voted: u64,
    pub ballots: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChoiceTotal {
    pub choice: String,
    pub label: String,
    pub votes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistrictVotes {
    pub district: String,
    /// Counted actas of this district (whose ballot has the contest).
    pub actas_counted: u64,
    pub ballots: u64,
    /// Votes per choice, in the order of the contest's `counts`.
    pub votes: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContestTotals {
    pub contest: String,
    pub title: String,
    /// Counted actas whose ballot has the contest, and their ballots.
    pub actas_counted: u64,
    pub ballots: u64,
    /// Every choice of the contest's numbering, in order, with its votes on the counted actas.
    pub counts: Vec<ChoiceTotal>,
    /// Districts with a mesa whose ballot has the contest, in manifest order.
    pub districts: Vec<DistrictVotes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistrictProgress {
    pub district: String,
    pub name: String,
    pub actas: Progress,
    pub turnout: Turnout,
}

/// `results.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultsFile {
    pub format: String,
    pub election_id: String,
    pub actas: Progress,
    pub turnout: Turnout,
    /// Every contest of the manifest, in manifest order.
    pub contests: Vec<ContestTotals>,
    /// Districts with at least one mesa, in manifest order.
    pub districts: Vec<DistrictProgress>,
}

/// The preliminary results that follow from `actas` (checked with [`check_actas`] first).
pub fn results(manifest: &ElectionManifest, actas: &ActasFile) -> ResultsFile {
    let mut progress = Progress::default();
    let mut turnout = Turnout::default();
    let mut by_district: HashMap<&str, (Progress, Turnout)> = HashMap::new();
    // (contest, district) → (actas, ballots, votes per choice)
    let mut cells: HashMap<(&str, &str), (u64, u64, Vec<u64>)> = HashMap::new();
    for m in &actas.mesas {
        progress.add(m.status);
        let d = by_district.entry(m.district.as_str()).or_default();
        d.0.add(m.status);
        let Some(f) = &m.figures else { continue };
        for t in [&mut turnout, &mut d.1] {
            t.voted += f.voted;
            t.ballots += f.ballots;
        }
        for c in &f.contests {
            let cell = cells.entry((c.contest.as_str(), m.district.as_str())).or_default();
            cell.0 += 1;
            cell.1 += f.ballots;
            cell.2.resize(c.counts.len(), 0);
            for (slot, x) in cell.2.iter_mut().zip(&c.counts) {
                *slot += x.votes;
            }
        }
    }
    let districts_with_mesas: Vec<&urna_ballot::District> =
        manifest.districts.iter().filter(|d| by_district.contains_key(d.id.as_str())).collect();
    let contests = manifest
        .contests
        .iter()
        .map(|contest| {
            let numbering = choices(contest);
            let mut totals = ContestTotals {
                contest: contest.id.clone(),
                title: contest.title.clone(),
                actas_counted: 0,
                ballots: 0,
                counts: numbering
                    .iter()
                    .map(|c| ChoiceTotal { choice: c.id.clone(), label: c.label.clone(), votes: 0 })
                    .collect(),
                districts: Vec::new(),
            };
            for d in &districts_with_mesas {
                if !contests_for_district(manifest, &d.id).iter().any(|c| c.id == contest.id) {
                    continue;
                }
                let (n, ballots, mut votes) = cells.remove(&(contest.id.as_str(), d.id.as_str())).unwrap_or_default();
                votes.resize(numbering.len(), 0);
                totals.actas_counted += n;
                totals.ballots += ballots;
                for (t, v) in totals.counts.iter_mut().zip(&votes) {
                    t.votes += v;
                }
                totals.districts.push(DistrictVotes { district: d.id.clone(), actas_counted: n, ballots, votes });
            }
            totals
        })
        .collect();
    let districts = districts_with_mesas
        .iter()
        .map(|d| {
            let (actas, turnout) = by_district.get(d.id.as_str()).copied().unwrap_or_default();
            DistrictProgress { district: d.id.clone(), name: d.name.clone(), actas, turnout }
        })
        .collect();
    ResultsFile {
        format: RESULTS_FORMAT.into(),
        election_id: manifest.election_id.clone(),
        actas: progress,
        turnout,
        contests,
        districts,
    }
}

/// A CSV field: quoted when it holds a comma, quote or line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// The derived files (module docs), by name, sorted: a pure function of the manifest and `actas.json`.
pub fn tabulate(manifest: &ElectionManifest, actas: &ActasFile) -> Vec<(String, Vec<u8>)> {
    let r = results(manifest, actas);
    let mut contests = String::from("contest,choice,label,votes\n");
    let mut district_results = String::from("district,contest,choice,votes\n");
    for c in &r.contests {
        for t in &c.counts {
            let _ = writeln!(contests, "{},{},{},{}", field(&c.contest), field(&t.choice), field(&t.label), t.votes);
        }
        for d in &c.districts {
            for (t, v) in c.counts.iter().zip(&d.votes) {
                let _ =
                    writeln!(district_results, "{},{},{},{v}", field(&d.district), field(&c.contest), field(&t.choice));
            }
        }
    }
    let mut districts =
        String::from("district,name,actas_expected,actas_captured,actas_counted,actas_disputed,voted,ballots\n");
    for d in &r.districts {
        let a = d.actas;
        let _ = writeln!(
            districts,
            "{},{},{},{},{},{},{},{}",
            field(&d.district),
            field(&d.name),
            a.expected,
            a.captured,
            a.counted,
            a.disputed,
            d.turnout.voted,
            d.turnout.ballots
        );
    }
    let mut mesas = String::from("mesa,district,status,captures,photo_sha256,voted,ballots\n");
    let mut mesa_results = String::from("mesa,contest,choice,votes\n");
    for m in &actas.mesas {
        let photo = m.captures.first().map(|c| c.photo_sha256.as_str()).unwrap_or_default();
        let (voted, ballots) =
            m.figures.as_ref().map(|f| (f.voted.to_string(), f.ballots.to_string())).unwrap_or_default();
        let _ = writeln!(
            mesas,
            "{},{},{},{},{},{voted},{ballots}",
            field(&m.mesa),
            field(&m.district),
            m.status.as_str(),
            m.captures.len(),
            field(photo)
        );
        for c in m.figures.iter().flat_map(|f| &f.contests) {
            for x in &c.counts {
                let _ =
                    writeln!(mesa_results, "{},{},{},{}", field(&m.mesa), field(&c.contest), field(&x.choice), x.votes);
            }
        }
    }
    // Compact JSON of declared fields: cannot fail.
    let results_json = serde_json::to_vec(&r).unwrap_or_default();
    vec![
        ("contests.csv".into(), contests.into_bytes()),
        ("district_results.csv".into(), district_results.into_bytes()),
        ("districts.csv".into(), districts.into_bytes()),
        ("mesa_results.csv".into(), mesa_results.into_bytes()),
        ("mesas.csv".into(), mesas.into_bytes()),
        ("results.json".into(), results_json),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub bytes: u64,
}

/// What the publisher signs (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotBody {
    pub format: String,
    pub election_id: String,
    /// The manifest hash (docs/protocol.md §4.5), hex.
    pub manifest_hash: String,
    /// 1, 2, 3, … without gaps; the directory's name.
    pub sequence: u64,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// The previous snapshot's digest, hex (64 zeros for the first).
    pub previous: String,
    /// The publisher's Ed25519 public key, hex.
    pub publisher_key: String,
    /// As in `results.json`.
    pub actas: Progress,
    /// Every other file of the directory, sorted by path.
    pub files: Vec<FileEntry>,
}

impl SnapshotBody {
    /// SHA-256 of the compact JSON: the snapshot's identity, chained and logged.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(serde_json::to_vec(self).unwrap_or_default()).into()
    }
}

/// The message the publisher signs.
pub fn signing_message(digest: &[u8; 32]) -> Vec<u8> {
    [SIGNATURE_DOMAIN, &[0], digest].concat()
}

/// `snapshot.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedSnapshot {
    pub body: SnapshotBody,
    /// Ed25519 signature over [`signing_message`], hex.
    pub signature: String,
}

/// `latest.json`: where mirrors and the site start; verified to name the last snapshot when present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Latest {
    pub sequence: u64,
    /// The snapshot's directory, relative to `latest.json` (`000042`).
    pub path: String,
    /// Its digest, hex.
    pub digest: String,
}

/// A snapshot ready to write.
pub struct Snapshot {
    pub signed: SignedSnapshot,
    pub digest: [u8; 32],
    /// Every file but `snapshot.json`, sorted by name.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Builds snapshot `sequence` from the capture state: checks it, derives the files, hashes and signs.
pub fn build(
    manifest: &ElectionManifest,
    actas: &ActasFile,
    sequence: u64,
    created_at: jiff::Timestamp,
    previous: [u8; 32],
    publisher_key: [u8; 32],
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) -> Result<Snapshot, SnapshotError> {
    check_actas(manifest, actas).map_err(SnapshotError::Invalid)?;
    let mut files = tabulate(manifest, actas);
    files.push((MANIFEST_FILE.into(), serde_json::to_vec_pretty(manifest).unwrap_or_default()));
    files.push((ACTAS_FILE.into(), serde_json::to_vec(actas).unwrap_or_default()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let entries = files
        .iter()
        .map(|(path, bytes)| FileEntry {
            path: path.clone(),
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
        })
        .collect();
    let whole = jiff::Timestamp::from_second(created_at.as_second()).unwrap_or(created_at);
    let body = SnapshotBody {
        format: FORMAT.into(),
        election_id: manifest.election_id.clone(),
        manifest_hash: hex::encode(manifest_hash(manifest)),
        sequence,
        created_at: whole.to_string(),
        previous: hex::encode(previous),
        publisher_key: hex::encode(publisher_key),
        actas: results_progress(actas),
        files: entries,
    };
    let digest = body.digest();
    let signature = hex::encode(sign(&signing_message(&digest)));
    Ok(Snapshot { signed: SignedSnapshot { body, signature }, digest, files })
}

fn results_progress(actas: &ActasFile) -> Progress {
    let mut p = Progress::default();
    for m in &actas.mesas {
        p.add(m.status);
    }
    p
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let mut f = std::fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), SnapshotError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Writes `snapshot` under `out` as its sequence's directory, whole or not at all (a temporary directory
/// renamed into place, synced), then points `latest.json` at it. An existing directory is never replaced.
pub fn write(out: &Path, snapshot: &Snapshot) -> Result<PathBuf, SnapshotError> {
    let name = dir_name(snapshot.signed.body.sequence);
    let dest = out.join(&name);
    if dest.exists() {
        return Err(SnapshotError::Invalid(format!("{} exists: snapshots are never rewritten", dest.display())));
    }
    let tmp = out.join(format!(".tmp-{name}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    for (file, bytes) in &snapshot.files {
        write_synced(&tmp.join(file), bytes)?;
    }
    let signed = serde_json::to_vec_pretty(&snapshot.signed).unwrap_or_default();
    write_synced(&tmp.join(SNAPSHOT_FILE), &signed)?;
    sync_dir(&tmp)?;
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    let latest = Latest { sequence: snapshot.signed.body.sequence, path: name, digest: hex::encode(snapshot.digest) };
    let latest_tmp = out.join(".tmp-latest.json");
    write_synced(&latest_tmp, &serde_json::to_vec_pretty(&latest).unwrap_or_default())?;
    std::fs::rename(&latest_tmp, out.join(LATEST_FILE)).map_err(io(out))?;
    sync_dir(out)?;
    Ok(dest)
}

/// The newest snapshot under `out` (sequence and digest), to chain the next one to; `None` when there is none.
pub fn last(out: &Path) -> Result<Option<(u64, [u8; 32])>, SnapshotError> {
    let Some(seq) = sequences(out)?.into_iter().last() else { return Ok(None) };
    let path = out.join(dir_name(seq)).join(SNAPSHOT_FILE);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let s: SignedSnapshot =
        serde_json::from_slice(&bytes).map_err(|e| SnapshotError::Invalid(format!("{}: {e}", path.display())))?;
    Ok(Some((s.body.sequence, s.body.digest())))
}

/// The snapshot directories under `out`, by sequence.
fn sequences(out: &Path) -> Result<Vec<u64>, SnapshotError> {
    if !out.exists() {
        return Ok(Vec::new());
    }
    let mut seqs = Vec::new();
    for e in std::fs::read_dir(out).map_err(io(out))? {
        let name = e.map_err(io(out))?.file_name().to_string_lossy().into_owned();
        if let Some(n) = parse_dir_name(&name) {
            seqs.push(n);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

fn parse_dir_name(name: &str) -> Option<u64> {
    (name.len() >= 6 && name.bytes().all(|b| b.is_ascii_digit())).then(|| name.parse().ok()).flatten()
}

/// Why a snapshot directory is refused: where (a snapshot's directory name, or the directory itself) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {reason}")]
pub struct SnapshotFailure {
    pub position: String,
    pub reason: String,
}

/// What a verified chain shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainSummary {
    pub election_id: String,
    pub publisher_key: String,
    pub snapshots: u64,
    /// Digest of each snapshot, by sequence from 1 (hex): compare with the log's `snapshot` events.
    pub digests: Vec<String>,
    pub last: Progress,
}

/// `urna verify snapshots`: every snapshot under `out`, in order. Checks that the directory holds only
/// snapshots 1..N (and `latest.json`, naming N); each snapshot's format, sequence, chain link, one publisher key
/// (`pinned` when given), signature, exact file list, hashes and sizes, manifest hash; that `actas.json`
/// follows the double-entry rule and every derived file is what it implies, byte for byte; and across the
/// chain, that the election, manifest and expected mesas never change and no accepted capture or counted
/// figure is ever lost or altered. The first failure is returned, naming the snapshot.
pub fn verify_dir(out: &Path, pinned: Option<[u8; 32]>) -> Result<ChainSummary, SnapshotFailure> {
    let top = |reason: String| SnapshotFailure { position: out.display().to_string(), reason };
    let mut seqs = Vec::new();
    let mut latest = None;
    for e in std::fs::read_dir(out).map_err(|e| top(e.to_string()))? {
        let name = e.map_err(|e| top(e.to_string()))?.file_name().to_string_lossy().into_owned();
        match parse_dir_name(&name) {
            Some(n) => seqs.push((n, name)),
            None if name == LATEST_FILE => latest = Some(name),
            None => return Err(top(format!("{name:?} is not a snapshot (added?)"))),
        }
    }
    seqs.sort();
    if seqs.is_empty() {
        return Err(top("no snapshots".into()));
    }
    let mut previous = GENESIS;
    let mut prior: Option<(SnapshotBody, ActasFile)> = None;
    let mut digests = Vec::new();
    for (i, (seq, name)) in seqs.iter().enumerate() {
        let at = |reason: String| SnapshotFailure { position: format!("snapshot {name}"), reason };
        let want = i as u64 + 1;
        if *seq != want || *name != dir_name(*seq) {
            return Err(at(format!(
                "expected snapshot {} here: the sequence has a gap or a misnamed directory (deleted or added?)",
                dir_name(want)
            )));
        }
        let (body, actas) = verify_one(&out.join(name), *seq, previous, pinned).map_err(at)?;
        if let Some((pb, pa)) = &prior {
            continuity(pb, pa, &body, &actas).map_err(at)?;
        }
        previous = body.digest();
        digests.push(hex::encode(previous));
        prior = Some((body, actas));
    }
    let Some((body, _)) = prior else { return Err(top("no snapshots".into())) };
    if let Some(name) = latest {
        let path = out.join(&name);
        let l: Latest = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| top(format!("{name}: {e}")))?;
        if l.sequence != body.sequence || l.path != dir_name(body.sequence) || l.digest != hex::encode(previous) {
            return Err(top(format!(
                "{name} names snapshot {} ({}), but the last is {} ({})",
                l.sequence,
                l.digest,
                body.sequence,
                hex::encode(previous)
            )));
        }
    }
    Ok(ChainSummary {
        election_id: body.election_id.clone(),
        publisher_key: body.publisher_key.clone(),
        snapshots: body.sequence,
        digests,
        last: body.actas,
    })
}

fn verify_one(
    dir: &Path,
    seq: u64,
    previous: [u8; 32],
    pinned: Option<[u8; 32]>,
) -> Result<(SnapshotBody, ActasFile), String> {
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let signed: SignedSnapshot =
        serde_json::from_slice(&read(SNAPSHOT_FILE)?).map_err(|e| format!("{SNAPSHOT_FILE}: {e}"))?;
    let b = &signed.body;
    if b.format != FORMAT {
        return Err(format!("format {:?}, expected {FORMAT:?}", b.format));
    }
    if b.sequence != seq {
        return Err(format!("its body says sequence {} (moved or reordered?)", b.sequence));
    }
    if b.previous != hex::encode(previous) {
        return Err(format!(
            "the chain breaks here: previous is {}, but the snapshot before it has digest {}",
            b.previous,
            hex::encode(previous)
        ));
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(&b.publisher_key, &mut key).map_err(|_| "publisherKey: not 64 hex characters".to_string())?;
    if let Some(p) = pinned
        && p != key
    {
        return Err(format!("signed by {}, not the pinned publisher key {}", b.publisher_key, hex::encode(p)));
    }
    let digest = b.digest();
    let sig = hex::decode(&signed.signature)
        .ok()
        .and_then(|s| ed25519_dalek::Signature::from_slice(&s).ok())
        .ok_or("signature: not 128 hex characters")?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .and_then(|k| k.verify_strict(&signing_message(&digest), &sig))
        .map_err(|_| "the publisher's signature does not verify (modified?)".to_string())?;
    // Exactly the listed files, each as listed.
    let mut present: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n != SNAPSHOT_FILE)
        .collect();
    present.sort();
    let listed: Vec<&str> = b.files.iter().map(|f| f.path.as_str()).collect();
    if present != listed {
        let extra: Vec<&String> = present.iter().filter(|p| !listed.contains(&p.as_str())).collect();
        let missing: Vec<&&str> = listed.iter().filter(|l| !present.iter().any(|p| p == *l)).collect();
        return Err(format!("files not as signed: added {extra:?}, missing {missing:?}"));
    }
    let mut contents: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for f in &b.files {
        let bytes = read(&f.path)?;
        if bytes.len() as u64 != f.bytes || hex::encode(Sha256::digest(&bytes)) != f.sha256 {
            return Err(format!("{}: its SHA-256 or size differs from the signed one (modified?)", f.path));
        }
        contents.insert(f.path.as_str(), bytes);
    }
    let get = |name: &str| contents.get(name).ok_or_else(|| format!("{name} is not among the signed files"));
    let manifest: ElectionManifest =
        serde_json::from_slice(get(MANIFEST_FILE)?).map_err(|e| format!("{MANIFEST_FILE}: {e}"))?;
    if hex::encode(manifest_hash(&manifest)) != b.manifest_hash || manifest.election_id != b.election_id {
        return Err(format!(
            "{MANIFEST_FILE} is not the election {} with manifest hash {}",
            b.election_id, b.manifest_hash
        ));
    }
    let actas: ActasFile = serde_json::from_slice(get(ACTAS_FILE)?).map_err(|e| format!("{ACTAS_FILE}: {e}"))?;
    check_actas(&manifest, &actas)?;
    if results_progress(&actas) != b.actas {
        return Err("the signed actas progress does not follow from actas.json".into());
    }
    for (name, bytes) in tabulate(&manifest, &actas) {
        if get(&name)? != &bytes {
            return Err(format!("{name} does not follow from actas.json (its figures differ from the captured actas)"));
        }
    }
    Ok((signed.body, actas))
}

/// Across consecutive snapshots: one election, manifest and publisher, the same expected mesas, time never
/// going back, and every capture (hence every counted figure) of the earlier one still there, in order.
fn continuity(pb: &SnapshotBody, pa: &ActasFile, b: &SnapshotBody, a: &ActasFile) -> Result<(), String> {
    if (pb.election_id.as_str(), pb.manifest_hash.as_str(), pb.publisher_key.as_str())
        != (b.election_id.as_str(), b.manifest_hash.as_str(), b.publisher_key.as_str())
    {
        return Err("its election, manifest or publisher key differs from the snapshot before".into());
    }
    if b.created_at.parse::<jiff::Timestamp>().ok() < pb.created_at.parse::<jiff::Timestamp>().ok() {
        return Err(format!("created at {}, before the snapshot before it ({})", b.created_at, pb.created_at));
    }
    if pa.mesas.len() != a.mesas.len() {
        return Err(format!("{} expected mesas, the snapshot before had {}", a.mesas.len(), pa.mesas.len()));
    }
    for (old, new) in pa.mesas.iter().zip(&a.mesas) {
        if (old.mesa.as_str(), old.district.as_str()) != (new.mesa.as_str(), new.district.as_str()) {
            return Err(format!("mesa {} ({}) became {} ({})", old.mesa, old.district, new.mesa, new.district));
        }
        if !new.captures.starts_with(&old.captures) {
            return Err(format!("mesa {}: a capture published before is missing or altered", old.mesa));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};
    use urna_ballot::Contest;

    use super::*;
    use crate::capture::{ChoiceVotes, ContestCount};

    fn manifest() -> ElectionManifest {
        let mut contest = Contest::single_choice("mayor", &["d1"], &["a", "b"], false);
        contest.title = "Mayor, \"city\"".into();
        ElectionManifest::single_district("e-2027", "d1", vec![contest])
    }

    fn figures(a: u64, b: u64) -> SheetFigures {
        let numbering = choices(&manifest().contests[0]);
        let votes = [a, b];
        SheetFigures {
            voted: a + b,
            ballots: a + b,
            contests: vec![ContestCount {
                contest: "mayor".into(),
                counts: numbering
                    .iter()
                    .zip(votes.iter().chain(std::iter::repeat(&0)))
                    .map(|(c, v)| ChoiceVotes { choice: c.id.clone(), votes: *v })
                    .collect(),
            }],
        }
    }

    fn capture(who: &str, f: &SheetFigures) -> CaptureRef {
        CaptureRef {
            capturist: who.into(),
            captured_at: "2027-06-06T20:00:00Z".into(),
            photo_sha256: "ab".repeat(32),
            figures_sha256: hex::encode(f.digest()),
        }
    }

    fn sheet(mesa: &str, captures: Vec<CaptureRef>, figures: Option<SheetFigures>) -> MesaSheet {
        let status = decide(&captures).0;
        MesaSheet { mesa: mesa.into(), district: "d1".into(), status, captures, figures }
    }

    #[test]
    fn results_add_up_the_counted_sheets_only() {
        let (f1, f2) = (figures(3, 1), figures(0, 2));
        let actas = ActasFile {
            format: ACTAS_FORMAT.into(),
            election_id: "e-2027".into(),
            mesas: vec![
                sheet("m1", vec![capture("x", &f1), capture("y", &f1)], Some(f1.clone())),
                sheet("m2", vec![capture("x", &f2), capture("y", &f1)], None),
                sheet("m3", vec![capture("x", &f2), capture("y", &f1), capture("z", &f2)], Some(f2.clone())),
                sheet("m4", vec![], None),
            ],
        };
        check_actas(&manifest(), &actas).expect("valid");
        let r = results(&manifest(), &actas);
        assert_eq!(r.actas, Progress { expected: 4, captured: 3, counted: 2, disputed: 1 });
        assert_eq!(r.turnout, Turnout { voted: 6, ballots: 6 });
        assert_eq!(r.contests[0].counts.iter().map(|c| c.votes).collect::<Vec<_>>()[..2], [3, 3]);
        let files = tabulate(&manifest(), &actas);
        let contests = String::from_utf8(files[0].1.clone()).expect("utf8");
        assert!(contests.starts_with("contest,choice,label,votes\nmayor,a,"), "{contests}");
        // Figures on a mesa that is not counted, or other than the agreed ones, are refused.
        let mut bad = actas.clone();
        bad.mesas[1].figures = Some(f1.clone());
        assert!(check_actas(&manifest(), &bad).is_err());
        let mut bad = actas;
        bad.mesas[0].figures = Some(figures(4, 0));
        assert!(check_actas(&manifest(), &bad).unwrap_err().contains("agreeing"));
    }

    #[test]
    fn a_written_chain_verifies_and_each_tampering_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = SigningKey::from_bytes(&[7; 32]);
        let pk = key.verifying_key().to_bytes();
        let f1 = figures(3, 1);
        let mut actas = ActasFile {
            format: ACTAS_FORMAT.into(),
            election_id: "e-2027".into(),
            mesas: vec![sheet("m1", vec![], None), sheet("m2", vec![], None)],
        };
        let mut previous = GENESIS;
        for seq in 1..=3 {
            if seq == 2 {
                actas.mesas[0] = sheet("m1", vec![capture("x", &f1)], None);
            }
            if seq == 3 {
                actas.mesas[0] = sheet("m1", vec![capture("x", &f1), capture("y", &f1)], Some(f1.clone()));
            }
            let at = jiff::Timestamp::from_second(1_800_000_000 + seq as i64).expect("time");
            let s = build(&manifest(), &actas, seq, at, previous, pk, |m| key.sign(m).to_bytes()).expect("build");
            write(dir.path(), &s).expect("write");
            previous = s.digest;
        }
        let ok = verify_dir(dir.path(), Some(pk)).expect("honest chain verifies");
        assert_eq!(ok.snapshots, 3);
        assert_eq!(ok.last.counted, 1);
        assert_eq!(last(dir.path()).expect("last"), Some((3, previous)));

        let copy = |f: &dyn Fn(&Path)| {
            let t = tempfile::tempdir().expect("tmp");
            for seq in 1..=3 {
                let d = t.path().join(dir_name(seq));
                std::fs::create_dir_all(&d).expect("mkdir");
                for e in std::fs::read_dir(dir.path().join(dir_name(seq))).expect("read") {
                    let e = e.expect("entry");
                    std::fs::copy(e.path(), d.join(e.file_name())).expect("copy");
                }
            }
            f(t.path());
            verify_dir(t.path(), Some(pk)).expect_err("tampering refused").to_string()
        };
        let modified =
            copy(&|p| std::fs::write(p.join("000002/contests.csv"), "contest,choice,label,votes\n").expect("write"));
        assert!(modified.contains("snapshot 000002") && modified.contains("contests.csv"), "{modified}");
        let deleted = copy(&|p| std::fs::remove_dir_all(p.join("000002")).expect("rm"));
        assert!(deleted.contains("snapshot 000003") && deleted.contains("gap"), "{deleted}");
        let added = copy(&|p| std::fs::write(p.join("000001/extra.csv"), "x").expect("write"));
        assert!(added.contains("snapshot 000001") && added.contains("extra.csv"), "{added}");
        let reordered = copy(&|p| {
            std::fs::rename(p.join("000002"), p.join("tmp")).expect("mv");
            std::fs::rename(p.join("000003"), p.join("000002")).expect("mv");
            std::fs::rename(p.join("tmp"), p.join("000003")).expect("mv");
        });
        assert!(reordered.contains("snapshot 000002") && reordered.contains("sequence 3"), "{reordered}");
        let other_key = copy(&|p| {
            let path = p.join("000003/snapshot.json");
            let mut s: SignedSnapshot = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            s.body.created_at = "2030-01-01T00:00:00Z".into();
            std::fs::write(&path, serde_json::to_vec(&s).expect("json")).expect("write");
        });
        assert!(other_key.contains("signature"), "{other_key}");
    }
}
