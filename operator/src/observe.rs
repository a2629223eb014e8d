//! What the operator writes from the workloads' `GET /v1/status`, as pure functions of what they answered
//! and of the last values written. The rule throughout: a counter is written only from a complete, sane
//! answer; a workload that was not asked (not ready), did not answer, or answered garbage (not JSON, another
//! shard's or election's body) leaves the last known value in place and is reported, never turned into a 0.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use urna_status::audit::AuditStatus;
use urna_status::broker::BrokerStatus;
use urna_status::monitor::MonitorStatus;
use urna_status::tally::ShardStatus;
use urna_status::vote::VoteStatus;

use crate::crd::common::ModalityKind;
use crate::crd::election::{AuditCheckpoint, AuditLogHead, ModalityCounters};
use crate::crd::mesa::{Acta, ActaKind};
use crate::crd::{TallyShard, TallyShardStatus};
use crate::workloads::CallError;

/// One workload's answer this round: `None` when it was not asked (its pods are not ready).
pub type Polled<T> = Option<Result<T, CallError>>;

/// A workload that gave no usable status: it degrades a condition, naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    /// What it is (`tally shard ciudad-2027-centro-remote`, `vote partition 1`...).
    pub workload: String,
    pub error: CallError,
}

/// The Degraded reason and message for the workloads that gave no usable status (`None` when all did).
pub fn degraded(unanswered: &[Unanswered]) -> Option<(&'static str, String)> {
    let first = unanswered.first()?;
    let msg = unanswered.iter().map(|u| format!("{}: {}", u.workload, u.error)).collect::<Vec<_>>().join("; ");
    Some((first.error.reason(), msg))
}

/// Keeps `Ok` answers that pass `check`; the rest go to `unanswered`.
fn sane<T>(
    workload: &str,
    polled: Polled<T>,
    check: impl FnOnce(&T) -> Result<(), String>,
    url: &str,
    unanswered: &mut Vec<Unanswered>,
) -> Option<T> {
    match polled? {
        Ok(v) => match check(&v) {
            Ok(()) => Some(v),
            Err(why) => {
                unanswered.push(Unanswered { workload: workload.into(), error: CallError::body(url, why) });
                None
            }
        },
        Err(error) => {
            unanswered.push(Unanswered { workload: workload.into(), error });
            None
        }
    }
}

fn same(what: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("answers for {what} {got:?}, not {want:?}")) }
}

/// A TallyShard's observed fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardFields {
    pub ballots_accepted: Option<u64>,
    pub ballots_rejected: Option<u64>,
    pub last_sequence: Option<u64>,
    pub totals_digest: Option<String>,
    pub log_head: Option<String>,
    pub sealed: Option<bool>,
    pub failure: Option<String>,
}

impl ShardFields {
    /// The values last written.
    pub fn last(s: &TallyShardStatus) -> Self {
        Self {
            ballots_accepted: s.ballots_accepted,
            ballots_rejected: s.ballots_rejected,
            last_sequence: s.last_sequence,
            totals_digest: s.totals_digest.clone(),
            log_head: s.log_head.clone(),
            sealed: s.sealed,
            failure: s.failure.clone(),
        }
    }
}

/// TallyShard `shard` of `election`: its answer, if sane (the shard and election it names are these), else
/// the last values.
pub fn shard(
    shard: &str,
    election: &str,
    url: &str,
    polled: Polled<ShardStatus>,
    last: &TallyShardStatus,
    unanswered: &mut Vec<Unanswered>,
) -> ShardFields {
    let check = |s: &ShardStatus| same("shard", &s.shard, shard).and(same("election", &s.election_id, election));
    match sane(&format!("tally shard {shard}"), polled, check, url, unanswered) {
        Some(s) => ShardFields {
            ballots_accepted: Some(s.accepted),
            ballots_rejected: Some(s.rejected),
            last_sequence: Some(s.log_head.sequence),
            totals_digest: Some(hex::encode(s.totals_digest)),
            log_head: Some(hex::encode(s.log_head.hash)),
            sealed: Some(s.sealed),
            failure: s.failure,
        },
        None => ShardFields::last(last),
    }
}

