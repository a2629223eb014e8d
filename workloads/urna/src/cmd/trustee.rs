//! `urna trustee`: what a trustee runs on their own machine, with their own share file and passphrase.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use sha2::{Digest, Sha256};
use urna_crypto::paillier::Ciphertext;
use urna_crypto::threshold::{DecryptionContext, DecryptionRequest, ThresholdPublicKey};
use urna_http::HttpClient;
use urna_record::RecordDir;
use urna_record::model::DecryptionItem;

use crate::keys::{open_share, read_text as read, write_new};

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

const DECRYPT_LONG_ABOUT: &str = r#"Partially decrypts a list of ciphertexts (or, with --record DIR, an election record's sealed
totals; or, with --election URL, the request a decryption service serves) with this trustee's share.

With --election URL (an `urna decryption serve`): fetches the decryption request and the threshold key,
computes the partials here (the share never leaves this machine) and posts them; the service verifies them
and answers 200, or refuses them with a reason (exit 1). Posting again is harmless.

The output carries ONE batched proof (a random linear combination of all the partials, then a
Chaum-Pedersen proof) that every partial was computed with the share behind the trustee's verification key;
it is checked before it is written. Any THRESHOLD trustees' outputs for the same ciphertexts and context
combine into the plaintexts.

Formats (JSON, integers as canonical lowercase hex):
  --input    a list of ciphertexts:            ["<hex>", "<hex>", ...]
  --context  what is being decrypted:          {"election_id": "mx-2024",
                                                "manifest_hash": "<64 hex digits>",
                                                "subject": "tally/<contest>/<shard>"}
  --out      one partial decryption per input ciphertext, in the same order, and one proof for all:
             {"trustee": 2, "values": [["<hex>", ...]],
              "proof": {"challenge": "<hex>", "response": "<hex>"}}
The output file must not exist."#;

#[derive(Debug, clap::Args)]
#[command(about = "Partially decrypts a list of ciphertexts with this trustee's share, with one proof for all")]
#[command(long_about = DECRYPT_LONG_ABOUT)]
struct DecryptArgs {
    /// This trustee's share file (trustee-<i>.share.json from `urna ceremony`).
    #[arg(long, value_name = "FILE")]
    share: PathBuf,
    /// File holding the share's passphrase (trailing newlines ignored).
    #[arg(long, value_name = "FILE")]
    passphrase_file: PathBuf,
    /// An election record: decrypt its sealed totals (decryption/request.json) into
    /// decryption/trustee-<i>.json, under the record's threshold key.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["public", "input", "context", "out", "election"])]
    record: Option<PathBuf>,
    /// A decryption service (`urna decryption serve`): answer the request it serves, and post the answer.
    #[arg(long, value_name = "URL", conflicts_with_all = ["public", "input", "context", "out"])]
    election: Option<String>,
    /// The threshold public key (public.json from `urna ceremony`).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["record", "election"])]
    public: Option<PathBuf>,
    /// JSON list of ciphertexts to decrypt.
    #[arg(long, value_name = "CIPHERTEXTS.json", required_unless_present_any = ["record", "election"])]
    input: Option<PathBuf>,
    /// JSON decryption context (election id, manifest hash, subject).
    #[arg(long, value_name = "CONTEXT.json", required_unless_present_any = ["record", "election"])]
    context: Option<PathBuf>,
    /// Where to write the partial decryptions and their proof (JSON).
    #[arg(long, value_name = "PARTIALS.json", required_unless_present_any = ["record", "election"])]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        TrusteeCommand::Decrypt(a) => decrypt(a),
    }
}

/// Fetches `path` from the decryption service; a non-2xx answer is an error quoting the service.
async fn fetch(client: &HttpClient, url: &str, path: &str) -> Result<Vec<u8>> {
    let (status, body) = client
        .send(http::Method::GET, &format!("{url}{path}"), None, None, urna_http::DEFAULT_TIMEOUT)
        .await
        .map_err(|e| anyhow::anyhow!("GET {url}{path}: {e}"))?;
    ensure!(status.is_success(), "GET {url}{path}: {status}: {}", String::from_utf8_lossy(&body));
    Ok(body.to_vec())
}

