use rug::Integer;

use crate::paillier::PublicKey;
use crate::transcript::{ProofContext, Transcript};

/// Width of every Fiat-Shamir challenge: a SHA-256 digest read as an integer. It is far below the smallest
/// prime factor of `n` (≥ 1535 bits), which special soundness needs.
pub const CHALLENGE_BITS: u32 = 256;

/// A transcript opened for a proof of kind `tag`, already holding the context and the public key.
pub(crate) fn proof_transcript(tag: &str, ctx: &ProofContext, pk: &PublicKey) -> Transcript {
    let mut t = Transcript::new(tag);
    ctx.append_to(&mut t);
    t.append_integer(pk.n());
    t
}

/// `x mod 2^256`, non-negative.
pub(crate) fn reduce(x: Integer) -> Integer {
    x.keep_bits(CHALLENGE_BITS)
}

pub(crate) fn in_range(e: &Integer) -> bool {
    *e >= 0 && e.significant_bits() <= CHALLENGE_BITS
}
