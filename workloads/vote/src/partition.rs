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

    /// The routes bound to a partition: a voter's session and voting right (her partition), a ballot (its
    /// signature's). The service serves them at these paths and under [`Self::path_prefix`].
    pub const ROUTES: &[&str] = &["/v1/sessions", "/v1/rights", "/v1/ballots"];

    /// The path prefix under which partition `index` also serves its [`Self::ROUTES`]: what the voter app
    /// adds with several partitions (web/app/src/partition.ts) and the cluster's Ingress routes to that
    /// partition's pod.
    pub fn path_prefix(index: u32) -> String {
        format!("/p/{index}")
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

    /// The same vectors as web/app/test/partition.test.ts: the app and the service route alike.
    #[test]
    fn the_voter_app_routes_as_the_service_does() {
        let v1: [u8; 32] = hex::decode("6d2c8fcf57e0aa6334044224a48a264f92afab3de1bc2e57ce1b2d8e5dfaf7e5")
            .unwrap()
            .try_into()
            .unwrap();
        let v2: [u8; 32] = hex::decode("b45ea12daec4c5566f8c8a988acf31cd56586bbfcf55b373d69fd127c478e1a7")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!([1, 2, 3, 4].map(|n| Partition::of_voter(&v1, n)), [0, 1, 0, 3]);
        assert_eq!([1, 2, 3, 4].map(|n| Partition::of_voter(&v2, n)), [0, 0, 2, 2]);
        assert_eq!([1, 2, 3, 4].map(|n| Partition::of_signature(&[1; 384], n)), [0, 1, 1, 1]);
        assert_eq!([1, 2, 3, 4].map(|n| Partition::of_signature(&[2; 384], n)), [0, 0, 1, 0]);
        assert_eq!(Partition::path_prefix(2), "/p/2");
    }

    #[test]
    fn every_voter_has_one_partition() {
        let p = Partition { index: 0, count: 1 };
        assert!(p.owns_voter(&[7; 32]));
        assert!(Partition::of_voter(&[0xff; 32], 3) < 3);
    }
}
