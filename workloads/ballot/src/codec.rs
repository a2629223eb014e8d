//! [`BallotCodec`]: one election's manifest and public key, prepared once, to encrypt and prove ballots, verify
//! them (one by one or in batches) and decode decrypted totals.

use rand_core::CryptoRng;
use urna_crypto::paillier::{Ciphertext, Nonce, Plaintext, PublicKey, RandomnessPool};
use urna_crypto::proofs::{BatchVerifier, KnowledgeProof, MembershipProof, MembershipStatement, MembershipWitness};
use urna_crypto::transcript::ProofContext;

use crate::choices::{self, Choice};
use crate::encrypted::{EncryptedBallot, EncryptedContest, EncryptedWriteIn};
use crate::error::{BallotError, Result};
use crate::layout::ContestLayout;
use crate::manifest::{Contest, ElectionManifest};
use crate::selection::Selection;
use crate::statements::{self, StatementShape, WRITE_IN_LABEL};
use crate::{contests_for_district, manifest_hash, validate_manifest};

/// A contest prepared for encryption and verification.
pub struct ContestCodec {
    pub contest: Contest,
    pub choices: Vec<Choice>,
    pub layout: ContestLayout,
    shapes: Vec<StatementShape>,
}

pub struct BallotCodec {
    pk: PublicKey,
    manifest: ElectionManifest,
    manifest_hash: [u8; 32],
    contests: Vec<ContestCodec>,
}

impl BallotCodec {
    /// Validates the manifest and prepares every contest's layout and statements for `pk`.
    pub fn new(manifest: ElectionManifest, pk: PublicKey) -> Result<Self> {
        validate_manifest(&manifest)?;
        let contests = manifest
            .contests
            .iter()
            .map(|contest| {
                let choices = choices::choices(contest);
                let layout = ContestLayout::new(contest, choices.len(), &pk, manifest.slot_bits)?;
                let shapes = statements::shapes(&layout, manifest.slot_bits)?;
                Ok(ContestCodec { contest: contest.clone(), choices, layout, shapes })
            })
            .collect::<Result<_>>()?;
        Ok(Self { manifest_hash: manifest_hash(&manifest), pk, manifest, contests })
    }

    pub fn manifest(&self) -> &ElectionManifest {
        &self.manifest
    }

