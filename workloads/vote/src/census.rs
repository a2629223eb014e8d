//! The census: who may vote, in which district, with which credential (stored as its Argon2id hash).
//!
//! Two input formats, chosen by the first non-blank character (`{` means JSON Lines):
//!
//! ```text
//! CSV (RFC 4180 fields, one record per line, header required, columns in any order):
//!   voterIdHash,district,credentialHash
//!   3f5a...64 hex...,centro,"$argon2id$v=19$m=19456,t=2,p=1$...$..."
//! JSON Lines:
//!   {"voterIdHash": "3f5a...", "district": "centro", "credentialHash": "$argon2id$..."}
//! ```
//!
//! - `voterIdHash`: 64 lowercase hex digits, the hash of the voter's identity as the registry computes it
//!   (the service never sees the identity itself);
//! - `district`: a district id of the manifest, which is the voter's ballot style;
//! - `credentialHash`: an Argon2id PHC string ([`crate::credential`]).
//!
//! The reader streams: one line at a time, constant memory. Every error names its line (1-based, the header
//! is line 1 of a CSV) and field. Blank lines and, in CSV, lines starting with `#` are skipped.

use std::io::BufRead;

use serde::Deserialize;
use urna_ballot::ElectionManifest;

use crate::credential;
use crate::wire::parse_voter_id;

pub const FIELD_VOTER: &str = "voterIdHash";
pub const FIELD_DISTRICT: &str = "district";
pub const FIELD_CREDENTIAL: &str = "credentialHash";

/// Stop collecting errors after this many: a file that is wrong everywhere needs fixing, not a full list.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// One validated census row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusRecord {
    pub line: u64,
    pub voter_id: [u8; 32],
    pub district: String,
    pub credential_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("census line {line}{}: {message}", field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default())]
pub struct CensusError {
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl CensusError {
    pub fn new(line: u64, field: Option<&str>, message: impl Into<String>) -> Self {
        Self { line, field: field.map(str::to_owned), message: message.into() }
    }
}

/// All the errors of one import (at most [`MAX_REPORTED_ERRORS`]); nothing of the batch they occurred in
/// was committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("census import failed with {} error(s):\n{}", errors.len(), errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct CensusErrors {
    pub errors: Vec<CensusError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonRow {
    voter_id_hash: String,
    district: String,
    credential_hash: String,
}

/// A streaming census reader: yields one validated record or one error per data line.
pub struct CensusReader<'m, R> {
    input: R,
    manifest: &'m ElectionManifest,
    line: u64,
    format: Option<Format>,
    columns: Option<[usize; 3]>,
    buf: String,
}

impl<'m, R: BufRead> CensusReader<'m, R> {
    pub fn new(input: R, manifest: &'m ElectionManifest) -> Self {
        Self { input, manifest, line: 0, format: None, columns: None, buf: String::new() }
    }

    fn next_line(&mut self) -> Option<Result<(), CensusError>> {
        self.buf.clear();
        match self.input.read_line(&mut self.buf) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                Some(Ok(()))
            }
            Err(e) => {
                self.line += 1;
                Some(Err(CensusError::new(self.line, None, format!("cannot read: {e}"))))
            }
        }
    }

    fn parse_line(&mut self) -> Option<Result<CensusRecord, CensusError>> {
        let text = self.buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return None;
        }
        let line = self.line;
        let format = *self.format.get_or_insert(if text.trim_start().starts_with('{') {
            Format::JsonLines
        } else {
            Format::Csv
        });
        match format {
            Format::JsonLines => Some(self.json_row(line, text)),
            Format::Csv if text.starts_with('#') => None,
            Format::Csv => {
                let fields = match split_csv(text) {
                    Ok(f) => f,
                    Err(m) => return Some(Err(CensusError::new(line, None, m))),
                };
                match self.columns {
                    None => match header(&fields) {
                        Ok(cols) => {
                            self.columns = Some(cols);
                            None
                        }
                        Err(m) => Some(Err(CensusError::new(line, None, m))),
                    },
                    Some(cols) => {
                        if fields.len() != 3 {
                            return Some(Err(CensusError::new(
                                line,
                                None,
                                format!("expected 3 fields, found {}", fields.len()),
                            )));
                        }
                        let get = |i: usize| fields.get(cols[i]).map(String::as_str).unwrap_or_default();
                        Some(validate(self.manifest, line, get(0), get(1), get(2)))
                    }
                }
            }
        }
    }

    fn json_row(&self, line: u64, text: &str) -> Result<CensusRecord, CensusError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let row: JsonRow = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = (path != ".").then_some(path);
            CensusError { line, field, message: e.into_inner().to_string() }
        })?;
        validate(self.manifest, line, &row.voter_id_hash, &row.district, &row.credential_hash)
    }
}

