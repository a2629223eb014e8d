//! Threshold decryption (PROTOCOL §5) at an insecure test size: every `t`-subset decrypts, `t-1` do not, bad
//! answers are caught and named (with their wrong partials) while the others suffice, share files resist wrong
//! passphrases and tampering, decoders never panic. The production-size fixture is exercised in
//! `tests/threshold_3072.rs`.

use std::sync::LazyLock;

use proptest::prelude::*;
use rug::Integer;
use serde_json::Value;
use urna_crypto::CryptoError;
use urna_crypto::paillier::{Ciphertext, KeySize, Plaintext};
use urna_crypto::threshold::{
    CeremonyOutput, CeremonyParams, CeremonyTranscript, DecryptionContext, DecryptionRequest, KdfParams, KeyShare,
    PartialDecryptions, Passphrase, ShareFile, ThresholdDecryption, ThresholdPublicKey, TrusteeIndex, WrongPartials,
    ceremony, combine, decrypt, verify_decryption,
};

static CEREMONY: LazyLock<CeremonyOutput> = LazyLock::new(|| {
    let params = CeremonyParams {
        key_size: KeySize::InsecureTest1024,
        trustees: 5,
        threshold: 3,
        election_id: "mx-2024".into(),
    };
    ceremony(&params, &mut urna_crypto::os_rng()).expect("ceremony")
});

/// A second, unrelated key (2-of-3 at 512 bits: only its fingerprint matters).
static OTHER: LazyLock<CeremonyOutput> = LazyLock::new(|| {
    let params =
        CeremonyParams { key_size: KeySize::InsecureTest512, trustees: 3, threshold: 2, election_id: "other".into() };
    ceremony(&params, &mut urna_crypto::os_rng()).expect("ceremony")
});

fn public() -> &'static ThresholdPublicKey {
    &CEREMONY.public
}

fn shares() -> &'static [KeyShare] {
    &CEREMONY.shares
}

fn ctx() -> DecryptionContext {
    DecryptionContext::new("mx-2024", [7; 32], "tally/president/shard-0")
}

fn encrypt(m: u64) -> Ciphertext {
    public().paillier().encrypt(&Plaintext::from_u64(m), &mut urna_crypto::os_rng()).expect("encrypt").0
}

/// Every trustee's answer to `request`.
fn answers_for(request: &DecryptionRequest<'_>) -> Vec<PartialDecryptions> {
    shares()
        .iter()
        .map(|s| s.partial_decrypt(public(), request, &mut urna_crypto::os_rng()).expect("partial"))
        .collect()
}

/// Every trustee's answer for one ciphertext under `context`.
fn partials_for(c: &Ciphertext, context: &DecryptionContext) -> Vec<PartialDecryptions> {
    answers_for(&DecryptionRequest::single(context, std::slice::from_ref(c)))
}

/// The plaintext of a one-ciphertext decryption.
fn single_plaintext(out: &ThresholdDecryption) -> Result<Plaintext, CryptoError> {
    out.plaintexts.clone().map(|p| p[0][0].clone())
}

fn idx(i: u32) -> TrusteeIndex {
    TrusteeIndex::new(i).expect("index")
}

fn indices(list: &[u32]) -> Vec<TrusteeIndex> {
    list.iter().map(|&i| idx(i)).collect()
}

/// Edits an answer through its JSON form, as an attacker on the wire would.
fn tamper(p: &PartialDecryptions, edit: impl FnOnce(&mut Value)) -> PartialDecryptions {
    let mut v = serde_json::to_value(p).expect("json");
    edit(&mut v);
    serde_json::from_value(v).expect("still decodes")
}

/// Changes one hex digit in the middle of a string, keeping it canonical lowercase hex.
fn flip_hex_digit(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == '1' { '2' } else { '1' };
    chars.into_iter().collect()
}

#[test]
fn ceremony_output_is_consistent() {
    let out = &*CEREMONY;
    assert_eq!(out.public.threshold(), 3);
    assert_eq!(out.public.trustees(), 5);
    assert_eq!(out.shares.len(), 5);
    for (k, s) in out.shares.iter().enumerate() {
        assert_eq!(s.index().get() as usize, k + 1);
        s.check_against(&out.public).expect("share matches its verification key");
    }
    out.transcript.verify(&out.public).expect("transcript verifies");
    assert!(out.transcript.verify(&OTHER.public).is_err(), "transcript of another key");
    let debug = format!("{:?}", out.shares[0]);
    assert!(debug.contains("redacted"), "{debug}");
}

