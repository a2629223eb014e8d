//! The election record (PROTOCOL §7, docs/record.md): the files an independent verifier needs, how the
//! trustees decrypt the sealed totals from them, how results are tabulated, and the verifier itself.
//!
//! ```text
//!  running services ──export──▶ RECORD/ ──trustee decrypt (each trustee, own share)──▶ decryption/trustee-<i>.json
//!                                  │                                                        │
//!                                  └──────────────── results (combine any t, decode) ◀──────┘──▶ results.json
//!  RECORD/ ──verify──▶ every signature, proof, chain, total, partial, result and log checkpoint, or the first failure
//! ```
//!
//! - [`layout`]: where each file lives; [`model`]: what each holds; [`files`]: reading and writing them.
//! - [`decryption`]: the decryption request implied by the sealed totals, a trustee's partials, combining.
//! - [`intake`]: the decryption service's state: answers verified on arrival, stored, combined at `t`.
//! - [`results`]: decoding combined plaintexts into counts per contest × district × modality.
//! - [`verify`]: `urna verify record`, one module per kind of check.
//! - [`site`]: the public results site's data (`site.json`), every figure traced to its record file.
//! - [`capture`]: PREP double entry of the mesas' results sheets; [`snapshot`]: the PREP snapshots' format,
//!   their tabulation from the captured sheets, writing, and `urna verify snapshots`; [`capture_tokens`]:
//!   the capture service's tokens file, which the operator writes.

pub mod capture;
pub mod capture_tokens;
pub mod decryption;
pub mod error;
pub mod events;
pub mod export;
pub mod files;
pub mod intake;
pub mod layout;
pub mod model;
pub mod results;
pub mod site;
pub mod snapshot;
pub mod verify;

pub use error::{RecordError, Result};
pub use layout::RecordDir;
pub use verify::trust::{TRUST_FORMAT, TrustFile, TrustedLogKey, TrustedRightKey, fingerprints};
pub use verify::{Summary, VerifyFailure, verify_record, verify_record_dir};

/// The `format` of `record.json`: bumped on any incompatible change of the files.
pub const FORMAT: &str = "urna-record/1";