/// One vote service (a partition of the vote StatefulSet, or the booth vote service) and its answer.
#[derive(Debug, Clone)]
pub struct VotePoll {
    /// How it is named in a condition message.
    pub workload: String,
    pub url: String,
    /// What it must report: modality, partition and partitions (the booth vote service: `0/1`).
    pub modality: ModalityKind,
    pub partition: u32,
    pub partitions: u32,
    pub polled: Polled<VoteStatus>,
}

/// A vote service's answer, if sane.
pub fn vote(election: &str, p: VotePoll, unanswered: &mut Vec<Unanswered>) -> Option<VoteStatus> {
    let check = |v: &VoteStatus| {
        same("election", &v.election_id, election)?;
        same("modality", v.modality.as_str(), p.modality.as_str())?;
        if (v.partition, v.partitions) != (p.partition, p.partitions) {
            return Err(format!(
                "answers for partition {}/{}, not {}/{}",
                v.partition, v.partitions, p.partition, p.partitions
            ));
        }
        Ok(())
    };
    sane(&p.workload, p.polled, check, &p.url, unanswered)
}

/// The Election's counters per modality, in the order of `modalities`: census, voters and ballots from the
/// modality's vote services (summed over partitions only when every one of them answered, else the last
/// values), contests from its TallyShards' statuses.
pub fn modality_counters(
    election: &str,
    modalities: &[ModalityKind],
    votes: Vec<VotePoll>,
    shards: &[TallyShard],
    last: &[ModalityCounters],
    unanswered: &mut Vec<Unanswered>,
) -> Vec<ModalityCounters> {
    let mut answers: Vec<(ModalityKind, Option<VoteStatus>)> = Vec::with_capacity(votes.len());
    for p in votes {
        let m = p.modality;
        answers.push((m, vote(election, p, unanswered)));
    }
    modalities
        .iter()
        .map(|m| {
            let name = m.as_str();
            let previous = last.iter().find(|c| c.modality == name);
            let mine: Vec<&Option<VoteStatus>> = answers.iter().filter(|(k, _)| k == m).map(|(_, v)| v).collect();
            let complete: Option<Vec<&VoteStatus>> = mine.iter().map(|v| v.as_ref()).collect();
            let (census, voters_voted, ballots_recorded) = match complete {
                Some(all) if !all.is_empty() => (
                    Some(all.iter().map(|v| v.census).sum()),
                    Some(all.iter().map(|v| v.voters_voted).sum()),
                    Some(all.iter().map(|v| v.ballots_recorded).sum()),
                ),
                _ => previous.map_or((None, None, None), |c| (c.census, c.voters_voted, c.ballots_recorded)),
            };
            let of_modality = shards.iter().filter(|s| s.spec.modality == *m).filter_map(|s| s.status.as_ref());
            let (mut accepted, mut rejected) = (0u64, 0u64);
            for st in of_modality {
                accepted = accepted.saturating_add(st.ballots_accepted.unwrap_or(0));
                rejected = rejected.saturating_add(st.ballots_rejected.unwrap_or(0));
            }
            ModalityCounters {
                modality: name.into(),
                census,
                voters_voted,
                ballots_recorded,
                contests_accepted: accepted,
                contests_rejected: rejected,
            }
        })
        .collect()
}

/// The Election's totals over its modalities: `(census, votersVoted, ballotsRecorded)`, each the sum over
/// the modalities that have vote services, or the last value while one of them is unknown.
pub fn totals(
    counters: &[ModalityCounters],
    served: &[ModalityKind],
    last: (Option<u64>, Option<u64>, Option<u64>),
) -> (Option<u64>, Option<u64>, Option<u64>) {
    let served: Vec<&ModalityCounters> =
        counters.iter().filter(|c| served.iter().any(|m| m.as_str() == c.modality)).collect();
    if served.is_empty() {
        return last;
    }
    let sum = |f: fn(&ModalityCounters) -> Option<u64>, last: Option<u64>| {
        served.iter().map(|c| f(c)).sum::<Option<u64>>().or(last)
    };
    (sum(|c| c.census, last.0), sum(|c| c.voters_voted, last.1), sum(|c| c.ballots_recorded, last.2))
}

