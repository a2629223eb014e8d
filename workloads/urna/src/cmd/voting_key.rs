//! `urna voting-key`: makes the vote service's voting-right signing key. Rights are partially blind RSA
//! signatures (docs/protocol.md §5.3), whose key must be made of safe primes; `openssl genpkey` cannot make
//! such a key, and the vote service refuses any other.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Bits {
    #[value(name = "3072")]
    Bits3072,
    #[value(name = "4096")]
    Bits4096,
}

#[derive(Debug, clap::Args)]
#[command(about = "Make a voting-right signing key (RSA of safe primes, PKCS#8 PEM) for `urna vote --signing-key`")]
pub struct Args {
    /// The PEM file to write (created with mode 0600; must not exist).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Modulus size in bits.
    #[arg(long, value_enum, default_value = "3072")]
    bits: Bits,
}

pub fn run(args: Args) -> Result<()> {
    let size = match args.bits {
        Bits::Bits3072 => BlindKeySize::Bits3072,
        Bits::Bits4096 => BlindKeySize::Bits4096,
    };
    let started = Instant::now();
    eprintln!("generating a {}-bit RSA key of safe primes (seconds to minutes)", size.modulus_bits());
    let key = BlindSigningKey::generate_safe(size, &mut urna_crypto::os_rng()).context("generating the key")?;
    let pem = key.to_pkcs8_pem().context("encoding the key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: voting-right key, fingerprint {} ({:.1} s)",
        args.out.display(),
        hex::encode(key.verifying_key().fingerprint()),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
