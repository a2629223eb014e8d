//! Election events in the audit log (docs/record.md, "Election events"): what each act appends, defined once
//! here for those who append them (`urna local`, the closing steps, `urna publish`, the vote service's actas)
//! and for `urna verify record`, which checks that the record's events are in the log and in a legal order.
//!
//! | act | kind | digest | detail |
//! |---|---|---|---|
//! | manifest published | `manifest` | the manifest hash | `manifest` |
//! | key ceremony | `ceremony-transcript` | SHA-256 of `keys/ceremony-transcript.json` | `ceremony transcript` |
//! | voting opens in a modality | `open` | the manifest hash | `open <modality>` |
//! | a modality closes (all its vote services closed and drained) | `close` | [`close_digest`] | `close <modality>` |
//! | a shard sealed | `shard-sealed` | its totals digest | `shard <name> sealed` |
//! | a mesa acta accepted | `acta` | SHA-256 of the acta document | `mesa <mesa> acta <kind>` (`urna_vote::acta`) |
//! | a PREP snapshot written | `snapshot` | the snapshot's digest (`urna_record::snapshot`) | `prep snapshot <n>` |
//! | a regional officer's action | `officer-action` | SHA-256 of the action's record (`urna_booth::ops`) | `officer <id> <action> <target>` |
//!
//! **Legal order** ([`check_order`]), each breach reported by its position (log index): the manifest and
//! ceremony before any opening; at most one opening and one closing per modality, the opening first; no ballot
//! of a modality before its opening or after its closing; each shard sealed once, after its modality closed;
//! snapshots numbered 1, 2, 3… in log order; officers' actions at any point. An event whose detail is not one of the forms above is refused.
//! A log with opening events must also be complete: the manifest, the ceremony, an opening and a closing for
//! every modality of the record's vote services, and a seal for every shard.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};
use urna_audit::{EventKind, LogEntry};
use urna_tally::Modality;

pub fn manifest(manifest_hash: [u8; 32]) -> LogEntry {
    LogEntry::Event { kind: EventKind::Manifest, digest: manifest_hash, detail: "manifest".into() }
}

/// `transcript` is the transcript file's bytes (`CeremonyTranscript::to_json`, as the record keeps it).
pub fn ceremony(transcript: &[u8]) -> LogEntry {
    LogEntry::Event {
        kind: EventKind::CeremonyTranscript,
        digest: Sha256::digest(transcript).into(),
        detail: "ceremony transcript".into(),
    }
}

pub fn open(manifest_hash: [u8; 32], modality: Modality) -> LogEntry {
    LogEntry::Event { kind: EventKind::Open, digest: manifest_hash, detail: format!("open {modality}") }
}

/// One closed vote service of a modality, as its status (and the record's `vote-services.json`) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedService {
    pub partition: u32,
    pub ballots_recorded: u64,
    pub rights_issued: u64,
}

/// SHA-256 of the compact JSON `{"modality", "services": [{partition, ballotsRecorded, rightsIssued}]}`,
/// services sorted by partition: what the modality's vote services had recorded when it closed.
pub fn close_digest(modality: Modality, services: &[ClosedService]) -> [u8; 32] {
    let mut s = services.to_vec();
    s.sort_by_key(|x| x.partition);
    let doc = serde_json::json!({ "modality": modality.as_str(), "services": s });
    Sha256::digest(serde_json::to_vec(&doc).unwrap_or_default()).into()
}

pub fn close(modality: Modality, services: &[ClosedService]) -> LogEntry {
    LogEntry::Event {
        kind: EventKind::Close,
        digest: close_digest(modality, services),
        detail: format!("close {modality}"),
    }
}

pub fn shard_sealed(shard: &str, totals_digest: [u8; 32]) -> LogEntry {
    LogEntry::Event { kind: EventKind::ShardSealed, digest: totals_digest, detail: format!("shard {shard} sealed") }
}

pub fn snapshot(sequence: u64, digest: [u8; 32]) -> LogEntry {
    LogEntry::Event { kind: EventKind::Snapshot, digest, detail: format!("prep snapshot {sequence}") }
}

