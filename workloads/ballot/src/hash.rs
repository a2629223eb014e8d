//! The manifest hash bound into every proof: SHA-256 over the `urna/v1/election-manifest` transcript of the
//! manifest's fields, one item each, in the order below (docs/protocol.md). It is defined field by field rather
//! than over JSON so that a verifier in another language need not reproduce a JSON serializer byte for byte.

use urna_crypto::transcript::Transcript;

use crate::manifest::{ContestKind, ElectionManifest};

pub fn manifest_hash(m: &ElectionManifest) -> [u8; 32] {
    let mut t = Transcript::new("election-manifest");
    t.append_str(&m.election_id);
    t.append_str(&m.title);
    t.append_u64(u64::from(m.slot_bits));
    t.append_u64(m.districts.len() as u64);
    for d in &m.districts {
        t.append_str(&d.id);
        t.append_str(&d.name);
        t.append_str(d.parent.as_deref().unwrap_or(""));
    }
    t.append_u64(m.contests.len() as u64);
    for c in &m.contests {
        t.append_str(&c.id);
        t.append_str(&c.title);
        t.append_str(match c.kind {
            ContestKind::SingleChoice => "singleChoice",
            ContestKind::MultiChoice => "multiChoice",
        });
        t.append_u64(c.districts.len() as u64);
        for d in &c.districts {
            t.append_str(d);
        }
        t.append_u64(c.parties.len() as u64);
        for p in &c.parties {
            t.append_str(&p.id);
            t.append_str(&p.name);
            t.append_str(p.candidate.as_deref().unwrap_or(""));
        }
        t.append_u64(c.coalitions.len() as u64);
        for co in &c.coalitions {
            t.append_str(&co.id);
            t.append_str(&co.name);
            t.append_str(co.candidate.as_deref().unwrap_or(""));
            t.append_u64(co.parties.len() as u64);
            for p in &co.parties {
                t.append_str(p);
            }
        }
        t.append_u64(c.options.len() as u64);
        for o in &c.options {
            t.append_str(&o.id);
            t.append_str(&o.name);
            t.append_str(o.list.as_deref().unwrap_or(""));
        }
        t.append_u64(u64::from(c.min_selections.unwrap_or(0)));
        t.append_u64(u64::from(c.max_selections.unwrap_or(0)));
        t.append_u64(u64::from(c.write_in));
        t.append_u64(u64::from(c.blank));
        t.append_u64(u64::from(c.null));
    }
    t.finalize()
}
