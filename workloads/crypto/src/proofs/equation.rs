use rug::Integer;

use crate::arith;
use crate::paillier::PublicKey;

/// One verification equation `w^n · g^y = a · c^e (mod n²)`, with `g = n + 1`.
///
/// - Knowledge proof: `w` the randomness response, `y = z`, `a` the commitment, `c` the ciphertext.
/// - Membership branch for plaintext `v`: `u = c·g^(-v)` must satisfy `w^n = a·u^e`, i.e.
///   `w^n · g^(v·e) = a · c^e`, so `y = v·e`.
///
/// Both sides are compared **squared**, here and in batches alike. `Z*_{n²}` has four elements of order at
/// most two, and a random-exponent batch cannot detect a factor of order two with probability better than 1/2;
/// squaring removes them from the picture. This accepts nothing unsound: an element `δ` with `δ² = 1` satisfies
/// `δ = δ^n` (n is odd), so a transcript that holds up to `δ` becomes an exact one with the response `w·δ mod n`,
/// and the special-soundness extractor works the same. The exact and the batch verifier therefore accept the
/// same proofs (docs/protocol.md, "Batch verification").
///
/// All operands have been range-checked by the proof that produced the equation.
pub(crate) struct Equation<'a> {
    pub w: &'a Integer,
    pub y: Integer,
    pub a: &'a Integer,
    pub c: &'a Integer,
    pub e: &'a Integer,
}

impl Equation<'_> {
    /// The exact check: two exponentiations (one full, one with the 256-bit challenge).
    pub(crate) fn holds(&self, pk: &PublicKey) -> bool {
        let n2 = pk.n_squared();
        let lhs = arith::mul_mod(&pk.nth_power(self.w), &pk.g_pow(&self.y), n2);
        let rhs = arith::mul_mod(self.a, &arith::pow_mod(self.c, self.e, n2), n2);
        squares_equal(&lhs, &rhs, n2)
    }
}

/// `lhs² = rhs² (mod n²)`: the comparison every verification equation uses.
pub(crate) fn squares_equal(lhs: &Integer, rhs: &Integer, n2: &Integer) -> bool {
    arith::mul_mod(lhs, lhs, n2) == arith::mul_mod(rhs, rhs, n2)
}
