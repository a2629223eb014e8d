//! Where the fleet monitor sends alerts besides its own feed: a webhook and Kubernetes Events. Each sink
//! implements [`AlertSink`] and is drained by its own task from its own bounded queue ([`spawn`]), so a
//! slow webhook or apiserver holds back neither the MQTT reader nor the other sink, and a sink can be
//! tested alone (the Events sink against kube's mock API).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::metrics::MonitorMetrics;
use crate::monitor::Alert;

/// Alerts waiting for one sink; beyond this they are dropped for that sink (and counted), never for the
/// feed or the metrics.
pub const QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("webhook: {0}")]
    Webhook(String),
    #[error("webhook TLS: {0}")]
    Tls(String),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// One destination for alerts.
pub trait AlertSink: Send + Sync + 'static {
    /// A fixed name (`webhook`, `events`): the `sink` label of the delivery metrics.
    fn name(&self) -> &'static str;

    /// Delivers one alert, retrying as the sink sees fit; an error is a delivery given up on.
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// Runs `sink` on its own task and returns the queue that feeds it.
pub fn spawn<S: AlertSink>(sink: S, metrics: Arc<MonitorMetrics>) -> (mpsc::Sender<Alert>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Alert>(QUEUE);
    let task = tokio::spawn(async move {
        while let Some(alert) = rx.recv().await {
            match sink.deliver(&alert).await {
                Ok(()) => debug!(sink = sink.name(), rule = alert.rule, "alert delivered"),
                Err(e) => {
                    metrics.delivery_failure(sink.name());
                    warn!(sink = sink.name(), rule = alert.rule, device = %alert.device, error = %e, "alert not delivered");
                }
            }
        }
    });
    (tx, task)
}

/// The certificates an HTTPS webhook is verified against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRoots {
    /// The system's trust store (the image's ca-certificates): a webhook with a public certificate.
    System,
    /// Only these CA certificates (PEM): a webhook with a certificate from a private CA.
    Pem(Vec<u8>),
}

/// The TLS client configuration of the webhook: rustls with the ring provider, TLS 1.2 and 1.3, server
/// certificates verified against `roots` (no client certificate).
pub fn webhook_tls(roots: &WebhookRoots) -> Result<ClientConfig, SinkError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SinkError::Tls(e.to_string()))?;
    let config = match roots {
        WebhookRoots::Pem(pem) => {
            let mut store = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| SinkError::Tls(format!("webhook CA: {e}")))?;
                store.add(cert).map_err(|e| SinkError::Tls(format!("webhook CA: {e}")))?;
            }
            if store.is_empty() {
                return Err(SinkError::Tls("webhook CA: no certificate in the PEM file".into()));
            }
            builder.with_root_certificates(store).with_no_client_auth()
        }
        WebhookRoots::System => match builder.clone().with_native_roots() {
            Ok(b) => b.with_no_client_auth(),
            Err(e) => {
                // Without system roots an https:// webhook cannot be verified, so every delivery fails and
                // is counted; an http:// one still works. Not fatal: the feed and the Events go on.
                warn!(error = %e, "no system CA certificates: an https webhook cannot be verified");
                builder.with_root_certificates(RootCertStore::empty()).with_no_client_auth()
            }
        },
    };
    Ok(config)
}

/// POSTs each alert as JSON, retrying with exponential backoff.
pub struct Webhook {
    url: String,
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    attempts: u32,
    first_delay: Duration,
}

impl Webhook {
    /// `url`: https:// (verified against `roots`), or http:// inside the cluster or behind a proxy. Five
    /// attempts, 200 ms apart and doubling (about 3 s in all), so a webhook restarting is ridden out.
    pub fn new(url: String, roots: &WebhookRoots) -> Result<Self, SinkError> {
        Self::with_retries(url, roots, 5, Duration::from_millis(200))
    }

    pub fn with_retries(
        url: String,
        roots: &WebhookRoots,
        attempts: u32,
        first_delay: Duration,
    ) -> Result<Self, SinkError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(webhook_tls(roots)?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            url,
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
            attempts: attempts.max(1),
            first_delay,
        })
    }
}

