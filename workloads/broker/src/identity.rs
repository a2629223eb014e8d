//! Who is on the other end of a mutual-TLS connection, read from the certificate the fleet CA issued.
//!
//! The fleet PKI's conventions (`urna_pki`, which the operator issues with): a device certificate's subject CN is the
//! device id, which is also its MQTT client id. Backend consumers (the ballot bridge, the fleet monitor)
//! hold certificates from the same CA whose CN is one of the configured backend names.

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::acl::valid_level;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Device(String),
    Backend(String),
}

impl Identity {
    pub fn name(&self) -> &str {
        match self {
            Self::Device(n) | Self::Backend(n) => n,
        }
    }

    /// May a connection with this identity use `client_id`? A device only its own id (so it can speak
    /// only for itself); a backend its name or `<name>-<suffix>`, one per replica.
    pub fn allows_client_id(&self, client_id: &str) -> bool {
        match self {
            Self::Device(d) => client_id == d,
            Self::Backend(b) => {
                client_id == b
                    || client_id.strip_prefix(b.as_str()).and_then(|r| r.strip_prefix('-')).is_some_and(valid_level)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("no client certificate")]
    NoCertificate,
    #[error("client certificate does not parse: {0}")]
    Parse(String),
    #[error("client certificate has no usable subject CN or DNS/URI SAN")]
    NoName,
    #[error("device id {0:?} is not a valid topic level")]
    InvalidName(String),
}

/// The identity in a (chain-verified) end-entity certificate: the subject CN, or else the first DNS SAN.
pub fn from_certificate(der: &[u8], backends: &[String]) -> Result<Identity, IdentityError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| IdentityError::Parse(e.to_string()))?;
    let cn = cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).map(str::to_owned);
    let san = || -> Option<String> {
        let ext = cert.subject_alternative_name().ok().flatten()?;
        ext.value.general_names.iter().find_map(|n| match n {
            GeneralName::DNSName(s) => Some((*s).to_owned()),
            _ => None,
        })
    };
    let name = cn.or_else(san).ok_or(IdentityError::NoName)?;
    // The name becomes a topic level; a `/` or wildcard in it would reach other devices' topics.
    if !valid_level(&name) {
        return Err(IdentityError::InvalidName(name));
    }
    Ok(if backends.contains(&name) { Identity::Backend(name) } else { Identity::Device(name) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_a_device_and_a_backend_may_use() {
        let d = Identity::Device("mesa-1-1".into());
        assert!(d.allows_client_id("mesa-1-1"));
        assert!(!d.allows_client_id("mesa-1-2"));
        assert!(!d.allows_client_id(""));
        let b = Identity::Backend("urna-bridge".into());
        assert!(b.allows_client_id("urna-bridge"));
        assert!(b.allows_client_id("urna-bridge-0"));
        assert!(!b.allows_client_id("urna-bridge-"));
        assert!(!b.allows_client_id("urna-bridgex"));
    }
}
