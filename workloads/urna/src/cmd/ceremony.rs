//! `urna ceremony`: the threshold key ceremony (PROTOCOL §5), run once per election by a trusted dealer on an
//! offline machine. It writes the public key, the transcript and one passphrase-encrypted share file per
//! trustee; the whole secret key exists only inside this process and is wiped before it exits.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use urna_crypto::paillier::KeySize;
use urna_crypto::threshold::{CeremonyParams, KdfParams, Passphrase, ShareFile, ceremony};

use crate::keys::{read_passphrase, write_new};

const LONG_ABOUT: &str = "\
Runs the threshold key ceremony: a fresh Paillier key on safe primes, split into one share per trustee
(Shoup / Damgard-Jurik threshold Paillier), any THRESHOLD of which decrypt. p, q and the decryption
exponent are wiped when the ceremony ends; no file ever holds them.

Writes into DIR (which must not exist or be empty):
  public.json               the threshold public key (publish it)
  transcript.json           the ceremony transcript with a verifiable self-test decryption (publish it)
  trustee-<i>.share.json    trustee i's share, encrypted under their passphrase
                            (Argon2id m=64 MiB t=3 p=1, XChaCha20-Poly1305)
  trustee-<i>.passphrase    only when passphrases were generated (see below)

Passphrases, one per trustee, come from (first that applies):
  --passphrase-file PATH    given exactly once per trustee, in trustee order (trailing newlines ignored);
  URNA_TRUSTEE_<i>_PASSPHRASE environment variables, for every i in 1..=TRUSTEES;
  otherwise random 144-bit passphrases are generated and written to DIR/trustee-<i>.passphrase: hand each
  to its trustee, then delete it.";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KeySizeArg {
    #[value(name = "3072")]
    Bits3072,
    #[value(name = "4096")]
    Bits4096,
}

#[derive(Debug, clap::Args)]
#[command(about = "Threshold key ceremony: a fresh key split into passphrase-encrypted trustee shares")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// Number of trustees l (at most 32).
    #[arg(long, default_value_t = 5)]
    trustees: u32,
    /// Number of trustees t needed to decrypt (1..=l).
    #[arg(long, default_value_t = 3)]
    threshold: u32,
    /// Output directory; refused if it exists and is not empty.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Paillier modulus size in bits.
    #[arg(long, value_enum, default_value = "3072")]
    key_size: KeySizeArg,
    /// A file holding one trustee's passphrase; repeat once per trustee, in trustee order.
    #[arg(long = "passphrase-file", value_name = "PATH")]
    passphrase_files: Vec<PathBuf>,
    /// Election id bound into the transcript's self-test decryption.
    #[arg(long, default_value = "")]
    election_id: String,
}

pub fn run(args: Args) -> Result<()> {
    ensure!(
        (1..=urna_crypto::threshold::MAX_TRUSTEES).contains(&args.trustees),
        "--trustees must be in 1..={}",
        urna_crypto::threshold::MAX_TRUSTEES
    );
    ensure!((1..=args.trustees).contains(&args.threshold), "--threshold must be in 1..={}", args.trustees);
    check_out_dir(&args.out)?;
    let (passphrases, generated) = passphrases(&args)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;

    let key_size = match args.key_size {
        KeySizeArg::Bits3072 => KeySize::Bits3072,
        KeySizeArg::Bits4096 => KeySize::Bits4096,
    };
    let params =
        CeremonyParams { key_size, trustees: args.trustees, threshold: args.threshold, election_id: args.election_id };
    tracing::info!(
        bits = key_size.modulus_bits(),
        trustees = params.trustees,
        threshold = params.threshold,
        "key ceremony: searching for safe primes (this takes minutes)"
    );
    let mut rng = urna_crypto::os_rng();
    let started = Instant::now();
    let out = ceremony(&params, &mut rng).context("key ceremony")?;
    let ceremony_secs = started.elapsed().as_secs_f64();
    tracing::info!(seconds = ceremony_secs, fingerprint = %out.public.fingerprint_hex(), "key ceremony done");

    write_new(&args.out.join("public.json"), out.public.to_json().as_bytes(), false)?;
    write_new(&args.out.join("transcript.json"), out.transcript.to_json().as_bytes(), false)?;
    for (share, passphrase) in out.shares.iter().zip(&passphrases) {
        let i = share.index();
        let file = ShareFile::seal(share, &out.public, passphrase, KdfParams::PRODUCTION, &mut rng)
            .with_context(|| format!("sealing trustee {i}'s share"))?;
        write_new(&args.out.join(format!("trustee-{i}.share.json")), file.to_json().as_bytes(), true)?;
        if generated {
            let mut bytes = passphrase.expose().as_bytes().to_vec();
            bytes.push(b'\n');
            write_new(&args.out.join(format!("trustee-{i}.passphrase")), &bytes, true)?;
        }
    }
    drop(out.shares);
    if generated {
        tracing::warn!(
            dir = %args.out.display(),
            "passphrases were generated and written to trustee-<i>.passphrase: hand each to its trustee in person, \
             then delete these files"
        );
    }
    println!(
        "{}-of-{} threshold key {} written to {} ({:.1} s)",
        params.threshold,
        params.trustees,
        out.public.fingerprint_hex(),
        args.out.display(),
        ceremony_secs
    );
    Ok(())
}

/// Refuses a non-empty `dir`, so that no earlier ceremony's shares are ever overwritten (each file is also
/// created with `create_new`).
fn check_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!("{} exists and is not empty; refusing to overwrite an earlier ceremony", dir.display());
        }
    }
    Ok(())
}

/// The trustees' passphrases, in order, and whether they were generated here.
fn passphrases(args: &Args) -> Result<(Vec<Passphrase>, bool)> {
    let l = args.trustees as usize;
    let list = if !args.passphrase_files.is_empty() {
        ensure!(
            args.passphrase_files.len() == l,
            "--passphrase-file given {} times for {l} trustees",
            args.passphrase_files.len()
        );
        args.passphrase_files.iter().map(|p| read_passphrase(p)).collect::<Result<Vec<_>>>()?
    } else {
        let vars: Vec<(String, Option<String>)> = (1..=l)
            .map(|i| {
                let name = format!("URNA_TRUSTEE_{i}_PASSPHRASE");
                let value = std::env::var(&name).ok();
                (name, value)
            })
            .collect();
        let missing: Vec<&str> = vars.iter().filter(|(_, v)| v.is_none()).map(|(n, _)| n.as_str()).collect();
        if missing.len() == l {
            let mut rng = urna_crypto::os_rng();
            return Ok(((0..l).map(|_| Passphrase::generate(&mut rng)).collect(), true));
        }
        ensure!(missing.is_empty(), "passphrase environment variables missing: {}", missing.join(", "));
        vars.into_iter()
            .map(|(name, value)| Passphrase::new(value.unwrap_or_default()).with_context(|| format!("{name} is empty")))
            .collect::<Result<Vec<_>>>()?
    };
    for (i, a) in list.iter().enumerate() {
        for (j, b) in list.iter().enumerate().skip(i + 1) {
            ensure!(a.expose() != b.expose(), "trustees {} and {} have the same passphrase", i + 1, j + 1);
        }
    }
    Ok((list, false))
}
