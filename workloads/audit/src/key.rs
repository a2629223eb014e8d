//! The log's Ed25519 signing key: generated from the OS CSPRNG, stored as the 32-byte seed in lowercase hex
//! (one line) in a file only its owner can read (mode 0600), never printed or logged.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use rand::TryRng;
use zeroize::Zeroizing;

use crate::checkpoint::{Checkpoint, Note, NoteSignature, key_id, verifier_key};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}: the key file must hold 64 lowercase hex characters (a 32-byte Ed25519 seed)")]
    Format(PathBuf),
    #[error("{path}: readable by others (mode {mode:o}); run `chmod 600` on it")]
    Permissions { path: PathBuf, mode: u32 },
}

pub struct LogKey {
    signing: SigningKey,
}

// Only the public half is ever shown.
impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogKey").field("public_key", &hex::encode(self.public_key())).finish_non_exhaustive()
    }
}

impl LogKey {
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::SysRng.try_fill_bytes(seed.as_mut()).map_err(|e| KeyError::Rng(e.to_string()))?;
        Ok(Self { signing: SigningKey::from_bytes(&seed) })
    }

    /// Only for tests and fixtures: a key from a known seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { signing: SigningKey::from_bytes(seed) }
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Signs `cp` under its origin, returning the note (body and the log's signature line).
    pub fn sign_checkpoint(&self, cp: &Checkpoint) -> Note {
        let body = cp.body();
        let signature = NoteSignature {
            name: cp.origin.clone(),
            key_id: key_id(&cp.origin, &self.public_key()),
            signature: self.sign(body.as_bytes()),
        };
        Note { body, signatures: vec![signature] }
    }

    pub fn verifier_key(&self, name: &str) -> String {
        verifier_key(name, &self.public_key())
    }

    /// Writes a new key file; refuses to overwrite one (a log key is replaced only on purpose).
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Created 0600 from the start: no window in which the file is readable by others.
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        let mut text = Zeroizing::new(hex::encode(self.signing.to_bytes()));
        text.push('\n');
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions { path: path.to_owned(), mode });
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        let hex_seed = text.trim_end_matches('\n');
        let format = || KeyError::Format(path.to_owned());
        if hex_seed.len() != 64 || !hex_seed.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(format());
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_seed, seed.as_mut()).map_err(|_| format())?;
        Ok(Self { signing: SigningKey::from_bytes(&seed) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::open_checkpoint;

    #[test]
    fn key_file_round_trip_and_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.key");
        let key = LogKey::generate().expect("key");
        key.write_new(&path).expect("write");
        assert!(key.write_new(&path).is_err(), "never overwrites");
        let loaded = LogKey::load(&path).expect("load");
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(!format!("{loaded:?}").contains(&hex::encode(key.signing.to_bytes())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(LogKey::load(&path), Err(KeyError::Permissions { .. })));
        }
    }

    #[test]
    fn signed_checkpoint_verifies_and_tampering_fails() {
        let key = LogKey::from_seed(&[1; 32]);
        let cp = Checkpoint { origin: "o".into(), size: 3, root: [2; 32], timestamp: 5, closed: false };
        let note = key.sign_checkpoint(&cp).text();
        assert_eq!(open_checkpoint(&note, &key.public_key()), Ok(cp));
        let tampered = note.replacen("\n3\n", "\n4\n", 1);
        assert!(open_checkpoint(&tampered, &key.public_key()).is_err());
        let other = LogKey::from_seed(&[3; 32]);
        assert!(open_checkpoint(&note, &other.public_key()).is_err());
    }
}