#[test]
fn every_t_subset_decrypts() {
    let m = 0x00c0_ffee_1234_5678;
    let c = encrypt(m);
    let partials = partials_for(&c, &ctx());
    let cs = [c.clone()];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let verified: Vec<_> =
        partials.iter().map(|p| verify_decryption(public(), &request, p).expect("valid answer")).collect();
    let mut subsets = 0;
    for a in 0..5 {
        for b in a + 1..5 {
            for d in b + 1..5 {
                let chosen = [verified[a].clone(), verified[b].clone(), verified[d].clone()];
                let x = combine(public(), &request, &chosen).expect("combine");
                assert_eq!(x[0][0].to_u64(), Some(m), "subset {a} {b} {d}");
                // Order of the answers does not matter either.
                let reversed = [verified[d].clone(), verified[b].clone(), verified[a].clone()];
                assert_eq!(combine(public(), &request, &reversed).expect("combine")[0][0].to_u64(), Some(m));
                subsets += 1;
            }
        }
    }
    assert_eq!(subsets, 10);
    // More than t: the first t are used.
    let all = decrypt(public(), &request, &partials);
    assert_eq!(single_plaintext(&all).expect("decrypt").to_u64(), Some(m));
    assert_eq!(all.used, indices(&[1, 2, 3]));
    assert!(all.rejected.is_empty());
}

#[test]
fn fewer_than_t_answers_are_refused() {
    let cs = [encrypt(42)];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let partials = answers_for(&request);
    let two: Vec<_> = partials[..2].iter().map(|p| verify_decryption(public(), &request, p).expect("valid")).collect();
    assert!(matches!(combine(public(), &request, &two), Err(CryptoError::Mismatch(_))));
    let out = decrypt(public(), &request, &partials[3..]);
    assert!(out.plaintexts.is_err());
    assert!(out.used.is_empty());
    assert!(combine(public(), &request, &[]).is_err());
}

#[test]
fn duplicate_trustees_are_refused() {
    let cs = [encrypt(7)];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let partials = answers_for(&request);
    let v: Vec<_> = partials.iter().map(|p| verify_decryption(public(), &request, p).expect("valid")).collect();
    assert!(combine(public(), &request, &[v[0].clone(), v[0].clone(), v[1].clone()]).is_err());
    // decrypt() names the repeat and still finds three distinct good answers.
    let list = [partials[0].clone(), partials[0].clone(), partials[1].clone(), partials[4].clone()];
    let out = decrypt(public(), &request, &list);
    assert_eq!(single_plaintext(&out).expect("decrypt").to_u64(), Some(7));
    assert_eq!(out.used, indices(&[1, 2, 5]));
    assert_eq!(out.rejected.len(), 1);
    assert_eq!((out.rejected[0].trustee, out.rejected[0].position), (idx(1), 1));
    assert!(out.rejected[0].reason.to_string().contains("more than once"), "{}", out.rejected[0].reason);
}

#[test]
fn answers_verified_for_different_requests_do_not_combine() {
    let (c1, c2) = ([encrypt(1)], [encrypt(2)]);
    let context = ctx();
    let (r1, r2) = (DecryptionRequest::single(&context, &c1), DecryptionRequest::single(&context, &c2));
    let (p1, p2) = (answers_for(&r1), answers_for(&r2));
    let mixed = [
        verify_decryption(public(), &r1, &p1[0]).expect("valid"),
        verify_decryption(public(), &r1, &p1[1]).expect("valid"),
        verify_decryption(public(), &r2, &p2[2]).expect("valid"),
    ];
    assert!(matches!(combine(public(), &r1, &mixed), Err(CryptoError::Mismatch(_))));
}