impl<R: BufRead> Iterator for CensusReader<'_, R> {
    type Item = Result<CensusRecord, CensusError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_line()? {
                Err(e) => return Some(Err(e)),
                Ok(()) => {
                    if let Some(item) = self.parse_line() {
                        return Some(item);
                    }
                }
            }
        }
    }
}

fn header(fields: &[String]) -> Result<[usize; 3], String> {
    let find = |names: &[&str]| fields.iter().position(|f| names.contains(&f.trim()));
    let voter = find(&[FIELD_VOTER, "voter_id_hash"]);
    let district = find(&[FIELD_DISTRICT]);
    let credential = find(&[FIELD_CREDENTIAL, "credential_hash"]);
    match (voter, district, credential) {
        (Some(v), Some(d), Some(c)) if fields.len() == 3 => Ok([v, d, c]),
        _ => Err(format!(
            "expected the header {FIELD_VOTER},{FIELD_DISTRICT},{FIELD_CREDENTIAL} (any order), found {:?}",
            fields
        )),
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting: `"a,b"`, `""` inside quotes). A record may not span
/// lines: no census field contains a newline.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (false, '"') => return Err("a quote inside an unquoted field".into()),
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            (false, c) => {
                field.push(c);
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("text after a closing quote".into());
                }
            }
            (true, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

fn validate(
    manifest: &ElectionManifest,
    line: u64,
    voter: &str,
    district: &str,
    credential_hash: &str,
) -> Result<CensusRecord, CensusError> {
    let voter = voter.trim();
    let district = district.trim();
    let credential_hash = credential_hash.trim();
    let voter_id = parse_voter_id(voter).map_err(|m| CensusError::new(line, Some(FIELD_VOTER), m))?;
    if !manifest.districts.iter().any(|d| d.id == district) {
        return Err(CensusError::new(line, Some(FIELD_DISTRICT), format!("unknown district {district:?}")));
    }
    if !urna_ballot::Districts::new(&manifest.districts).is_leaf(district) {
        return Err(CensusError::new(
            line,
            Some(FIELD_DISTRICT),
            format!("district {district:?} contains other districts; voters belong to a leaf district"),
        ));
    }
    credential::validate_hash(credential_hash)
        .map_err(|e| CensusError::new(line, Some(FIELD_CREDENTIAL), e.to_string()))?;
    Ok(CensusRecord { line, voter_id, district: district.to_owned(), credential_hash: credential_hash.to_owned() })
}

/// Quotes a CSV field when needed (for writers of census files: tests, `urna local`).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(split_csv(r#"a,"b,c","d""e""#).unwrap(), vec!["a", "b,c", "d\"e"]);
        assert!(split_csv(r#"a,"b"#).is_err());
        assert!(split_csv(r#"a,b"c"#).is_err());
        assert_eq!(split_csv(&format!("x,{}", csv_field("$a$m=1,t=2$"))).unwrap(), vec!["x", "$a$m=1,t=2$"]);
    }
}
