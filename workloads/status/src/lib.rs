//! What each workload answers at `GET /v1/status` (read-only, unauthenticated: counts and hashes, never a
//! voter or a ballot), defined once for the servers that write it and the operator that reads it.
//!
//! The operator polls these endpoints instead of giving workloads API access (docs/operator.md, "Status
//! endpoints"); this crate depends only on serde, hex and jiff so that it links no server.
//!
//! | workload | body |
//! |---|---|
//! | tally shard (`urna tally`) | [`tally::ShardStatus`] |
//! | vote service (`urna vote`) | [`vote::VoteStatus`] |
//! | audit log (`urna audit`) | [`audit::AuditStatus`] |
//! | broker (`urna broker`, status port) | [`broker::BrokerStatus`] |
//! | fleet monitor (`urna booth monitor`) | [`monitor::MonitorStatus`] |
//! | decryption service (`urna decryption serve`) | [`decryption::DecryptionStatus`] |
//!
//! [`error::ErrorBody`] is the body of every error answer of the vote, tally and audit APIs.
//!
//! [`window`] holds the one rule for when a modality accepts ballots, shared by the vote services and shards.

pub mod audit;
pub mod broker;
pub mod decryption;
pub mod error;
pub mod modality;
pub mod monitor;
pub mod tally;
pub mod vote;
pub mod window;

pub use modality::Modality;
pub use window::{Window, WindowState};
