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
//! - `batcher`: batching and the verify → commit pipeline.
//! - `server`: the HTTP API; [`client`]: a client for it.
//! - [`metrics`]: Prometheus metrics.

mod batcher;
pub mod client;
pub mod error;
pub mod ledger;
pub mod metrics;
pub mod record;
mod server;
pub mod shard;
pub mod store;
pub mod totals;
pub mod wire;

pub use client::{CallError, TallyClient};
pub use error::{Result, TallyError};
pub use record::{AnonId, LogRecord, Modality, ShardIdentity};
pub use server::MAX_RECORDS_PAGE;
pub use shard::{RunningShard, Shard, ShardConfig, load_manifest, load_public_key};
pub use totals::ContestTotals;
pub use wire::{ItemResult, ItemStatus, LogHead, RecordsPage, ShardStatus, SubmitItem, SubmitResponse, TotalsRecord};