/// The audit log's head, if its answer is sane (its origin names this election, its checkpoint time
/// parses), else the last one.
pub fn audit_head(
    election: &str,
    url: &str,
    polled: Polled<AuditStatus>,
    last: Option<&AuditLogHead>,
    unanswered: &mut Vec<Unanswered>,
) -> Option<AuditLogHead> {
    let origin = crate::workload::audit_origin(election);
    let check = |a: &AuditStatus| {
        same("origin", &a.origin, &origin)?;
        if let Some(c) = &a.checkpoint {
            c.signed_at.parse::<Timestamp>().map_err(|e| format!("checkpoint signedAt {:?}: {e}", c.signed_at))?;
        }
        Ok(())
    };
    let Some(a) = sane("audit log", polled, check, url, unanswered) else { return last.cloned() };
    let checkpoint = a.checkpoint.and_then(|c| {
        Some(AuditCheckpoint {
            size: c.size,
            root: hex::encode(c.root),
            signed_at: Time(c.signed_at.parse().ok()?),
            closing: c.closing,
        })
    });
    Some(AuditLogHead { tree_size: a.tree_size, root: hex::encode(a.root), checkpoint, closed: a.closed })
}

/// A Mesa's `(admissions, ballotsCast)` from the booth vote service's answer (already checked with
/// [`vote`]); the last values when it did not answer or does not serve this Mesa yet (its pod has not
/// rolled since the Mesa was added).
pub fn mesa_counts(
    mesa: &str,
    booth: Option<&VoteStatus>,
    last: (Option<u64>, Option<u64>),
) -> (Option<u64>, Option<u64>) {
    booth.and_then(|b| b.mesas.iter().find(|m| m.mesa == mesa)).map_or(last, |m| (Some(m.admissions), Some(m.ballots)))
}

/// A Mesa's actas from the booth vote service's answer (already checked with [`vote`]), each as the service
/// accepted it; the last values when it did not answer or does not serve this Mesa yet. An acta whose kind or
/// times do not parse is left out (and its kind keeps its last value): the service writes both itself.
pub fn mesa_actas(mesa: &str, booth: Option<&VoteStatus>, last: &[Acta]) -> Vec<Acta> {
    let Some(m) = booth.and_then(|b| b.mesas.iter().find(|m| m.mesa == mesa)) else { return last.to_vec() };
    let mut out: Vec<Acta> = Vec::new();
    for kind in ActaKind::ALL {
        let seen = m.actas.iter().find(|a| a.kind == kind).and_then(|a| {
            Some(Acta {
                kind,
                sha256: a.sha256.clone(),
                signers: a.signers.clone(),
                signed_at: Time(a.signed_at.parse().ok()?),
                transmitted_at: match &a.logged_at {
                    Some(t) => Some(Time(t.parse().ok()?)),
                    None => None,
                },
                log_index: a.log_index,
            })
        });
        out.extend(seen.or_else(|| last.iter().find(|a| a.kind == kind).cloned()));
    }
    out
}

/// A fleet monitor's answer, if sane (it names this fleet).
pub fn monitor(
    fleet: &str,
    url: &str,
    polled: Polled<MonitorStatus>,
    unanswered: &mut Vec<Unanswered>,
) -> Option<MonitorStatus> {
    let check = |m: &MonitorStatus| same("fleet", &m.fleet, fleet);
    sane(&format!("fleet monitor of {fleet}"), polled, check, url, unanswered)
}

fn count(x: u64) -> Option<u32> {
    Some(u32::try_from(x).unwrap_or(u32::MAX))
}

/// A BoothFleet's `(devicesOnline, devicesOffline, activeAlerts)` from its monitor's answer, else the last
/// values.
pub fn fleet_devices(
    monitor: Option<&MonitorStatus>,
    last: (Option<u32>, Option<u32>, Option<u32>),
) -> (Option<u32>, Option<u32>, Option<u32>) {
    monitor.map_or(last, |m| (count(m.devices_online), count(m.devices_offline), count(m.active_alerts)))
}

