//! Partitioning voters (and ballots) across replicas: one writer per partition (see the crate docs).

use sha2::{Digest, Sha256};

/// `index/count`: this replica serves partition `index` of `count` (`0/1`: everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Default for Partition {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("partition {s:?}: expected INDEX/COUNT"))?;
        let index: u32 = i.parse().map_err(|_| format!("partition {s:?}: bad index"))?;
        let count: u32 = n.parse().map_err(|_| format!("partition {s:?}: bad count"))?;
        if count == 0 || index >= count {
            return Err(format!("partition {s:?}: need 0 <= INDEX < COUNT"));
        }
        Ok(Self { index, count })
    }
}

impl Partition {
    /// The partition a voter belongs to: the first 8 bytes of their (already hashed) id, mod `count`.
    pub fn of_voter(voter_id: &[u8; 32], count: u32) -> u32 {
        Self::of_digest(voter_id, count)
    }

    /// The partition a ballot belongs to: by SHA-256 of its signature, the key of "one ballot per signature".
    pub fn of_signature(signature: &[u8], count: u32) -> u32 {
        Self::of_digest(&Sha256::digest(signature).into(), count)
    }

    fn of_digest(d: &[u8; 32], count: u32) -> u32 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&d[..8]);
        (u64::from_be_bytes(head) % u64::from(count.max(1))) as u32
    }

    pub fn owns_voter(&self, voter_id: &[u8; 32]) -> bool {
        Self::of_voter(voter_id, self.count) == self.index
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!("1/4".parse::<Partition>(), Ok(Partition { index: 1, count: 4 }));
        assert!("4/4".parse::<Partition>().is_err());
        assert!("0/0".parse::<Partition>().is_err());
    }

    #[test]
    fn every_voter_has_one_partition() {
        let p = Partition { index: 0, count: 1 };
        assert!(p.owns_voter(&[7; 32]));
        assert!(Partition::of_voter(&[0xff; 32], 3) < 3);
    }
}
