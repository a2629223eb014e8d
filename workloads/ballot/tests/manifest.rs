//! Manifest validation names the offending field; the hash is stable and sensitive; decoders are strict.

mod common;

use proptest::prelude::*;
use urna_ballot::{ElectionManifest, manifest_hash, validate_manifest};

fn error_of(f: impl FnOnce(&mut ElectionManifest)) -> String {
    let mut m = common::manifest();
    f(&mut m);
    match validate_manifest(&m) {
        Ok(()) => "accepted".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn seed_manifest_is_valid() {
    validate_manifest(&common::manifest()).expect("valid");
}

#[test]
fn errors_name_the_field() {
    assert!(error_of(|m| m.contests[0].id = "President".into()).starts_with("contests[0].id"));
    assert!(error_of(|m| m.contests[1].id = "president".into()).contains("duplicate contest id"));
    assert!(error_of(|m| m.contests[0].districts[0] = "nowhere".into()).starts_with("contests[0].districts[0]"));
    assert!(
        error_of(|m| m.contests[0].coalitions[0].parties[2] = "zz".into())
            .starts_with("contests[0].coalitions[0].parties")
    );
    assert!(error_of(|m| m.contests[0].coalitions[1].parties[0] = "pan".into()).contains("already in coalition"));
    assert!(error_of(|m| m.contests[2].max_selections = Some(9)).starts_with("contests[2].maxSelections"));
    assert!(error_of(|m| m.contests[2].min_selections = Some(4)).starts_with("contests[2].minSelections"));
    assert!(error_of(|m| m.districts[1].parent = Some("chiapas".into())).contains("cycle"));
    assert!(error_of(|m| m.districts[2].parent = Some("atlantis".into())).starts_with("districts[2].parent"));
    assert!(error_of(|m| m.slot_bits = 0).starts_with("slotBits"));
}

#[test]
fn hash_is_stable_and_sensitive() {
    let h = manifest_hash(&common::manifest());
    assert_eq!(h, manifest_hash(&common::manifest()));
    let mut m = common::manifest();
    m.contests[0].parties[6].name = "Movimiento Ciudadano".into();
    assert_ne!(h, manifest_hash(&m));
    let yaml = serde_yaml::to_string(&common::manifest()).expect("yaml");
    let back: ElectionManifest = serde_yaml::from_str(&yaml).expect("decode");
    assert_eq!(manifest_hash(&back), h);
}

proptest! {
    #[test]
    fn manifest_decoder_never_panics(s in ".{0,300}") {
        if let Ok(m) = serde_json::from_str::<ElectionManifest>(&s) {
            let _ = validate_manifest(&m);
        }
    }

    #[test]
    fn ballot_decoder_never_panics(s in ".{0,300}") {
        let _ = serde_json::from_str::<urna_ballot::EncryptedBallot>(&s);
    }
}
