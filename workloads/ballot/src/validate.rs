//! Manifest validation: a pure function that names the first offending field.

use std::collections::{HashMap, HashSet};

use crate::error::{Result, manifest_error};
use crate::manifest::{Contest, ContestKind, ElectionManifest};

/// Identifiers name Kubernetes objects and appear in topics and URLs: DNS-label style, at most 63 characters.
pub fn check_identifier(path: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(manifest_error(path, format!("{id:?} is not a valid id (lowercase letters, digits and '-', at most 63)")))
    }
}

/// Checks everything about a manifest that does not depend on the encryption key.
pub fn validate_manifest(m: &ElectionManifest) -> Result<()> {
    check_identifier("electionId", &m.election_id)?;
    if !(1..=32).contains(&m.slot_bits) {
        return Err(manifest_error("slotBits", format!("{} is not in 1..=32", m.slot_bits)));
    }
    let districts = validate_districts(m)?;
    if m.contests.is_empty() {
        return Err(manifest_error("contests", "an election needs at least one contest"));
    }
    let mut seen = HashSet::new();
    for (i, c) in m.contests.iter().enumerate() {
        let path = format!("contests[{i}]");
        check_identifier(&format!("{path}.id"), &c.id)?;
        if !seen.insert(c.id.as_str()) {
            return Err(manifest_error(format!("{path}.id"), format!("duplicate contest id {:?}", c.id)));
        }
        if c.districts.is_empty() {
            return Err(manifest_error(format!("{path}.districts"), "a contest must appear in at least one district"));
        }
        for (j, d) in c.districts.iter().enumerate() {
            if !districts.contains_key(d.as_str()) {
                return Err(manifest_error(format!("{path}.districts[{j}]"), format!("unknown district {d:?}")));
            }
        }
        match c.kind {
            ContestKind::SingleChoice => validate_single_choice(&path, c)?,
            ContestKind::MultiChoice => validate_multi_choice(&path, c)?,
        }
    }
    Ok(())
}

fn validate_districts(m: &ElectionManifest) -> Result<HashMap<&str, Option<&str>>> {
    if m.districts.is_empty() {
        return Err(manifest_error("districts", "an election needs at least one district"));
    }
    let mut parent = HashMap::new();
    for (i, d) in m.districts.iter().enumerate() {
        check_identifier(&format!("districts[{i}].id"), &d.id)?;
        if parent.insert(d.id.as_str(), d.parent.as_deref()).is_some() {
            return Err(manifest_error(format!("districts[{i}].id"), format!("duplicate district id {:?}", d.id)));
        }
    }
    for (i, d) in m.districts.iter().enumerate() {
        if let Some(p) = &d.parent
            && !parent.contains_key(p.as_str())
        {
            return Err(manifest_error(format!("districts[{i}].parent"), format!("unknown district {p:?}")));
        }
        // Walk up: a chain longer than the number of districts means a cycle.
        let mut cur = d.parent.as_deref();
        let mut steps = 0;
        while let Some(p) = cur {
            steps += 1;
            if steps > m.districts.len() {
                return Err(manifest_error(format!("districts[{i}].parent"), "the district tree has a cycle"));
            }
            cur = parent.get(p).copied().flatten();
        }
    }
    Ok(parent)
}

fn validate_single_choice(path: &str, c: &Contest) -> Result<()> {
    if !c.options.is_empty() || c.min_selections.is_some() || c.max_selections.is_some() {
        return Err(manifest_error(
            path,
            "a singleChoice contest has parties and coalitions, not options or min/max selections",
        ));
    }
    let mut ids = HashSet::new();
    for (j, p) in c.parties.iter().enumerate() {
        check_identifier(&format!("{path}.parties[{j}].id"), &p.id)?;
        if !ids.insert(p.id.as_str()) {
            return Err(manifest_error(format!("{path}.parties[{j}].id"), format!("duplicate id {:?}", p.id)));
        }
    }
    let mut in_coalition: HashMap<&str, &str> = HashMap::new();
    for (j, co) in c.coalitions.iter().enumerate() {
        let cpath = format!("{path}.coalitions[{j}]");
        check_identifier(&format!("{cpath}.id"), &co.id)?;
        if !ids.insert(co.id.as_str()) {
            return Err(manifest_error(format!("{cpath}.id"), format!("duplicate id {:?}", co.id)));
        }
        if co.parties.len() < 2 {
            return Err(manifest_error(format!("{cpath}.parties"), "a coalition joins at least two parties"));
        }
        if co.parties.len() > 20 {
            return Err(manifest_error(
                format!("{cpath}.parties"),
                "a coalition of more than 20 parties has too many choices",
            ));
        }
        for (k, p) in co.parties.iter().enumerate() {
            if !c.parties.iter().any(|q| &q.id == p) {
                return Err(manifest_error(format!("{cpath}.parties[{k}]"), format!("unknown party {p:?}")));
            }
            if let Some(other) = in_coalition.insert(p.as_str(), co.id.as_str()) {
                return Err(manifest_error(
                    format!("{cpath}.parties[{k}]"),
                    format!("party {p:?} is already in coalition {other:?}"),
                ));
            }
        }
    }
    if c.parties.is_empty() && !c.write_in {
        return Err(manifest_error(format!("{path}.parties"), "a singleChoice contest needs parties or a write-in"));
    }
    Ok(())
}

fn validate_multi_choice(path: &str, c: &Contest) -> Result<()> {
    if !c.parties.is_empty() || !c.coalitions.is_empty() || c.write_in || c.blank || c.null {
        return Err(manifest_error(
            path,
            "a multiChoice contest has options and min/max selections (a blank ballot is minSelections: 0)",
        ));
    }
    if c.options.is_empty() {
        return Err(manifest_error(format!("{path}.options"), "a multiChoice contest needs options"));
    }
    let mut ids = HashSet::new();
    for (j, o) in c.options.iter().enumerate() {
        check_identifier(&format!("{path}.options[{j}].id"), &o.id)?;
        if !ids.insert(o.id.as_str()) {
            return Err(manifest_error(format!("{path}.options[{j}].id"), format!("duplicate id {:?}", o.id)));
        }
    }
    let min = c.min_selections.unwrap_or(0);
    let max = c.max_selections.unwrap_or(1);
    if min > max {
        return Err(manifest_error(format!("{path}.minSelections"), format!("{min} exceeds maxSelections {max}")));
    }
    if max as usize > c.options.len() || max == 0 {
        return Err(manifest_error(
            format!("{path}.maxSelections"),
            format!("{max} is not in 1..={} (the number of options)", c.options.len()),
        ));
    }
    Ok(())
}
