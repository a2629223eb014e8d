//! The workloads' `GET /v1/status`, asked at most once per interval per endpoint. Every controller that
//! shows a workload's counts asks through here, so a status write that triggers another reconcile (or a
//! hundred Mesas reading one booth vote service) never turns into a tight polling loop.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{CallError, Endpoint, Endpoints, WorkloadClient};

/// The default observation interval (`urna operator --observe-interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

pub const STATUS_PATH: &str = "/v1/status";

#[derive(Debug)]
pub struct Poller {
    pub client: WorkloadClient,
    pub endpoints: Endpoints,
    /// How long an answer (or a failure) is reused; also how often the controllers requeue while an
    /// Election is Open or closing.
    pub interval: Duration,
    cache: Mutex<HashMap<String, (Instant, Result<Value, CallError>)>>,
}

impl Default for Poller {
    fn default() -> Self {
        Self::new(WorkloadClient::default(), Endpoints::default(), DEFAULT_INTERVAL)
    }
}

impl Poller {
    pub fn new(client: WorkloadClient, endpoints: Endpoints, interval: Duration) -> Self {
        Self { client, endpoints, interval, cache: Mutex::default() }
    }

    /// The workload's status as `T`: the answer of the last interval, or a fresh `GET`. A body that is JSON
    /// but not a `T` is [`CallError::Body`], like one that is not JSON.
    pub async fn status<T: DeserializeOwned>(&self, ep: &Endpoint) -> Result<T, CallError> {
        let url = self.endpoints.url(ep, STATUS_PATH);
        let raw = match self.cached(&url) {
            Some(r) => r,
            None => {
                let r = self.client.get_json::<Value>(&url).await;
                self.store(&url, r.clone());
                r
            }
        };
        serde_json::from_value(raw?).map_err(|e| CallError::body(&url, e))
    }

    fn cached(&self, url: &str) -> Option<Result<Value, CallError>> {
        let cache = self.cache.lock().ok()?;
        cache.get(url).filter(|(at, _)| at.elapsed() < self.interval).map(|(_, r)| r.clone())
    }

    fn store(&self, url: &str, r: Result<Value, CallError>) {
        if let Ok(mut cache) = self.cache.lock() {
            // Endpoints of deleted elections would stay forever otherwise.
            let keep = self.interval.saturating_mul(10).max(Duration::from_secs(60));
            cache.retain(|_, (at, _)| at.elapsed() < keep);
            cache.insert(url.to_owned(), (Instant::now(), r));
        }
    }
}