/// Every kind of corruption is caught, attributed to the right trustee (and partial), and the remaining
/// answers suffice.
#[test]
fn corrupted_answers_are_identified_and_the_rest_suffice() {
    let m = 31_337;
    let cs = [encrypt(m)];
    let other_cs = [encrypt(m)];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let good = answers_for(&request);
    let for_other_ciphertext = answers_for(&DecryptionRequest::single(&context, &other_cs));
    let other_ctx = DecryptionContext::new("mx-2024", [7; 32], "tally/president/shard-1");
    let for_other_context = partials_for(&cs[0], &other_ctx);
    let other_election = DecryptionContext::new("mx-2030", [7; 32], "tally/president/shard-0");
    let for_other_election = partials_for(&cs[0], &other_election);
    let other_manifest = DecryptionContext::new("mx-2024", [8; 32], "tally/president/shard-0");
    let for_other_manifest = partials_for(&cs[0], &other_manifest);
    let other_value = serde_json::to_value(&for_other_ciphertext[1]).expect("json")["values"][0][0].clone();

    let wrong_value = Some(WrongPartials::Exactly(vec![(0, 0)]));
    let proof_wrong = Some(WrongPartials::Exactly(vec![]));
    let cases: Vec<(&str, PartialDecryptions, Option<WrongPartials>)> = vec![
        (
            "modified c_i (one digit)",
            tamper(&good[1], |v| {
                let s = v["values"][0][0].as_str().expect("str").to_owned();
                v["values"][0][0] = Value::String(flip_hex_digit(&s));
            }),
            wrong_value.clone(),
        ),
        ("c_i from another ciphertext", tamper(&good[1], |v| v["values"][0][0] = other_value.clone()), wrong_value),
        (
            "modified challenge",
            tamper(&good[1], |v| {
                let s = v["proof"]["challenge"].as_str().expect("str").to_owned();
                v["proof"]["challenge"] = Value::String(flip_hex_digit(&s));
            }),
            proof_wrong.clone(),
        ),
        (
            "modified response",
            tamper(&good[1], |v| {
                let s = v["proof"]["response"].as_str().expect("str").to_owned();
                v["proof"]["response"] = Value::String(flip_hex_digit(&s));
            }),
            proof_wrong.clone(),
        ),
        ("proof for another ciphertext", for_other_ciphertext[1].clone(), Some(WrongPartials::Exactly(vec![(0, 0)]))),
        // A partial of a given ciphertext by a given share is deterministic: only the proof is wrong.
        ("proof for another subject", for_other_context[1].clone(), proof_wrong.clone()),
        ("proof for another election", for_other_election[1].clone(), proof_wrong.clone()),
        ("proof for another manifest", for_other_manifest[1].clone(), proof_wrong),
        ("trustee out of range", tamper(&good[1], |v| v["trustee"] = Value::from(6)), None),
        ("no partial", tamper(&good[1], |v| v["values"][0] = Value::Array(vec![])), None),
        (
            "partial is n",
            tamper(&good[1], |v| v["values"][0][0] = Value::from(public().paillier().modulus_hex())),
            None,
        ),
    ];
    for (what, bad, wrong) in cases {
        let err = verify_decryption(public(), &request, &bad).expect_err(what);
        assert!(
            matches!(
                err,
                CryptoError::ProofRejected { .. } | CryptoError::OutOfRange { .. } | CryptoError::Mismatch(_)
            ),
            "{what}: {err}"
        );
        // The bad answer sits second; the good ones of trustees 1, 3, 4, 5 surround it.
        let list = [good[0].clone(), bad.clone(), good[2].clone(), good[3].clone(), good[4].clone()];
        let out = decrypt(public(), &request, &list);
        assert_eq!(single_plaintext(&out).map(|p| p.to_u64()), Ok(Some(m)), "{what}");
        assert_eq!(out.rejected.len(), 1, "{what}");
        assert_eq!(out.rejected[0].position, 1, "{what}");
        assert_eq!(out.rejected[0].trustee, bad.trustee(), "{what}");
        assert_eq!(out.rejected[0].wrong, wrong, "{what}");
        assert_eq!(out.used, indices(&[1, 3, 4]), "{what}");
    }
    // A proof lifted from another trustee's answer names the claimed trustee.
    let stolen = tamper(&good[0], |v| v["trustee"] = Value::from(2));
    let out = decrypt(public(), &request, &[stolen, good[2].clone(), good[3].clone(), good[4].clone()]);
    assert_eq!(out.rejected[0].trustee, idx(2));
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Exactly(vec![(0, 0)])));

    // Two bad trustees out of five: exactly three good remain, still enough.
    let list = [
        good[0].clone(),
        for_other_context[1].clone(),
        good[2].clone(),
        tamper(&good[3], |v| v["values"][0][0] = other_value.clone()),
        good[4].clone(),
    ];
    let out = decrypt(public(), &request, &list);
    assert_eq!(single_plaintext(&out).expect("decrypt").to_u64(), Some(m));
    let named: Vec<_> = out.rejected.iter().map(|r| r.trustee).collect();
    assert_eq!(named, indices(&[2, 4]));
    // Three bad: not enough left, and all three are still named.
    let list = [
        good[0].clone(),
        for_other_context[1].clone(),
        for_other_context[2].clone(),
        for_other_context[3].clone(),
        good[4].clone(),
    ];
    let out = decrypt(public(), &request, &list);
    assert!(out.plaintexts.is_err());
    assert_eq!(out.rejected.iter().map(|r| r.trustee).collect::<Vec<_>>(), indices(&[2, 3, 4]));
    // Two proven answers (t-1) beside each: its partials (right ones) combine, so none is named.
    assert!(out.rejected.iter().all(|r| r.wrong == Some(WrongPartials::AtLeast(vec![]))));
    // One proven answer: nothing to check against.
    let out = decrypt(public(), &request, &[good[0].clone(), for_other_context[1].clone()]);
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Unlocated));
}

