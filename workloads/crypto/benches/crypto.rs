//! Criterion benchmarks of the Paillier core and the proofs at the production size (|n| = 3072), with a raw
//! `r^n mod n²` exponentiation in the same run as the physical-limit reference (docs/performance.md).
//!
//! `cargo bench -p urna-crypto --bench crypto`

use std::sync::LazyLock;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use urna_crypto::paillier::{
    Ciphertext, KeySize, Nonce, Plaintext, PrecomputedNonce, PublicKey, RandomnessPool, generate_keypair,
};
use urna_crypto::proofs::{BatchVerifier, KnowledgeProof, MembershipProof, MembershipStatement, MembershipWitness};
use urna_crypto::transcript::ProofContext;

static PK: LazyLock<PublicKey> = LazyLock::new(|| {
    let start = std::time::Instant::now();
    let (pk, _) = generate_keypair(KeySize::Bits3072, &mut urna_crypto::os_rng()).expect("keygen");
    eprintln!("3072-bit safe-prime Paillier key generated in {:.1?}", start.elapsed());
    pk
});

fn ctx() -> ProofContext {
    ProofContext {
        election_id: "bench".into(),
        manifest_hash: [1; 32],
        contest_id: "president".into(),
        ballot_style: "all".into(),
    }
}

fn one_hot(j: usize, k: usize) -> Plaintext {
    let mut slots = vec![0u64; k + 1];
    slots[j] = 1;
    slots[k] = 1;
    Plaintext::from_slots(20, &slots).expect("slots")
}

fn allowed(k: usize) -> Vec<Vec<Plaintext>> {
    (0..k).map(|j| vec![one_hot(j, k)]).collect()
}

fn prove(k: usize, pool: &RandomnessPool) -> (Ciphertext, MembershipProof) {
    let mut rng = urna_crypto::os_rng();
    let m = one_hot(k / 2, k);
    let nonce = pool.take(&mut rng);
    let c = PK.encrypt_with(&m, &nonce).expect("encrypt");
    let cs = [c];
    let values = allowed(k);
    let proof = MembershipProof::prove(
        &PK,
        &ctx(),
        MembershipStatement { ciphertexts: &cs, allowed: &values },
        MembershipWitness { index: k / 2, nonces: &[nonce.into_nonce()] },
        pool,
        &mut rng,
    )
    .expect("prove");
    let [c] = cs;
    (c, proof)
}

fn paillier(c: &mut Criterion) {
    let pk = &*PK;
    let mut rng = urna_crypto::os_rng();
    let mut g = c.benchmark_group("paillier-3072");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let r = PrecomputedNonce::generate(pk, &mut rng);
    g.bench_function("raw r^n mod n^2 (reference)", |b| b.iter(|| PrecomputedNonce::generate(pk, &mut rng)));
    let m = one_hot(3, 17);
    g.bench_function("encrypt contest (fresh nonce)", |b| b.iter(|| pk.encrypt(&m, &mut rng).expect("encrypt")));
    g.bench_function("encrypt contest (pooled nonce)", |b| b.iter(|| pk.encrypt_with(&m, &r).expect("encrypt")));
    let (c1, _) = pk.encrypt(&m, &mut rng).expect("encrypt");
    let (c2, _) = pk.encrypt(&m, &mut rng).expect("encrypt");
    g.bench_function("homomorphic fold (add)", |b| b.iter(|| pk.add(&c1, &c2)));
    g.finish();
}

fn knowledge(c: &mut Criterion) {
    let pk = &*PK;
    let mut rng = urna_crypto::os_rng();
    let pool = RandomnessPool::new(pk.clone());
    let m = Plaintext::from_u64(7);
    let (ct, nonce): (Ciphertext, Nonce) = pk.encrypt(&m, &mut rng).expect("encrypt");
    let mut g = c.benchmark_group("knowledge-proof-3072");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("prove", |b| {
        b.iter(|| KnowledgeProof::prove(pk, &ctx(), &ct, &m, &nonce, &pool, &mut rng).expect("prove"))
    });
    let proof = KnowledgeProof::prove(pk, &ctx(), &ct, &m, &nonce, &pool, &mut rng).expect("prove");
    g.bench_function("verify", |b| b.iter(|| proof.verify(pk, &ctx(), &ct).expect("valid")));
    g.finish();
}

fn one_of_k(c: &mut Criterion) {
    let mut g = c.benchmark_group("one-of-k-3072");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for k in [2usize, 5, 10, 19] {
        let empty = RandomnessPool::new(PK.clone());
        g.bench_with_input(BenchmarkId::new("prove (no pool)", k), &k, |b, &k| b.iter(|| prove(k, &empty)));
        let full = RandomnessPool::new(PK.clone());
        g.bench_with_input(BenchmarkId::new("prove (pooled nonces)", k), &k, |b, &k| {
            b.iter_batched(|| full.fill(k + 1), |()| prove(k, &full), criterion::BatchSize::PerIteration)
        });
        let (ct, proof) = prove(k, &empty);
        let values = allowed(k);
        let st = MembershipStatement { ciphertexts: std::slice::from_ref(&ct), allowed: &values };
        g.bench_with_input(BenchmarkId::new("verify (exact)", k), &k, |b, _| {
            b.iter(|| proof.verify(&PK, &ctx(), st).expect("valid"))
        });
        let cx = ctx();
        g.bench_with_input(BenchmarkId::new("verify (batch of one)", k), &k, |b, _| {
            b.iter(|| {
                let mut batch = BatchVerifier::new(&PK);
                batch.push_membership(&cx, st, &proof);
                batch.verify_all(&mut urna_crypto::os_rng()).expect("valid")
            })
        });
    }
    g.finish();
}

fn batch(c: &mut Criterion) {
    let k = 2;
    let pool = RandomnessPool::new(PK.clone());
    pool.fill(1000 * (k + 1));
    let proofs: Vec<(Ciphertext, MembershipProof)> = (0..1000).map(|_| prove(k, &pool)).collect();
    let values = allowed(k);
    let cx = ctx();
    let mut g = c.benchmark_group("batch-verify-3072");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for count in [100usize, 1000] {
        g.bench_with_input(BenchmarkId::new("one-of-2 proofs", count), &count, |b, &count| {
            b.iter(|| {
                let mut batch = BatchVerifier::new(&PK);
                for (ct, p) in &proofs[..count] {
                    batch.push_membership(
                        &cx,
                        MembershipStatement { ciphertexts: std::slice::from_ref(ct), allowed: &values },
                        p,
                    );
                }
                batch.verify_all(&mut urna_crypto::os_rng()).expect("valid")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, paillier, knowledge, one_of_k, batch);
criterion_main!(benches);
