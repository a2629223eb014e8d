//! Bearer tokens a subcommand is given: from a file (a mounted Secret) or from the environment, never on
//! the command line, where every user of the machine could read it in the process list.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// The token in `file`, else in the environment variable `env`; `None` when neither is given (an unset or
/// empty variable is not given). Surrounding whitespace is not part of a token; a file holding nothing
/// else is refused rather than taken for an empty token.
pub fn from_file_or_env(file: Option<&Path>, env: &str) -> Result<Option<String>> {
    let Some(path) = file else {
        return Ok(std::env::var(env).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("{} holds no token", path.display());
    }
    Ok(Some(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_trimmed_and_an_empty_one_refused() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n")?;
        assert_eq!(from_file_or_env(Some(&path), "URNA_TEST_TOKEN_NEVER_SET")?.as_deref(), Some("s3cret"));
        std::fs::write(&path, " \n")?;
        let err = from_file_or_env(Some(&path), "URNA_TEST_TOKEN_NEVER_SET").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("holds no token")));
        assert!(from_file_or_env(Some(&dir.path().join("absent")), "URNA_TEST_TOKEN_NEVER_SET").is_err());
        assert_eq!(from_file_or_env(None, "URNA_TEST_TOKEN_NEVER_SET")?, None);
        Ok(())
    }
}
