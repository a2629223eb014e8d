//! The fleet PKI is `urna_pki` (one home for the operator, the broker and `urna local`); re-exported here for
//! the broker's users, who issue certificates for tests and local runs.

pub use urna_pki::{FleetCa, Issued, PkiError};
