use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pki(#[from] urna_pki::PkiError),
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{context}: {source}")]
    Io { context: &'static str, source: std::io::Error },
    #[error("embedded rumqttd did not start: {0}")]
    Rumqttd(String),
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
