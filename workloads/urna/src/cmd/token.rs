//! Bearer tokens a subcommand is given: from a file (a mounted Secret) or from the environment, never on
//! the command line, where every user of the machine could read it in the process list; and the one
//! start-up rule every server with guarded endpoints follows ([`server_auth`]).

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use urna_auth::{ServiceAuth, Token};

/// The environment variable holding the election's internal token when no `--internal-token-file` is
/// given (tally, audit, vote, and the clients that seal and close).
pub const INTERNAL_TOKEN_ENV: &str = "URNA_INTERNAL_TOKEN";

/// The token in `file`, else in the environment variable `env`; `None` when neither is given (an unset or
/// empty variable is not given). Surrounding whitespace is not part of a token; a file holding nothing
/// else is refused rather than taken for an empty token.
pub fn from_file_or_env(file: Option<&Path>, env: &str) -> Result<Option<Token>> {
    let Some(path) = file else {
        return match std::env::var(env).ok().filter(|t| !t.trim().is_empty()) {
            Some(t) => Token::new(&t).map(Some).with_context(|| format!("the token in {env}")),
            None => Ok(None),
        };
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim().is_empty() {
        bail!("{} holds no token", path.display());
    }
    Token::new(&text).map(Some).with_context(|| format!("the token in {}", path.display()))
}

/// How a server's guarded endpoints are named in its messages.
pub struct Guarded<'a> {
    /// What the token guards, e.g. "the blocklist API".
    pub what: &'a str,
    /// The flag that names the token file, e.g. `--admin-token-file`.
    pub file_flag: &'a str,
    /// The environment variable that may hold the token instead.
    pub env: &'a str,
    /// The flag of the address those endpoints listen on.
    pub listen_flag: &'a str,
}

/// A server's guard: a token, or, asked for by name and on loopback only, none. Without either it does
/// not start: nothing opens a write endpoint by default.
pub fn server_auth(
    token: Option<Token>,
    insecure_no_auth: bool,
    listen: SocketAddr,
    g: &Guarded<'_>,
) -> Result<ServiceAuth> {
    let Guarded { what, file_flag, env, listen_flag } = g;
    match (token, insecure_no_auth) {
        (Some(t), false) => Ok(ServiceAuth::Token(t)),
        (Some(_), true) => {
            bail!("--insecure-no-auth contradicts the token given ({file_flag} or {env}): give one or the other")
        }
        (None, true) if !listen.ip().is_loopback() => bail!(
            "--insecure-no-auth leaves {what} open, so it needs {listen_flag} on a loopback address, not {listen}"
        ),
        (None, true) => {
            tracing::warn!(%listen, "{what} is open: anyone who reaches {listen} may use it (--insecure-no-auth)");
            Ok(ServiceAuth::InsecureNoAuth)
        }
        (None, false) => bail!(
            "{what} needs a token: give {file_flag} FILE or set {env} (--insecure-no-auth leaves it open, for \
             tests on loopback only)"
        ),
    }
}

/// The internal-token guard of `urna tally` and `urna audit`, whose writes listen on `--listen`.
pub fn internal_server_auth(
    file: Option<&Path>,
    insecure_no_auth: bool,
    listen: SocketAddr,
    what: &str,
) -> Result<ServiceAuth> {
    let token = from_file_or_env(file, INTERNAL_TOKEN_ENV)?;
    let g = Guarded { what, file_flag: "--internal-token-file", env: INTERNAL_TOKEN_ENV, listen_flag: "--listen" };
    server_auth(token, insecure_no_auth, listen, &g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_read_trimmed_and_an_empty_one_refused() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n")?;
        let token = from_file_or_env(Some(&path), "URNA_TEST_TOKEN_NEVER_SET")?;
        assert_eq!(token.as_ref().map(Token::expose), Some("s3cret"));
        std::fs::write(&path, " \n")?;
        let err = from_file_or_env(Some(&path), "URNA_TEST_TOKEN_NEVER_SET").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("holds no token")));
        assert!(from_file_or_env(Some(&dir.path().join("absent")), "URNA_TEST_TOKEN_NEVER_SET").is_err());
        assert_eq!(from_file_or_env(None, "URNA_TEST_TOKEN_NEVER_SET")?, None);
        Ok(())
    }

    #[test]
    fn a_server_is_guarded_unless_asked_for_open_on_loopback() -> Result<()> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 8080));
        let anywhere = SocketAddr::from(([0, 0, 0, 0], 8080));
        let g = Guarded { what: "the API", file_flag: "--x-token-file", env: "X_TOKEN", listen_flag: "--listen" };
        let err = |r: Result<ServiceAuth>| r.err().map(|e| e.to_string()).unwrap_or_default();
        let t = Token::new("t")?;
        assert!(matches!(server_auth(Some(t.clone()), false, anywhere, &g), Ok(ServiceAuth::Token(x)) if x == t));
        assert!(err(server_auth(None, false, loopback, &g)).contains("--x-token-file"));
        assert!(err(server_auth(None, true, anywhere, &g)).contains("loopback"));
        assert!(err(server_auth(Some(t), true, loopback, &g)).contains("contradicts"));
        assert!(matches!(server_auth(None, true, loopback, &g), Ok(ServiceAuth::InsecureNoAuth)));
        Ok(())
    }
}