/// A Mesa's `(boothsOnline, incidents)` (its booths' active alerts) from its fleet monitor's answer, else the
/// last values. A Mesa the monitor does not list has no booths in the fleet's rules: 0 online, 0 incidents.
pub fn mesa_booths(
    mesa: &str,
    monitor: Option<&MonitorStatus>,
    last: (Option<u32>, Option<u32>),
) -> (Option<u32>, Option<u32>) {
    let Some(m) = monitor else { return last };
    m.mesas.iter().find(|x| x.mesa == mesa).map_or((Some(0), Some(0)), |x| (count(x.online), count(x.active_alerts)))
}

/// Sessions open on one broker shard: the sum over its replicas when every one answered sanely, else the
/// last value. `replicas` are `(workload name, url, answer)`.
pub fn broker_connections(
    fleet: &str,
    replicas: Vec<(String, String, Polled<BrokerStatus>)>,
    last: Option<u64>,
    unanswered: &mut Vec<Unanswered>,
) -> Option<u64> {
    let mut total = Some(0u64);
    for (workload, url, polled) in replicas {
        let check = |b: &BrokerStatus| same("fleet", &b.fleet, fleet);
        match sane(&workload, polled, check, &url, unanswered) {
            Some(b) => total = total.map(|t| t.saturating_add(b.connections)),
            None => total = None,
        }
    }
    total.or(last)
}

#[cfg(test)]
mod tests {
    use urna_status::Modality;
    use urna_status::tally::LogHead;
    use urna_status::window::{WindowState, WindowStatus};

    use super::*;
    use crate::crd::TallyShardSpec;

    fn window() -> WindowStatus {
        WindowStatus { opens_at: None, closes_at: None, state: WindowState::Open }
    }

    fn shard_status(name: &str, accepted: u64) -> ShardStatus {
        ShardStatus {
            shard: name.into(),
            election_id: "e".into(),
            manifest_hash: [1; 32],
            public_key_fingerprint: [2; 32],
            districts: vec!["d".into()],
            modality: Modality::Remote,
            accepted,
            rejected: 1,
            duplicates: 0,
            log_head: LogHead { sequence: accepted, hash: [3; 32] },
            totals_digest: [4; 32],
            sealed: false,
            sealed_at: None,
            window: window(),
            failure: None,
        }
    }

    fn vote_status(partition: u32, voted: u64) -> VoteStatus {
        VoteStatus {
            election_id: "e".into(),
            modality: Modality::Remote,
            partition,
            partitions: 2,
            census: 100,
            rights_issued: voted,
            rights_by_style: Default::default(),
            voters_voted: voted,
            ballots_recorded: voted,
            ballots_pending: 0,
            closed: false,
            window: window(),
            mesas: vec![],
        }
    }

    fn poll(partition: u32, polled: Polled<VoteStatus>) -> VotePoll {
        VotePoll {
            workload: format!("vote partition {partition}"),
            url: format!("http://v{partition}/v1/status"),
            modality: ModalityKind::Remote,
            partition,
            partitions: 2,
            polled,
        }
    }

    fn refused(url: &str) -> CallError {
        CallError::Transport { url: url.into(), message: "connection refused".into() }
    }

    #[test]
    fn a_shard_answer_is_copied_and_a_missing_or_foreign_one_keeps_the_last_values() {
        let mut un = vec![];
        let f = shard("s", "e", "u", Some(Ok(shard_status("s", 7))), &TallyShardStatus::default(), &mut un);
        assert_eq!(
            (f.ballots_accepted, f.ballots_rejected, f.last_sequence, f.sealed),
            (Some(7), Some(1), Some(7), Some(false))
        );
        assert_eq!(f.totals_digest.as_deref(), Some(hex::encode([4u8; 32]).as_str()));
        assert_eq!(f.log_head.as_deref(), Some(hex::encode([3u8; 32]).as_str()));
        assert!(un.is_empty());
        let last = TallyShardStatus { ballots_accepted: Some(5), sealed: Some(false), ..Default::default() };
        for polled in [Some(Err(refused("u"))), Some(Ok(shard_status("other", 9)))] {
            let mut un = vec![];
            let f = shard("s", "e", "u", polled, &last, &mut un);
            assert_eq!(f.ballots_accepted, Some(5), "never 0, never another shard's count");
            assert_eq!(un.len(), 1);
            assert!(un[0].workload.contains("tally shard s"));
        }
        let mut un = vec![];
        assert_eq!(shard("s", "e", "u", None, &last, &mut un).ballots_accepted, Some(5));
        assert!(un.is_empty(), "a workload not asked is not reported");
    }