/// Answers the request a decryption service serves: the partials are computed here and only they are sent.
pub fn decrypt_remote(url: &str, share_path: &Path, passphrase_file: &Path) -> Result<serde_json::Value> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let url = url.trim_end_matches('/');
    let client = HttpClient::new();
    let (key, request) = runtime.block_on(async {
        Ok::<_, anyhow::Error>((
            fetch(&client, url, "/v1/decryption/key").await?,
            fetch(&client, url, "/v1/decryption/request").await?,
        ))
    })?;
    let public = ThresholdPublicKey::from_json(&String::from_utf8_lossy(&key))
        .with_context(|| format!("decoding the threshold key {url} serves"))?;
    let share = open_share(share_path, passphrase_file, &public)?;
    let items: Vec<DecryptionItem> =
        serde_json::from_slice(&request).with_context(|| format!("decoding the decryption request {url} serves"))?;
    let request_hash: [u8; 32] = Sha256::digest(&request).into();
    tracing::info!(trustee = %share.index(), totals = items.len(), key = %public.fingerprint_hex(), request_hash = %hex::encode(request_hash), "decrypting the served request");
    let answer = urna_record::decryption::partial_decrypt(&share, &public, &items, request_hash)?;
    drop(share);
    let body = serde_json::to_vec(&answer).context("encoding the partial decryptions")?;
    let path = "/v1/decryption/partials";
    let (status, reply) = runtime
        .block_on(client.send(
            http::Method::POST,
            &format!("{url}{path}"),
            None,
            Some(body),
            urna_http::DEFAULT_TIMEOUT,
        ))
        .map_err(|e| anyhow::anyhow!("POST {url}{path}: {e}"))?;
    let reply: serde_json::Value = serde_json::from_slice(&reply)
        .unwrap_or_else(|_| serde_json::json!({ "raw": String::from_utf8_lossy(&reply) }));
    ensure!(status.is_success(), "the decryption service refused the answer ({status}): {}", reply["error"]);
    Ok(reply)
}

fn decrypt(args: DecryptArgs) -> Result<()> {
    if let Some(url) = &args.election {
        let reply = decrypt_remote(url, &args.share, &args.passphrase_file)?;
        println!("{reply}");
        return Ok(());
    }
    if let Some(dir) = &args.record {
        let public_path = RecordDir::new(dir).threshold_public_key();
        let public = ThresholdPublicKey::from_json(&read(&public_path)?)
            .with_context(|| format!("decoding {}", public_path.display()))?;
        let share = open_share(&args.share, &args.passphrase_file, &public)?;
        let out = urna_record::decryption::decrypt_record(&RecordDir::new(dir), &share)?;
        println!("{}", serde_json::json!({ "written": out }));
        return Ok(());
    }
    let (Some(public_path), Some(input), Some(context_path), Some(out)) =
        (&args.public, &args.input, &args.context, &args.out)
    else {
        anyhow::bail!("--public, --input, --context and --out are required without --record");
    };
    ensure!(!out.exists(), "{} exists; refusing to overwrite it", out.display());
    let public = ThresholdPublicKey::from_json(&read(public_path)?)
        .with_context(|| format!("decoding {}", public_path.display()))?;
    let context = DecryptionContext::from_json(&read(context_path)?)
        .with_context(|| format!("decoding {}", context_path.display()))?;
    let ciphertexts: Vec<Ciphertext> = serde_json::from_str(&read(input)?)
        .with_context(|| format!("decoding {} (expected a JSON list of hex ciphertexts)", input.display()))?;
    for (k, c) in ciphertexts.iter().enumerate() {
        public.paillier().check_ciphertext(&format!("ciphertext[{k}]"), c).context("checking the input")?;
    }
    let share = open_share(&args.share, &args.passphrase_file, &public)?;
    tracing::info!(trustee = %share.index(), count = ciphertexts.len(), key = %public.fingerprint_hex(), "decrypting");

    // Verified before it is returned: a fault must not publish partials that name this trustee a cheater.
    let partials = share
        .partial_decrypt(&public, &DecryptionRequest::single(&context, &ciphertexts), &mut urna_crypto::os_rng())
        .context("partial decryption")?;
    drop(share);
    let json = serde_json::to_string_pretty(&partials).context("encoding the partial decryptions")?;
    write_new(out, json.as_bytes(), false)?;
    tracing::info!(out = %out.display(), count = ciphertexts.len(), "partial decryptions written");
    Ok(())
}
