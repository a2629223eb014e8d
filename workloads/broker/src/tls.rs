//! The front's mutual-TLS configuration: the broker's own certificate, and client certificates accepted
//! only when they chain to the fleet CA (with the clientAuth usage, as the operator issues them). The
//! configurations are built in `urna_pki::tls`; here they are read from the mounted Secret's files.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
pub use urna_pki::tls::{certificates, private_key, roots, server_config};

use crate::error::{Error, Result};

/// Server configuration from a directory laid out like the operator's Secrets (`ca.crt`, `tls.crt`,
/// `tls.key`), e.g. the broker Secret mounted as a volume.
pub fn server_config_from_dir(dir: &Path) -> Result<Arc<ServerConfig>> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| Error::Read { path, source })
    };
    Ok(server_config(&read(urna_pki::CA_CERT)?, &read(urna_pki::TLS_CERT)?, &read(urna_pki::TLS_KEY)?)?)
}
