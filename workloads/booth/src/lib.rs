//! `urna booth`: a simulated voting machine (EVM) on the booth fleet's MQTT broker, and the backend
//! collector that receives its numbered messages exactly once.
//!
//! Delivery: every ballot, SOS and GPS fix gets the next per-booth sequence number and is committed to
//! the booth's redb outbox before anything is sent; on each (re)connect the outbox is replayed in order;
//! the collector keeps only the next sequence per device (durably, with the message) and acknowledges
//! on `cmd/ack`; only then does the booth drop it. So nothing is lost and nothing is counted twice across
//! network cuts and restarts of the booth, the broker (whose rumqttd keeps nothing) or the collector.

pub mod alerting;
pub mod backoff;
pub mod ballot;
pub mod bridge;
pub mod collector;
pub mod device;
mod error;
pub mod fleet;
pub mod heard;
pub mod inbox;
pub mod message;
pub mod metrics;
pub mod monitor;
pub mod ops;
pub mod outbox;
pub mod sink;

pub use backoff::Backoff;
pub use bridge::{Bridge, BridgeConfig};
pub use collector::{Collector, CollectorConfig};
pub use device::{Booth, BoothConfig, Endpoint, Status};
pub use error::{Error, Result};