impl AlertSink for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), SinkError> {
        let body = Bytes::from(serde_json::to_vec(alert).map_err(|e| SinkError::Webhook(e.to_string()))?);
        let mut delay = self.first_delay;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let req = http::Request::post(self.url.as_str())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()));
            let outcome = match req {
                Ok(req) => self.http.request(req).await.map(|r| r.status()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(s) if s.is_success() => return Ok(()),
                Ok(s) => last = format!("status {s}"),
                Err(e) => last = e,
            }
            debug!(attempt, error = %last, rule = alert.rule, "webhook attempt failed");
            if attempt < self.attempts {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(SinkError::Webhook(format!("{} attempts, last: {last}", self.attempts)))
    }
}

/// The BoothFleet resource, for the Events' `regarding` (the operator's CRD: `operator/src/crd`).
fn boothfleet_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("urna.dev", "v1alpha1", "BoothFleet"), "boothfleets")
}

/// Kubernetes Events (events.k8s.io/v1) on the BoothFleet: one Warning per alert, reason = the rule,
/// the note names the device, its mesa and the evidence, so `kubectl describe boothfleet` and
/// `kubectl get events` show the fleet's alerts next to the operator's own events.
pub struct KubeEvents {
    recorder: Recorder,
    regarding: ObjectReference,
}

/// How long the start-up read of the BoothFleet may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The Events API limits a note to 1 kB.
const NOTE_MAX: usize = 1024;
/// ... and an action to 128 characters.
const ACTION_MAX: usize = 128;

impl KubeEvents {
    /// Events about BoothFleet `namespace/name`, reported as `urna-booth-monitor` (instance `POD_NAME`
    /// when the downward API sets it). The BoothFleet is read once for its uid, which
    /// `kubectl describe` matches events on; if it cannot be read the events still go out, without it.
    pub async fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        let mut regarding = ObjectReference {
            api_version: Some("urna.dev/v1alpha1".into()),
            kind: Some("BoothFleet".into()),
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            ..ObjectReference::default()
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &boothfleet_resource());
        // Bounded: an apiserver that does not answer must not keep the monitor from starting.
        match tokio::time::timeout(LOOKUP_TIMEOUT, api.get(name)).await {
            Ok(Ok(obj)) => regarding.uid = obj.metadata.uid,
            Ok(Err(e)) => warn!(namespace, name, error = %e, "BoothFleet not readable: events will carry no uid"),
            Err(_) => warn!(namespace, name, "BoothFleet lookup timed out: events will carry no uid"),
        }
        let reporter = Reporter { controller: "urna-booth-monitor".into(), instance: std::env::var("POD_NAME").ok() };
        Self { recorder: Recorder::new(client, reporter), regarding }
    }

    pub fn regarding(&self) -> &ObjectReference {
        &self.regarding
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The Event for one alert. The action names the device because kube's Recorder folds events with the
/// same (type, reason, action, regarding) within a few minutes into one series (a PATCH of the first
/// event, keeping its note): a constant action would hide every later device behind the first one's note.
pub fn event_of(alert: &Alert) -> Event {
    let mesa = if alert.mesa.is_empty() { String::new() } else { format!(" at mesa {}", alert.mesa) };
    let note = format!("{} on device {}{mesa}: {}", alert.rule, alert.device, alert.evidence);
    Event {
        type_: EventType::Warning,
        reason: alert.rule.to_owned(),
        note: Some(truncate(note, NOTE_MAX)),
        action: truncate(format!("Alert {}", alert.device), ACTION_MAX),
        secondary: None,
    }
}

impl AlertSink for KubeEvents {
    fn name(&self) -> &'static str {
        "events"
    }

    async fn deliver(&self, alert: &Alert) -> Result<(), SinkError> {
        // One attempt: an apiserver that refuses an Event (RBAC, quota, validation) would refuse it again,
        // and the alert stays in the feed, the webhook and the metrics anyway.
        Ok(self.recorder.publish(&event_of(alert), &self.regarding).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_actions_fit_the_events_api() {
        let alert = Alert {
            id: 1,
            device: "é".repeat(100),
            mesa: "mesa-1".into(),
            district: "centro".into(),
            rule: "sos",
            priority: crate::monitor::Priority::Critical,
            evidence: serde_json::json!({ "reason": "x".repeat(2000) }),
            at_ms: 0,
        };
        let ev = event_of(&alert);
        assert!(ev.note.as_ref().is_some_and(|n| n.len() <= NOTE_MAX && n.starts_with("sos on device é")));
        assert!(ev.action.len() <= ACTION_MAX);
        assert_eq!(ev.reason, "sos");
    }
}