/// The batch covers many ciphertexts with one proof; with a wrong partial anywhere in it, the answer fails and
/// the fallback names exactly the wrong positions, including two whose errors would cancel in an unweighted
/// product. Small key: this test needs many ciphertexts.
#[test]
fn a_wrong_partial_among_many_is_located() {
    let values: Vec<u64> = (0..60).map(|k| k * 1_000 + 7).collect();
    let all: Vec<Ciphertext> = values.iter().map(|&m| encrypt(m)).collect();
    let (first, second) = all.split_at(25);
    let contexts = [ctx(), DecryptionContext::new("mx-2024", [7; 32], "tally/senate/shard-0")];
    let request = DecryptionRequest::new(vec![
        urna_crypto::threshold::DecryptionGroup { context: &contexts[0], ciphertexts: first },
        urna_crypto::threshold::DecryptionGroup { context: &contexts[1], ciphertexts: second },
    ]);
    assert_eq!(request.len(), 60);
    let good = answers_for(&request);
    let out = decrypt(public(), &request, &good);
    let plain = out.plaintexts.expect("decrypt");
    let flat: Vec<u64> = plain.iter().flatten().map(|p| p.to_u64().expect("small")).collect();
    assert_eq!(flat, values);

    // Trustee 3 multiplies one partial by δ and another by δ^(-1): the product is unchanged, the weighted
    // combination is not.
    let n2 = {
        let n = num_from_hex(&public().paillier().modulus_hex());
        Integer::from(n.square_ref())
    };
    let delta_factor = num_from_hex("1234567");
    let inverse = mod_inverse(&delta_factor, &n2);
    let bad = tamper(&good[2], |v| {
        for ((g, k), factor) in [((0usize, 3usize), &delta_factor), ((1, 30), &inverse)] {
            let x = num_from_hex(v["values"][g][k].as_str().expect("str"));
            v["values"][g][k] = Value::String(num_to_hex(&(x * factor % &n2)));
        }
    });
    let list = [good[0].clone(), good[1].clone(), bad, good[3].clone(), good[4].clone()];
    let out = decrypt(public(), &request, &list);
    assert_eq!(out.plaintexts.expect("the others suffice").iter().flatten().count(), 60);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].trustee, idx(3));
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Exactly(vec![(0, 3), (1, 30)])));
    // With only t-1 proven answers beside it, the wrong partials are still found (they do not combine).
    let out = decrypt(public(), &request, &[list[0].clone(), list[1].clone(), list[2].clone()]);
    assert!(out.plaintexts.is_err());
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::AtLeast(vec![(0, 3), (1, 30)])));
}

/// Partials computed apart (here: a product ciphertext's partial is the product of its factors' partials, as
/// chunks computed elsewhere would arrive) are proven with one proof that verifies and decrypts like
/// `partial_decrypt`'s; a wrong value, one out of range, or a shape unlike the request's is refused before any
/// answer exists.
#[test]
fn partials_computed_apart_are_proven_in_one_proof() {
    let n2 = {
        let n = num_from_hex(&public().paillier().modulus_hex());
        Integer::from(n.square_ref())
    };
    let factors = [encrypt(5), encrypt(11)];
    let context = ctx();
    let factor_answers = answers_for(&DecryptionRequest::single(&context, &factors));
    let product = public().paillier().add(&factors[0], &factors[1]);
    let cs = [factors[0].clone(), factors[1].clone(), product];
    let request = DecryptionRequest::single(&context, &cs);
    let values_of = |answer: &PartialDecryptions| -> Vec<Vec<Integer>> {
        let json = serde_json::to_value(answer).expect("json");
        let vs: Vec<Integer> = json["values"][0]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| num_from_hex(v.as_str().expect("hex")))
            .collect();
        vec![vec![vs[0].clone(), vs[1].clone(), Integer::from(&vs[0] * &vs[1]) % &n2]]
    };
    let mut rng = urna_crypto::os_rng();
    let proven: Vec<PartialDecryptions> = shares()
        .iter()
        .zip(&factor_answers)
        .map(|(s, a)| s.prove_partials(public(), &request, values_of(a), &mut rng).expect("proven"))
        .collect();
    for answer in &proven {
        verify_decryption(public(), &request, answer).expect("verifies");
    }
    let out = decrypt(public(), &request, &proven);
    let plain: Vec<u64> = out.plaintexts.expect("decrypts")[0].iter().map(|p| p.to_u64().expect("small")).collect();
    assert_eq!(plain, [5, 11, 16]);

    let share = &shares()[0];
    let mut wrong = values_of(&factor_answers[0]);
    wrong[0][2] = Integer::from(&wrong[0][2] * 3u32) % &n2;
    let err = share.prove_partials(public(), &request, wrong, &mut rng).expect_err("a wrong partial");
    assert!(err.to_string().contains("self-check"), "{err}");
    let mut unreduced = values_of(&factor_answers[0]);
    unreduced[0][1] += &n2;
    let err = share.prove_partials(public(), &request, unreduced, &mut rng).expect_err("out of range");
    assert!(err.to_string().contains("partial of tally/president/shard-0 ciphertext 1"), "{err}");
    let mut short = values_of(&factor_answers[0]);
    short[0].pop();
    let err = share.prove_partials(public(), &request, short, &mut rng).expect_err("wrong shape");
    assert!(err.to_string().contains("group sizes"), "{err}");
}

