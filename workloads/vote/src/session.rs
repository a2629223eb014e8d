//! Short-lived sessions: a random bearer token per successful authentication, held in memory.
//!
//! Only the token's SHA-256 is kept (a memory dump yields no usable token). Sessions do not survive a
//! restart; that costs a voter one more authentication, never their right (the credential stays valid for
//! an identical retry, see [`crate::credential`]). With partitioned replicas a session lives on the replica
//! that owns the voter, which is where its right requests go anyway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Cap on live sessions: a flood of logins cannot grow memory without bound (expired ones are purged
/// first; beyond the cap, new logins are refused until some expire).
const MAX_SESSIONS: usize = 1_000_000;

#[derive(Debug, Clone)]
pub struct Session {
    pub voter_id: [u8; 32],
    pub district: String,
    expires: Instant,
}

pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, map: Mutex::new(HashMap::new()) }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh token for the voter, or `None` when the session table is full.
    pub fn create(&self, voter_id: [u8; 32], district: String) -> Option<String> {
        let mut bytes = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut urna_crypto::os_rng(), &mut bytes);
        let token = hex::encode(bytes);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
            if map.len() >= MAX_SESSIONS {
                return None;
            }
        }
        map.insert(Sha256::digest(token.as_bytes()).into(), Session { voter_id, district, expires: now + self.ttl });
        Some(token)
    }

    pub fn get(&self, token: &str) -> Option<Session> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Drops expired sessions (called periodically).
    pub fn purge(&self) {
        let now = Instant::now();
        self.map.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, s| s.expires > now);
    }
}
