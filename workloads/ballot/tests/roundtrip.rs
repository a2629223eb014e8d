//! Random ballots encrypt, fold and decode back to exactly the counts that were cast.

mod common;

use common::{KEYS, codec};
use proptest::prelude::*;
use urna_ballot::Selection;
use urna_crypto::paillier::{Ciphertext, RandomnessPool};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn random_ballots_decode_to_their_counts(
        picks in prop::collection::vec((0usize..17, prop::collection::btree_set(0usize..6, 1..=3)), 1..5)
    ) {
        let codec = codec();
        let pool = RandomnessPool::new(codec.public_key().clone());
        let mut rng = urna_crypto::os_rng();
        let mut expected_president = vec![0u64; 17];
        let mut expected_board = vec![0u64; 6];
        let mut ballots = Vec::new();
        for (choice, options) in &picks {
            let write_in = (*choice == 15).then(|| "Ana".to_owned());
            expected_president[*choice] += 1;
            for o in options {
                expected_board[*o] += 1;
            }
            let sels = vec![
                ("president", Selection::Single { choice: *choice, write_in }),
                ("board", Selection::Multi { options: options.iter().copied().collect() }),
            ];
            let b = codec.encrypt_ballot("jalisco", &sels, &pool, &mut rng).expect("encrypt");
            codec.verify_ballot(&b, &mut rng).expect("valid");
            ballots.push(b);
        }
        for (contest_index, contest, expected) in [(0, "president", &expected_president), (1, "board", &expected_board)] {
            let positions = ballots[0].contests[contest_index].ciphertexts.len();
            let totals: Vec<_> = (0..positions)
                .map(|i| {
                    let total = codec.public_key().add_all(
                        &Ciphertext::identity(),
                        ballots.iter().map(|b| &b.contests[contest_index].ciphertexts[i]),
                    );
                    KEYS.1.decrypt(&total).expect("decrypt")
                })
                .collect();
            let result = codec.decode_totals(contest, &totals, ballots.len() as u64).expect("decode");
            let got: Vec<u64> = result.counts.iter().map(|c| c.votes).collect();
            prop_assert_eq!(&got, expected);
        }
    }
}
