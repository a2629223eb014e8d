//! Proofs at an insecure test size: completeness, soundness against tampering and over-votes, context binding,
//! batch verification with bisection, and decoders that never panic.

use std::sync::LazyLock;

use proptest::prelude::*;
use urna_crypto::paillier::{
    Ciphertext, KeySize, Nonce, Plaintext, PublicKey, RandomnessPool, SecretKey, generate_keypair,
};
use urna_crypto::proofs::{BatchVerifier, KnowledgeProof, MembershipProof, MembershipStatement, MembershipWitness};
use urna_crypto::transcript::ProofContext;

static KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen"));
static OTHER_KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen"));

fn pk() -> &'static PublicKey {
    &KEYS.0
}

fn ctx() -> ProofContext {
    ProofContext {
        election_id: "mx-2024".into(),
        manifest_hash: [7; 32],
        contest_id: "president".into(),
        ballot_style: "cdmx".into(),
    }
}

/// `M^j + M^K` with `M = 2^20`, the single-choice encoding of choice `j` of `k`.
fn one_hot(j: usize, k: usize) -> Plaintext {
    let mut slots = vec![0u64; k + 1];
    slots[j] = 1;
    slots[k] = 1;
    Plaintext::from_slots(20, &slots).expect("slots")
}

fn allowed(k: usize) -> Vec<Vec<Plaintext>> {
    (0..k).map(|j| vec![one_hot(j, k)]).collect()
}

fn encrypt(m: &Plaintext) -> (Ciphertext, Nonce) {
    pk().encrypt(m, &mut urna_crypto::os_rng()).expect("encrypt")
}

fn prove_one_of(
    values: &[Vec<Plaintext>],
    index: usize,
    m: &Plaintext,
    ctx: &ProofContext,
) -> (Ciphertext, MembershipProof) {
    let (c, r) = encrypt(m);
    let cs = [c];
    let proof = MembershipProof::prove(
        pk(),
        ctx,
        MembershipStatement { ciphertexts: &cs, allowed: values },
        MembershipWitness { index, nonces: std::slice::from_ref(&r) },
        &RandomnessPool::new(pk().clone()),
        &mut urna_crypto::os_rng(),
    )
    .expect("prove");
    let [c] = cs;
    (c, proof)
}

fn verify_one_of(values: &[Vec<Plaintext>], c: &Ciphertext, proof: &MembershipProof, ctx: &ProofContext) -> bool {
    proof.verify(pk(), ctx, MembershipStatement { ciphertexts: std::slice::from_ref(c), allowed: values }).is_ok()
}

