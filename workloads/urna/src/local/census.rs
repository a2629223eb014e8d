//! The simulated electorate: one voter per ballot to cast, each with a fresh one-time credential, assigned to
//! a district and a modality, and the census each modality's vote service imports.

use anyhow::{Context, Result};
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use urna_ballot::Selection;
use urna_tally::Modality;
use urna_vote::census::csv_field;
use urna_vote::client::Election;
use urna_vote::credential::{generate_credential, hash_credential, insecure_fast_params};

use super::plan::LocalPlan;
use super::votes_file::ScriptedBallot;

#[derive(Debug, Clone)]
pub struct Voter {
    pub name: String,
    pub district: String,
    pub modality: Modality,
    credential: String,
    /// `None`: random choices.
    pub selections: Option<Vec<(String, Selection)>>,
}

impl Voter {
    pub fn new(
        name: String,
        district: String,
        modality: Modality,
        selections: Option<Vec<(String, Selection)>>,
    ) -> Self {
        let credential = generate_credential(&mut urna_crypto::os_rng());
        Self { name, district, modality, credential, selections }
    }

    /// A voter whose credential was issued earlier (`urna voters cast` reads them from a file).
    pub fn with_credential(name: String, district: String, modality: Modality, credential: String) -> Self {
        Self { name, district, modality, credential, selections: None }
    }

    /// The one-time credential (what `urna voters census` hands out; never in a census).
    pub fn credential(&self) -> &str {
        &self.credential
    }

    /// The registry's hash of the voter's identity, as the census holds it.
    pub fn voter_id(&self) -> String {
        hex::encode(Sha256::digest(self.name.as_bytes()))
    }

    pub fn census_voter(&self) -> urna_vote::client::Voter {
        urna_vote::client::Voter { voter_id: self.voter_id(), credential: self.credential.clone() }
    }
}

/// `count` voters spread round-robin over the districts and, from `seed`, over the modalities.
pub fn synthesize(plan: &LocalPlan, count: usize, seed: u64) -> Vec<Voter> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let district = plan.districts[i % plan.districts.len()].clone();
            let modality = plan.modalities[(rng.next_u32() as usize) % plan.modalities.len()];
            Voter::new(format!("voter-{i:06}"), district, modality, None)
        })
        .collect()
}

pub fn scripted(ballots: Vec<ScriptedBallot>) -> Vec<Voter> {
    ballots.into_iter().map(|b| Voter::new(b.voter, b.district, b.modality, Some(b.selections))).collect()
}

/// Voter `index`'s random choices, reproducible from `seed`.
pub fn random_selections(
    election: &Election,
    district: &str,
    seed: u64,
    index: usize,
) -> Result<Vec<(String, Selection)>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    urna_vote::client::random_selections(&election.codec, district, &mut rng).context("random choices")
}

/// One census (CSV) per modality of the plan, holding that modality's voters. The credentials are 160 random
/// bits each, so their Argon2 hashes use cheap parameters: the hash cost only protects guessable credentials.
pub fn censuses(plan: &LocalPlan, voters: &[Voter]) -> Result<Vec<(Modality, String)>> {
    plan.modalities.iter().map(|m| Ok((*m, census_csv(voters, *m)?))).collect()
}

/// The census (the vote service's CSV) of `modality`'s voters.
pub fn census_csv(voters: &[Voter], modality: Modality) -> Result<String> {
    let mut csv = String::from("voterIdHash,district,credentialHash\n");
    for v in voters.iter().filter(|v| v.modality == modality) {
        let hash = hash_credential(&v.credential, Some(insecure_fast_params()), &mut urna_crypto::os_rng())
            .context("hashing a credential")?;
        csv.push_str(&format!("{},{},{}\n", v.voter_id(), csv_field(&v.district), csv_field(&hash)));
    }
    Ok(csv)
}