    pub fn manifest_hash(&self) -> [u8; 32] {
        self.manifest_hash
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    pub fn contest(&self, id: &str) -> Result<&ContestCodec> {
        self.contests.iter().find(|c| c.contest.id == id).ok_or_else(|| BallotError::InvalidBallot {
            contest: id.to_owned(),
            reason: "no such contest in the manifest".into(),
        })
    }

    /// The contests of `ballot_style` (a district id), in manifest order.
    pub fn style_contests(&self, ballot_style: &str) -> Result<Vec<&ContestCodec>> {
        if !self.manifest.districts.iter().any(|d| d.id == ballot_style) {
            return Err(BallotError::InvalidBallot {
                contest: "*".into(),
                reason: format!("unknown ballot style (district) {ballot_style:?}"),
            });
        }
        let ids: Vec<&str> =
            contests_for_district(&self.manifest, ballot_style).iter().map(|c| c.id.as_str()).collect();
        Ok(self.contests.iter().filter(|c| ids.contains(&c.contest.id.as_str())).collect())
    }

    fn context(&self, ballot_style: &str, contest_id: &str, label: &str) -> ProofContext {
        ProofContext {
            election_id: self.manifest.election_id.clone(),
            manifest_hash: self.manifest_hash,
            contest_id: format!("{contest_id}/{label}"),
            ballot_style: ballot_style.to_owned(),
        }
    }

    /// Encrypts and proves a whole ballot: `selections` names a selection for every contest of the style.
    pub fn encrypt_ballot<R: CryptoRng + ?Sized>(
        &self,
        ballot_style: &str,
        selections: &[(&str, Selection)],
        pool: &RandomnessPool,
        rng: &mut R,
    ) -> Result<EncryptedBallot> {
        let style = self.style_contests(ballot_style)?;
        if let Some((id, _)) = selections.iter().find(|(id, _)| !style.iter().any(|c| c.contest.id == *id)) {
            return Err(BallotError::InvalidSelection {
                contest: (*id).to_owned(),
                reason: format!("not on the ballot of {ballot_style:?}"),
            });
        }
        let contests = style
            .iter()
            .map(|cc| {
                let mut chosen = selections.iter().filter(|(id, _)| *id == cc.contest.id);
                match (chosen.next(), chosen.next()) {
                    (Some((_, sel)), None) => self.encrypt_contest(ballot_style, cc, sel, pool, rng),
                    (None, _) => Err(BallotError::InvalidSelection {
                        contest: cc.contest.id.clone(),
                        reason: "no selection given".into(),
                    }),
                    (Some(_), Some(_)) => Err(BallotError::InvalidSelection {
                        contest: cc.contest.id.clone(),
                        reason: "selected twice".into(),
                    }),
                }
            })
            .collect::<Result<_>>()?;
        Ok(EncryptedBallot {
            election_id: self.manifest.election_id.clone(),
            manifest_hash: self.manifest_hash,
            ballot_style: ballot_style.to_owned(),
            contests,
        })
    }

    fn encrypt_contest<R: CryptoRng + ?Sized>(
        &self,
        ballot_style: &str,
        cc: &ContestCodec,
        selection: &Selection,
        pool: &RandomnessPool,
        rng: &mut R,
    ) -> Result<EncryptedContest> {
        selection.validate(&cc.contest)?;
        let plan = EncodingPlan::new(cc, selection, self.manifest.slot_bits)?;
        let mut encrypt = |m: &Plaintext| -> Result<(Ciphertext, Nonce)> {
            let nonce = pool.take(rng);
            let c = self.pk.encrypt_with(m, &nonce)?;
            Ok((c, nonce.into_nonce()))
        };
        let (ciphertexts, nonces): (Vec<_>, Vec<_>) =
            plan.values.iter().map(&mut encrypt).collect::<Result<Vec<_>>>()?.into_iter().unzip();
        let (used, used_nonces): (Vec<_>, Vec<_>) =
            plan.used.iter().map(&mut encrypt).collect::<Result<Vec<_>>>()?.into_iter().unzip();
        let mut enc = EncryptedContest {
            contest_id: cc.contest.id.clone(),
            ciphertexts,
            used,
            proofs: Vec::new(),
            write_in: None,
        };

        // Component nonces of each statement, in the order of `ciphertext_tuples`.
        let mut tuple_nonces: Vec<Vec<Nonce>> = Vec::new();
        match &cc.layout {
            ContestLayout::SingleChoice { .. } if !cc.layout.is_chunked() => tuple_nonces.push(nonces),
            ContestLayout::SingleChoice { .. } => {
                for (r, u) in nonces.iter().zip(&used_nonces) {
                    tuple_nonces.push(vec![r.clone(), u.clone()]);
                }
                tuple_nonces.push(vec![Nonce::product(&self.pk, &used_nonces)]);
            }
            ContestLayout::MultiChoice { .. } => {
                tuple_nonces.extend(nonces.iter().map(|r| vec![r.clone()]));
                tuple_nonces.push(vec![Nonce::product(&self.pk, &nonces)]);
            }
        }
        let tuples = statements::ciphertext_tuples(&self.pk, &cc.layout, &enc)?;
        for (((shape, cts), rs), index) in cc.shapes.iter().zip(&tuples).zip(&tuple_nonces).zip(&plan.witness_indices) {
            let ctx = self.context(ballot_style, &cc.contest.id, &shape.label);
            enc.proofs.push(MembershipProof::prove(
                &self.pk,
                &ctx,
                MembershipStatement { ciphertexts: cts, allowed: &shape.allowed },
                MembershipWitness { index: *index, nonces: rs },
                pool,
                rng,
            )?);
        }

        if cc.contest.write_in {
            let name = match selection {
                Selection::Single { write_in: Some(name), .. } => write_in_plaintext(name),
                _ => Plaintext::zero(),
            };
            let nonce = pool.take(rng);
            let ciphertext = self.pk.encrypt_with(&name, &nonce)?;
            let ctx = self.context(ballot_style, &cc.contest.id, WRITE_IN_LABEL);
            let proof = KnowledgeProof::prove(&self.pk, &ctx, &ciphertext, &name, &nonce.into_nonce(), pool, rng)?;
            enc.write_in = Some(EncryptedWriteIn { ciphertext, proof });
        }
        Ok(enc)
    }

    /// Verifies a whole ballot: it belongs to this election, carries exactly its style's contests in order,
    /// and every proof holds (checked as one batch).
    pub fn verify_ballot<R: CryptoRng + ?Sized>(&self, ballot: &EncryptedBallot, rng: &mut R) -> Result<()> {
        self.verify_ballots(&[ballot], rng).into_iter().next().unwrap_or(Ok(()))
    }

    /// Verifies many ballots with every proof of all of them in one batch; one result per ballot, the error
    /// naming the ballot's first failing contest. A bad proof is isolated by the batch verifier's bisection,
    /// so it fails its own ballot and no other. This is what the vote service runs on each micro-batch of
    /// concurrent submissions.
    pub fn verify_ballots<R: CryptoRng + ?Sized>(&self, ballots: &[&EncryptedBallot], rng: &mut R) -> Vec<Result<()>> {
        let mut results: Vec<Result<()>> = ballots.iter().map(|b| self.check_ballot_shape(b)).collect();
        let mut items: Vec<(&str, &EncryptedContest)> = Vec::new();
        let mut owner = Vec::new();
        for (i, ballot) in ballots.iter().enumerate() {
            if results[i].is_ok() {
                for c in &ballot.contests {
                    items.push((ballot.ballot_style.as_str(), c));
                    owner.push(i);
                }
            }
        }
        if items.is_empty() {
            return results;
        }
        for (r, i) in self.verify_contests(&items, rng).into_iter().zip(owner) {
            if let (Err(e), Ok(())) = (r, &results[i]) {
                results[i] = Err(e);
            }
        }
        results
    }

    /// Everything [`Self::verify_ballot`] checks but the proofs: this election and manifest, and exactly its
    /// style's contests in order. A verifier of many ballots checks this per ballot and the proofs in one batch.
    pub fn check_ballot_shape(&self, ballot: &EncryptedBallot) -> Result<()> {
        if ballot.election_id != self.manifest.election_id || ballot.manifest_hash != self.manifest_hash {
            return Err(BallotError::InvalidBallot {
                contest: "*".into(),
                reason: "ballot belongs to another election or manifest".into(),
            });
        }
        let style = self.style_contests(&ballot.ballot_style)?;
        let expected: Vec<&str> = style.iter().map(|c| c.contest.id.as_str()).collect();
        let got: Vec<&str> = ballot.contests.iter().map(|c| c.contest_id.as_str()).collect();
        if expected != got {
            return Err(BallotError::InvalidBallot {
                contest: "*".into(),
                reason: format!(
                    "ballot of style {:?} must carry contests {expected:?}, carries {got:?}",
                    ballot.ballot_style
                ),
            });
        }
        Ok(())
    }

    /// Verifies many encrypted contests (of any ballots and styles) as one batch; one result per item. This is
    /// what a tally shard runs on each batch it receives.
    pub fn verify_contests<R: CryptoRng + ?Sized>(
        &self,
        items: &[(&str, &EncryptedContest)],
        rng: &mut R,
    ) -> Vec<Result<()>> {
        struct Prepared<'a> {
            cc: &'a ContestCodec,
            contexts: Vec<ProofContext>,
            write_in_context: ProofContext,
            tuples: Vec<Vec<Ciphertext>>,
        }
        let prepared: Vec<Result<Prepared<'_>>> = items
            .iter()
            .map(|(style, enc)| {
                let cc = self.contest(&enc.contest_id)?;
                if !self.style_contests(style)?.iter().any(|c| c.contest.id == enc.contest_id) {
                    return Err(BallotError::InvalidBallot {
                        contest: enc.contest_id.clone(),
                        reason: format!("not on the ballot of {style:?}"),
                    });
                }
                if enc.proofs.len() != cc.shapes.len() {
                    return Err(BallotError::InvalidBallot {
                        contest: enc.contest_id.clone(),
                        reason: format!("{} proofs, the layout needs {}", enc.proofs.len(), cc.shapes.len()),
                    });
                }
                if enc.write_in.is_some() != cc.contest.write_in {
                    return Err(BallotError::InvalidBallot {
                        contest: enc.contest_id.clone(),
                        reason: "write-in ciphertext present exactly when the contest offers a write-in".into(),
                    });
                }
                let tuples = statements::ciphertext_tuples(&self.pk, &cc.layout, enc)?;
                let contexts = cc.shapes.iter().map(|s| self.context(style, &cc.contest.id, &s.label)).collect();
                let write_in_context = self.context(style, &cc.contest.id, WRITE_IN_LABEL);
                Ok(Prepared { cc, contexts, write_in_context, tuples })
            })
            .collect();

        let mut batch = BatchVerifier::new(&self.pk);
        let mut owner = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            let Ok(p) = p else { continue };
            let enc = items[i].1;
            for ((shape, ctx), (cts, proof)) in
                p.cc.shapes.iter().zip(&p.contexts).zip(p.tuples.iter().zip(&enc.proofs))
            {
                batch.push_membership(ctx, MembershipStatement { ciphertexts: cts, allowed: &shape.allowed }, proof);
                owner.push(i);
            }
            if let Some(w) = &enc.write_in {
                batch.push_knowledge(&p.write_in_context, &w.ciphertext, &w.proof);
                owner.push(i);
            }
        }
        let verdicts = batch.verify(rng);
        drop(batch);
        let mut results: Vec<Result<()>> = prepared.into_iter().map(|p| p.map(|_| ())).collect();
        for (r, i) in verdicts.into_iter().zip(owner) {
            if let (Err(e), Ok(())) = (r, &results[i]) {
                results[i] =
                    Err(BallotError::InvalidBallot { contest: items[i].1.contest_id.clone(), reason: e.to_string() });
            }
        }
        results
    }
}

