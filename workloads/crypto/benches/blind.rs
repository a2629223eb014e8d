//! Criterion benchmarks of RFC 9474 blind signatures at the production size (|n| = 3072,
//! RSABSSA-SHA384-PSS-Randomized): the voter's Blind and Finalize, the signer's BlindSign (constant-time CRT
//! plus the fault check) and Verify.
//!
//! `cargo bench -p urna-crypto --bench blind`

use std::sync::LazyLock;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey, PreparedMessage};

static KEY: LazyLock<BlindSigningKey> = LazyLock::new(|| {
    let start = std::time::Instant::now();
    let key = BlindSigningKey::generate(BlindKeySize::Bits3072, &mut urna_crypto::os_rng()).expect("keygen");
    eprintln!("3072-bit RSA blind-signing key generated in {:.1?}", start.elapsed());
    key
});

fn prepared() -> PreparedMessage {
    KEY.verifying_key().prepare(b"a 32-byte voting-right token....", &mut urna_crypto::os_rng())
}

fn blind_signatures(c: &mut Criterion) {
    let sk = &*KEY;
    let vk = sk.verifying_key();
    let mut rng = urna_crypto::os_rng();
    let msg = prepared();
    let (blinded, secret) = vk.blind(&msg, &mut rng).expect("blind");
    let blind_sig = sk.blind_sign(&blinded).expect("blind_sign");
    let sig = vk.finalize(&msg, &blind_sig, &secret).expect("finalize");

    let mut group = c.benchmark_group("blind_3072");
    group.bench_function("blind", |b| b.iter(|| vk.blind(&msg, &mut rng).expect("blind")));
    group.bench_function("blind_sign", |b| b.iter(|| sk.blind_sign(&blinded).expect("blind_sign")));
    group.bench_function("finalize", |b| b.iter(|| vk.finalize(&msg, &blind_sig, &secret).expect("finalize")));
    group.bench_function("verify", |b| b.iter(|| vk.verify(&msg, &sig).expect("verify")));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = blind_signatures
}
criterion_main!(benches);
