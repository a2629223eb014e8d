//! Criterion benchmarks of batched threshold decryption at the production size (|n| = 3072), on the committed
//! 5-trustee, threshold-3 fixture (`tests/fixtures/ceremony-3072`), all on ONE core (a one-thread rayon pool),
//! so that every figure is a per-core rate:
//!
//! - the references: a raw `r^n mod n²` (3072-bit exponent), GMP `powm_sec` with a 3072-bit exponent, and
//!   `powm_sec` with an exponent as long as a trustee's `2Δ·s_i` (the partial decryption's own exponentiation);
//! - one trustee's partial decryptions with their one batched proof, for `PROVE` ciphertexts end to end;
//! - at `BATCH` (10,000) ciphertexts: the batched proof alone over partials already computed
//!   (`KeyShare::prove_partials`), verifying one trustee's answer, combining three answers;
//! - at `LOCATE` ciphertexts: the robust decryption of four answers of which one carries a wrong partial
//!   (four verifications, the wrong partial located, three combined).
//!
//! Setting up 10,000 ciphertexts does not cost 30,000 partial decryptions: the ciphertexts are products of
//! sixteen fresh ones, so each partial is the product of the partials of its factors (`(ab)^x = a^x·b^x`),
//! computed by multiplication from the sixteen each trustee decrypts; the answers are then real answers, proven
//! by the trustee's own `prove_partials` (which checks them) and checked by `verify_decryption`.
//!
//! `cargo bench -p urna-crypto --bench threshold` (docs/performance.md reads its ratios).

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use rug::Integer;
use urna_crypto::paillier::{Ciphertext, Plaintext};
use urna_crypto::threshold::{
    DecryptionContext, DecryptionRequest, KeyShare, PartialDecryptions, Passphrase, ShareFile, ThresholdPublicKey,
    WrongPartials, combine, decrypt, verify_decryption,
};

/// Ciphertexts decrypted end to end: the trustee's cost is one `powm_sec` per ciphertext plus the proof, so
/// fifty show the per-ciphertext rate (the proof's fixed part included) without ten-minute samples; the proof's
/// part at 10,000 is measured apart.
const PROVE: usize = 50;
/// Ciphertexts in the batch of the proof, the verifier and the combination; `URNA_BENCH_BATCH` overrides it
/// (a quick look on a busy machine, or `cargo test --bench threshold` checking the setup).
const BATCH: usize = 10_000;
/// Ciphertexts of the robust decryption with a wrong partial (locating costs the same per ciphertext at any
/// size), at most the batch's.
const LOCATE: usize = 1_000;
/// Fresh ciphertexts every other one is a product of.
const SEEDS: usize = 16;

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

/// `count` distinct ciphertexts for the price of a few encryptions: `c_k = seeds[k]` for `k < SEEDS`, then
/// `c_k = c_{k-1}·seeds[k mod SEEDS]`, a ciphertext too.
fn ciphertexts(count: usize) -> Vec<Ciphertext> {
    let pk = PUBLIC.paillier();
    let mut rng = urna_crypto::os_rng();
    let seeds: Vec<Ciphertext> =
        (0..SEEDS as u64).map(|m| pk.encrypt(&Plaintext::from_u64(m), &mut rng).expect("encrypt").0).collect();
    extend(seeds, count, |a, b| pk.add(a, b))
}

/// The sequence of [`ciphertexts`] from its first `SEEDS` elements, under `mul`.
fn extend<T: Clone>(seeds: Vec<T>, count: usize, mul: impl Fn(&T, &T) -> T) -> Vec<T> {
    let mut out = seeds.clone();
    while out.len() < count {
        let k = out.len();
        out.push(mul(&out[k - 1], &seeds[k % SEEDS]));
    }
    out.truncate(count);
    out
}

/// Trustee `share`'s proven answer to `request`, a [`ciphertexts`] sequence: the first `SEEDS` partials
/// decrypted, the rest multiplied out, then proven.
fn answer(share: &KeyShare, request: &DecryptionRequest<'_>, cts: &[Ciphertext]) -> PartialDecryptions {
    let mut rng = urna_crypto::os_rng();
    let context = DecryptionContext::new("bench", [0; 32], "tally/seeds");
    let seeds = share.partial_decrypt(&PUBLIC, &DecryptionRequest::single(&context, &cts[..SEEDS]), &mut rng);
    let json = serde_json::to_value(seeds.expect("seed partials")).expect("json");
    let seed_values: Vec<Integer> = json["values"][0]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| Integer::from_str_radix(v.as_str().expect("hex"), 16).expect("hex"))
        .collect();
    let n2 = n_squared();
    let values = extend(seed_values, cts.len(), |a, b| Integer::from(a * b) % &n2);
    share.prove_partials(&PUBLIC, request, vec![values], &mut rng).expect("proven")
}

