//! Urna's vote service: the front door for remote voters and mesa consoles (DOMAIN "Workloads: vote",
//! PROTOCOL §4).
//!
//! ```text
//!  voter ──(1) POST /v1/sessions {voterId, credential}──▶ session token      voters.redb (census, rights)
//!        ──(2) POST /v1/rights  {blindedMessage} + token──▶ blind signature   (exactly one per voter)
//!        ──(3) POST /v1/ballots {ballot, preparedMessage, signature}──▶ receipt   ballots.redb (no voter)
//!                                  │ verify the right (for the ballot's style and this modality) + every
//!                                  │ proof, AnonID, one ballot per signature, no ciphertext seen before
//!                                  ├──▶ tally shard (district, modality): POST /v1/contests, with retries
//!                                  └──▶ audit log: POST /v1/entries {type: ballot, anonId} → leaf index
//! ```
//!
//! # The double envelope: what is never put together
//!
//! Voter status (census, sessions, issued rights) and ballots live in two separate stores
//! (`DATA/voters.redb`, `DATA/ballots.redb`) and two separate code paths: the rights path ([`rights`],
//! [`session`]) never sees a ballot, and the ballot path ([`ballot_box`]) takes no session and never sees a
//! voter. The rule this crate keeps, and every change to it must keep:
//!
//! > No log line, metric label, error message or stored record carries a voter identity (voter id hash,
//! > session token, credential, blinded message) together with anything about a ballot (ballot hash,
//! > prepared message, signature, AnonID, receipt).
//!
//! Concretely: voter ids are never logged at all (not even alone, since log timestamps could line up with a
//! ballot's); metric labels are routes, status codes and fixed reason codes; errors on the rights path speak
//! of "this voter" without naming it, errors on the ballot path name fields of the package only. The blind
//! signature is what makes this meaningful: the signer sees only a blinded message that is uniformly random
//! whatever the ballot, so the issued-rights table cannot be joined with the ballot table (RFC 9474). The right
//! is partially blind ([`right_keys`]): its public metadata is the voter's ballot style and the modality, which
//! the signer knows anyway; among the ballots of one style and modality it links nothing.
//!
//! # Consistency of the voting right
//!
//! [`rights::VoterStore::issue`] signs outside the database transaction and records the blind signature in a
//! redb write transaction that first re-checks that no right exists; redb serialises write transactions and
//! syncs every commit to disk, and the signature is released only after that commit. So concurrent requests
//! for one voter yield exactly one released signature; an identical retry (same blinded message) gets the
//! stored signature back; a different blinded message afterwards is refused. A signature computed by a losing
//! request is dropped unreleased, which confers nothing.
//!
//! # Replicas
//!
//! What is implemented: partitioning by voter with one writer per partition ([`partition`]). Each replica
//! runs with `--partition I/P`, owns its own data directory, imports only the census rows of its partition and
//! answers `421 wrong_partition` (naming the right partition) for voters and signatures of other partitions.
//! redb holds an exclusive file lock, so two processes can never write one partition's store. Ballots are
//! partitioned by the hash of their signature, which is what "one ballot per signature" is keyed on. A
//! router or the client ([`client::VoterClient::partitioned`]) sends each request to its partition's replica;
//! each replica also serves its partition-bound routes under [`partition::Partition::path_prefix`]
//! (`/p/<i>/v1/...`), which the voter app uses and a cluster's Ingress routes to that replica's pod.
//! Failover of a partition is a restart of its single writer on the same volume, not a second live writer.

//!
//! # Features
//!
//! Without features the crate is the vote API's contract ([`wire`], [`acta`], [`partition`]), which readers
//! of the record link, and the mesas file ([`mesa_file`]), which the operator writes. `client` adds [`client::VoterClient`]; `server` adds the service itself.

pub mod acta;
#[cfg(feature = "server")]
pub mod actas;
#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod ballot_box;
#[cfg(feature = "server")]
pub mod ballots;
#[cfg(feature = "server")]
pub mod booth_box;
#[cfg(feature = "server")]
pub mod census;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod closing;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod console;
#[cfg(feature = "server")]
pub mod credential;
#[cfg(feature = "server")]
pub mod drain;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod forward;
#[cfg(feature = "server")]
pub mod intake;
#[cfg(feature = "server")]
mod json;
#[cfg(feature = "server")]
pub mod mesa;
pub mod mesa_file;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod openapi;
pub mod partition;
#[cfg(feature = "server")]
mod ratelimit;
#[cfg(feature = "server")]
pub mod right_keys;
#[cfg(feature = "server")]
pub mod rights;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod session;
pub mod wire;

#[cfg(feature = "client")]
pub use client::ClientError;
#[cfg(feature = "server")]
pub use config::{Batching, Limits, RetryPolicy, ShardMap, VoteConfig};
#[cfg(feature = "server")]
pub use error::{ApiError, VoteError};
pub use partition::Partition;
#[cfg(feature = "server")]
pub use server::VoteService;
