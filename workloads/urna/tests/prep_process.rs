//! PREP end to end with real processes on loopback: `urna capture serve` takes three capturists' double
//! entries of four mesas' results sheets (one deliberate mismatch, resolved by a third capturist), `urna
//! publish` writes signed, chained snapshots (five, some by the timer) and logs each in the audit log, and
//! `urna verify snapshots` accepts the honest directory and refuses each tampering, naming the snapshot.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use urna_auth::Token;
use urna_ballot::{Contest, District, ElectionManifest};
use urna_tally::TallyClient;

const URNA: &str = env!("CARGO_BIN_EXE_urna");
const ELECTION: &str = "prep-proc";

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn urna(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(URNA).args(&args).stdin(Stdio::null()).output().unwrap())
        .await
        .unwrap()
}

async fn ok(args: Vec<String>) -> String {
    let out = urna(args).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "urna failed: {stderr}\n{stdout}");
    stdout.into_owned()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|x| (*x).to_owned()).collect()
}

/// A capturist (or the publisher) talking to the capture service with their own token.
fn client(url: &str, token: &str) -> TallyClient {
    TallyClient::new(url).with_token(Token::new(token).unwrap())
}

/// Figures of a sheet of the `mayor` contest (choices a, b, blank).
fn figures(a: u64, b: u64, blank: u64) -> Value {
    let n = a + b + blank;
    json!({"voted": n, "ballots": n, "contests": [{"contest": "mayor", "counts": [
        {"choice": "a", "votes": a}, {"choice": "b", "votes": b}, {"choice": "blank", "votes": blank}]}]})
}

