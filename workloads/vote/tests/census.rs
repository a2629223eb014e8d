//! Census import: validation errors name the line and field; re-import is idempotent; conflicts refused.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use urna_vote::credential::{hash_credential, insecure_fast_params};
use urna_vote::{ShardMap, VoteConfig, VoteError, VoteService};

fn service(dir: &std::path::Path) -> VoteService {
    let mut shards = ShardMap::new();
    shards.parse_entry("*:remote=http://127.0.0.1:9").unwrap();
    let config = VoteConfig::new(
        common::manifest(),
        common::PAILLIER.clone(),
        common::signing_key(),
        dir.to_path_buf(),
        shards,
        "http://127.0.0.1:9".into(),
    );
    VoteService::open(config).unwrap()
}

fn errors(r: Result<urna_vote::rights::ImportReport, VoteError>) -> Vec<(u64, Option<String>, String)> {
    match r {
        Err(VoteError::Census(e)) => e.errors.into_iter().map(|e| (e.line, e.field, e.message)).collect(),
        other => panic!("expected census errors, got {other:?}"),
    }
}

fn phc() -> String {
    hash_credential("c", Some(insecure_fast_params()), &mut urna_crypto::os_rng()).unwrap()
}

#[test]
fn errors_name_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path());
    let good = format!("{:064x}", 1);
    let h = urna_vote::census::csv_field(&phc());
    let csv = format!(
        "voterIdHash,district,credentialHash\n\
         {good},north,{h}\n\
         XYZ,north,{h}\n\
         \n\
         {:064x},atlantis,{h}\n\
         {:064x},south,plaintext-password\n\
         {:064x},south\n",
        2, 3, 4
    );
    let errs = errors(svc.import_census(csv.as_bytes()));
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert_eq!((errs[0].0, errs[0].1.as_deref()), (3, Some("voterIdHash")));
    assert_eq!((errs[1].0, errs[1].1.as_deref()), (5, Some("district")));
    assert!(errs[1].2.contains("atlantis"));
    assert_eq!((errs[2].0, errs[2].1.as_deref()), (6, Some("credentialHash")));
    assert_eq!((errs[3].0, errs[3].1.as_deref()), (7, None));
    // The message a person reads names the line too.
    let text = svc.import_census(csv.as_bytes()).unwrap_err().to_string();
    assert!(text.contains("census line 3, field voterIdHash"), "{text}");

    // Bad header.
    let errs = errors(svc.import_census("id,district,hash\n".as_bytes()));
    assert_eq!(errs[0].0, 1);
}

#[test]
fn json_lines_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path());
    let h = phc();
    let jsonl = format!(
        "{{\"voterIdHash\":\"{:064x}\",\"district\":\"north\",\"credentialHash\":{}}}\n\
         {{\"voterIdHash\":\"{:064x}\",\"district\":\"north\"}}\n\
         {{\"voterIdHash\":7,\"district\":\"north\",\"credentialHash\":\"x\"}}\n",
        1,
        serde_json::to_string(&h).unwrap(),
        2
    );
    let errs = errors(svc.import_census(jsonl.as_bytes()));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, 2);
    assert!(errs[0].2.contains("credentialHash"), "{errs:?}");
    assert_eq!((errs[1].0, errs[1].1.as_deref()), (3, Some("voterIdHash")));
}

#[test]
fn reimport_is_idempotent_and_conflicts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path());
    let csv = common::census_csv(5);
    let first = svc.import_census(csv.as_bytes()).unwrap();
    assert_eq!((first.read, first.inserted, first.unchanged), (5, 5, 0));
    let again = svc.import_census(csv.as_bytes()).unwrap();
    assert_eq!((again.read, again.inserted, again.unchanged), (5, 0, 5));
    // The same voter with a new credential: refused, naming the line.
    let (v, _) = common::voter(0);
    let conflict =
        format!("voterIdHash,district,credentialHash\n{},north,{}\n", v.voter_id, urna_vote::census::csv_field(&phc()));
    let errs = errors(svc.import_census(conflict.as_bytes()));
    assert_eq!((errs[0].0, errs[0].1.as_deref()), (2, Some("voterIdHash")));
    // JSON Lines of the same census is the same census.
    drop(svc);
    let svc = service(dir.path());
    let jsonl: String = csv
        .lines()
        .skip(1)
        .map(|l| {
            let mut parts = l.splitn(3, ',');
            let (id, d, h) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
            format!(
                "{{\"voterIdHash\":\"{id}\",\"district\":\"{d}\",\"credentialHash\":\"{}\"}}\n",
                h.trim_matches('"')
            )
        })
        .collect();
    let r = svc.import_census(jsonl.as_bytes()).unwrap();
    assert_eq!((r.inserted, r.unchanged), (0, 5));
}

#[test]
fn a_data_dir_serves_one_election_and_key() {
    let dir = tempfile::tempdir().unwrap();
    drop(service(dir.path()));
    let mut shards = ShardMap::new();
    shards.parse_entry("*:remote=http://127.0.0.1:9").unwrap();
    let other_key = urna_crypto::blind::BlindSigningKey::from_pkcs8_pem(&common::blind_key_pem()).unwrap();
    let config = VoteConfig::new(
        common::manifest(),
        common::PAILLIER.clone(),
        other_key,
        dir.path().to_path_buf(),
        shards,
        "http://127.0.0.1:9".into(),
    );
    let err = VoteService::open(config).err().expect("refused");
    assert!(err.to_string().contains("refusing"), "{err}");
}
