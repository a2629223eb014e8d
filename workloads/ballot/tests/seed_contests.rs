//! The seed's two hard contests, end to end at a small key: numbering, chunking, proofs, tally and decoding.

mod common;

use common::{KEYS, codec};
use urna_ballot::choices::choices;
use urna_ballot::layout::ContestLayout;
use urna_ballot::{BallotCodec, EncryptedBallot, Selection};
use urna_crypto::paillier::{Ciphertext, Plaintext, RandomnessPool};

fn cast(codec: &BallotCodec, style: &str, selections: &[(&str, &[&str], Option<&str>)]) -> EncryptedBallot {
    let sels: Vec<(&str, Selection)> = selections
        .iter()
        .map(|(contest, ids, name)| {
            let c = codec.contest(contest).expect("contest");
            (*contest, Selection::from_ids(&c.contest, ids, name.map(str::to_owned)).expect("selection"))
        })
        .collect();
    let pool = RandomnessPool::new(codec.public_key().clone());
    codec.encrypt_ballot(style, &sels, &pool, &mut urna_crypto::os_rng()).expect("encrypt")
}

/// Folds the ballots' ciphertexts of `contest` position by position and decrypts the totals.
fn tally(codec: &BallotCodec, ballots: &[EncryptedBallot], contest: &str) -> Vec<Plaintext> {
    let positions = codec.contest(contest).expect("contest").layout.positions();
    (0..positions)
        .map(|i| {
            let cts: Vec<&Ciphertext> = ballots
                .iter()
                .filter_map(|b| b.contests.iter().find(|c| c.contest_id == contest))
                .map(|c| &c.ciphertexts[i])
                .collect();
            let total = codec.public_key().add_all(&Ciphertext::identity(), cts);
            KEYS.1.decrypt(&total).expect("decrypt")
        })
        .collect()
}

#[test]
fn mexico_president_numbering_is_the_documented_one() {
    let all = choices(&urna_ballot::testkit::mexico_president());
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "pan",
            "pri",
            "prd",
            "pvem",
            "pt",
            "morena",
            "mc",
            "pan+pri",
            "pan+prd",
            "pri+prd",
            "pan+pri+prd",
            "pvem+pt",
            "pvem+morena",
            "pt+morena",
            "pvem+pt+morena",
            "write-in",
            "null"
        ]
    );
}

#[test]
fn mexico_president_counts_every_valid_combination() {
    let codec = codec();
    let cc = codec.contest("president").expect("contest");
    assert!(!cc.layout.is_chunked(), "17 choices fit one plaintext");
    // One ballot per choice, plus two more for MORENA; coalition subsets named in any order.
    let mut picks: Vec<String> = cc.choices.iter().map(|c| c.id.clone()).collect();
    picks.push("morena".into());
    picks.push("morena+pt".into());
    let ballots: Vec<EncryptedBallot> = picks
        .iter()
        .map(|id| {
            let name = (id == "write-in").then_some("Ana");
            cast(&codec, "jalisco", &[("president", &[id.as_str()], name), ("board", &["o1"], None)])
        })
        .collect();
    for b in &ballots {
        codec.verify_ballot(b, &mut urna_crypto::os_rng()).expect("valid ballot");
    }
    let result =
        codec.decode_totals("president", &tally(&codec, &ballots, "president"), ballots.len() as u64).expect("decode");
    for count in &result.counts {
        let expected = match count.choice.as_str() {
            "morena" => 2,
            "pt+morena" => 2,
            _ => 1,
        };
        assert_eq!(count.votes, expected, "{}", count.choice);
    }
    // The write-in name decrypts from the one ballot that chose it; the others carry zero.
    let names: Vec<Option<String>> = ballots
        .iter()
        .map(|b| {
            let w = b.contests[0].write_in.as_ref().expect("write-in ciphertext on every ballot");
            urna_ballot::write_in_name(&KEYS.1.decrypt(&w.ciphertext).expect("decrypt")).expect("name")
        })
        .collect();
    assert_eq!(names.iter().flatten().collect::<Vec<_>>(), ["Ana"]);
}