/// `officer` did `action` (`lock`, `resolve`...) to `target` (`device:<id>` or `alert:<n>`); `record_sha256`
/// is the digest of the action as the operations centre keeps and serves it. None of the three may hold a space.
pub fn officer_action(officer: &str, action: &str, target: &str, record_sha256: [u8; 32]) -> LogEntry {
    LogEntry::Event {
        kind: EventKind::OfficerAction,
        digest: record_sha256,
        detail: format!("officer {officer} {action} {target}"),
    }
}

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionEvent {
    Manifest,
    Ceremony,
    Open(Modality),
    Close(Modality),
    ShardSealed(String),
    Acta { mesa: String, kind: String },
    Snapshot(u64),
    OfficerAction { officer: String, action: String, target: String },
}

fn modality(s: &str) -> Option<Modality> {
    [Modality::Remote, Modality::Booth].into_iter().find(|m| m.as_str() == s)
}

/// The event `kind` with `detail` names, or `None` when the detail is not its kind's form.
pub fn parse(kind: EventKind, detail: &str) -> Option<ElectionEvent> {
    let words: Vec<&str> = detail.split(' ').collect();
    Some(match (kind, words.as_slice()) {
        (EventKind::Manifest, ["manifest"]) => ElectionEvent::Manifest,
        (EventKind::CeremonyTranscript, ["ceremony", "transcript"]) => ElectionEvent::Ceremony,
        (EventKind::Open, ["open", m]) => ElectionEvent::Open(modality(m)?),
        (EventKind::Close, ["close", m]) => ElectionEvent::Close(modality(m)?),
        (EventKind::ShardSealed, ["shard", s, "sealed"]) => ElectionEvent::ShardSealed((*s).to_owned()),
        (EventKind::Acta, ["mesa", mesa, "acta", kind]) => {
            ElectionEvent::Acta { mesa: (*mesa).to_owned(), kind: (*kind).to_owned() }
        }
        (EventKind::Snapshot, ["prep", "snapshot", n]) if !n.starts_with('0') => {
            ElectionEvent::Snapshot(n.parse().ok()?)
        }
        (EventKind::OfficerAction, ["officer", officer, action, target])
            if ![officer, action, target].iter().any(|w| w.is_empty()) =>
        {
            ElectionEvent::OfficerAction {
                officer: (*officer).to_owned(),
                action: (*action).to_owned(),
                target: (*target).to_owned(),
            }
        }
        _ => return None,
    })
}

/// What the record says the events must carry.
#[derive(Debug, Clone)]
pub struct Expected {
    pub manifest_hash: [u8; 32],
    pub transcript_sha256: [u8; 32],
    /// Each modality of the record's vote services, with its [`close_digest`].
    pub closes: HashMap<Modality, [u8; 32]>,
    /// Each shard: its modality and sealed totals digest.
    pub shards: BTreeMap<String, (Modality, [u8; 32])>,
}

/// One log entry as the order check sees it: a ballot (with the modality its right was issued for), or an event.
pub enum Item<'a> {
    Ballot(Modality),
    Event(EventKind, &'a [u8; 32], &'a str),
}

/// What a legal log holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderSummary {
    /// Whether the log had opening events (then it was checked for completeness too).
    pub complete: bool,
    pub events: u64,
    pub actas: u64,
    pub snapshots: u64,
    pub officer_actions: u64,
}

