//! Talking to the election's workloads over the cluster network: the JSON-over-HTTP client ([`client`]),
//! where each workload answers ([`endpoints`]), and the interval-bounded poll of their `GET /v1/status`
//! ([`poll`]). Workload pods have no Kubernetes API access; the operator asks them instead.

pub mod client;
pub mod endpoints;
pub mod poll;

pub use client::{CallError, WorkloadClient};
pub use endpoints::{Endpoint, Endpoints};
pub use poll::Poller;
