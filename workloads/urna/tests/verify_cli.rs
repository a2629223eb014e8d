//! `urna verify inclusion` and `urna verify consistency` as a user runs them: the real binary, with valid
//! proofs (exit 0), tampered ones (exit 1, reason on stderr) and malformed arguments (exit 2).

use std::process::{Command, Output};

use urna_audit::merkle::MemoryTree;
use urna_audit::{Hash, consistency_proof, inclusion_proof, leaf_hash};

fn urna(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urna")).args(args).output().expect("run urna")
}

fn tree(n: u8) -> MemoryTree {
    MemoryTree::from_leaves((0..n).map(|i| leaf_hash(&[i])))
}

fn join(proof: &[Hash]) -> String {
    proof.iter().map(hex::encode).collect::<Vec<_>>().join(",")
}

fn flip(h: &Hash) -> String {
    let mut h = *h;
    h[0] ^= 1;
    hex::encode(h)
}

fn inclusion(root: &str, size: &str, index: &str, leaf: &str, proof: &str) -> Output {
    urna(&[
        "verify",
        "inclusion",
        "--root",
        root,
        "--size",
        size,
        "--index",
        index,
        "--leaf-hash",
        leaf,
        "--proof",
        proof,
    ])
}

fn consistency(size1: &str, size2: &str, root1: &str, root2: &str, proof: &str) -> Output {
    urna(&[
        "verify",
        "consistency",
        "--size1",
        size1,
        "--size2",
        size2,
        "--root1",
        root1,
        "--root2",
        root2,
        "--proof",
        proof,
    ])
}

#[test]
fn inclusion_valid_and_tampered() {
    let t = tree(11);
    let root = hex::encode(t.root());
    let leaf = t.leaves()[6];
    let proof = inclusion_proof(&t, 6, 11).expect("proof");
    let out = inclusion(&root, "11", "6", &hex::encode(leaf), &join(&proof));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));

    let mut bad_proof = proof.clone();
    bad_proof[1][5] ^= 0x80;
    for (what, out) in [
        ("leaf", inclusion(&root, "11", "6", &flip(&leaf), &join(&proof))),
        ("root", inclusion(&flip(&t.root()), "11", "6", &hex::encode(leaf), &join(&proof))),
        ("index", inclusion(&root, "11", "7", &hex::encode(leaf), &join(&proof))),
        ("proof", inclusion(&root, "11", "6", &hex::encode(leaf), &join(&bad_proof))),
        ("short proof", inclusion(&root, "11", "6", &hex::encode(leaf), &join(&proof[..2]))),
        ("index beyond size", inclusion(&root, "11", "11", &hex::encode(leaf), &join(&proof))),
    ] {
        assert_eq!(out.status.code(), Some(1), "tampered {what} must exit 1");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("INVALID"), "tampered {what}: stderr {stderr}");
    }
}

#[test]
fn single_leaf_tree_takes_an_empty_proof() {
    let t = tree(1);
    let out = inclusion(&hex::encode(t.root()), "1", "0", &hex::encode(t.leaves()[0]), "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn consistency_valid_and_tampered() {
    let t = tree(13);
    let (r5, r13) = (t.root_at(5).expect("root"), t.root());
    let proof = consistency_proof(&t, 5, 13).expect("proof");
    let out = consistency("5", "13", &hex::encode(r5), &hex::encode(r13), &join(&proof));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // Equal sizes and equal roots: the empty proof.
    let out = consistency("13", "13", &hex::encode(r13), &hex::encode(r13), "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let forked = MemoryTree::from_leaves((0..13u8).map(|i| leaf_hash(&[i ^ u8::from(i == 2)])));
    for (what, out) in [
        ("old root", consistency("5", "13", &flip(&r5), &hex::encode(r13), &join(&proof))),
        ("new root", consistency("5", "13", &hex::encode(r5), &flip(&r13), &join(&proof))),
        (
            "forked history",
            consistency("5", "13", &hex::encode(forked.root_at(5).expect("r")), &hex::encode(r13), &join(&proof)),
        ),
        ("sizes", consistency("6", "13", &hex::encode(r5), &hex::encode(r13), &join(&proof))),
        ("reversed sizes", consistency("13", "5", &hex::encode(r13), &hex::encode(r5), &join(&proof))),
        ("empty proof", consistency("5", "13", &hex::encode(r5), &hex::encode(r13), "")),
    ] {
        assert_eq!(out.status.code(), Some(1), "tampered {what} must exit 1");
        assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID"), "{what}");
    }
}

#[test]
fn malformed_arguments_exit_2() {
    let h = "00".repeat(32);
    let upper = "AB".repeat(32);
    for args in [
        vec!["verify", "inclusion", "--root", "xyz", "--size", "1", "--index", "0", "--leaf-hash", &h, "--proof", ""],
        vec!["verify", "inclusion", "--root", &upper, "--size", "1", "--index", "0", "--leaf-hash", &h, "--proof", ""],
        vec!["verify", "inclusion", "--root", &h, "--size", "-1", "--index", "0", "--leaf-hash", &h, "--proof", ""],
        vec!["verify", "inclusion", "--root", &h, "--size", "1", "--index", "0", "--leaf-hash", &h, "--proof", "00,11"],
        vec!["verify", "inclusion", "--root", &h, "--size", "1", "--index", "0", "--leaf-hash", &h],
        vec!["verify", "consistency", "--size1", "1", "--size2", "2", "--root1", &h, "--root2", &h, "--proof", ","],
    ] {
        let out = urna(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let help = urna(&["verify", "inclusion", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit status"));
}
