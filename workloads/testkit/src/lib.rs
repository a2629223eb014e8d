//! Test support shared by Urna's crates (a dev-dependency only, never linked into a binary):
//! - [`http`]: one HTTP/1.1 request over a fresh TCP connection, blocking or async, with no client library
//!   between the test and the server under test;
//! - [`webhook`]: a webhook receiver on 127.0.0.1 that keeps every JSON body POSTed to it.

pub mod http;
mod webhook;

pub use http::{Request, Response};
pub use webhook::webhook;
