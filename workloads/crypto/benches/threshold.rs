//! Criterion benchmarks of batched threshold decryption at the production size (|n| = 3072), on the committed
//! 5-trustee, threshold-3 fixture (`tests/fixtures/ceremony-3072`), all on ONE core (a one-thread rayon pool),
//! so that every figure is a per-core rate:
//!
//! - the references: a raw `r^n mod n²` (3072-bit exponent), GMP `powm_sec` with a 3072-bit exponent, and
//!   `powm_sec` with an exponent as long as a trustee's `2Δ·s_i` (the partial decryption's own exponentiation);
//! - one trustee's partial decryptions with their one batched proof, for `PROVE` ciphertexts;
//! - verifying one trustee's answer, and combining three answers, for `VERIFY` ciphertexts.
//!
//! `cargo bench -p urna-crypto --bench threshold` (docs/performance.md reads its ratios).

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use rug::Integer;
use urna_crypto::paillier::{Ciphertext, Plaintext};
use urna_crypto::threshold::{
    DecryptionContext, DecryptionRequest, KeyShare, Passphrase, ShareFile, ThresholdPublicKey, combine, decrypt,
    verify_decryption,
};

/// Ciphertexts in the prover's batch: the trustee's cost is one `powm_sec` per ciphertext plus a fixed part
/// (about three more), so fifty show the per-ciphertext rate (fixed part included) without ten-minute samples.
const PROVE: usize = 50;
/// Ciphertexts in the verifier's batch. Setting it up costs three trustees' partials of every ciphertext
/// (minutes at 1,000); the verifier's per-ciphertext cost only falls with larger batches (the multi-
/// exponentiation's buckets are shared, the fixed part is spread thinner), so 10,000 would read better.
const VERIFY: usize = 1_000;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ceremony-3072").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open_share(public: &ThresholdPublicKey, i: u32) -> KeyShare {
    let file = ShareFile::from_json(&fixture(&format!("trustee-{i}.share.json"))).expect("share file");
    let pass = Passphrase::new(format!("trustee-{i}")).expect("passphrase");
    file.open(&pass, public).expect("open share")
}

static PUBLIC: LazyLock<ThresholdPublicKey> =
    LazyLock::new(|| ThresholdPublicKey::from_json(&fixture("public.json")).expect("public key"));

/// `count` distinct ciphertexts for the price of a few encryptions: products of fresh ones are ciphertexts too.
fn ciphertexts(count: usize) -> Vec<Ciphertext> {
    let pk = PUBLIC.paillier();
    let mut rng = urna_crypto::os_rng();
    let seeds: Vec<Ciphertext> =
        (0..16u64).map(|m| pk.encrypt(&Plaintext::from_u64(m), &mut rng).expect("encrypt").0).collect();
    let mut out = seeds.clone();
    while out.len() < count {
        let k = out.len();
        out.push(pk.add(&out[k - 1], &seeds[k % seeds.len()]));
    }
    out.truncate(count);
    out
}

fn one_core() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("thread pool")
}

fn references(c: &mut Criterion) {
    let pool = one_core();
    let pk = PUBLIC.paillier();
    let n = Integer::from_str_radix(&pk.modulus_hex(), 16).expect("n");
    let n2 = Integer::from(n.square_ref());
    // Random-looking operands: fresh ciphertexts are uniform units of Z*_{n²}.
    let random = |_| {
        let c = &ciphertexts(1)[0];
        let hex = serde_json::to_value(c).expect("json").as_str().expect("hex").to_owned();
        Integer::from_str_radix(&hex, 16).expect("hex")
    };
    let [base, x, y] = [0, 1, 2].map(random);
    let e3072 = x % &n;
    // 2Δ·s_i with s_i < n·p'q' < n²/4 and Δ = 5! < 2^7: at most |n²| + 6 bits.
    let e_partial = (y << 6u32) | 1u32;
    let mut g = c.benchmark_group("threshold_3072_references");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("raw r^n mod n^2", |b| {
        b.iter(|| pool.install(|| Integer::from(base.pow_mod_ref(&n, &n2).expect("pow"))))
    });
    g.bench_function("powm_sec, 3072-bit exponent", |b| {
        b.iter(|| pool.install(|| Integer::from(base.secure_pow_mod_ref(&e3072, &n2))))
    });
    g.bench_function("powm_sec, exponent of 2Δs_i (the partial itself)", |b| {
        b.iter(|| pool.install(|| Integer::from(base.secure_pow_mod_ref(&e_partial, &n2))))
    });
    g.finish();
}

fn batched_decryption(c: &mut Criterion) {
    let pool = one_core();
    let public = &*PUBLIC;
    let shares: Vec<KeyShare> = (1..=3).map(|i| open_share(public, i)).collect();
    let context = DecryptionContext::new("bench", [0; 32], "tally/bench");
    let mut rng = urna_crypto::os_rng();

    let prove_cts = ciphertexts(PROVE);
    let prove_request = DecryptionRequest::single(&context, &prove_cts);
    let mut g = c.benchmark_group("threshold_3072_batch");
    g.sampling_mode(SamplingMode::Flat).sample_size(10).measurement_time(Duration::from_secs(1));
    g.bench_function(format!("partial decryption + batched proof, {PROVE} ciphertexts"), |b| {
        b.iter(|| pool.install(|| shares[0].partial_decrypt(public, &prove_request, &mut rng).expect("answer")))
    });

    let verify_cts = ciphertexts(VERIFY);
    let request = DecryptionRequest::single(&context, &verify_cts);
    // Three answers: computed on every core, once.
    let answers: Vec<_> =
        shares.iter().map(|s| s.partial_decrypt(public, &request, &mut rng).expect("answer")).collect();
    let verified: Vec<_> = answers.iter().map(|a| verify_decryption(public, &request, a).expect("valid")).collect();
    assert!(decrypt(public, &request, &answers).plaintexts.is_ok());
    g.bench_function(format!("verify one trustee's answer, {VERIFY} ciphertexts"), |b| {
        b.iter(|| pool.install(|| verify_decryption(public, &request, &answers[0]).expect("valid")))
    });
    g.bench_function(format!("combine three answers, {VERIFY} ciphertexts"), |b| {
        b.iter(|| pool.install(|| combine(public, &request, &verified).expect("combine")))
    });
    g.finish();
}

criterion_group!(benches, references, batched_decryption);
criterion_main!(benches);