#[test]
fn mexico_president_refuses_cross_coalition_and_double_marks() {
    let c = urna_ballot::testkit::mexico_president();
    for bad in [&["pan+morena"][..], &["pan", "pri"], &[], &["pan+pan"], &["write-in"]] {
        assert!(Selection::from_ids(&c, bad, None).is_err(), "{bad:?} accepted");
    }
    assert!(Selection::from_ids(&c, &["pan"], Some("Ana".into())).is_err(), "a name without write-in");
}

#[test]
fn chiapas_governor_chunks_and_still_proves_exactly_one_choice() {
    let codec = codec();
    let cc = codec.contest("governor").expect("contest");
    assert_eq!(cc.choices.len(), 13 + 502 + 4 + 2);
    let ContestLayout::SingleChoice { chunks, .. } = &cc.layout else { panic!("single choice") };
    assert!(chunks.len() > 1, "521 choices do not fit one plaintext");
    assert_eq!(chunks.iter().map(|c| c.len).sum::<usize>(), 521);

    let picks = ["p3", "p1+p2+p9", "p10+p12", "null", "p1+p2+p3+p4+p5+p6+p7+p8+p9", "p3"];
    let ballots: Vec<EncryptedBallot> = picks
        .iter()
        .map(|p| {
            cast(
                &codec,
                "chiapas",
                &[("president", &["mc"], None), ("governor", &[p], None), ("board", &["o2", "o3"], None)],
            )
        })
        .collect();
    for b in &ballots {
        codec.verify_ballot(b, &mut urna_crypto::os_rng()).expect("valid ballot");
    }
    let result = codec.decode_totals("governor", &tally(&codec, &ballots, "governor"), 6).expect("decode");
    let votes = |id: &str| result.counts.iter().find(|c| c.choice == id).map(|c| c.votes);
    assert_eq!(votes("p3"), Some(2));
    assert_eq!(votes("p1+p2+p9"), Some(1));
    assert_eq!(votes("p10+p12"), Some(1));
    assert_eq!(votes("null"), Some(1));
    assert_eq!(votes("p1+p2+p3+p4+p5+p6+p7+p8+p9"), Some(1));
    assert_eq!(result.counts.iter().map(|c| c.votes).sum::<u64>(), 6);

    // Splicing two honest ballots that chose in different chunks marks two chunks "used": the used-total
    // proof no longer matches, so the spliced ballot is rejected.
    let (a, b) = (&ballots[0], &ballots[2]);
    let chunk_of = |ballot: &EncryptedBallot| {
        ballot.contests[1].used.iter().position(|u| KEYS.1.decrypt(u).ok() == Some(Plaintext::from_u64(1)))
    };
    let (ca, cb) = (chunk_of(a).expect("a used"), chunk_of(b).expect("b used"));
    assert_ne!(ca, cb);
    let mut spliced = a.clone();
    let gov = &mut spliced.contests[1];
    gov.ciphertexts[cb] = b.contests[1].ciphertexts[cb].clone();
    gov.used[cb] = b.contests[1].used[cb].clone();
    gov.proofs[cb] = b.contests[1].proofs[cb].clone();
    assert!(codec.verify_ballot(&spliced, &mut urna_crypto::os_rng()).is_err());
}

#[test]
fn multi_choice_counts_and_bounds() {
    let codec = codec();
    let ballots: Vec<EncryptedBallot> = [&["o0"][..], &["o0", "o5"], &["o1", "o2", "o5"]]
        .iter()
        .map(|ids| cast(&codec, "jalisco", &[("president", &["pan"], None), ("board", ids, None)]))
        .collect();
    let result = codec.decode_totals("board", &tally(&codec, &ballots, "board"), 3).expect("decode");
    let votes: Vec<u64> = result.counts.iter().map(|c| c.votes).collect();
    assert_eq!(votes, [2, 1, 1, 0, 0, 2]);
    let board = urna_ballot::testkit::board();
    assert!(Selection::from_ids(&board, &[], None).is_err(), "below minSelections");
    assert!(Selection::from_ids(&board, &["o0", "o1", "o2", "o3"], None).is_err(), "above maxSelections");
    assert!(Selection::from_ids(&board, &["o0", "o0"], None).is_err(), "marked twice");
}