    #[test]
    fn modality_counters_need_every_partition() {
        let mk = |name: &str, m: ModalityKind, acc: u64| {
            let mut s = TallyShard::new(
                name,
                TallyShardSpec {
                    election: "e".into(),
                    district: None,
                    modality: m,
                    storage: Default::default(),
                    image: None,
                    resources: None,
                },
            );
            s.status =
                Some(TallyShardStatus { ballots_accepted: Some(acc), ballots_rejected: Some(1), ..Default::default() });
            s
        };
        let shards =
            [mk("a", ModalityKind::Remote, 10), mk("b", ModalityKind::Remote, 5), mk("c", ModalityKind::Booth, 3)];
        let mods = [ModalityKind::Remote, ModalityKind::Booth];
        let mut un = vec![];
        let votes = vec![poll(0, Some(Ok(vote_status(0, 4)))), poll(1, Some(Ok(vote_status(1, 6))))];
        let c = modality_counters("e", &mods, votes, &shards, &[], &mut un);
        assert!(un.is_empty(), "{un:?}");
        assert_eq!((c[0].census, c[0].voters_voted, c[0].ballots_recorded), (Some(200), Some(10), Some(10)));
        assert_eq!((c[0].contests_accepted, c[0].contests_rejected), (15, 2));
        assert_eq!((c[1].voters_voted, c[1].contests_accepted), (None, 3), "no booth vote service");
        assert_eq!(totals(&c, &[ModalityKind::Remote], (None, None, None)), (Some(200), Some(10), Some(10)));

        // Partition 1 answers garbage (another partition's body), then does not answer: the last values stay.
        for bad in [Some(Ok(vote_status(0, 99))), Some(Err(refused("http://v1/v1/status")))] {
            let mut un = vec![];
            let votes = vec![poll(0, Some(Ok(vote_status(0, 5)))), poll(1, bad)];
            let again = modality_counters("e", &mods, votes, &shards, &c, &mut un);
            assert_eq!(again[0].voters_voted, Some(10), "not 5, not 104");
            assert_eq!(un.len(), 1);
            assert_eq!(un[0].workload, "vote partition 1");
        }
        // Never answered: unknown, and so are the totals (the last ones stay).
        let mut un = vec![];
        let votes = vec![poll(0, Some(Ok(vote_status(0, 5)))), poll(1, None)];
        let fresh = modality_counters("e", &mods, votes, &shards, &[], &mut un);
        assert_eq!(fresh[0].voters_voted, None);
        assert_eq!(totals(&fresh, &[ModalityKind::Remote], (Some(1), Some(2), Some(3))), (Some(1), Some(2), Some(3)));
    }

    #[test]
    fn audit_head_is_structured_and_checked() {
        let status = AuditStatus {
            origin: "urna.dev/e".into(),
            public_key: [0; 32],
            tree_size: 12,
            root: [9; 32],
            checkpoint: Some(urna_status::audit::CheckpointHead {
                size: 10,
                root: [8; 32],
                signed_at: "2027-06-06T14:00:05Z".into(),
                closing: false,
                cosignatures: 0,
            }),
            closed: false,
        };
        let mut un = vec![];
        let h = audit_head("e", "u", Some(Ok(status.clone())), None, &mut un).expect("head");
        assert_eq!((h.tree_size, h.root.as_str(), h.closed), (12, hex::encode([9u8; 32]).as_str(), false));
        let c = h.checkpoint.clone().expect("checkpoint");
        assert_eq!((c.size, c.signed_at.0.to_string()), (10, "2027-06-06T14:00:05Z".to_string()));
        let mut bad = status.clone();
        bad.checkpoint.as_mut().expect("c").signed_at = "yesterday".into();
        let mut other = status;
        other.origin = "urna.dev/other".into();
        for polled in [Some(Ok(bad)), Some(Ok(other)), Some(Err(refused("u")))] {
            let mut un = vec![];
            assert_eq!(audit_head("e", "u", polled, Some(&h), &mut un), Some(h.clone()));
            assert_eq!(un.len(), 1);
        }
        let (reason, msg) = degraded(&[Unanswered { workload: "audit log".into(), error: refused("u") }]).expect("d");
        assert_eq!(reason, "StatusUnreachable");
        assert!(msg.starts_with("audit log: u: connection refused"), "{msg}");
    }

