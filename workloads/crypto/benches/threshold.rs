//! Criterion benchmarks of threshold decryption at the production size (|n| = 3072), on the committed
//! 5-trustee, threshold-3 fixture (`tests/fixtures/ceremony-3072`): one trustee's partial decryption with its
//! Chaum-Pedersen proof, the verification of one partial, and the combination of three verified partials.
//!
//! `cargo bench -p urna-crypto --bench threshold`

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use urna_crypto::paillier::Plaintext;
use urna_crypto::threshold::{
    DecryptionContext, KeyShare, Passphrase, ShareFile, ThresholdPublicKey, combine, verify_partial,
};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ceremony-3072").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open_share(public: &ThresholdPublicKey, i: u32) -> KeyShare {
    let file = ShareFile::from_json(&fixture(&format!("trustee-{i}.share.json"))).expect("share file");
    let pass = Passphrase::new(format!("trustee-{i}")).expect("passphrase");
    file.open(&pass, public).expect("open share")
}

fn threshold_decryption(c: &mut Criterion) {
    let public = ThresholdPublicKey::from_json(&fixture("public.json")).expect("public key");
    let shares: Vec<KeyShare> = (1..=3).map(|i| open_share(&public, i)).collect();
    let mut rng = urna_crypto::os_rng();
    let context = DecryptionContext::new("bench", [0; 32], "tally/bench");
    let m = Plaintext::from_slots(20, &[5, 17, 0, 900_000]).expect("slots");
    let (ct, _) = public.paillier().encrypt(&m, &mut rng).expect("encrypt");
    let partials: Vec<_> =
        shares.iter().map(|s| s.partial_decrypt(&public, &ct, &context, &mut rng).expect("partial")).collect();
    let verified: Vec<_> = partials.iter().map(|p| verify_partial(&public, &ct, &context, p).expect("valid")).collect();
    assert_eq!(combine(&public, &verified).expect("combine"), m);

    let mut group = c.benchmark_group("threshold_3072");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function("partial_decrypt_with_proof", |b| {
        b.iter(|| shares[0].partial_decrypt(&public, &ct, &context, &mut rng).expect("partial"))
    });
    group.bench_function("verify_partial", |b| {
        b.iter(|| verify_partial(&public, &ct, &context, &partials[0]).expect("valid"))
    });
    group.bench_function("combine_3", |b| b.iter(|| combine(&public, &verified).expect("combine")));
    group.finish();
}

criterion_group!(benches, threshold_decryption);
criterion_main!(benches);