/// The legal-order check (module docs) over `items` in log order, each with its log index. The error names the
/// position where the record's chain of events breaks.
pub fn check_order<'a>(
    expected: &Expected,
    items: impl IntoIterator<Item = (u64, Item<'a>)>,
) -> Result<OrderSummary, String> {
    let items: Vec<(u64, Item<'a>)> = items.into_iter().collect();
    let with_openings = items.iter().any(|(_, i)| matches!(i, Item::Event(EventKind::Open, ..)));
    let mut at_manifest = None;
    let mut at_ceremony = None;
    let mut opened: HashMap<Modality, u64> = HashMap::new();
    let mut closed: HashMap<Modality, u64> = HashMap::new();
    let mut sealed: HashMap<String, u64> = HashMap::new();
    let mut summary = OrderSummary { complete: with_openings, ..OrderSummary::default() };
    for (pos, item) in &items {
        let at = |m: String| format!("log position {pos}: {m}");
        let (kind, digest, detail) = match item {
            Item::Ballot(m) => {
                if let Some(c) = closed.get(m) {
                    return Err(at(format!("a {m} ballot after the {m} closing at position {c}")));
                }
                if with_openings && !opened.contains_key(m) {
                    return Err(at(format!("a {m} ballot before the {m} opening")));
                }
                continue;
            }
            Item::Event(kind, digest, detail) => (*kind, *digest, *detail),
        };
        summary.events += 1;
        let event = parse(kind, detail).ok_or_else(|| at(format!("a {kind:?} event with detail {detail:?}")))?;
        let twice = |what: &str, first: u64| Err(at(format!("{what} again (first at position {first})")));
        let wrong = |what: &str| Err(at(format!("{what}: its digest is not the record's")));
        match event {
            ElectionEvent::Manifest => {
                if let Some(f) = at_manifest {
                    return twice("the manifest", f);
                }
                if *digest != expected.manifest_hash {
                    return wrong("the manifest");
                }
                if let Some(m) = opened.keys().next() {
                    return Err(at(format!("the manifest after the {m} opening")));
                }
                at_manifest = Some(*pos);
            }
            ElectionEvent::Ceremony => {
                if let Some(f) = at_ceremony {
                    return twice("the ceremony transcript", f);
                }
                if *digest != expected.transcript_sha256 {
                    return wrong("the ceremony transcript");
                }
                if let Some(m) = opened.keys().next() {
                    return Err(at(format!("the ceremony transcript after the {m} opening")));
                }
                at_ceremony = Some(*pos);
            }
            ElectionEvent::Open(m) => {
                if let Some(f) = opened.get(&m) {
                    return twice(&format!("the {m} opening"), *f);
                }
                if !expected.closes.contains_key(&m) {
                    return Err(at(format!("an opening of {m}, which has no vote service in the record")));
                }
                if *digest != expected.manifest_hash {
                    return wrong(&format!("the {m} opening"));
                }
                if at_manifest.is_none() || at_ceremony.is_none() {
                    return Err(at(format!("the {m} opening before the manifest and the ceremony transcript")));
                }
                if let Some(c) = closed.get(&m) {
                    return Err(at(format!("the {m} opening after its closing at position {c}")));
                }
                opened.insert(m, *pos);
            }
            ElectionEvent::Close(m) => {
                if let Some(f) = closed.get(&m) {
                    return twice(&format!("the {m} closing"), *f);
                }
                if with_openings && !opened.contains_key(&m) {
                    return Err(at(format!("the {m} closing before its opening")));
                }
                if expected.closes.get(&m) != Some(digest) {
                    return wrong(&format!("the {m} closing (ballots and rights of its vote services)"));
                }
                closed.insert(m, *pos);
            }
            ElectionEvent::ShardSealed(s) => {
                if let Some(f) = sealed.get(&s) {
                    return twice(&format!("shard {s} sealed"), *f);
                }
                let Some((m, totals)) = expected.shards.get(&s) else {
                    return Err(at(format!("shard {s} sealed, but the record has no such shard")));
                };
                if totals != digest {
                    return wrong(&format!("shard {s} sealed (totals digest)"));
                }
                if with_openings && !closed.contains_key(m) {
                    return Err(at(format!("shard {s} sealed before the {m} closing")));
                }
                sealed.insert(s, *pos);
            }
            ElectionEvent::Acta { .. } => summary.actas += 1,
            ElectionEvent::OfficerAction { .. } => summary.officer_actions += 1,
            ElectionEvent::Snapshot(n) => {
                if n != summary.snapshots + 1 {
                    return Err(at(format!(
                        "prep snapshot {n} where snapshot {} is due (missing, repeated or reordered)",
                        summary.snapshots + 1
                    )));
                }
                summary.snapshots = n;
            }
        }
    }
    if with_openings {
        let missing = |what: String| Err(format!("the log has openings but no event for {what}"));
        if at_manifest.is_none() {
            return missing("the manifest".into());
        }
        if at_ceremony.is_none() {
            return missing("the ceremony transcript".into());
        }
        for m in [Modality::Remote, Modality::Booth].iter().filter(|m| expected.closes.contains_key(*m)) {
            if !opened.contains_key(m) {
                return missing(format!("the {m} opening"));
            }
            if !closed.contains_key(m) {
                return missing(format!("the {m} closing"));
            }
        }
        if let Some(s) = expected.shards.keys().find(|s| !sealed.contains_key(*s)) {
            return missing(format!("shard {s} sealed"));
        }
    }
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn expected() -> Expected {
        let services = [ClosedService { partition: 0, ballots_recorded: 1, rights_issued: 1 }];
        Expected {
            manifest_hash: [1; 32],
            transcript_sha256: [2; 32],
            closes: [(Modality::Remote, close_digest(Modality::Remote, &services))].into(),
            shards: [("s1".to_owned(), (Modality::Remote, [3; 32]))].into(),
        }
    }

    fn honest() -> Vec<LogEntry> {
        let e = expected();
        vec![
            manifest([1; 32]),
            ceremony(b"x"),
            open([1; 32], Modality::Remote),
            LogEntry::Ballot { anon_id: [9; 32] },
            snapshot(1, [5; 32]),
            close(Modality::Remote, &[ClosedService { partition: 0, ballots_recorded: 1, rights_issued: 1 }]),
            shard_sealed("s1", e.shards["s1"].1),
            snapshot(2, [6; 32]),
        ]
    }

    fn run(entries: &[LogEntry]) -> Result<OrderSummary, String> {
        let mut e = expected();
        e.transcript_sha256 = Sha256::digest(b"x").into();
        check_order(
            &e,
            entries.iter().enumerate().map(|(i, x)| {
                (
                    i as u64,
                    match x {
                        LogEntry::Ballot { .. } => Item::Ballot(Modality::Remote),
                        LogEntry::Event { kind, digest, detail } => Item::Event(*kind, digest, detail.as_str()),
                    },
                )
            }),
        )
    }

    #[test]
    fn the_honest_order_passes_and_each_breach_is_located() {
        let ok = run(&honest()).expect("legal");
        assert!(ok.complete);
        assert_eq!(ok.snapshots, 2);
        let mut after_close = honest();
        after_close.push(LogEntry::Ballot { anon_id: [8; 32] });
        assert!(
            run(&after_close)
                .unwrap_err()
                .starts_with("log position 8: a remote ballot after the remote closing at position 5")
        );
        let mut before_open = honest();
        before_open.swap(2, 3);
        assert!(run(&before_open).unwrap_err().starts_with("log position 2: a remote ballot before"));
        let mut seal_early = honest();
        seal_early.swap(5, 6);
        assert!(run(&seal_early).unwrap_err().contains("sealed before the remote closing"));
        let mut snaps = honest();
        snaps.swap(4, 7);
        assert!(run(&snaps).unwrap_err().contains("prep snapshot 2 where snapshot 1 is due"));
        let mut no_close = honest();
        no_close.remove(5);
        assert!(run(&no_close).is_err());
        let mut forged = honest();
        forged[6] = shard_sealed("s1", [4; 32]);
        assert!(run(&forged).unwrap_err().contains("totals digest"));
        // Without openings (a log written before these events existed) only what is there is checked.
        let legacy = vec![LogEntry::Ballot { anon_id: [9; 32] }];
        assert!(!run(&legacy).expect("legal").complete);
    }

    #[test]
    fn details_parse_back() {
        for e in honest() {
            if let LogEntry::Event { kind, detail, .. } = e {
                assert!(parse(kind, &detail).is_some(), "{detail}");
            }
        }
        assert_eq!(
            parse(EventKind::Acta, "mesa m-1 acta results"),
            Some(ElectionEvent::Acta { mesa: "m-1".into(), kind: "results".into() })
        );
        assert_eq!(parse(EventKind::Snapshot, "prep snapshot 01"), None);
        assert_eq!(parse(EventKind::Open, "open postal"), None);
    }

    #[test]
    fn officers_act_at_any_time_in_their_own_form() {
        let lock = officer_action("oficial-centro", "lock", "device:mesa-centro-1-3", [7; 32]);
        let mut log = honest();
        log.insert(0, lock.clone());
        log.insert(5, officer_action("oficial-centro", "resolve", "alert:4", [8; 32]));
        log.push(lock);
        assert_eq!(run(&log).expect("legal").officer_actions, 3);
        log.push(LogEntry::Event { kind: EventKind::OfficerAction, digest: [7; 32], detail: "officer oc lock".into() });
        assert!(run(&log).unwrap_err().contains("OfficerAction event with detail \"officer oc lock\""));
    }
}