/// `Z*_{n²}` has elements of order two (−1 among them). The statement is about squares, so the per-partial
/// check judges a partial off by such a factor right (combining raises it to an even power, so it is
/// harmless); but the Fiat-Shamir seed hashes the exact values, so nobody but the trustee can flip one after
/// the proof was made.
#[test]
fn a_partial_off_by_an_element_of_order_two_is_bound_by_the_proof() {
    let cs = [encrypt(4242)];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let good = answers_for(&request);
    let n = num_from_hex(&public().paillier().modulus_hex());
    let n2 = Integer::from(n.square_ref());
    let negated = tamper(&good[0], |v| {
        let x = num_from_hex(v["values"][0][0].as_str().expect("str"));
        v["values"][0][0] = Value::String(num_to_hex(&(&n2 - x)));
    });
    let err = verify_decryption(public(), &request, &negated).expect_err("the proof binds the exact values");
    assert!(matches!(err, CryptoError::ProofRejected { .. }), "{err}");
    let out = decrypt(public(), &request, &[negated, good[1].clone(), good[2].clone(), good[3].clone()]);
    assert_eq!(single_plaintext(&out).expect("decrypt").to_u64(), Some(4242));
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Exactly(vec![])), "the square is right");
}

fn num_from_hex(s: &str) -> Integer {
    Integer::from_str_radix(s, 16).expect("hex")
}

/// Canonical hex: lowercase, even length.
fn num_to_hex(x: &Integer) -> String {
    let s = x.to_string_radix(16);
    if s.len() % 2 == 1 { format!("0{s}") } else { s }
}

fn mod_inverse(a: &Integer, m: &Integer) -> Integer {
    a.clone().invert(m).expect("invertible")
}

#[test]
fn invalid_group_elements_are_refused() {
    let cs = [encrypt(5)];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let good = answers_for(&request);
    let n = public().paillier().modulus_hex();
    for bad_value in ["00".to_owned(), n.clone()] {
        let bad = tamper(&good[0], |v| v["values"][0][0] = Value::String(bad_value.clone()));
        let err = verify_decryption(public(), &request, &bad).expect_err("refused").to_string();
        assert!(err.contains("trustee 1: partial of tally/president/shard-0 ciphertext 0"), "{err}");
    }
    // A ciphertext sharing a factor with n, or zero.
    for bad_c in [Ciphertext::from_hex("c", &n).expect("hex"), Ciphertext::from_hex("c", "00").expect("hex")] {
        let bad_cs = [encrypt(1), bad_c];
        let bad_request = DecryptionRequest::single(&context, &bad_cs);
        let err = shares()[0].partial_decrypt(public(), &bad_request, &mut urna_crypto::os_rng()).expect_err("refused");
        assert!(err.to_string().contains("ciphertext 1"), "{err}");
        assert!(verify_decryption(public(), &bad_request, &good[0]).is_err());
        assert!(decrypt(public(), &bad_request, &good).plaintexts.is_err());
    }
    // An oversized response is refused before any exponentiation.
    let huge = tamper(&good[0], |v| v["proof"]["response"] = Value::String(format!("01{}", "00".repeat(2000))));
    assert!(matches!(verify_decryption(public(), &request, &huge), Err(CryptoError::OutOfRange { .. })));
}

#[test]
fn homomorphic_sum_decrypts() {
    let values = [3u64, 1 << 20, 77, 0, 123_456_789];
    let cs: Vec<Ciphertext> = values.iter().map(|&m| encrypt(m)).collect();
    let total = public().paillier().add_all(&Ciphertext::identity(), &cs);
    // A sum, a scalar multiple and a zero total in one request.
    let tripled = public().paillier().scalar_mul(&cs[2], &Plaintext::from_u64(3));
    let batch = [total, tripled, Ciphertext::identity()];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &batch);
    let out = decrypt(public(), &request, &answers_for(&request)[2..]);
    let plain: Vec<_> = out.plaintexts.expect("decrypt")[0].iter().map(Plaintext::to_u64).collect();
    assert_eq!(plain, [Some(values.iter().sum()), Some(231), Some(0)]);
}

#[test]
fn large_plaintexts_decrypt() {
    // A plaintext close to n: n - 1.
    let n = hex::decode(public().paillier().modulus_hex()).expect("hex");
    let mut m = n.clone();
    if let Some(last) = m.last_mut() {
        *last -= 1; // n is odd, so this is n - 1
    }
    let m = Plaintext::from_be_bytes(&m);
    let (c, _) = public().paillier().encrypt(&m, &mut urna_crypto::os_rng()).expect("encrypt");
    let cs = [c];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let out = decrypt(public(), &request, &answers_for(&request));
    assert_eq!(single_plaintext(&out).expect("decrypt"), m);
}

#[test]
fn ceremony_parameters_are_checked() {
    let mut rng = urna_crypto::os_rng();
    for (t, l) in [(0, 5), (6, 5), (1, 0), (3, 33), (0, 0)] {
        let params = CeremonyParams {
            key_size: KeySize::InsecureTest512,
            trustees: l,
            threshold: t,
            election_id: String::new(),
        };
        assert!(matches!(ceremony(&params, &mut rng), Err(CryptoError::InvalidParameter(_))), "t={t} l={l}");
    }
    assert!(TrusteeIndex::new(0).is_err());
    assert!(TrusteeIndex::new(33).is_err());
}

