//! Regional officers: who they are, which districts they answer for, and how an officer proves who they are.
//! Pure functions: the monitor routes each alert with [`officers_for`] and checks every officer request with
//! [`authenticate`] and [`Officer::covers`] (the officer as the rules declare them, [`crate::rules`]).
//!
//! An officer is declared in the BoothFleet (`spec.officers`) with the SHA-256 of their bearer token, never
//! the token itself: the declaration is public, like a Mesa member's public key, and the token stays with
//! the officer.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::rules::Officer;

/// The officers an alert of `district` goes to.
pub fn officers_for<'a>(officers: &'a [Officer], district: &'a str) -> impl Iterator<Item = &'a Officer> + 'a {
    officers.iter().filter(move |o| o.covers(district))
}

/// The officer whose token is `bearer`, comparing digests in constant time (every officer is compared, so
/// the time does not tell which one matched).
pub fn authenticate<'a>(officers: &'a [Officer], bearer: &str) -> Option<&'a Officer> {
    let given: [u8; 32] = Sha256::digest(bearer.trim().as_bytes()).into();
    let mut found = None;
    for o in officers {
        let Ok(expected) = hex::decode(&o.token_sha256) else { continue };
        if expected.len() == 32 && bool::from(given[..].ct_eq(&expected[..])) && found.is_none() {
            found = Some(o);
        }
    }
    found
}

/// The SHA-256 (hex) to declare for an officer's token.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer(id: &str, districts: &[&str], token: &str) -> Officer {
        Officer {
            id: id.into(),
            name: id.into(),
            districts: districts.iter().map(|d| (*d).to_owned()).collect(),
            webhook: None,
            token_sha256: token_sha256(token),
        }
    }

    #[test]
    fn alerts_go_to_the_officers_of_their_district_only() {
        let all =
            [officer("a", &["centro"], "ta"), officer("b", &["norte", "sur"], "tb"), officer("c", &["centro"], "tc")];
        let ids = |d| officers_for(&all, d).map(|o| o.id.as_str()).collect::<Vec<_>>();
        assert_eq!(ids("centro"), ["a", "c"]);
        assert_eq!(ids("sur"), ["b"]);
        assert!(ids("").is_empty(), "no district, no region");
        assert!(ids("oeste").is_empty());
    }

    #[test]
    fn officers_sign_in_with_their_token_only() {
        let all = [officer("a", &["centro"], "ta"), officer("b", &["norte"], "tb")];
        assert_eq!(authenticate(&all, "tb").map(|o| o.id.as_str()), Some("b"));
        assert_eq!(authenticate(&all, " ta\n").map(|o| o.id.as_str()), Some("a"));
        assert!(authenticate(&all, "tx").is_none());
        assert!(authenticate(&all, "").is_none());
        let broken = [Officer { token_sha256: "zz".into(), ..officer("z", &["x"], "") }];
        assert!(authenticate(&broken, "").is_none(), "a malformed digest admits nobody");
    }
}
