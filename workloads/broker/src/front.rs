//! The accept loop: every TCP connection becomes its own task at once, so handshakes run concurrently and
//! a stalled one delays nobody (rumqttd's own TLS accept runs inline in its accept loop). Connections not
//! admitted yet are held to their own limits (`pending.rs`), apart from the admitted sessions' slots, so
//! sockets that never finish a handshake cannot take the places of booths.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::blocklist::Blocklist;
use crate::metrics::Metrics;
use crate::pending::{Pending, PendingLimits};
use crate::ratelimit::{RateLimit, TokenBucket};

/// Limits on what one connection may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From TCP accept to the end of the TLS handshake, and again from there to a whole CONNECT.
    pub handshake_timeout: Duration,
    /// Admitted sessions (devices and backends); beyond it a new CONNECT is refused (CONNACK 3).
    pub max_connections: usize,
    /// Connections whose TLS handshake or CONNECT has not completed.
    pub pending: PendingLimits,
    /// Largest MQTT packet accepted from a client.
    pub max_packet_bytes: usize,
    /// Per-device PUBLISH rate.
    pub rate: RateLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            pending: PendingLimits::default(),
            max_packet_bytes: 256 * 1024,
            rate: RateLimit { per_second: 20.0, burst: 200.0 },
        }
    }
}

/// What every session shares.
pub(crate) struct Shared {
    pub hub: Arc<crate::hub::Hub>,
    pub fleet: String,
    pub backends: Vec<String>,
    pub acceptor: TlsAcceptor,
    pub upstream: SocketAddr,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub blocklist: Arc<Blocklist>,
    pub buckets: Mutex<HashMap<String, TokenBucket>>,
    /// One permit per admitted session (`limits.max_connections`).
    pub sessions: Arc<Semaphore>,
    pub shutdown: watch::Receiver<bool>,
}

pub(crate) async fn accept_loop(listener: TcpListener, ctx: Arc<Shared>) {
    let pending = Pending::new(ctx.limits.pending, ctx.metrics.clone());
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Usually EMFILE: back off briefly instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // Refused here, before any task or TLS state exists for it.
        let Some(ticket) = pending.admit(peer.ip()) else {
            drop(tcp);
            continue;
        };
        tokio::spawn(crate::session::run(tcp, peer, ticket, ctx.clone()));
    }
    info!("front stopped accepting");
}
