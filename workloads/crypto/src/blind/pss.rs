//! EMSA-PSS encoding and verification (RFC 8017 §9.1) with SHA-384 and MGF1-SHA-384, as RFC 9474 uses them.
//!
//! Pure byte functions: the RSA part lives in [`super::keys`]. The encoding operates on the (possibly
//! secret, before the voter reveals it) message, but its only data-dependent branches are on public lengths.

use sha2::{Digest, Sha384};

use super::params::HASH_LEN;

/// The message is too long or the modulus too short for `hLen + sLen + 2` bytes. Decoders refuse keys that
/// small, so this only reaches callers through hand-built keys.
#[derive(Debug)]
pub(crate) struct EncodingError;

fn em_len(em_bits: usize) -> usize {
    em_bits.div_ceil(8)
}

/// MGF1 with SHA-384: `T = Hash(seed || C(0)) || Hash(seed || C(1)) || ...`, truncated to `len` bytes, XORed
/// into `out` (callers always want the mask applied, never the mask itself).
fn xor_mgf1(seed: &[u8], out: &mut [u8]) {
    for (counter, chunk) in out.chunks_mut(HASH_LEN).enumerate() {
        // RFC 8017 B.2.1: the counter is a 4-byte big-endian integer; `len` is far below 2^32 blocks.
        let c = u32::try_from(counter).unwrap_or(u32::MAX).to_be_bytes();
        let block = Sha384::new().chain_update(seed).chain_update(c).finalize();
        for (o, m) in chunk.iter_mut().zip(block.iter()) {
            *o ^= m;
        }
    }
}

/// `H = Hash(0x00^8 || mHash || salt)`.
fn pss_hash(m_hash: &[u8], salt: &[u8]) -> [u8; HASH_LEN] {
    Sha384::new().chain_update([0u8; 8]).chain_update(m_hash).chain_update(salt).finalize().into()
}

/// The mask that clears the `8·emLen − emBits` leftmost bits of the first byte.
fn top_byte_mask(em_bits: usize) -> u8 {
    let unused = 8 * em_len(em_bits) - em_bits;
    0xffu8 >> unused
}

/// EMSA-PSS-ENCODE(M, emBits) with the given salt (RFC 8017 §9.1.1). `salt` comes from the caller's CSPRNG
/// (or a test vector); its length is the variant's `sLen`.
pub(crate) fn encode(msg: &[u8], em_bits: usize, salt: &[u8]) -> Result<Vec<u8>, EncodingError> {
    let em_len = em_len(em_bits);
    if em_len < HASH_LEN + salt.len() + 2 {
        return Err(EncodingError);
    }
    let m_hash = Sha384::digest(msg);
    let h = pss_hash(&m_hash, salt);
    // EM = maskedDB || H || 0xbc with DB = PS || 0x01 || salt.
    let db_len = em_len - HASH_LEN - 1;
    let mut em = vec![0u8; em_len];
    let ps_len = db_len - salt.len() - 1;
    em[ps_len] = 0x01;
    em[ps_len + 1..db_len].copy_from_slice(salt);
    xor_mgf1(&h, &mut em[..db_len]);
    em[0] &= top_byte_mask(em_bits);
    em[db_len..em_len - 1].copy_from_slice(&h);
    em[em_len - 1] = 0xbc;
    Ok(em)
}

/// EMSA-PSS-VERIFY(M, EM, emBits) with salt length `salt_len` (RFC 8017 §9.1.2). `em` must be exactly
/// `emLen` bytes. Runs on public data only (a signature and the revealed message), so early returns are fine.
pub(crate) fn verify(msg: &[u8], em: &[u8], em_bits: usize, salt_len: usize) -> bool {
    let em_len = em_len(em_bits);
    if em.len() != em_len || em_len < HASH_LEN + salt_len + 2 {
        return false;
    }
    if em[em_len - 1] != 0xbc {
        return false;
    }
    let db_len = em_len - HASH_LEN - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let h = &rest[..HASH_LEN];
    let mask = top_byte_mask(em_bits);
    if masked_db[0] & !mask != 0 {
        return false;
    }
    let mut db = masked_db.to_vec();
    xor_mgf1(h, &mut db);
    db[0] &= mask;
    let ps_len = db_len - salt_len - 1;
    if db[..ps_len].iter().any(|&b| b != 0) || db[ps_len] != 0x01 {
        return false;
    }
    let salt = &db[ps_len + 1..];
    let m_hash = Sha384::digest(msg);
    pss_hash(&m_hash, salt) == h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_verify_at_awkward_sizes() {
        // emBits = modBits − 1; 1023 and 3071 leave one unused bit, 1024 (modBits 1025) leaves none and makes
        // emLen one byte shorter than the modulus.
        for em_bits in [1023usize, 1024, 1030, 3071] {
            for salt in [&[][..], &[7u8; HASH_LEN][..]] {
                let em = encode(b"voting right", em_bits, salt).expect("fits");
                assert_eq!(em.len(), em_bits.div_ceil(8));
                assert!(verify(b"voting right", &em, em_bits, salt.len()));
                assert!(!verify(b"voting wrong", &em, em_bits, salt.len()));
                assert!(!verify(b"voting right", &em, em_bits, HASH_LEN - salt.len()));
            }
        }
    }

    #[test]
    fn too_small_modulus_is_refused() {
        assert!(encode(b"m", 8 * (2 * HASH_LEN + 1), &[0u8; HASH_LEN]).is_err());
    }
}