#[test]
fn one_of_one_and_l_of_l_work() {
    let mut rng = urna_crypto::os_rng();
    for (t, l) in [(1, 1), (3, 3), (1, 3)] {
        let params =
            CeremonyParams { key_size: KeySize::InsecureTest512, trustees: l, threshold: t, election_id: "x".into() };
        let out = ceremony(&params, &mut rng).expect("ceremony");
        let (c, _) = out.public.paillier().encrypt(&Plaintext::from_u64(99), &mut rng).expect("encrypt");
        let cs = [c];
        let context = ctx();
        let request = DecryptionRequest::single(&context, &cs);
        let partials: Vec<_> =
            out.shares.iter().map(|s| s.partial_decrypt(&out.public, &request, &mut rng).expect("partial")).collect();
        let res = decrypt(&out.public, &request, &partials[(l - t) as usize..]);
        assert_eq!(res.plaintexts.expect("decrypt")[0][0].to_u64(), Some(99), "{t}-of-{l}");
    }
}

#[test]
fn public_key_and_transcript_round_trip_and_decode_strictly() {
    let json = public().to_json();
    let back = ThresholdPublicKey::from_json(&json).expect("decode");
    assert_eq!(&back, public());
    assert_eq!(back.fingerprint(), public().fingerprint());

    let base: Value = serde_json::from_str(&json).expect("json");
    let mutate = |edit: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        edit(&mut v);
        ThresholdPublicKey::from_json(&v.to_string()).expect_err("must be refused").to_string()
    };
    let err = mutate(&|v| v["version"] = Value::from(2));
    assert!(err.contains("version"), "{err}");
    let err = mutate(&|v| v["threshold"] = Value::from(6));
    assert!(err.contains("threshold"), "{err}");
    let err = mutate(&|v| v["threshold"] = Value::from(0));
    assert!(err.contains("threshold"), "{err}");
    let err = mutate(&|v| v["trustees"] = Value::from(4));
    assert!(err.contains("verification_keys"), "{err}");
    let err = mutate(&|v| v["v"] = Value::from("01"));
    assert!(err.contains("threshold_public_key.v"), "{err}");
    let err = mutate(&|v| v["v"] = Value::from("0x12"));
    assert!(err.contains("threshold_public_key.v"), "{err}");
    let err = mutate(&|v| v["verification_keys"][2] = Value::from("00"));
    assert!(err.contains("verification_keys[2]"), "{err}");
    let err = mutate(&|v| v["paillier"]["n"] = Value::from("0f"));
    assert!(err.contains("paillier.n"), "{err}");
    let err = mutate(&|v| v["extra"] = Value::from(1));
    assert!(err.contains("extra"), "{err}");
    let err = mutate(&|v| {
        if let Some(o) = v.as_object_mut() {
            o.remove("v");
        }
    });
    assert!(err.contains("`v`"), "{err}");

    let tjson = CEREMONY.transcript.to_json();
    let tback = CeremonyTranscript::from_json(&tjson).expect("decode");
    assert_eq!(tback, CEREMONY.transcript);
    tback.verify(public()).expect("verifies after round trip");
    // A transcript claiming another plaintext fails verification.
    let mut tv: Value = serde_json::from_str(&tjson).expect("json");
    tv["self_test"]["plaintext"] = Value::from("2a");
    let forged = CeremonyTranscript::from_json(&tv.to_string()).expect("decodes");
    assert!(forged.verify(public()).is_err());
    let mut tv: Value = serde_json::from_str(&tjson).expect("json");
    tv["public_key_fingerprint"] = Value::from("AB".repeat(32));
    let err = CeremonyTranscript::from_json(&tv.to_string()).expect_err("uppercase").to_string();
    assert!(err.contains("public_key_fingerprint"), "{err}");

    let pjson = partials_for(&encrypt(1), &ctx())[0].to_json();
    assert_eq!(PartialDecryptions::from_json(&pjson).expect("decode").to_json(), pjson);
    let mut pv: Value = serde_json::from_str(&pjson).expect("json");
    pv["proof"]["challenge"] = Value::from(format!("01{}", "00".repeat(32)));
    let err = PartialDecryptions::from_json(&pv.to_string()).expect_err("long challenge").to_string();
    assert!(err.contains("partial_decryptions.proof.challenge"), "{err}");
    let mut pv: Value = serde_json::from_str(&pjson).expect("json");
    pv["values"][0][0] = Value::from("0A");
    let err = PartialDecryptions::from_json(&pv.to_string()).expect_err("uppercase").to_string();
    assert!(err.contains("partial_decryptions.values[0][0]"), "{err}");
    let mut pv: Value = serde_json::from_str(&pjson).expect("json");
    pv["trustee"] = Value::from(0);
    assert!(PartialDecryptions::from_json(&pv.to_string()).is_err());

    let cjson = serde_json::to_string(&ctx()).expect("json");
    assert_eq!(DecryptionContext::from_json(&cjson).expect("decode"), ctx());
    let err = DecryptionContext::from_json(r#"{"election_id":"x","manifest_hash":"00","subject":"y"}"#)
        .expect_err("short hash")
        .to_string();
    assert!(err.contains("decryption_context"), "{err}");
}

