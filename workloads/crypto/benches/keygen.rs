//! How long safe-prime Paillier key generation takes at production sizes (docs/performance.md). Not a
//! criterion benchmark: the time of one key varies by an order of magnitude with luck, so this prints each run
//! and the mean of a few.
//!
//! `cargo bench -p urna-crypto --bench keygen [-- RUNS]`

use std::time::{Duration, Instant};

use urna_crypto::paillier::{KeySize, generate_keypair};

fn main() {
    let runs: u32 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(5);
    for size in [KeySize::Bits3072, KeySize::Bits4096] {
        let mut total = Duration::ZERO;
        for run in 1..=runs {
            let start = Instant::now();
            if let Err(e) = generate_keypair(size, &mut urna_crypto::os_rng()) {
                eprintln!("key generation failed: {e}");
                std::process::exit(1);
            }
            let took = start.elapsed();
            total += took;
            println!("{} bits, run {run}: {took:.2?}", size.modulus_bits());
        }
        println!("{} bits: mean {:.2?} over {runs} runs", size.modulus_bits(), total / runs);
    }
}
