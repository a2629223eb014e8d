//! The Merkle core against the RFC 6962 reference vectors (the Certificate Transparency test tree of eight
//! leaves, also used by Trillian and certificate-transparency-go) and against a naive recomputation straight
//! from the RFC's definitions, for every tree size up to 70 and random indices.

use proptest::prelude::*;
use urna_audit::Hash;
use urna_audit::merkle::{MemoryTree, empty_root, leaf_hash, node_hash, root};
use urna_audit::proof::{VerifyError, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};

fn h(s: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).expect("test vector hex");
    out
}

/// RFC 6962 reference leaves (entry bytes).
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots of the trees of the first 1..=8 reference leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_leaves() -> Vec<Hash> {
    LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).expect("hex"))).collect()
}

#[test]
fn reference_roots() {
    assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    let leaves = reference_leaves();
    let mut tree = MemoryTree::new();
    for (n, (leaf, expected)) in leaves.iter().zip(ROOTS).enumerate() {
        tree.push(*leaf);
        assert_eq!(root(&leaves[..=n]), h(expected), "size {}", n + 1);
        assert_eq!(tree.root(), h(expected), "incremental size {}", n + 1);
    }
}

#[test]
fn reference_inclusion_proofs() {
    let leaves = reference_leaves();
    let tree = MemoryTree::from_leaves(leaves.clone());
    // (leaf index, tree size, path)
    let vectors: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, path) in vectors {
        let expected: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        let proof = inclusion_proof(&tree, index, size).expect("proof");
        assert_eq!(proof, expected, "index {index}, size {size}");
        let root = h(ROOTS[size as usize - 1]);
        assert_eq!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root), Ok(()));
    }
}

#[test]
fn reference_consistency_proofs() {
    let tree = MemoryTree::from_leaves(reference_leaves());
    let vectors: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, path) in vectors {
        let expected: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        let proof = consistency_proof(&tree, m, n).expect("proof");
        assert_eq!(proof, expected, "{m} -> {n}");
        let (r1, r2) = (h(ROOTS[m as usize - 1]), h(ROOTS[n as usize - 1]));
        assert_eq!(verify_consistency(m, n, &r1, &r2, &proof), Ok(()));
    }
}

// ---- Naive reference: the RFC's recursive definitions over explicit leaf lists. ----

fn naive_split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn naive_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = naive_split(n);
            node_hash(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
        }
    }
}

fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = naive_split(n);
    if m < k {
        let mut p = naive_path(m, &d[..k]);
        p.push(naive_mth(&d[k..]));
        p
    } else {
        let mut p = naive_path(m - k, &d[k..]);
        p.push(naive_mth(&d[..k]));
        p
    }
}

fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![naive_mth(d)] };
    }
    let k = naive_split(n);
    if m <= k {
        let mut p = naive_subproof(m, &d[..k], b);
        p.push(naive_mth(&d[k..]));
        p
    } else {
        let mut p = naive_subproof(m - k, &d[k..], false);
        p.push(naive_mth(&d[..k]));
        p
    }
}

fn leaves(n: usize, salt: u8) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&[salt, (i >> 8) as u8, i as u8])).collect()
}

fn flip(mut h: Hash, bit: usize) -> Hash {
    h[bit / 8 % 32] ^= 1 << (bit % 8);
    h
}

#[test]
fn every_size_and_index_up_to_70() {
    for n in 1..=70usize {
        let d = leaves(n, 1);
        let tree = MemoryTree::from_leaves(d.clone());
        let r = naive_mth(&d);
        assert_eq!(tree.root(), r, "root of {n}");
        assert_eq!(root(&d), r);
        for m in 0..n {
            let proof = inclusion_proof(&tree, m as u64, n as u64).expect("proof");
            assert_eq!(proof, naive_path(m, &d), "path {m} of {n}");
            assert_eq!(verify_inclusion(&d[m], m as u64, n as u64, &proof, &r), Ok(()));
            // Also from the slice source (different code path for nodes).
            assert_eq!(inclusion_proof(d.as_slice(), m as u64, n as u64).expect("proof"), proof);
        }
        for m in 1..=n {
            let proof = consistency_proof(&tree, m as u64, n as u64).expect("proof");
            let expected = if m == n { vec![] } else { naive_subproof(m, &d, true) };
            assert_eq!(proof, expected, "consistency {m} -> {n}");
            assert_eq!(verify_consistency(m as u64, n as u64, &naive_mth(&d[..m]), &r, &proof), Ok(()));
        }
    }
}

