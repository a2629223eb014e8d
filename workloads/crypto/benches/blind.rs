//! Criterion benchmarks of the voting right at the production size (|n| = 3072), on the committed safe-prime
//! key: RFC 9474 blind signatures (RSABSSA-SHA384-PSS-Randomized) and, side by side in the same run, their
//! partially blind variant (draft-irtf-cfrg-partially-blind-rsa), which Urna's rights use: the voter's Blind
//! and Finalize, the signer's BlindSign (constant-time CRT plus the fault check), Verify, and the derivation of
//! a key for one (election, modality, ballot style).
//!
//! `cargo bench -p urna-crypto --bench blind`

use std::sync::LazyLock;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use urna_crypto::blind::{BlindSigningKey, PreparedMessage, voting_right_info};

static KEY: LazyLock<BlindSigningKey> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/voting-right-3072.pem");
    let pem = std::fs::read_to_string(path).expect("voting-right fixture");
    BlindSigningKey::from_pkcs8_pem(&pem).expect("fixture key")
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

fn partially_blind_signatures(c: &mut Criterion) {
    let sk = &*KEY;
    let mut rng = urna_crypto::os_rng();
    let info = voting_right_info("mx-2024", "remote", "jalisco-distrito-10");
    let dsk = sk.derive(&info).expect("derive");
    let dvk = dsk.verifying_key();
    let msg = prepared();
    let (blinded, secret) = dvk.blind(&msg, &mut rng).expect("blind");
    let blind_sig = dsk.blind_sign(&blinded).expect("blind_sign");
    let sig = dvk.finalize(&msg, &blind_sig, &secret).expect("finalize");

    let mut group = c.benchmark_group("partially_blind_3072");
    group.bench_function("derive_public_key", |b| b.iter(|| sk.verifying_key().derive(&info).expect("derive")));
    group.bench_function("derive_key_pair", |b| b.iter(|| sk.derive(&info).expect("derive")));
    group.bench_function("blind", |b| b.iter(|| dvk.blind(&msg, &mut rng).expect("blind")));
    group.bench_function("blind_sign", |b| b.iter(|| dsk.blind_sign(&blinded).expect("blind_sign")));
    group.bench_function("finalize", |b| b.iter(|| dvk.finalize(&msg, &blind_sig, &secret).expect("finalize")));
    group.bench_function("verify", |b| b.iter(|| dvk.verify(&msg, &sig).expect("verify")));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = blind_signatures, partially_blind_signatures
}
criterion_main!(benches);
