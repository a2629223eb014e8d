//! The booth vote service exactly as the operator runs it for the municipal example, started for real: the
//! `urna vote` binary gets the StatefulSet's arguments (the kubelet's `$(VAR)` expanded), with every mounted
//! file written from the object the operator builds or references (manifest ConfigMap, mesas ConfigMap, the
//! example's booth census, token Secrets). It starts, and a Mesa console holding the token the operator
//! generated admits a voter of the booth census at the Mesa of the voter's district, once; the same voter is
//! "not here" at another district's Mesa, and a wrong token is refused.

#![allow(clippy::unwrap_used)] // a panic is the failure report

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_operator::build::{self, Defaults};
use urna_operator::workload::{DATA_DIR, MANIFEST_DIR};
use urna_vote::ClientError;
use urna_vote::client::VoterClient;

use support::spawn_listening;

/// The in-pod paths (`/etc/urna/...`, `/var/run/urna/...`, `/var/lib/urna`) under `root`.
fn local(root: &Path, pod_path: &str) -> PathBuf {
    root.join(pod_path.trim_start_matches('/'))
}

fn write(root: &Path, pod_path: &str, text: &str) {
    let p = local(root, pod_path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].as_str()).unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_booth_vote_service_starts_and_admits_with_its_console_tokens() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/municipal");
    let set = urna_operator::examples::load_dir(&dir).unwrap();
    let e = &set.elections[0];
    // What the controller does: one generated token per Mesa and the bridge token; the mesas file carries
    // their hashes.
    let tokens: BTreeMap<String, String> = set
        .mesas
        .iter()
        .map(|m| (m.metadata.name.clone().unwrap(), urna_operator::token::new_token().unwrap()))
        .collect();
    let hashes = tokens.iter().map(|(m, t)| (m.clone(), urna_operator::token::token_sha256(t))).collect();
    let bridge = urna_operator::token::new_token().unwrap();
    let file = build::booth_vote::mesas_file(e, &set.mesas, &set.fleets, &hashes).unwrap();
    let children: Vec<Value> =
        build::booth_vote::build(e, &Defaults::default(), &build::election::tally_shards(e), &file)
            .unwrap()
            .into_iter()
            .map(|c| c.body)
            .collect();
    let sts = children.iter().find(|c| c["kind"] == "StatefulSet").unwrap();
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["env"][0]["name"], "URNA_VOTE_PARTITION");
    let args: Vec<String> = serde_json::from_value::<Vec<String>>(c["args"].clone())
        .unwrap()
        .into_iter()
        .map(|a| a.replace("$(URNA_VOTE_PARTITION)", "0"))
        .collect();

    // Every mounted file, from its source.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let manifest_cm = build::election::manifest_config_map(e).unwrap();
    let data = manifest_cm.data.unwrap();
    for key in ["manifest.json", "paillier.json"] {
        write(root, &format!("{MANIFEST_DIR}/{key}"), &data[key]);
    }
    let mut rng = urna_crypto::os_rng();
    let signing = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
    write(root, flag(&args, "--signing-key"), &signing.to_pkcs8_pem().unwrap());
    let census_ref = e.spec.vote.booth.as_ref().unwrap().census.config_map.as_ref().unwrap();
    let census_cm = set.others.iter().find(|o| o["metadata"]["name"] == census_ref.name.as_str()).unwrap();
    let census = census_cm["data"][census_ref.key.as_str()].as_str().unwrap();
    write(root, flag(&args, "--census"), census);
    let mesas_cm = children.iter().find(|c| c["kind"] == "ConfigMap").unwrap();
    write(root, flag(&args, "--mesas"), mesas_cm["data"]["mesas.json"].as_str().unwrap());
    write(root, flag(&args, "--bridge-token-file"), &bridge);
    write(root, flag(&args, "--admin-token-file"), "admin-token-for-the-test\n");
    write(root, flag(&args, "--internal-token-file"), "internal-token-for-the-test\n");

    let mut argv = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        argv.push(a.clone());
        let path_flag = ["--manifest", "--public-key", "--signing-key", "--census", "--mesas"];
        let value = match a.as_str() {
            f if path_flag.contains(&f) || f.ends_with("-file") => {
                local(root, it.next().unwrap()).display().to_string()
            }
            "--data" => {
                assert_eq!(it.next().unwrap(), DATA_DIR);
                local(root, DATA_DIR).display().to_string()
            }
            // Loopback instead of the pod's 0.0.0.0:8080.
            "--listen" => {
                it.next();
                "127.0.0.1:0".into()
            }
            // The example's window opens in 2027: open it now, keeping the operator's close.
            "--opens-at" => {
                it.next();
                "2020-01-01T00:00:00Z".into()
            }
            _ => continue,
        };
        argv.push(value);
    }
    let (_vote, url) = spawn_listening(&argv).await;
    let console = VoterClient::new(&url);

    // The booth census's voter votes in sur: admitted at mesa-sur-1 with its generated console token, once.
    let voter = census.lines().find(|l| l.contains(",sur,")).unwrap().split(',').next().unwrap().to_owned();
    let first = console.admit("mesa-sur-1", &tokens["mesa-sur-1"], &voter).await.unwrap();
    assert_eq!((first.status.as_str(), first.admitted), ("admitted", 1));
    let again = console.admit("mesa-sur-1", &tokens["mesa-sur-1"], &voter).await.unwrap();
    assert_eq!(again.status, "alreadyAdmitted");
    let api_status = |r: Result<_, ClientError>| match r {
        Err(ClientError::Api { status, .. }) => status,
        other => panic!("expected an API error, got {other:?}"),
    };
    // Another district's Mesa: not this voter's; another Mesa's token: refused.
    assert_eq!(api_status(console.admit("mesa-centro-1", &tokens["mesa-centro-1"], &voter).await), 404);
    assert_eq!(api_status(console.admit("mesa-sur-1", &tokens["mesa-centro-1"], &voter).await), 401);
}