    #[test]
    fn mesa_actas_follow_the_booth_service_and_keep_the_last_ones() {
        use urna_status::vote::{ActaStatus, MesaStatus};
        let acta = |kind, logged: Option<&str>| ActaStatus {
            kind,
            sha256: "ab".repeat(32),
            signers: vec!["ana".into(), "bea".into()],
            signed_at: "2027-06-06T08:00:00Z".into(),
            received_at: "2027-06-06T08:00:05Z".into(),
            log_index: logged.map(|_| 7),
            logged_at: logged.map(str::to_owned),
        };
        let mut booth = vote_status(0, 3);
        booth.mesas = vec![MesaStatus {
            mesa: "m1".into(),
            admissions: 3,
            ballots: 3,
            actas: vec![acta(ActaKind::Constitution, Some("2027-06-06T08:00:06Z")), acta(ActaKind::Results, None)],
        }];
        let got = mesa_actas("m1", Some(&booth), &[]);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].kind, got[0].log_index), (ActaKind::Constitution, Some(7)));
        assert_eq!(got[0].transmitted_at.as_ref().map(|t| t.0.to_string()).as_deref(), Some("2027-06-06T08:00:06Z"));
        assert_eq!((got[1].kind, got[1].transmitted_at.is_none()), (ActaKind::Results, true));
        // Not answered, or this Mesa not served yet: the last actas stay; a garbled time keeps the last one.
        assert_eq!(mesa_actas("m1", None, &got), got);
        assert_eq!(mesa_actas("m2", Some(&booth), &got), got);
        let mut garbled = booth.clone();
        garbled.mesas[0].actas[0].signed_at = "yesterday".into();
        assert_eq!(mesa_actas("m1", Some(&garbled), &got), got);
    }

    #[test]
    fn fleet_and_brokers() {
        let m = MonitorStatus {
            fleet: "f".into(),
            devices_expected: 10,
            devices_online: 7,
            devices_offline: 3,
            devices_blocked: 1,
            active_alerts: 2,
            alerts_raised: 5,
            brokers_subscribed: 2,
            brokers: 2,
            mesas: vec![urna_status::monitor::MesaDevices {
                mesa: "m1".into(),
                devices: 4,
                online: 3,
                active_alerts: 1,
            }],
        };
        let mut un = vec![];
        let ok = monitor("f", "u", Some(Ok(m.clone())), &mut un);
        assert_eq!(fleet_devices(ok.as_ref(), (None, None, None)), (Some(7), Some(3), Some(2)));
        assert_eq!(mesa_booths("m1", ok.as_ref(), (None, None)), (Some(3), Some(1)));
        assert_eq!(mesa_booths("m2", ok.as_ref(), (Some(5), None)), (Some(0), Some(0)));
        assert!(un.is_empty());
        let foreign = monitor("g", "u", Some(Ok(m)), &mut un);
        assert_eq!(fleet_devices(foreign.as_ref(), (Some(1), Some(9), Some(0))), (Some(1), Some(9), Some(0)));
        assert_eq!(mesa_booths("m1", foreign.as_ref(), (Some(2), Some(0))), (Some(2), Some(0)));
        assert_eq!(un.len(), 1);
        let b = |n| BrokerStatus {
            fleet: "f".into(),
            connections: n,
            connects: n,
            handshake_timeouts: 0,
            pending_handshakes: 0,
            handshakes_shed: 0,
            blocked: vec![],
        };
        let mut un = vec![];
        let r = |i: u32, p: Polled<BrokerStatus>| (format!("broker f-broker-{i}"), format!("u{i}"), p);
        assert_eq!(broker_connections("f", vec![r(0, Some(Ok(b(3)))), r(1, Some(Ok(b(4))))], None, &mut un), Some(7));
        assert_eq!(
            broker_connections("f", vec![r(0, Some(Ok(b(3)))), r(1, Some(Err(refused("u1"))))], Some(6), &mut un),
            Some(6)
        );
        assert_eq!(un.len(), 1);
    }
}
