//! `urna verify challenge` as a user runs it on a challenged ballot the voter app published (docs/protocol.md
//! §4.7): the real binary on the TypeScript-made fixture (exit 0), on a copy revealing another choice (exit 1,
//! the difference on stderr) and on a malformed file (exit 2).

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(path: &str) -> String {
    root().join(path).to_string_lossy().into_owned()
}

fn challenge(file: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urna"))
        .args([
            "verify",
            "challenge",
            file,
            "--manifest",
            &fixture("workloads/ballot/tests/fixtures/browser/manifest-seeds.json"),
            "--public-key",
            &fixture("workloads/crypto/tests/fixtures/ceremony-3072/public.json"),
        ])
        .output()
        .expect("run urna")
}

#[test]
fn a_challenge_that_holds_exits_0_and_names_the_choices() {
    let out = challenge(&fixture("workloads/ballot/tests/fixtures/browser/ts-challenge.json"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("challenge VALID"), "{stdout}");
    assert!(stdout.contains("governor: p2+p5+p9"), "{stdout}");
    assert!(stdout.contains("president: write-in \"Rosario Ibarra\""), "{stdout}");
}

#[test]
fn another_revealed_choice_exits_1_naming_the_contest() {
    let text =
        std::fs::read_to_string(fixture("workloads/ballot/tests/fixtures/browser/ts-challenge.json")).expect("fixture");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["contests"][2]["choices"] = serde_json::json!(["o0", "o2", "o4"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("challenge.json");
    std::fs::write(&path, v.to_string()).expect("write");
    let out = challenge(&path.to_string_lossy());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("contest board: choice ciphertext 4 does not encrypt the revealed choice o0, o2, o4"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_file_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("challenge.json");
    std::fs::write(&path, r#"{"version": 1, "ballot": {}}"#).expect("write");
    let out = challenge(&path.to_string_lossy());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("challenge MALFORMED"), "{stderr}");
    let missing = challenge(&dir.path().join("absent.json").to_string_lossy());
    assert_eq!(missing.status.code(), Some(2));
}