/// A write-in name as a plaintext: `0x01 || UTF-8`, so that the empty plaintext 0 means "no write-in".
pub fn write_in_plaintext(name: &str) -> Plaintext {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(name.as_bytes());
    Plaintext::from_be_bytes(&bytes)
}

/// The inverse of [`write_in_plaintext`]: `None` for 0 (no write-in), an error for anything not of that form.
pub fn write_in_name(m: &Plaintext) -> Result<Option<String>> {
    let bytes = m.to_be_bytes();
    match bytes.split_first() {
        None => Ok(None),
        Some((1, name)) => String::from_utf8(name.to_vec()).map(Some).map_err(|_| BallotError::InvalidTally {
            contest: "write-in".into(),
            reason: "write-in name is not UTF-8".into(),
        }),
        Some(_) => {
            Err(BallotError::InvalidTally { contest: "write-in".into(), reason: "malformed write-in plaintext".into() })
        }
    }
}

/// What to encrypt for one selection: per-position values, "used" bits, and each statement's true branch.
pub(crate) struct EncodingPlan {
    pub(crate) values: Vec<Plaintext>,
    pub(crate) used: Vec<Plaintext>,
    witness_indices: Vec<usize>,
}

impl EncodingPlan {
    pub(crate) fn new(cc: &ContestCodec, selection: &Selection, slot_bits: u32) -> Result<Self> {
        match (&cc.layout, selection) {
            (ContestLayout::SingleChoice { choices, chunks }, Selection::Single { choice, .. }) => {
                if chunks.len() == 1 {
                    return Ok(Self {
                        values: vec![statements::one_hot(slot_bits, *choice, *choices)?],
                        used: Vec::new(),
                        witness_indices: vec![*choice],
                    });
                }
                let mut plan = Self { values: Vec::new(), used: Vec::new(), witness_indices: Vec::new() };
                for chunk in chunks {
                    let local = choice.checked_sub(chunk.first).filter(|&i| i < chunk.len);
                    match local {
                        Some(i) => {
                            plan.values.push(statements::one_hot(slot_bits, i, chunk.len)?);
                            plan.used.push(Plaintext::from_u64(1));
                            plan.witness_indices.push(i + 1);
                        }
                        None => {
                            plan.values.push(Plaintext::zero());
                            plan.used.push(Plaintext::zero());
                            plan.witness_indices.push(0);
                        }
                    }
                }
                plan.witness_indices.push(0);
                Ok(plan)
            }
            (ContestLayout::MultiChoice { options, min, .. }, Selection::Multi { options: marked }) => {
                let mut plan = Self { values: Vec::new(), used: Vec::new(), witness_indices: Vec::new() };
                for j in 0..*options {
                    let x = u64::from(marked.contains(&j));
                    plan.values.push(Plaintext::from_slots(slot_bits, &[x, 1])?);
                    plan.witness_indices.push(x as usize);
                }
                plan.witness_indices.push(marked.len() - *min as usize);
                Ok(plan)
            }
            _ => Err(BallotError::InvalidSelection {
                contest: cc.contest.id.clone(),
                reason: "selection kind does not match the contest kind".into(),
            }),
        }
    }
}
