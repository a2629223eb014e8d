//! Bearer tokens the operator generates (the booth bridge's, each Mesa console's): 256 bits from the OS
//! CSPRNG, hex. Like the fleet's keys they are created once in a Secret and never rotated: a Mesa console
//! is provisioned with its token before election day, and the vote service only knows its SHA-256.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use rand::TryRng;

use crate::error::{Error, Result};
use crate::workload::TOKEN_KEY;

/// A new token: 32 random bytes, hex (64 characters; the vote service trims the file it reads, so no
/// whitespace is ever part of a token).
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| Error::Rng(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// SHA-256 of a token, hex: what the token files list and, decoded, the mesas file carries (`tokenSha256`).
pub fn token_sha256(token: &str) -> String {
    hex::encode(urna_vote::mesa_file::token_sha256(token))
}

/// Secret data holding a new token under [`TOKEN_KEY`].
pub fn new_secret_data() -> Result<BTreeMap<String, ByteString>> {
    Ok(BTreeMap::from([(TOKEN_KEY.into(), ByteString(new_token()?.into_bytes()))]))
}

/// The token stored in a Secret's data, if it holds a usable one.
pub fn from_secret_data(data: Option<&BTreeMap<String, ByteString>>) -> Option<String> {
    let raw = data?.get(TOKEN_KEY)?;
    let t = std::str::from_utf8(&raw.0).ok()?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hash_as_the_vote_service_does() -> Result<()> {
        let (a, b) = (new_token()?, new_token()?);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b, "two draws from the CSPRNG differ");
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(token_sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let data = new_secret_data()?;
        assert_eq!(from_secret_data(Some(&data)).map(|t| t.len()), Some(64));
        assert_eq!(from_secret_data(None), None);
        Ok(())
    }
}
