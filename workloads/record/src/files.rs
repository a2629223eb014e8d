//! Reading and writing the record's JSON and JSON Lines files; every error names the file and line.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{RecordError, Result};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordError + '_ {
    move |source| RecordError::Io { path: path.to_owned(), source }
}

fn malformed(path: &Path, line: Option<usize>, e: impl std::fmt::Display) -> RecordError {
    RecordError::Malformed { path: path.to_owned(), line, message: e.to_string() }
}

pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(io(path))
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read_bytes(path)?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(path, Some(e.line()), e))
}

/// Every non-empty line of a JSON Lines file, decoded.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let file = File::open(path).map_err(io(path))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| malformed(path, Some(i + 1), e))?);
    }
    Ok(out)
}

/// SHA-256 of a file's bytes.
pub fn hash_file(path: &Path) -> Result<[u8; 32]> {
    Ok(Sha256::digest(read_bytes(path)?).into())
}

/// Writes through a temporary file, synced and renamed into place (the directory synced too, so the rename
/// survives a power loss), so a crash never leaves half a file.
fn write_atomically(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut w = BufWriter::new(file);
    fill(&mut w).map_err(io(&tmp))?;
    let file = w.into_inner().map_err(|e| RecordError::Io { path: tmp.clone(), source: e.into_error() })?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    }
    Ok(())
}

pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| malformed(path, None, e))?;
    write_atomically(path, |w| {
        w.write_all(&bytes)?;
        w.write_all(b"\n")
    })
}

/// The refusal to overwrite a file written once.
pub fn exists(path: &Path) -> RecordError {
    RecordError::Invalid(format!("{} exists; refusing to overwrite it", path.display()))
}

/// Writes `value` as [`write_json`] does to a file that must not exist yet (a trustee's answer is written once).
pub fn write_json_new<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| malformed(path, None, e))?;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            exists(path)
        } else {
            RecordError::Io { path: path.to_owned(), source }
        }
    })?;
    file.write_all(&bytes).and_then(|()| file.write_all(b"\n")).and_then(|()| file.sync_all()).map_err(io(path))
}

/// Writes text as it is (a key or transcript whose exact bytes are published).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |w| w.write_all(text.as_bytes()))
}

pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<()> {
    let lines =
        items.iter().map(serde_json::to_vec).collect::<Result<Vec<_>, _>>().map_err(|e| malformed(path, None, e))?;
    write_atomically(path, |w| {
        for line in &lines {
            w.write_all(line)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}
