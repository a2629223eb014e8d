//! The Election's `status.keyFingerprints`: the keys the cluster holds for an election, named as a trust file
//! for `urna verify record --trust` by the record's own rule ([`urna_record::TrustFile::from_keys`]), so
//! what the status publishes before the close is what `urna record fingerprints` prints for the exported
//! record, and an observer who kept it can refuse a record rebuilt under other keys. Pure: the controller
//! reads the sources (the ceremony ConfigMap, the signing-key Secret, the audit log's status).

use urna_crypto::blind::BlindSigningKey;
use urna_crypto::threshold::ThresholdPublicKey;
use urna_record::{TrustFile, TrustedLogKey};
use urna_status::audit::AuditStatus;

use crate::crd::common::ModalityKind;
use crate::crd::election::KeyFingerprints;
use crate::crd::{Election, ElectionPhase};
use crate::observe::Polled;

/// The ceremony ConfigMap's key holding the threshold public key (`urna ceremony --out DIR` writes it).
pub const CEREMONY_PUBLIC_KEY: &str = "public.json";

/// What the cluster holds of the election's keys this round; `None` where a source is not there yet.
#[derive(Debug, Clone, Default)]
pub struct KeySources {
    /// `public.json` of the `spec.record.ceremony` ConfigMap.
    pub threshold_public: Option<String>,
    /// The PEM under `spec.vote.signingKey` (the vote services' voting-right key; the operator keeps only its
    /// public half's fingerprint).
    pub signing_key: Option<String>,
    /// The audit log's origin and public key, from a sane answer of its `GET /v1/status`.
    pub audit_log: Option<TrustedLogKey>,
}

/// Whether the published fingerprints stay as they are: once written and the election has left
/// `Pending`/`Scheduled`. From the opening on, ballots are encrypted under the threshold key, rights signed
/// under the voting-right key (each vote store is bound to it) and entries signed by the log: pins that
/// followed a later edit of a ConfigMap or Secret would pin keys the election never used.
pub fn settled(e: &Election) -> bool {
    let st = e.status.as_ref();
    st.is_some_and(|s| s.key_fingerprints.is_some())
        && !matches!(e.phase(), ElectionPhase::Pending | ElectionPhase::Scheduled)
}

/// The audit log's key from its answer, when the answer is the log of `election` (the origin the operator
/// gave it); a missing or wrong answer is reported by the head's own check (`observe::audit_head`).
pub fn audit_log_key(election: &str, polled: &Polled<AuditStatus>) -> Option<TrustedLogKey> {
    let a = polled.as_ref()?.as_ref().ok()?;
    (a.origin == crate::workload::audit_origin(election))
        .then(|| TrustedLogKey { origin: a.origin.clone(), public_key: a.public_key })
}

/// The audit log's verifier key for the vote services (`--audit-log-key`), from the key the Election's status
/// publishes: the voter app's receipt check then verifies checkpoints under the published key rather than
/// under whatever key the log presents. `None` until `status.keyFingerprints` is written (the pods then
/// restart once with it, before the opening in any election whose keys are in place when it is applied).
pub fn audit_verifier_key(e: &Election) -> Option<String> {
    let log = &e.status.as_ref()?.key_fingerprints.as_ref()?.audit_log;
    let public_key = hex::decode(&log.public_key).ok()?.try_into().ok()?;
    Some(TrustedLogKey { origin: log.origin.clone(), public_key }.verifier_key())
}

