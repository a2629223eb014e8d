//! End to end at the production size (|n| = 3072): ballots encrypted and proven under the committed ceremony
//! fixture's key, verified, folded, decrypted by 3 of the 5 trustees with proofs, and decoded.

mod common;

use urna_ballot::{BallotCodec, Selection};
use urna_crypto::paillier::{Ciphertext, RandomnessPool};
use urna_crypto::threshold::{
    DecryptionContext, DecryptionRequest, Passphrase, ShareFile, ThresholdPublicKey, decrypt,
};

fn fixture(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crypto/tests/fixtures/ceremony-3072");
    std::fs::read_to_string(dir.join(name)).expect(name)
}

#[test]
fn mexico_president_and_board_at_3072_bits_with_threshold_decryption() {
    let public = ThresholdPublicKey::from_json(&fixture("public.json")).expect("public key");
    assert_eq!(public.paillier().modulus_bits(), 3072);
    let mut manifest = common::manifest();
    manifest.contests.retain(|c| c.id != "governor");
    let codec = BallotCodec::new(manifest, public.paillier().clone()).expect("codec");
    let pool = RandomnessPool::new(codec.public_key().clone());
    pool.fill(64);
    let mut rng = urna_crypto::os_rng();

    let picks = [("pan+pri", &["o0", "o2"][..]), ("morena", &["o2"]), ("morena", &["o1", "o2", "o5"])];
    let ballots: Vec<_> = picks
        .iter()
        .map(|(president, board)| {
            let sels = vec![
                (
                    "president",
                    Selection::from_ids(&urna_ballot::testkit::mexico_president(), &[president], None)
                        .expect("selection"),
                ),
                ("board", Selection::from_ids(&urna_ballot::testkit::board(), board, None).expect("selection")),
            ];
            codec.encrypt_ballot("jalisco", &sels, &pool, &mut rng).expect("encrypt")
        })
        .collect();
    for b in &ballots {
        codec.verify_ballot(b, &mut rng).expect("valid ballot");
    }

    let shares: Vec<_> = [1u32, 3, 4]
        .iter()
        .map(|i| {
            let file = ShareFile::from_json(&fixture(&format!("trustee-{i}.share.json"))).expect("share file");
            file.open(&Passphrase::new(format!("trustee-{i}")).expect("passphrase"), &public).expect("open")
        })
        .collect();
    let decode = |index: usize, contest: &str| {
        let positions = ballots[0].contests[index].ciphertexts.len();
        let totals: Vec<Ciphertext> = (0..positions)
            .map(|p| {
                codec
                    .public_key()
                    .add_all(&Ciphertext::identity(), ballots.iter().map(|b| &b.contests[index].ciphertexts[p]))
            })
            .collect();
        let context = DecryptionContext::new("mx-2024", codec.manifest_hash(), format!("tally/{contest}"));
        let request = DecryptionRequest::single(&context, &totals);
        let answers: Vec<_> = shares
            .iter()
            .map(|s| s.partial_decrypt(&public, &request, &mut urna_crypto::os_rng()).expect("partial"))
            .collect();
        let mut plaintexts = decrypt(&public, &request, &answers).plaintexts.expect("threshold decryption");
        codec.decode_totals(contest, &plaintexts.remove(0), ballots.len() as u64).expect("decode")
    };
    let president = decode(0, "president");
    let votes = |id: &str| president.counts.iter().find(|c| c.choice == id).map(|c| c.votes);
    assert_eq!((votes("pan+pri"), votes("morena"), votes("pan")), (Some(1), Some(2), Some(0)));
    let board: Vec<u64> = decode(1, "board").counts.iter().map(|c| c.votes).collect();
    assert_eq!(board, [1, 1, 3, 0, 0, 1]);
}