/// The wire's integer encoding: lowercase, an even number of digits.
fn canonical_hex(x: &Integer) -> String {
    let s = x.to_string_radix(16);
    if s.len() % 2 == 1 { format!("0{s}") } else { s }
}

fn n_squared() -> Integer {
    let n = Integer::from_str_radix(&PUBLIC.paillier().modulus_hex(), 16).expect("n");
    Integer::from(n.square_ref())
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
    let shares: Vec<KeyShare> = (1..=4).map(|i| open_share(public, i)).collect();
    let context = DecryptionContext::new("bench", [0; 32], "tally/bench");
    let mut rng = urna_crypto::os_rng();
    let mut g = c.benchmark_group("threshold_3072_batch");
    g.sampling_mode(SamplingMode::Flat).sample_size(10).measurement_time(Duration::from_secs(1));

    let prove_cts = ciphertexts(PROVE);
    let prove_request = DecryptionRequest::single(&context, &prove_cts);
    g.bench_function(format!("partial decryption + batched proof, {PROVE} ciphertexts"), |b| {
        b.iter(|| pool.install(|| shares[0].partial_decrypt(public, &prove_request, &mut rng).expect("answer")))
    });

    let batch = std::env::var("URNA_BENCH_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(BATCH).max(SEEDS + 1);
    let cts = ciphertexts(batch);
    let request = DecryptionRequest::single(&context, &cts);
    // Three answers, set up on every core, once.
    let answers: Vec<PartialDecryptions> = shares[..3].iter().map(|s| answer(s, &request, &cts)).collect();
    let verified: Vec<_> = answers.iter().map(|a| verify_decryption(public, &request, a).expect("valid")).collect();
    assert!(decrypt(public, &request, &answers).plaintexts.is_ok());
    let values: Vec<Vec<Integer>> = {
        let json = serde_json::to_value(&answers[0]).expect("json");
        let group = json["values"][0].as_array().expect("values");
        vec![group.iter().map(|v| Integer::from_str_radix(v.as_str().expect("hex"), 16).expect("hex")).collect()]
    };
    g.bench_function(format!("batched proof of computed partials, {batch} ciphertexts"), |b| {
        b.iter_batched(
            || values.clone(),
            |values| pool.install(|| shares[0].prove_partials(public, &request, values, &mut rng).expect("proven")),
            BatchSize::PerIteration,
        )
    });
    g.bench_function(format!("verify one trustee's answer, {batch} ciphertexts"), |b| {
        b.iter(|| pool.install(|| verify_decryption(public, &request, &answers[0]).expect("valid")))
    });
    g.bench_function(format!("combine three answers, {batch} ciphertexts"), |b| {
        b.iter(|| pool.install(|| combine(public, &request, &verified).expect("combine")))
    });

    // Four answers, the first with one wrong partial: rejected, its wrong partial located, the others combined.
    let locate = LOCATE.min(batch);
    let cts = &cts[..locate];
    let request = DecryptionRequest::single(&context, cts);
    let mut answers: Vec<PartialDecryptions> = shares.iter().map(|s| answer(s, &request, cts)).collect();
    let mut json = serde_json::to_value(&answers[0]).expect("json");
    let wrong = locate / 3;
    let x = Integer::from_str_radix(json["values"][0][wrong].as_str().expect("hex"), 16).expect("hex");
    let tampered = Integer::from(&x * 3u32) % n_squared();
    json["values"][0][wrong] = serde_json::Value::String(canonical_hex(&tampered));
    answers[0] = serde_json::from_value(json).expect("tampered answer");
    let out = decrypt(public, &request, &answers);
    assert!(out.plaintexts.is_ok());
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Exactly(vec![(0, wrong)])));
    g.bench_function(format!("robust decryption, 4 answers, one wrong partial located, {locate} ciphertexts"), |b| {
        b.iter(|| pool.install(|| decrypt(public, &request, &answers)))
    });
    g.finish();
}

criterion_group!(benches, references, batched_decryption);
criterion_main!(benches);