/// The fingerprints of `e`'s keys once every source is there (`Ok(None)` before), for the modalities whose
/// vote services hold the signing key (`served`). A source that is there but unreadable is an error naming it.
pub fn key_fingerprints(
    e: &Election,
    sources: &KeySources,
    served: &[ModalityKind],
) -> Result<Option<KeyFingerprints>, String> {
    let (Some(public), Some(pem), Some(log)) = (&sources.threshold_public, &sources.signing_key, &sources.audit_log)
    else {
        return Ok(None);
    };
    let public = ThresholdPublicKey::from_json(public)
        .map_err(|err| format!("the ceremony ConfigMap's {CEREMONY_PUBLIC_KEY}: {err}"))?;
    let signing = BlindSigningKey::from_pkcs8_pem(pem).map_err(|err| format!("spec.vote.signingKey: {err}"))?;
    let rights = served
        .iter()
        .map(|m| m.as_str().parse::<urna_status::Modality>().map(|m| (m, signing.verifying_key())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("modality: {err}"))?;
    let manifest = e.manifest();
    let trust = TrustFile::from_keys(
        &manifest.election_id,
        urna_ballot::manifest_hash(&manifest),
        &public,
        log.clone(),
        rights,
    );
    let value = serde_json::to_value(&trust).map_err(|err| err.to_string())?;
    let mut fingerprints: KeyFingerprints =
        serde_json::from_value(value).map_err(|err| format!("the trust file as a status: {err}"))?;
    fingerprints.witnesses.clone_from(&e.spec.audit.witnesses);
    Ok(Some(fingerprints))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::election::ElectionStatus;

    const PUBLIC: &str = include_str!("../../workloads/crypto/tests/fixtures/ceremony-3072/public.json");
    const SIGNING: &str = include_str!("../../workloads/crypto/tests/fixtures/voting-right-3072.pem");

    fn election() -> Election {
        let mut set = crate::examples::ExampleSet::default();
        let text = include_str!("../../examples/municipal/10-election.yaml");
        set.add_yaml("10-election.yaml", text).expect("example");
        set.elections.remove(0)
    }

    fn log() -> TrustedLogKey {
        TrustedLogKey { origin: "urna.dev/ciudad-2027".into(), public_key: [7; 32] }
    }

    fn all() -> KeySources {
        KeySources { threshold_public: Some(PUBLIC.into()), signing_key: Some(SIGNING.into()), audit_log: Some(log()) }
    }

    #[test]
    fn every_key_named_as_the_record_tool_names_it() {
        let e = election();
        let served = [ModalityKind::Remote, ModalityKind::Booth];
        let got = key_fingerprints(&e, &all(), &served).expect("readable").expect("complete");
        let public = ThresholdPublicKey::from_json(PUBLIC).expect("public");
        let right = BlindSigningKey::from_pkcs8_pem(SIGNING).expect("pem").verifying_key().fingerprint();
        assert_eq!(got.format, urna_record::TRUST_FORMAT);
        assert_eq!(got.election_id, "ciudad-2027");
        assert_eq!(got.manifest_hash, hex::encode(urna_ballot::manifest_hash(&e.manifest())));
        assert_eq!(got.threshold_key, hex::encode(public.fingerprint()));
        assert_eq!(
            (got.audit_log.origin.as_str(), got.audit_log.public_key.as_str()),
            ("urna.dev/ciudad-2027", &*hex::encode([7; 32]))
        );
        let rights: Vec<(&str, &str)> =
            got.voting_right_keys.iter().map(|k| (k.modality.as_str(), k.fingerprint.as_str())).collect();
        let fp = hex::encode(right);
        assert_eq!(rights, [("remote", fp.as_str()), ("booth", fp.as_str())]);
        // The status is a trust file the verifier reads as it is.
        let text = serde_json::to_string(&got).expect("json");
        assert!(urna_record::TrustFile::from_json(&text).is_ok_and(|t| t.witnesses.is_none()), "{text}");
    }

    /// Declared witnesses go into the trust file: a record verified with it needs their quorum.
    #[test]
    fn the_witness_policy_is_part_of_the_trust_file() {
        let mut e = election();
        e.spec.audit.witnesses = Some(
            serde_json::from_value(serde_json::json!({
                "quorum": 1,
                "witnesses": [{ "name": "testigo.example", "publicKey": hex::encode([9; 32]) }],
            }))
            .expect("policy"),
        );
        let got = key_fingerprints(&e, &all(), &[ModalityKind::Remote]).expect("readable").expect("complete");
        let text = serde_json::to_string(&got).expect("json");
        let trust = urna_record::TrustFile::from_json(&text).expect("a trust file");
        let policy = trust.witnesses.expect("witnesses");
        assert_eq!((policy.quorum, policy.witnesses[0].name.as_str()), (1, "testigo.example"));
        assert_eq!(policy.witnesses[0].public_key, [9; 32]);
    }

    #[test]
    fn nothing_until_every_key_is_known_and_a_bad_source_is_named() {
        let e = election();
        let served = [ModalityKind::Remote];
        for missing in 0..3 {
            let mut s = all();
            match missing {
                0 => s.threshold_public = None,
                1 => s.signing_key = None,
                _ => s.audit_log = None,
            }
            assert_eq!(key_fingerprints(&e, &s, &served), Ok(None));
        }
        let s = KeySources { threshold_public: Some("{}".into()), ..all() };
        assert!(key_fingerprints(&e, &s, &served).is_err_and(|m| m.contains(CEREMONY_PUBLIC_KEY)));
        let s = KeySources { signing_key: Some("-----BEGIN PUBLIC KEY-----".into()), ..all() };
        assert!(key_fingerprints(&e, &s, &served).is_err_and(|m| m.contains("spec.vote.signingKey")));
    }

    #[test]
    fn the_log_key_only_from_this_elections_log_and_fixed_from_the_opening() {
        let status = |origin: &str| urna_status::audit::AuditStatus {
            origin: origin.into(),
            public_key: [7; 32],
            tree_size: 0,
            root: [0; 32],
            checkpoint: None,
            closed: false,
        };
        assert_eq!(audit_log_key("ciudad-2027", &Some(Ok(status("urna.dev/ciudad-2027")))), Some(log()));
        assert_eq!(audit_log_key("ciudad-2027", &Some(Ok(status("urna.dev/other")))), None);
        assert_eq!(audit_log_key("ciudad-2027", &None), None);

        let mut e = election();
        assert!(!settled(&e));
        let fp = key_fingerprints(&e, &all(), &[ModalityKind::Remote]).expect("ok");
        e.status =
            Some(ElectionStatus { key_fingerprints: fp, phase: Some(ElectionPhase::Scheduled), ..Default::default() });
        assert!(!settled(&e), "keys may still change before the opening");
        e.status.as_mut().expect("status").phase = Some(ElectionPhase::Open);
        assert!(settled(&e));
    }

    #[test]
    fn the_vote_services_pin_the_published_log_key_once_there_is_one() {
        let mut e = election();
        let args = |e: &Election| {
            let children = crate::build::election::build(e, &crate::build::Defaults::default()).expect("build");
            let vote = children.iter().find(|c| c.kind == "StatefulSet" && c.name == "ciudad-2027-vote").expect("vote");
            vote.body["spec"]["template"]["spec"]["containers"][0]["args"].clone()
        };
        assert_eq!(audit_verifier_key(&e), None);
        assert!(!args(&e).to_string().contains("--audit-log-key"));

        let fp = key_fingerprints(&e, &all(), &[ModalityKind::Remote]).expect("ok");
        e.status = Some(ElectionStatus { key_fingerprints: fp, ..Default::default() });
        let key = log().verifier_key();
        assert!(key.starts_with("urna.dev/ciudad-2027+"), "{key}");
        assert_eq!(audit_verifier_key(&e).as_deref(), Some(key.as_str()));
        let args: Vec<String> = serde_json::from_value(args(&e)).expect("args");
        let at = args.iter().position(|a| a == "--audit-log-key").expect("pinned");
        assert_eq!(args[at + 1], key);
    }
}
