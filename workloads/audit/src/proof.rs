//! Inclusion and consistency proofs: generation (RFC 9162 §2.1.3.1, §2.1.4.1) from any [`NodeSource`], and
//! verification (§2.1.3.2, §2.1.4.2), which needs nothing but hashes.
//!
//! Proofs list sibling hashes from the leaf (or the old tree's edge) upward, exactly as RFC 9162 orders them,
//! so a proof from this log verifies with any RFC 9162 verifier and vice versa.

use crate::merkle::{Hash, NodeSource, node_hash, split_point, subtree_root};

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a consistency proof needs from <= to, got from {from}, to {to}")]
    SizesOutOfOrder { from: u64, to: u64 },
    #[error("reading tree nodes: {0}")]
    Source(E),
}

/// Why a proof did not verify. Every failure says which check failed, so an auditor's report can too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("first tree size {size1} exceeds second tree size {size2}")]
    SizesOutOfOrder { size1: u64, size2: u64 },
    #[error("the proof has {got} hashes; a valid proof for these sizes has {expected}")]
    WrongLength { got: usize, expected: usize },
    #[error("the proof has more hashes than the tree has levels")]
    ProofTooLong,
    #[error("the proof ends before reaching the root")]
    ProofTooShort,
    #[error("the empty proof is only valid between equal or zero tree sizes")]
    EmptyProof,
    #[error("the proof leads to root {computed}, not the given root {expected}")]
    RootMismatch { computed: String, expected: String },
    #[error("the proof reconstructs first root {computed}, not the given first root {expected}")]
    FirstRootMismatch { computed: String, expected: String },
    #[error("the proof reconstructs second root {computed}, not the given second root {expected}")]
    SecondRootMismatch { computed: String, expected: String },
}

/// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1 `PATH(m, D[n])`).
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(src, index, 0, size, &mut proof).map_err(ProofError::Source)?;
    Ok(proof)
}

fn path<S: NodeSource + ?Sized>(src: &S, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree_root(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(subtree_root(src, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof from size `from` to size `to` (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`). Between equal
/// sizes, or from the empty tree, the proof is empty.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &S,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if from > to {
        return Err(ProofError::SizesOutOfOrder { from, to });
    }
    let mut proof = Vec::new();
    if from > 0 && from < to {
        subproof(src, from, 0, to, true, &mut proof).map_err(ProofError::Source)?;
    }
    Ok(proof)
}

fn subproof<S: NodeSource + ?Sized>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        // The old tree's root is a node of the new tree; the verifier knows it already when `complete`.
        if !complete {
            out.push(subtree_root(src, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(src, m, start, start + k, complete, out)?;
        out.push(subtree_root(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree_root(src, start, start + k)?);
    }
    Ok(())
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` leaves with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // Climb past the levels where this node has no right sibling (the tree's ragged right edge).
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    if r != *root {
        return Err(VerifyError::RootMismatch { computed: hex::encode(r), expected: hex::encode(root) });
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with root
/// `root1` (RFC 9162 §2.1.4.2). Equal sizes need equal roots and an empty proof; every tree extends the empty
/// tree (size 0), again with an empty proof, as in RFC 9162 and Trillian.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if size1 > size2 {
        return Err(VerifyError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == size2 || size1 == 0 {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength { got: proof.len(), expected: 0 });
        }
        if size1 == size2 && root1 != root2 {
            return Err(VerifyError::RootMismatch { computed: hex::encode(root1), expected: hex::encode(root2) });
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::EmptyProof);
    }
    // When the old tree is a perfect subtree its root is the first hash of the path; the RFC omits it from
    // the proof because the verifier holds it.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(root1);
    }
    path.extend(proof);

    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    if fr != *root1 {
        return Err(VerifyError::FirstRootMismatch { computed: hex::encode(fr), expected: hex::encode(root1) });
    }
    if sr != *root2 {
        return Err(VerifyError::SecondRootMismatch { computed: hex::encode(sr), expected: hex::encode(root2) });
    }
    Ok(())
}