/// A named edit of a JSON document.
type Edit = Box<dyn Fn(&mut Value)>;

fn test_pass(i: u32) -> Passphrase {
    Passphrase::new(format!("trustee-{i}")).expect("passphrase")
}

fn sealed(i: usize) -> ShareFile {
    ShareFile::seal(
        &shares()[i],
        public(),
        &test_pass(i as u32 + 1),
        KdfParams::INSECURE_TEST,
        &mut urna_crypto::os_rng(),
    )
    .expect("seal")
}

#[test]
fn share_files_round_trip() {
    let cs = [encrypt(2024)];
    let context = ctx();
    let request = DecryptionRequest::single(&context, &cs);
    let mut partials = Vec::new();
    for i in [0usize, 2, 4] {
        let json = sealed(i).to_json();
        let file = ShareFile::from_json(&json).expect("decode");
        assert_eq!(file.trustee(), idx(i as u32 + 1));
        assert_eq!(file.kdf(), KdfParams::INSECURE_TEST);
        let share = file.open(&test_pass(i as u32 + 1), public()).expect("open");
        assert_eq!(share.index(), idx(i as u32 + 1));
        partials.push(share.partial_decrypt(public(), &request, &mut urna_crypto::os_rng()).expect("partial"));
    }
    let out = decrypt(public(), &request, &partials);
    assert_eq!(single_plaintext(&out).expect("decrypt").to_u64(), Some(2024));
    // Sealing twice gives different salts and nonces.
    assert_ne!(sealed(0).to_json(), sealed(0).to_json());
    let text = sealed(0).to_json();
    assert!(!text.contains("trustee-1"), "passphrase leaked");
}

#[test]
fn share_files_reject_wrong_passphrase_wrong_key_and_tampering() {
    let file = sealed(1);
    let pass = test_pass(2);
    assert_eq!(file.open(&test_pass(3), public()).map(|_| ()), Err(CryptoError::ShareFileDecryption));
    assert_eq!(
        file.open(&Passphrase::new("trustee-2 ").expect("p"), public()).map(|_| ()),
        Err(CryptoError::ShareFileDecryption)
    );
    assert_eq!(file.open(&pass, &OTHER.public).map(|_| ()), Err(CryptoError::ShareFileDecryption));

    let base: Value = serde_json::from_str(&file.to_json()).expect("json");
    let hex_edit = |v: &mut Value, path: &[&str]| {
        let mut cur = &mut *v;
        for p in path {
            cur = &mut cur[*p];
        }
        let s = cur.as_str().expect("str").to_owned();
        *cur = Value::String(flip_hex_digit(&s));
    };
    let edits: Vec<(&str, Edit)> = vec![
        ("ciphertext", Box::new(move |v| hex_edit(v, &["ciphertext"]))),
        ("nonce", Box::new(move |v| hex_edit(v, &["aead", "nonce"]))),
        ("salt", Box::new(move |v| hex_edit(v, &["kdf", "salt"]))),
        ("fingerprint", Box::new(move |v| hex_edit(v, &["public_key_fingerprint"]))),
        ("trustee", Box::new(|v| v["trustee"] = Value::from(3))),
        ("memory", Box::new(|v| v["kdf"]["memory_kib"] = Value::from(512))),
        ("iterations", Box::new(|v| v["kdf"]["iterations"] = Value::from(2))),
        (
            "truncated ciphertext",
            Box::new(|v| {
                let s = v["ciphertext"].as_str().expect("str").to_owned();
                v["ciphertext"] = Value::String(s[..s.len() - 2].to_owned());
            }),
        ),
    ];
    for (what, edit) in edits {
        let mut v = base.clone();
        edit(&mut v);
        let tampered = ShareFile::from_json(&v.to_string()).expect(what);
        assert_eq!(tampered.open(&pass, public()).map(|_| ()), Err(CryptoError::ShareFileDecryption), "{what}");
    }
    // Every single-byte change of the ciphertext is caught.
    let ct = base["ciphertext"].as_str().expect("str").to_owned();
    for pos in (0..ct.len()).step_by(37) {
        let mut bytes = ct.clone().into_bytes();
        bytes[pos] = if bytes[pos] == b'0' { b'f' } else { b'0' };
        let mut v = base.clone();
        v["ciphertext"] = Value::String(String::from_utf8(bytes).expect("utf8"));
        let tampered = ShareFile::from_json(&v.to_string()).expect("decode");
        assert_eq!(tampered.open(&pass, public()).map(|_| ()), Err(CryptoError::ShareFileDecryption), "byte {pos}");
    }
    assert!(file.open(&pass, public()).is_ok());
}