/// Every JSON string leaf of `v`, replaced in turn by a different canonical hex value.
fn single_field_tamperings(v: &serde_json::Value) -> Vec<serde_json::Value> {
    fn leaves(v: &serde_json::Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
        match v {
            serde_json::Value::String(_) => out.push(path.clone()),
            serde_json::Value::Array(xs) => {
                for (i, x) in xs.iter().enumerate() {
                    path.push(PathStep::Index(i));
                    leaves(x, path, out);
                    path.pop();
                }
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    path.push(PathStep::Key(k.clone()));
                    leaves(x, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    #[derive(Clone)]
    enum PathStep {
        Index(usize),
        Key(String),
    }
    let mut paths = Vec::new();
    leaves(v, &mut Vec::new(), &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let mut t = v.clone();
            let mut cur = &mut t;
            for step in &p {
                cur = match step {
                    PathStep::Index(i) => &mut cur[*i],
                    PathStep::Key(k) => &mut cur[k.as_str()],
                };
            }
            let s = cur.as_str().expect("string leaf").to_owned();
            // Flip the lowest bit of the last byte: still canonical hex, a different number.
            let mut bytes = hex::decode(&s).expect("hex");
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            let mut h = hex::encode(&bytes);
            while h.len() > 2 && h.starts_with("00") {
                h.drain(..2);
            }
            *cur = serde_json::Value::String(h);
            t
        })
        .collect()
}

#[test]
fn knowledge_proof_is_complete_and_binds_everything() {
    let m = Plaintext::from_u64(42);
    let (c, r) = encrypt(&m);
    let pool = RandomnessPool::new(pk().clone());
    let proof = KnowledgeProof::prove(pk(), &ctx(), &c, &m, &r, &pool, &mut urna_crypto::os_rng()).expect("prove");
    proof.verify(pk(), &ctx(), &c).expect("valid proof verifies");

    let json = serde_json::to_value(&proof).expect("json");
    for tampered in single_field_tamperings(&json) {
        if let Ok(p) = serde_json::from_value::<KnowledgeProof>(tampered) {
            assert!(p.verify(pk(), &ctx(), &c).is_err(), "tampered proof accepted");
        }
    }
    let (other_c, _) = encrypt(&m);
    assert!(proof.verify(pk(), &ctx(), &other_c).is_err(), "proof moved to another ciphertext");
    let mut other_ctx = ctx();
    other_ctx.election_id = "mx-2030".into();
    assert!(proof.verify(pk(), &other_ctx, &c).is_err(), "proof replayed in another election");
}

#[test]
fn knowledge_proof_alone_accepts_overvotes() {
    // The seed's proof of knowledge does not make a ballot valid: 1000 votes, or n - 1, pass it. This is why
    // every contest carries a membership proof instead.
    let n_minus_1 = {
        let mut b = hex::decode(pk().modulus_hex()).expect("hex");
        if let Some(last) = b.last_mut() {
            *last -= 1;
        }
        Plaintext::from_be_bytes(&b)
    };
    for m in [Plaintext::from_u64(1000), n_minus_1] {
        let (c, r) = encrypt(&m);
        let pool = RandomnessPool::new(pk().clone());
        let proof = KnowledgeProof::prove(pk(), &ctx(), &c, &m, &r, &pool, &mut urna_crypto::os_rng()).expect("prove");
        assert!(proof.verify(pk(), &ctx(), &c).is_ok());
        // ...and a membership proof for the same ciphertext cannot be made to verify.
        let values = allowed(3);
        let cs = [c];
        let forged = MembershipProof::prove(
            pk(),
            &ctx(),
            MembershipStatement { ciphertexts: &cs, allowed: &values },
            MembershipWitness { index: 0, nonces: std::slice::from_ref(&r) },
            &pool,
            &mut urna_crypto::os_rng(),
        )
        .expect("the prover runs");
        assert!(!verify_one_of(&values, &cs[0], &forged, &ctx()), "over-vote passed a membership proof");
    }
}

#[test]
fn one_of_k_is_complete_for_every_choice() {
    for k in [1usize, 2, 5] {
        let values = allowed(k);
        for j in 0..k {
            let (c, proof) = prove_one_of(&values, j, &one_hot(j, k), &ctx());
            assert_eq!(proof.branches(), k);
            assert!(verify_one_of(&values, &c, &proof, &ctx()), "k={k} j={j}");
            assert_eq!(KEYS.1.decrypt(&c).expect("decrypt"), one_hot(j, k));
        }
    }
}

#[test]
fn one_of_k_rejects_overvotes_and_wrong_witnesses() {
    let k = 4;
    let values = allowed(k);
    let m = |slots: &[u64]| Plaintext::from_slots(20, slots).expect("slots");
    // 2·M^j (+M^K), two choices at once, a ballot that counts twice, nothing at all, n-1-like junk.
    let cheats = [m(&[2, 0, 0, 0, 1]), m(&[1, 1, 0, 0, 1]), m(&[1, 0, 0, 0, 2]), m(&[0, 0, 0, 0, 1]), m(&[0])];
    for cheat in cheats {
        for claimed in 0..k {
            let (c, proof) = prove_one_of(&values, claimed, &cheat, &ctx());
            assert!(!verify_one_of(&values, &c, &proof, &ctx()), "{cheat:?} passed as choice {claimed}");
        }
    }
}

#[test]
fn one_of_k_resists_single_field_tampering() {
    let values = allowed(3);
    let (c, proof) = prove_one_of(&values, 1, &one_hot(1, 3), &ctx());
    let json = serde_json::to_value(&proof).expect("json");
    let tamperings = single_field_tamperings(&json);
    assert_eq!(tamperings.len(), 3 * 3, "3 commitments, 3 challenges, 3 responses");
    for tampered in tamperings {
        if let Ok(p) = serde_json::from_value::<MembershipProof>(tampered) {
            assert!(!verify_one_of(&values, &c, &p, &ctx()), "tampered proof accepted");
        }
    }
    // The ciphertext itself: re-randomised or another encryption of the same vote.
    let moved = pk().rerandomize(&c, &mut urna_crypto::os_rng());
    assert!(!verify_one_of(&values, &moved, &proof, &ctx()));
}

#[test]
fn proofs_do_not_replay_across_contexts_or_keys() {
    let values = allowed(3);
    let (c, proof) = prove_one_of(&values, 2, &one_hot(2, 3), &ctx());
    assert!(verify_one_of(&values, &c, &proof, &ctx()));
    let variants: [fn(&mut ProofContext); 4] = [
        |x| x.election_id.push('x'),
        |x| x.manifest_hash[0] ^= 1,
        |x| x.contest_id = "senate".into(),
        |x| x.ballot_style = "jalisco".into(),
    ];
    for change in variants {
        let mut other = ctx();
        change(&mut other);
        assert!(!verify_one_of(&values, &c, &proof, &other), "replayed under {other:?}");
    }
    // Under another key the ciphertext is (almost surely) not even a unit-range match; either way it fails.
    let other_pk = &OTHER_KEYS.0;
    let st = MembershipStatement { ciphertexts: std::slice::from_ref(&c), allowed: &values };
    assert!(proof.verify(other_pk, &ctx(), st).is_err());
    // Another allowed set (same size) is another statement.
    let shifted: Vec<Vec<Plaintext>> = (0..3).map(|j| vec![one_hot(j, 4)]).collect();
    assert!(!verify_one_of(&shifted, &c, &proof, &ctx()));
}

#[test]
fn tuple_membership_links_a_chunk_to_its_used_bit() {
    // allowed = {(0,0)} ∪ {(v_i, 1)}: a chunk is either unused or holds one choice and says so.
    let vs: Vec<Plaintext> = (0..3).map(|j| one_hot(j, 3)).collect();
    let mut values = vec![vec![Plaintext::zero(), Plaintext::zero()]];
    values.extend(vs.iter().map(|v| vec![v.clone(), Plaintext::from_u64(1)]));
    let pool = RandomnessPool::new(pk().clone());
    let prove = |chunk: &Plaintext, used: u64, index: usize| {
        let (c1, r1) = encrypt(chunk);
        let (c2, r2) = encrypt(&Plaintext::from_u64(used));
        let cs = vec![c1, c2];
        let rs = [r1, r2];
        let st = MembershipStatement { ciphertexts: &cs, allowed: &values };
        let proof = MembershipProof::prove(
            pk(),
            &ctx(),
            st,
            MembershipWitness { index, nonces: &rs },
            &pool,
            &mut urna_crypto::os_rng(),
        )
        .expect("prove");
        proof.verify(pk(), &ctx(), st).is_ok()
    };
    assert!(prove(&Plaintext::zero(), 0, 0));
    assert!(prove(&vs[2], 1, 3));
    assert!(!prove(&vs[2], 0, 0), "a used chunk claiming to be unused");
    assert!(!prove(&Plaintext::zero(), 1, 1), "an empty chunk claiming a choice");
}

#[test]
fn batch_verification_accepts_valid_and_isolates_each_bad_proof() {
    let k = 3;
    let values = allowed(k);
    let items: Vec<(Ciphertext, MembershipProof)> =
        (0..12).map(|i| prove_one_of(&values, i % k, &one_hot(i % k, k), &ctx())).collect();
    let m = Plaintext::from_u64(5);
    let (kc, kr) = encrypt(&m);
    let pool = RandomnessPool::new(pk().clone());
    let kproof = KnowledgeProof::prove(pk(), &ctx(), &kc, &m, &kr, &pool, &mut urna_crypto::os_rng()).expect("prove");
    let c = ctx();

    let mut batch = BatchVerifier::new(pk());
    for (ct, proof) in &items {
        batch.push_membership(
            &c,
            MembershipStatement { ciphertexts: std::slice::from_ref(ct), allowed: &values },
            proof,
        );
    }
    batch.push_knowledge(&c, &kc, &kproof);
    assert!(batch.verify_all(&mut urna_crypto::os_rng()).is_ok());

    // Swap two proofs' ciphertexts (each still well-formed) and flip one response: exactly those fail.
    let bad_positions = [3usize, 7, 8];
    let mut tampered_items = items.clone();
    tampered_items.swap(7, 8);
    let t = tampered_items[7].0.clone();
    tampered_items[7].0 = tampered_items[8].0.clone();
    tampered_items[8].0 = t;
    tampered_items.swap(7, 8);
    let json = serde_json::to_value(&tampered_items[3].1).expect("json");
    tampered_items[3].1 = serde_json::from_value(single_field_tamperings(&json).remove(8)).expect("decode");
    let mut batch = BatchVerifier::new(pk());
    for (ct, proof) in &tampered_items {
        batch.push_membership(
            &c,
            MembershipStatement { ciphertexts: std::slice::from_ref(ct), allowed: &values },
            proof,
        );
    }
    let results = batch.verify(&mut urna_crypto::os_rng());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.is_err(), bad_positions.contains(&i), "proof {i}: {r:?}");
    }
}

/// The wire form of an integer: lowercase hex of its big-endian bytes, no leading zero byte (so even length).
fn canonical_hex(x: &rug::Integer) -> String {
    let hex = x.to_string_radix(16);
    if hex.len() % 2 == 1 { format!("0{hex}") } else { hex }
}

#[test]
fn exact_and_batch_verifiers_agree_on_order_two_factors() {
    // Replacing a response w by n - w multiplies one side of its equation by -1 (order two). Both verifiers
    // compare squares, so both accept it (sound: n - w is itself a valid response to an equivalent transcript);
    // a factor of larger order (w·2) is rejected by both.
    let values = allowed(2);
    let (c, proof) = prove_one_of(&values, 0, &one_hot(0, 2), &ctx());
    let n = rug::Integer::from_str_radix(&pk().modulus_hex(), 16).expect("hex");
    let with_response = |f: &dyn Fn(rug::Integer) -> rug::Integer| {
        let mut json = serde_json::to_value(&proof).expect("json");
        let w = rug::Integer::from_str_radix(json["responses"][1][0].as_str().expect("hex"), 16).expect("hex");
        json["responses"][1][0] = serde_json::Value::String(canonical_hex(&f(w)));
        serde_json::from_value::<MembershipProof>(json).expect("decode")
    };
    let negated = with_response(&|w| n.clone() - w);
    let doubled = with_response(&|w| (w * 2u32) % &n);
    let st = MembershipStatement { ciphertexts: std::slice::from_ref(&c), allowed: &values };
    let c2 = ctx();
    for (p, valid) in [(&negated, true), (&doubled, false)] {
        assert_eq!(p.verify(pk(), &ctx(), st).is_ok(), valid);
        for _ in 0..8 {
            let mut batch = BatchVerifier::new(pk());
            batch.push_membership(&c2, st, p);
            assert_eq!(batch.verify_all(&mut urna_crypto::os_rng()).is_ok(), valid);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn proof_decoders_never_panic(s in ".{0,200}") {
        let _ = serde_json::from_str::<MembershipProof>(&s);
        let _ = serde_json::from_str::<KnowledgeProof>(&s);
    }

    #[test]
    fn malformed_proofs_are_rejected_without_panic(
        commitments in prop::collection::vec(prop::collection::vec("[0-9a-f]{2,8}", 0..3), 0..4),
        challenges in prop::collection::vec("[0-9a-f]{2,8}", 0..4),
        responses in prop::collection::vec(prop::collection::vec("[0-9a-f]{2,8}", 0..3), 0..4),
    ) {
        let json = serde_json::json!({"commitments": commitments, "challenges": challenges, "responses": responses});
        if let Ok(p) = serde_json::from_value::<MembershipProof>(json) {
            let values = allowed(2);
            let (c, _) = encrypt(&one_hot(0, 2));
            prop_assert!(!verify_one_of(&values, &c, &p, &ctx()));
        }
    }
}
