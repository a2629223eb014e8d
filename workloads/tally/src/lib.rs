//! Urna's tally shard (`urna tally`): the single writer of one partition of an election's encrypted totals.
//!
//! A shard accepts encrypted contests over HTTP, verifies their validity proofs in batches, appends each
//! accepted contest to a durable, hash-chained log (synced before the acknowledgement), de-duplicates on
//! (AnonID, contest), folds the log into the encrypted totals in log order, checkpoints them, re-derives and
//! checks them on every start, and seals them at close.
//!
//! - [`record`]: the log record and the canonical hashes (contest digest, record chain, genesis).
//! - [`totals`]: the encrypted totals and their digest.
//! - [`store`]: the redb tables.
//! - [`ledger`]: the single writer: append, fold, checkpoint, recover, seal.
//! - `batcher`: batching and the verify → commit pipeline; `state`: what it and the server share.
//! - `server`: the HTTP API; [`client`]: a client for it.
//! - [`metrics`]: Prometheus metrics.

#[cfg(feature = "server")]
mod batcher;
#[cfg(feature = "client")]
pub mod client;
pub mod error;
#[cfg(feature = "server")]
pub mod ledger;
#[cfg(feature = "server")]
pub mod metrics;
pub mod record;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub mod shard;
#[cfg(feature = "server")]
mod state;
#[cfg(feature = "server")]
pub mod store;
pub mod totals;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{CallError, TallyClient};
pub use error::{Result, TallyError};
pub use record::{LogRecord, Modality, ShardIdentity};
#[cfg(feature = "server")]
pub use shard::{RunningShard, Shard, ShardConfig, load_manifest, load_public_key};
pub use totals::{ContestTotals, max_ballots};
pub use wire::{
    ItemResult, ItemStatus, LogHead, MAX_RECORDS_PAGE, RecordsPage, ShardStatus, SubmitItem, SubmitRequest,
    SubmitResponse, TotalsRecord,
};