#[test]
fn edge_cases() {
    let d = leaves(5, 2);
    let tree = MemoryTree::from_leaves(d.clone());
    let r = tree.root();
    assert!(inclusion_proof(&tree, 5, 5).is_err());
    assert!(inclusion_proof(&tree, 0, 6).is_err(), "nodes beyond the tree are missing");
    assert!(consistency_proof(&tree, 4, 3).is_err());
    assert_eq!(consistency_proof(&tree, 0, 5).expect("proof"), Vec::<Hash>::new());
    assert_eq!(verify_consistency(0, 5, &empty_root(), &r, &[]), Ok(()));
    assert!(verify_consistency(0, 5, &empty_root(), &r, &[r]).is_err());
    assert!(verify_consistency(5, 5, &r, &flip(r, 0), &[]).is_err());
    assert!(verify_consistency(5, 4, &r, &r, &[]).is_err());
    assert_eq!(verify_consistency(2, 5, &r, &r, &[]), Err(VerifyError::EmptyProof));
    assert!(matches!(verify_inclusion(&d[0], 5, 5, &[], &r), Err(VerifyError::IndexOutOfRange { .. })));
    assert!(verify_inclusion(&d[0], 0, 0, &[], &r).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inclusion_matches_naive_and_detects_tampering(
        n in 1usize..=70, m_seed in any::<u64>(), salt in any::<u8>(), bit in 0usize..256, which in any::<u64>()
    ) {
        let d = leaves(n, salt);
        let m = (m_seed % n as u64) as usize;
        let tree = MemoryTree::from_leaves(d.clone());
        let r = naive_mth(&d);
        let proof = inclusion_proof(&tree, m as u64, n as u64).expect("proof");
        prop_assert_eq!(&proof, &naive_path(m, &d));
        prop_assert!(verify_inclusion(&d[m], m as u64, n as u64, &proof, &r).is_ok());
        // A changed leaf, root, index or proof hash fails; so do a dropped or an extra hash. (A different
        // size can verify: for a leaf in a left perfect subtree, sizes sharing that split give the same path.
        // The size is bound by the signed checkpoint, not by the proof.)
        prop_assert!(verify_inclusion(&flip(d[m], bit), m as u64, n as u64, &proof, &r).is_err());
        prop_assert!(verify_inclusion(&d[m], m as u64, n as u64, &proof, &flip(r, bit)).is_err());
        if n > 1 {
            let other = (m + 1 + (which as usize % (n - 1))) % n;
            prop_assert!(verify_inclusion(&d[m], other as u64, n as u64, &proof, &r).is_err());
            let mut bad = proof.clone();
            let i = which as usize % bad.len();
            bad[i] = flip(bad[i], bit);
            prop_assert!(verify_inclusion(&d[m], m as u64, n as u64, &bad, &r).is_err());
            let mut short = proof.clone();
            short.pop();
            prop_assert!(verify_inclusion(&d[m], m as u64, n as u64, &short, &r).is_err());
        }
        let mut long = proof.clone();
        long.push(r);
        prop_assert!(verify_inclusion(&d[m], m as u64, n as u64, &long, &r).is_err());
    }

    #[test]
    fn consistency_matches_naive_and_detects_tampering(
        n in 2usize..=70, m_seed in any::<u64>(), salt in any::<u8>(), bit in 0usize..256, which in any::<u64>()
    ) {
        let d = leaves(n, salt);
        let m = 1 + (m_seed % (n as u64 - 1)) as usize; // 1..n
        let tree = MemoryTree::from_leaves(d.clone());
        let (r1, r2) = (naive_mth(&d[..m]), naive_mth(&d));
        let proof = consistency_proof(&tree, m as u64, n as u64).expect("proof");
        prop_assert_eq!(&proof, &naive_subproof(m, &d, true));
        prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &proof).is_ok());
        prop_assert!(verify_consistency(m as u64, n as u64, &flip(r1, bit), &r2, &proof).is_err());
        prop_assert!(verify_consistency(m as u64, n as u64, &r1, &flip(r2, bit), &proof).is_err());
        let mut bad = proof.clone();
        let i = which as usize % bad.len();
        bad[i] = flip(bad[i], bit);
        prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &bad).is_err());
        let mut short = proof.clone();
        short.pop();
        prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &short).is_err());
        let mut long = proof.clone();
        long.push(r2);
        prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &long).is_err());
        // A forked history: the same old size, a different old leaf, cannot be proven consistent.
        let mut forked = d.clone();
        forked[which as usize % m] = flip(forked[which as usize % m], bit);
        prop_assert!(verify_consistency(m as u64, n as u64, &naive_mth(&forked[..m]), &r2, &proof).is_err());
    }
}
