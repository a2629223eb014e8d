//! Urna's Kubernetes operator: the `Election`, `Mesa`, `BoothFleet` and `TallyShard` resources, their
//! controllers (dereference → validate → build → apply → observe → status), the examples loader and the CRD
//! generator.

#![forbid(unsafe_code)]
// `#[kube(printcolumn(type_ = "string", ...))]` repeats an argument across columns, which this lint reads
// as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod build;
pub mod closing;
pub mod crd;
pub mod error;
pub mod fingerprints;
pub mod meta;
pub mod observe;
pub mod pki;
pub mod schedule;
pub mod token;
pub mod workload;
pub mod workloads;

pub use error::{Error, Result};
pub mod controller;
pub mod examples;
pub mod health;
pub mod metrics;
pub mod validate;
