//! The key ceremony's files as the tools read and write them: passphrase files, share files opened with
//! them, new files that never overwrite, and a whole ceremony directory loaded for the trustees that decrypt
//! (`urna ceremony`, `urna trustee`, `urna local --ceremony`, `urna voters run`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use urna_crypto::threshold::{CeremonyTranscript, KeyShare, Passphrase, ShareFile, ThresholdPublicKey};

/// A ceremony's public key and transcript, and the shares of the first `t` trustees: the ones that decrypt.
pub struct Keys {
    pub public: ThresholdPublicKey,
    pub transcript: CeremonyTranscript,
    pub shares: Vec<KeyShare>,
}

/// A text file's contents; the error names the file.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads a passphrase file, ignoring trailing newline characters.
pub fn read_passphrase(path: &Path) -> Result<Passphrase> {
    let mut text = read_text(path)?;
    let len = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(len);
    Passphrase::new(text).with_context(|| format!("{} holds an empty passphrase", path.display()))
}

/// Writes a new file (never overwriting one); `private` files are readable by their owner only.
pub fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("writing {}", path.display()))
}

/// Opens a trustee's share file with its passphrase; the passphrase is dropped (wiped) at once.
pub fn open_share(share: &Path, passphrase_file: &Path, public: &ThresholdPublicKey) -> Result<KeyShare> {
    let file = ShareFile::from_json(&read_text(share)?).with_context(|| format!("decoding {}", share.display()))?;
    let passphrase = read_passphrase(passphrase_file)?;
    file.open(&passphrase, public).with_context(|| format!("opening {}", share.display()))
}

/// Loads a ceremony directory (public.json, transcript.json, trustee-<i>.share.json), checks the transcript
/// against the key and opens the first `t` shares, each with trustee-<i>.passphrase or, without that file,
/// `URNA_TRUSTEE_<i>_PASSPHRASE`.
pub fn load_ceremony(dir: &Path) -> Result<Keys> {
    let public =
        ThresholdPublicKey::from_json(&read_text(&dir.join("public.json"))?).context("decoding public.json")?;
    let transcript =
        CeremonyTranscript::from_json(&read_text(&dir.join("transcript.json"))?).context("decoding transcript.json")?;
    transcript.verify(&public).context("the ceremony transcript does not verify against public.json")?;
    let mut shares = Vec::new();
    for i in 1..=public.threshold() {
        let pass_file = dir.join(format!("trustee-{i}.passphrase"));
        let share_file = dir.join(format!("trustee-{i}.share.json"));
        let share = if pass_file.exists() {
            open_share(&share_file, &pass_file, &public)?
        } else {
            let var = format!("URNA_TRUSTEE_{i}_PASSPHRASE");
            let pass = std::env::var(&var).with_context(|| format!("no {} and no {var}", pass_file.display()))?;
            let file = ShareFile::from_json(&read_text(&share_file)?)
                .with_context(|| format!("decoding {}", share_file.display()))?;
            file.open(&Passphrase::new(pass)?, &public).with_context(|| format!("opening {}", share_file.display()))?
        };
        shares.push(share);
    }
    Ok(Keys { public, transcript, shares })
}