#[test]
fn share_file_decoder_names_fields() {
    let base: Value = serde_json::from_str(&sealed(0).to_json()).expect("json");
    let cases: Vec<(&str, Edit)> = vec![
        ("share_file.version", Box::new(|v| v["version"] = Value::from(2))),
        ("share_file.kdf.salt", Box::new(|v| v["kdf"]["salt"] = Value::from("abcd"))),
        ("share_file.kdf.salt", Box::new(|v| v["kdf"]["salt"] = Value::from("zz"))),
        ("share_file.aead.nonce", Box::new(|v| v["aead"]["nonce"] = Value::from("00"))),
        ("share_file.kdf.algorithm", Box::new(|v| v["kdf"]["algorithm"] = Value::from("scrypt"))),
        ("share_file.kdf.version", Box::new(|v| v["kdf"]["version"] = Value::from(16))),
        ("share_file.kdf.memory_kib", Box::new(|v| v["kdf"]["memory_kib"] = Value::from(4))),
        ("share_file.kdf.memory_kib", Box::new(|v| v["kdf"]["memory_kib"] = Value::from(u32::MAX))),
        ("share_file.kdf.iterations", Box::new(|v| v["kdf"]["iterations"] = Value::from(0))),
        ("share_file.kdf.parallelism", Box::new(|v| v["kdf"]["parallelism"] = Value::from(0))),
        ("share_file.aead.algorithm", Box::new(|v| v["aead"]["algorithm"] = Value::from("aes-gcm"))),
        ("share_file.public_key_fingerprint", Box::new(|v| v["public_key_fingerprint"] = Value::from("00"))),
        ("share_file.ciphertext", Box::new(|v| v["ciphertext"] = Value::from("00"))),
        ("share_file.ciphertext", Box::new(|v| v["ciphertext"] = Value::from("ab".repeat(5000)))),
        ("trustee", Box::new(|v| v["trustee"] = Value::from(0))),
        (
            "nonce",
            Box::new(|v| {
                if let Some(o) = v["aead"].as_object_mut() {
                    o.remove("nonce");
                }
            }),
        ),
        ("extra", Box::new(|v| v["extra"] = Value::from(true))),
    ];
    for (field, edit) in cases {
        let mut v = base.clone();
        edit(&mut v);
        let err = ShareFile::from_json(&v.to_string()).expect_err(field).to_string();
        assert!(err.contains(field), "expected {field} in {err}");
    }
}

#[test]
fn generated_passphrases_are_diceware_like() {
    let mut rng = urna_crypto::os_rng();
    let a = Passphrase::generate(&mut rng);
    let b = Passphrase::generate(&mut rng);
    assert_ne!(a.expose(), b.expose());
    let words: Vec<&str> = a.expose().split('-').collect();
    assert_eq!(words.len(), 8, "{}", a.expose());
    assert!(words.iter().all(|w| w.len() == 6 && w.bytes().all(|c| c.is_ascii_lowercase())));
    assert_eq!(format!("{a:?}"), "Passphrase(<redacted>)");
    assert!(Passphrase::new("").is_err());
}

/// Valid encodings, to mutate.
static SAMPLES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let c = encrypt(9);
    vec![
        public().to_json(),
        partials_for(&c, &ctx())[0].to_json(),
        sealed(0).to_json(),
        CEREMONY.transcript.to_json(),
        serde_json::to_string(&ctx()).expect("json"),
    ]
});

fn decode_everything(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = ThresholdPublicKey::from_json(text);
    let _ = CeremonyTranscript::from_json(text);
    let _ = DecryptionContext::from_json(text);
    let _ = serde_json::from_str::<TrusteeIndex>(text);
    if let Ok(p) = PartialDecryptions::from_json(text) {
        let cs = [encrypt(9)];
        let context = ctx();
        let request = DecryptionRequest::single(&context, &cs);
        let _ = verify_decryption(public(), &request, &p);
        let _ = decrypt(public(), &request, &[p]);
    }
    if let Ok(f) = ShareFile::from_json(text) {
        let _ = f.open(&test_pass(1), public());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_mutated_encodings(which in 0usize..5, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = SAMPLES[which].clone().into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        decode_everything(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_json_shaped_noise(
        t in any::<u32>(), l in any::<u32>(), trustee in any::<u32>(), s in "[0-9a-f]{0,40}", v in any::<u64>()
    ) {
        let docs = [
            format!(r#"{{"version":1,"paillier":{{"n":"{s}"}},"threshold":{t},"trustees":{l},"v":"{s}","verification_keys":["{s}"]}}"#),
            format!(r#"{{"trustee":{trustee},"values":[["{s}"],[]],"proof":{{"challenge":"{s}","response":"{s}"}}}}"#),
            format!(r#"{{"version":1,"trustee":{trustee},"public_key_fingerprint":"{s}","kdf":{{"algorithm":"argon2id","version":19,"memory_kib":{t},"iterations":{l},"parallelism":{v},"salt":"{s}"}},"aead":{{"algorithm":"xchacha20poly1305","nonce":"{s}"}},"ciphertext":"{s}"}}"#),
        ];
        for d in docs {
            decode_everything(d.as_bytes());
        }
    }
}
