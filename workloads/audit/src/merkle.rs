//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing.
//!
//! A leaf is `SHA-256(0x00 || entry)` and an interior node `SHA-256(0x01 || left || right)`; the distinct
//! prefixes keep a leaf from ever being passed off as a node (second-preimage resistance). The Merkle Tree
//! Hash of `n > 1` leaves splits at `k`, the largest power of two strictly below `n`:
//! `MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))`; `MTH` of one leaf is its leaf hash and of none is
//! `SHA-256("")`. Because every split is at a power of two, the left half of every split is a *perfect*
//! subtree whose position is fixed forever: a log stores those once and answers any root or proof from them.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || entry)`: the leaf hash of an encoded entry (see [`crate::entry`] for the encoding).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH` over leaf hashes, straight from the RFC's recursive definition (every node hashed once).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            // `split_point` of a slice length: the length fits u64, and the result is below it.
            let k = split_point(leaves.len() as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Where the hashes of perfect subtrees come from: a store on disk, or memory.
///
/// `node(level, index)` is the root of the perfect subtree of `2^level` leaves starting at leaf
/// `index << level`. Only subtrees that are complete in the tree's current size exist.
pub trait NodeSource {
    type Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// `MTH(D[start:end])` for a range that occurs in the RFC's recursion (any `[0, n)` and every range its
/// splits produce), read from `src`. Other ranges are computed correctly too, just from more nodes.
pub fn subtree_root<S: NodeSource + ?Sized>(src: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end.saturating_sub(start);
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        // trailing_zeros of a power of two below 2^64 is below 64: fits a u8.
        return src.node(n.trailing_zeros() as u8, start >> n.trailing_zeros());
    }
    if n == 1 {
        return src.node(0, start);
    }
    let k = split_point(n);
    let left = subtree_root(src, start, start + k)?;
    let right = subtree_root(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// A node [`MemoryTree`] does not hold (the subtree is not complete at the tree's size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index}")]
pub struct MissingNode {
    pub level: u8,
    pub index: u64,
}

/// A whole tree in memory (every complete subtree's hash), for verifiers and tests: O(n) space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is `node(l, i)`; `levels[0]` are the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new();
        for leaf in leaves {
            t.push(leaf);
        }
        t
    }

    /// Appends a leaf hash, completing every subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut level = 0;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let len = self.levels[level].len();
            if len % 2 == 1 {
                return;
            }
            // The node just pushed is a right child: its parent is complete now.
            hash = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// The root at any size up to the current one.
    pub fn root_at(&self, size: u64) -> Result<Hash, MissingNode> {
        subtree_root(self, 0, size)
    }

    pub fn root(&self) -> Hash {
        // Every node of [0, size) exists by construction.
        self.root_at(self.size()).unwrap_or_else(|_| root(self.leaves()))
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

/// A slice of leaf hashes is a node source too, hashing each perfect subtree on demand (O(2^level)).
impl NodeSource for [Hash] {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        let missing = MissingNode { level, index };
        let width = 1u64.checked_shl(u32::from(level)).ok_or(missing)?;
        let start = index.checked_mul(width).ok_or(missing)?;
        let end = start.checked_add(width).ok_or(missing)?;
        let (start, end) = (usize::try_from(start).map_err(|_| missing)?, usize::try_from(end).map_err(|_| missing)?);
        self.get(start..end).map(root).ok_or(missing)
    }
}
