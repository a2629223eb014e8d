//! `urna trustee`: what a trustee runs on their own machine, with their own share file and passphrase.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use urna_crypto::paillier::Ciphertext;
use urna_crypto::threshold::{DecryptionContext, ShareFile, ThresholdPublicKey, verify_partial};

use super::ceremony::{read_passphrase, write_new};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TrusteeCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TrusteeCommand {
    // The help texts live on `DecryptArgs` (a doc comment here would replace the long help).
    Decrypt(DecryptArgs),
}

const DECRYPT_LONG_ABOUT: &str = r#"Partially decrypts a list of ciphertexts with this trustee's share.

Each output carries a Chaum-Pedersen proof that it was computed with the share behind the trustee's
verification key; every partial is checked before it is written. Any THRESHOLD trustees' outputs for the
same ciphertexts and context combine into the plaintexts.

Formats (JSON, integers as canonical lowercase hex):
  --input    a list of ciphertexts:            ["<hex>", "<hex>", ...]
  --context  what is being decrypted:          {"election_id": "mx-2024",
                                                "manifest_hash": "<64 hex digits>",
                                                "subject": "tally/<contest>/<shard>"}
  --out      one partial decryption per input ciphertext, in the same order:
             [{"trustee": 2, "value": "<hex>", "proof": {"challenge": "<hex>", "response": "<hex>"}}, ...]
The output file must not exist."#;

#[derive(Debug, clap::Args)]
#[command(about = "Partially decrypts a list of ciphertexts with this trustee's share, with a proof for each")]
#[command(long_about = DECRYPT_LONG_ABOUT)]
struct DecryptArgs {
    /// This trustee's share file (trustee-<i>.share.json from `urna ceremony`).
    #[arg(long, value_name = "FILE")]
    share: PathBuf,
    /// File holding the share's passphrase (trailing newlines ignored).
    #[arg(long, value_name = "FILE")]
    passphrase_file: PathBuf,
    /// The threshold public key (public.json from `urna ceremony`).
    #[arg(long, value_name = "FILE")]
    public: PathBuf,
    /// JSON list of ciphertexts to decrypt.
    #[arg(long, value_name = "CIPHERTEXTS.json")]
    input: PathBuf,
    /// JSON decryption context (election id, manifest hash, subject).
    #[arg(long, value_name = "CONTEXT.json")]
    context: PathBuf,
    /// Where to write the JSON list of partial decryptions.
    #[arg(long, value_name = "PARTIALS.json")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        TrusteeCommand::Decrypt(a) => decrypt(a),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn decrypt(args: DecryptArgs) -> Result<()> {
    ensure!(!args.out.exists(), "{} exists; refusing to overwrite it", args.out.display());
    let public = ThresholdPublicKey::from_json(&read(&args.public)?)
        .with_context(|| format!("decoding {}", args.public.display()))?;
    let context = DecryptionContext::from_json(&read(&args.context)?)
        .with_context(|| format!("decoding {}", args.context.display()))?;
    let ciphertexts: Vec<Ciphertext> = serde_json::from_str(&read(&args.input)?)
        .with_context(|| format!("decoding {} (expected a JSON list of hex ciphertexts)", args.input.display()))?;
    for (k, c) in ciphertexts.iter().enumerate() {
        public.paillier().check_ciphertext(&format!("ciphertext[{k}]"), c).context("checking the input")?;
    }
    let file =
        ShareFile::from_json(&read(&args.share)?).with_context(|| format!("decoding {}", args.share.display()))?;
    let passphrase = read_passphrase(&args.passphrase_file)?;
    let share = file.open(&passphrase, &public).with_context(|| format!("opening {}", args.share.display()))?;
    drop(passphrase);
    tracing::info!(trustee = %share.index(), count = ciphertexts.len(), key = %public.fingerprint_hex(), "decrypting");

    let mut rng = urna_crypto::os_rng();
    let mut partials = Vec::with_capacity(ciphertexts.len());
    for (k, c) in ciphertexts.iter().enumerate() {
        let partial = share
            .partial_decrypt(&public, c, &context, &mut rng)
            .with_context(|| format!("partial decryption of ciphertext {k}"))?;
        // A fault while computing must not publish a partial that would get this trustee named as a cheater.
        verify_partial(&public, c, &context, &partial)
            .with_context(|| format!("self-check of the partial decryption of ciphertext {k}"))?;
        partials.push(partial);
    }
    drop(share);
    let json = serde_json::to_string_pretty(&partials).context("encoding the partial decryptions")?;
    write_new(&args.out, json.as_bytes(), false)?;
    tracing::info!(out = %args.out.display(), count = partials.len(), "partial decryptions written");
    Ok(())
}