/// Uploads `photo` and captures `mesa` with `figures`; returns the status and the answer.
async fn capture(c: &TallyClient, mesa: &str, photo: &[u8], figures: &Value) -> (u16, Value) {
    let (st, body) = c.raw(Method::PUT, "/v1/photos", Some(photo.to_vec())).await.unwrap();
    assert_eq!(st.as_u16(), 201, "{}", String::from_utf8_lossy(&body));
    let sha: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sha["sha256"], hex::encode(Sha256::digest(photo)));
    let req = json!({"mesa": mesa, "photoSha256": sha["sha256"], "figures": figures});
    let (st, body) = c.raw(Method::POST, "/v1/captures", Some(serde_json::to_vec(&req).unwrap())).await.unwrap();
    (st.as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `urna verify snapshots DIR`: Ok(stdout) or Err(stderr).
async fn verify(dir: &Path, key: &str) -> Result<String, String> {
    let out = urna(args(&["verify", "snapshots", &s(dir), "--publisher-key", key])).await;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_capture_snapshots_and_their_verification() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let manifest = ElectionManifest {
        election_id: ELECTION.into(),
        title: "PREP".into(),
        districts: vec![
            District { id: "north".into(), name: "Norte".into(), parent: None },
            District { id: "south".into(), name: "Sur".into(), parent: None },
        ],
        contests: vec![Contest::single_choice("mayor", &["north", "south"], &["a", "b"], false)],
        slot_bits: 16,
    };
    let manifest_path = write(d, "manifest.json", &serde_json::to_string(&manifest).unwrap());
    let mesa = |id: &str, district: &str| json!({"id": id, "district": district, "tokenSha256": hex::encode(Sha256::digest(id.as_bytes())), "booths": []});
    let mesas = json!({"mesas": [mesa("m1", "north"), mesa("m2", "north"), mesa("m3", "south"), mesa("m4", "south")]});
    let mesas_path = write(d, "mesas.json", &mesas.to_string());
    let tok = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    let tokens = json!({
        "capturists": [{"id": "cap-1", "tokenSha256": tok("t1")}, {"id": "cap-2", "tokenSha256": tok("t2")},
                       {"id": "cap-3", "tokenSha256": tok("t3")}],
        "publishers": [{"id": "prep", "tokenSha256": tok("tp")}],
    });
    let tokens_path = write(d, "tokens.json", &tokens.to_string());
    write(d, "publisher.token", "tp\n");
    let internal = support::internal_token_file(d);
    let log_key = urna_audit::LogKey::generate().unwrap();
    let audit = support::audit_log_signed_by(&d.join("audit.redb"), log_key, {
        let mut c = urna_audit::LogConfig::new("urna.test/prep");
        c.batch_wait = std::time::Duration::from_millis(20);
        c
    })
    .await;

    // The capture service over its data directory: started here, and again below to show a restart loses nothing.
    let capture_serve = || {
        args(&[
            "capture",
            "serve",
            "--manifest",
            &s(&manifest_path),
            "--mesas",
            &s(&mesas_path),
            "--tokens",
            &s(&tokens_path),
            "--data",
            &s(&d.join("capture")),
            "--listen",
            "127.0.0.1:0",
        ])
    };
    let (_capture, url) = support::spawn_listening(capture_serve()).await;
    let key_path = d.join("publisher.key");
    let out = ok(args(&["publish", "keygen", "--out", &s(&key_path)])).await;
    let publisher_key = out.trim().strip_prefix("public key: ").unwrap().to_owned();
    let snaps = d.join("snapshots");
    let publish = |n: &str, interval: &str| {
        args(&[
            "publish",
            "--capture",
            &url,
            "--token-file",
            &s(&d.join("publisher.token")),
            "--manifest",
            &s(&manifest_path),
            "--key",
            &s(&key_path),
            "--out",
            &s(&snaps),
            "--interval",
            interval,
            "--audit",
            &audit,
            "--audit-token-file",
            &internal,
            "--snapshots",
            n,
        ])
    };

    // Snapshot 1: nothing captured yet.
    ok(publish("1", "1")).await;

    let (c1, c2, c3) = (client(&url, "t1"), client(&url, "t2"), client(&url, "t3"));
    // m1: both capturists type the same figures: counted.
    let (st, a) = capture(&c1, "m1", b"photo m1", &figures(5, 3, 1)).await;
    assert_eq!((st, a["status"].as_str()), (201, Some("captured")), "{a}");
    let (st, a) = capture(&c2, "m1", b"photo m1 again", &figures(5, 3, 1)).await;
    assert_eq!((st, a["status"].as_str()), (201, Some("counted")), "{a}");
    // m2: the second capturist mistypes: disputed.
    capture(&c1, "m2", b"photo m2", &figures(2, 6, 0)).await;
    let (st, a) = capture(&c2, "m2", b"photo m2", &figures(6, 2, 0)).await;
    assert_eq!((st, a["status"].as_str()), (201, Some("disputed")), "{a}");
    // Refusals: a capturist changing their own entry, a fourth entry of a counted mesa, figures that do not
    // fit the ballot, a photo never uploaded, a stranger's token, an unknown mesa.
    let (st, a) = capture(&c1, "m2", b"photo m2", &figures(6, 2, 0)).await;
    assert_eq!((st, a["error"]["code"].as_str()), (409, Some("already_captured")), "{a}");
    let (st, a) = capture(&c3, "m1", b"photo m1", &figures(5, 3, 1)).await;
    assert_eq!((st, a["error"]["code"].as_str()), (409, Some("already_counted")), "{a}");
    let mut bad = figures(1, 1, 1);
    bad["contests"][0]["counts"].as_array_mut().unwrap().pop();
    let (st, a) = capture(&c3, "m3", b"photo m3", &bad).await;
    assert_eq!((st, a["error"]["code"].as_str()), (400, Some("malformed_capture")), "{a}");
    let req = json!({"mesa": "m3", "photoSha256": "00".repeat(32), "figures": figures(1, 1, 1)});
    let (st, _) = c3.raw(Method::POST, "/v1/captures", Some(serde_json::to_vec(&req).unwrap())).await.unwrap();
    assert_eq!(st.as_u16(), 400);
    let (st, _) = client(&url, "stranger")
        .raw(Method::POST, "/v1/captures", Some(serde_json::to_vec(&req).unwrap()))
        .await
        .unwrap();
    assert_eq!(st.as_u16(), 401);
    let (st, a) = capture(&c3, "m9", b"photo m9", &figures(1, 1, 1)).await;
    assert_eq!((st, a["error"]["code"].as_str()), (404, Some("unknown_mesa")), "{a}");
    // A capturist cannot read the state; the publisher can.
    let (st, _) = c1.raw(Method::GET, "/v1/captures", None).await.unwrap();
    assert_eq!(st.as_u16(), 401);

    // Snapshot 2: m1 counted, m2 disputed.
    ok(publish("1", "1")).await;

    // The third capturist reads the sheet and agrees with the first: m2 counted; m3 captured once.
    let (st, a) = capture(&c3, "m2", b"photo m2 third", &figures(2, 6, 0)).await;
    assert_eq!((st, a["status"].as_str()), (201, Some("counted")), "{a}");
    assert_eq!(a["figures"], figures(2, 6, 0));
    capture(&c2, "m3", b"photo m3", &figures(4, 4, 2)).await;

    // Snapshots 3 to 5 from one publisher on its one-second timer.
    let out = ok(publish("3", "1")).await;
    assert_eq!(out.lines().count(), 3, "{out}");

    // The honest directory verifies, pinned to the publisher's key.
    let verified = verify(&snaps, &publisher_key).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(verified.contains("snapshots VALID: 5 snapshots"), "{verified}");
    let summary: Value = serde_json::from_str(
        &ok(args(&["verify", "snapshots", &s(&snaps), "--publisher-key", &publisher_key, "--json"])).await,
    )
    .unwrap();
    assert_eq!(summary["last"], json!({"expected": 4, "captured": 3, "counted": 2, "disputed": 0}));

    // The figures: snapshot 2 counts m1 only; the last counts m1 and m2 (the third capturist's reading).
    let results = |n: &str| -> Value {
        serde_json::from_slice(&std::fs::read(snaps.join(n).join("results.json")).unwrap()).unwrap()
    };
    let votes = |r: &Value| -> Vec<u64> {
        r["contests"][0]["counts"].as_array().unwrap().iter().map(|c| c["votes"].as_u64().unwrap()).collect()
    };
    assert_eq!(votes(&results("000001")), [0, 0, 0]);
    assert_eq!(votes(&results("000002")), [5, 3, 1]);
    assert_eq!(results("000002")["actas"], json!({"expected": 4, "captured": 2, "counted": 1, "disputed": 1}));
    assert_eq!(votes(&results("000005")), [7, 9, 1]);
    assert_eq!(results("000005")["districts"][0]["turnout"], json!({"voted": 17, "ballots": 17}));
    let csv = std::fs::read_to_string(snaps.join("000005/contests.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "contest,choice,label,votes");
    assert_eq!(lines[1], "mayor,a,a,7");
    assert_eq!(lines[2], "mayor,b,b,9");
    assert!(lines[3].starts_with("mayor,blank,") && lines[3].ends_with(",1"), "{csv}");

    // Each snapshot's digest is in the audit log as a `snapshot` event, in order.
    let (st, body) =
        TallyClient::new(audit.as_str()).raw(Method::GET, "/v1/entries?start=0&end=5", None).await.unwrap();
    assert!(st.is_success());
    let entries: Value = serde_json::from_slice(&body).unwrap();
    let logged: Vec<(String, String)> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["entry"]["kind"], "snapshot", "{e}");
            (e["entry"]["detail"].as_str().unwrap().to_owned(), e["entry"]["digest"].as_str().unwrap().to_owned())
        })
        .collect();
    let want: Vec<(String, String)> = summary["digests"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("prep snapshot {}", i + 1), d.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(logged, want);

    // Each tampering is refused, naming the snapshot and why.
    let tamper = |name: &str, f: &dyn Fn(&Path)| {
        let t = d.join(format!("tampered-{name}"));
        copy_dir(&snaps, &t);
        f(&t);
        t
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            tamper("modify", &|t| {
                let p = t.join("000003/contests.csv");
                let text = std::fs::read_to_string(&p).unwrap().replace("mayor,a,a,7", "mayor,a,a,70");
                std::fs::write(p, text).unwrap();
            }),
            "snapshot 000003: contests.csv: its SHA-256",
        ),
        (
            tamper("delete", &|t| std::fs::remove_dir_all(t.join("000002")).unwrap()),
            "snapshot 000003: expected snapshot 000002",
        ),
        (
            tamper("add", &|t| std::fs::write(t.join("000004/extra.csv"), "a,b\n").unwrap()),
            "snapshot 000004: files not as signed",
        ),
        (
            tamper("add-snapshot", &|t| copy_dir(&t.join("000005"), &t.join("000006"))),
            "snapshot 000006: its body says sequence 5",
        ),
        (
            tamper("reorder", &|t| {
                std::fs::rename(t.join("000002"), t.join("x")).unwrap();
                std::fs::rename(t.join("000003"), t.join("000002")).unwrap();
                std::fs::rename(t.join("x"), t.join("000003")).unwrap();
            }),
            "snapshot 000002: its body says sequence 3",
        ),
        (
            // Rewritten with the publisher's own key: the figures and every hash made to agree, the chain not.
            tamper("rechain", &|t| {
                let key = urna_audit::LogKey::load(&key_path).unwrap();
                let p = t.join("000003/snapshot.json");
                let mut signed: urna_record::snapshot::SignedSnapshot =
                    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                signed.body.previous = "11".repeat(32);
                signed.signature =
                    hex::encode(key.sign(&urna_record::snapshot::signing_message(&signed.body.digest())));
                std::fs::write(p, serde_json::to_vec(&signed).unwrap()).unwrap();
            }),
            "snapshot 000003: the chain breaks here",
        ),
        (
            // The figures changed and every hash and signature redone by the holder of the key: the derived
            // files no longer follow from the captures.
            tamper("figures", &|t| {
                let key = urna_audit::LogKey::load(&key_path).unwrap();
                let dir = t.join("000001");
                let p = dir.join("contests.csv");
                std::fs::write(&p, "contest,choice,label,votes\nmayor,a,a,1000\n").unwrap();
                let mut signed: urna_record::snapshot::SignedSnapshot =
                    serde_json::from_slice(&std::fs::read(dir.join("snapshot.json")).unwrap()).unwrap();
                for f in &mut signed.body.files {
                    let bytes = std::fs::read(dir.join(&f.path)).unwrap();
                    f.sha256 = hex::encode(Sha256::digest(&bytes));
                    f.bytes = bytes.len() as u64;
                }
                signed.signature =
                    hex::encode(key.sign(&urna_record::snapshot::signing_message(&signed.body.digest())));
                std::fs::write(dir.join("snapshot.json"), serde_json::to_vec(&signed).unwrap()).unwrap();
            }),
            "snapshot 000001: contests.csv does not follow from actas.json",
        ),
    ];
    for (path, want) in cases {
        let err = verify(&path, &publisher_key).await.expect_err(want);
        assert!(err.contains(want), "expected {want:?}: {err}");
    }
    // Another publisher's key is refused.
    let err = verify(&snaps, &"ab".repeat(32)).await.unwrap_err();
    assert!(err.contains("not the pinned publisher key"), "{err}");

    // A restarted capture service keeps every capture (its journal): the state is the same.
    let state = |url: String| async move {
        let (st, body) = client(&url, "tp").raw(Method::GET, "/v1/captures", None).await.unwrap();
        assert!(st.is_success());
        serde_json::from_slice::<Value>(&body).unwrap()
    };
    let before = state(url.clone()).await;
    drop(_capture);
    let (_capture, url) = support::spawn_listening(capture_serve()).await;
    let after = state(url).await;
    assert_eq!(before, after);
    assert_eq!(after["mesas"][1]["captures"].as_array().unwrap().len(), 3);
    assert_eq!(after["mesas"][1]["status"], "counted");
}
