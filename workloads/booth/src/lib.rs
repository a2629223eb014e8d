//! `urna booth`: a simulated voting machine (EVM) on the booth fleet's MQTT broker, and the backend
//! collector that receives its numbered messages exactly once.
//!
//! Delivery: every ballot, SOS and GPS fix gets the next per-booth sequence number and is committed to
//! the booth's redb outbox before anything is sent; on each (re)connect the outbox is replayed in order;
//! the collector keeps only the next sequence per device (durably, with the message) and acknowledges
//! on `cmd/ack`; only then does the booth drop it. So nothing is lost and nothing is counted twice across
//! network cuts and restarts of the booth, the broker (whose rumqttd keeps nothing) or the collector.
//!
//! # Features
//!
//! Without features the crate is the fleet monitor's rules file ([`rules`]), which the operator writes;
//! `server` (the default) adds the booth, the collector, the bridge and the monitor.

#[cfg(feature = "server")]
pub mod alerting;
#[cfg(feature = "server")]
pub mod backoff;
#[cfg(feature = "server")]
pub mod ballot;
#[cfg(feature = "server")]
pub mod bridge;
#[cfg(feature = "server")]
pub mod collector;
#[cfg(feature = "server")]
pub mod device;
#[cfg(feature = "server")]
mod error;
#[cfg(feature = "server")]
pub mod fleet;
#[cfg(feature = "server")]
pub mod heard;
#[cfg(feature = "server")]
pub mod inbox;
#[cfg(feature = "server")]
pub mod message;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod monitor;
#[cfg(feature = "server")]
pub mod ops;
#[cfg(feature = "server")]
pub mod outbox;
pub mod rules;
#[cfg(feature = "server")]
pub mod sink;

#[cfg(feature = "server")]
pub use backoff::Backoff;
#[cfg(feature = "server")]
pub use bridge::{Bridge, BridgeConfig};
#[cfg(feature = "server")]
pub use collector::{Collector, CollectorConfig};
#[cfg(feature = "server")]
pub use device::{Booth, BoothConfig, Endpoint, Status};
#[cfg(feature = "server")]
pub use error::{Error, Result};
