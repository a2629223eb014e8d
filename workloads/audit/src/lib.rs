//! `urna-audit`: the election's transparency log (PROTOCOL §6).
//!
//! An append-only Merkle log with RFC 6962 / RFC 9162 hashing whose leaves are typed entries (ballot ids
//! and election events), stored durably in redb, with Ed25519-signed checkpoints in the C2SP
//! tlog-checkpoint format, witness cosignatures, and inclusion and consistency proofs.
//!
//! # What another implementation must reproduce
//!
//! **Entries** ([`entry`]): `0x01 || type || body`; a ballot is `0x01 0x01 || anon_id[32]`; an event is
//! `0x01 0x02 || kind:u8 || digest[32] || len(detail):u32be || detail(UTF-8)`, kinds `0x01` open,
//! `0x02` close, `0x03` manifest, `0x04` ceremony-transcript, `0x05` acta, `0x06` snapshot,
//! `0x07` shard-sealed, `0x08` officer-action.
//!
//! **Tree** ([`merkle`]): leaf `SHA-256(0x00 || entry)`, node `SHA-256(0x01 || left || right)`, the root of
//! `n > 1` leaves splits at the largest power of two below `n`, the empty root is `SHA-256("")`.
//!
//! **Proofs** ([`proof`]): RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency), sibling hashes from the
//! bottom up.
//!
//! **Checkpoints** ([`checkpoint`]): the note body `<origin>\n<size>\n<base64 root>\ntimestamp <unix
//! seconds>\n` (plus `closed\n` in the final one), signed as a C2SP signed note by the log key under the
//! origin and by witnesses under their names.

//!
//! # Features
//!
//! Without features the crate is the log's contract (everything above, and [`wire`]'s bodies), which a
//! verifier links without a server. `server` adds the log itself ([`AuditLog`]: store, sequencer, HTTP API,
//! metrics); `client` adds [`client::AuditClient`], which the services and tools that write events use.

pub mod checkpoint;
#[cfg(feature = "client")]
pub mod client;
pub mod entry;
pub mod key;
pub mod merkle;
#[cfg(feature = "server")]
pub mod metrics;
pub mod proof;
#[cfg(feature = "server")]
pub mod sequencer;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;
pub mod wire;
pub mod witness;

pub use checkpoint::{Checkpoint, Cosignature, Note};
#[cfg(feature = "client")]
pub use client::AuditClient;
pub use entry::{EventKind, LogEntry};
pub use key::LogKey;
pub use merkle::{Hash, leaf_hash, node_hash, root};
pub use proof::{consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};
#[cfg(feature = "server")]
pub use sequencer::LogConfig;
#[cfg(feature = "server")]
pub use server::AuditLog;
