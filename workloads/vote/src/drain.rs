//! Graceful drain (SIGTERM, what Kubernetes sends before it kills a pod): stop accepting, let the requests in
//! flight finish for up to the drain timeout, answer what is still running then with a retryable 503, and
//! return so that the process exits 0 with its stores closed.
//!
//! Refusing a request in flight is safe because every step it may have taken is durable and idempotent: a
//! right is recorded before its signature is released and an identical request gets it back; a ballot is
//! recorded under its signature before it is forwarded, the shards de-duplicate on (AnonID, contest) and the
//! audit log on the leaf, so the voter's identical resubmission (after the restart, or to the background
//! resumer) completes it without counting it twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::StatusCode;
use tokio::sync::watch;

use crate::error::ApiError;

/// The seconds a refused client is told to wait: a restarted pod is serving again in about that time.
pub const RETRY_AFTER_SECONDS: u64 = 2;

pub struct Drain {
    draining: AtomicBool,
    expired: watch::Sender<bool>,
    timeout: Duration,
}

impl Drain {
    pub fn new(timeout: Duration) -> Self {
        Self { draining: AtomicBool::new(false), expired: watch::Sender::new(false), timeout }
    }

    /// Starts draining: new requests are refused from now on, and the requests in flight are refused
    /// once the drain timeout has passed.
    pub fn begin(self: &std::sync::Arc<Self>) {
        if self.draining.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::info!(timeout_secs = self.timeout.as_secs_f64(), "draining: no new requests");
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(me.timeout).await;
            tracing::warn!("drain timeout: refusing the requests still in flight (retryable)");
            me.expired.send_replace(true);
        });
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Completes once the drain timeout has passed after [`Drain::begin`]; never before.
    pub async fn expired(&self) {
        let mut rx = self.expired.subscribe();
        // The sender lives as long as `self`: an error cannot happen while we borrow it.
        let _ = rx.wait_for(|e| *e).await;
    }

    /// The answer to a request refused while draining: 503 with `Retry-After` (added to every 503).
    pub fn refusal() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "this replica is shutting down; nothing of this request is lost: send it again (identical) shortly",
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn expires_only_after_begin_and_the_timeout() {
        let d = Arc::new(Drain::new(Duration::from_millis(20)));
        assert!(!d.is_draining());
        assert!(tokio::time::timeout(Duration::from_millis(60), d.expired()).await.is_err(), "not begun");
        d.begin();
        assert!(d.is_draining());
        assert!(tokio::time::timeout(Duration::from_secs(5), d.expired()).await.is_ok());
    }
}
