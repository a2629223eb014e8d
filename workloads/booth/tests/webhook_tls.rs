//! The monitor's webhook over HTTPS, for real on 127.0.0.1: a TLS server (tokio-rustls, HTTP/1.1 by hyper)
//! whose certificate a test CA issued receives the alert as JSON when the sink trusts that CA
//! (`--webhook-ca`), and a server whose certificate another CA issued is refused: nothing reaches it and
//! the failure is counted as the webhook's.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use urna_booth::metrics::MonitorMetrics;
use urna_booth::monitor::Alert;
use urna_booth::sink::{self, AlertSink, Webhook, WebhookRoots};

type Res<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A CA: its certificate (PEM, what `--webhook-ca` reads) and the issuer that signs server certificates.
struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Res<TestCa> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate()?;
    let cert = p.self_signed(&key)?;
    Ok(TestCa { pem: cert.pem(), issuer: Issuer::new(p, key) })
}

/// A webhook server on 127.0.0.1 with a certificate for `127.0.0.1` from `ca`; it answers 200 to every
/// POST and records each body.
async fn webhook_server(ca: &TestCa) -> Res<(SocketAddr, Arc<Mutex<Vec<Value>>>)> {
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &ca.issuer)?;
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let store = store.clone();
            tokio::spawn(async move {
                // A client that refuses our certificate ends the handshake here: nothing is read.
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let store = store.clone();
                    async move {
                        let body = req.into_body().collect().await?.to_bytes();
                        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                            store.lock().unwrap_or_else(|e| e.into_inner()).push(v);
                        }
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    Ok((addr, received))
}

fn alert() -> Alert {
    Alert {
        id: 1,
        device: "mesa-centro-1-3".into(),
        mesa: "mesa-centro-1".into(),
        district: "centro".into(),
        rule: "geofence",
        priority: urna_booth::monitor::priority("geofence"),
        evidence: serde_json::json!({ "distanceM": 812.5 }),
        at_ms: 1_780_000_000_000,
    }
}

#[tokio::test]
async fn https_webhook_receives_alerts_from_a_trusted_ca_and_refuses_another() -> Res {
    let trusted = ca("webhook test CA")?;
    let (addr, received) = webhook_server(&trusted).await?;
    let roots = WebhookRoots::Pem(trusted.pem.clone().into_bytes());
    let hook = Webhook::with_retries(format!("https://{addr}/urna"), &roots, 2, Duration::from_millis(10))?;
    assert_eq!(hook.name(), "webhook");
    hook.deliver(&alert()).await?;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["device"], "mesa-centro-1-3");
    assert_eq!(got[0]["mesa"], "mesa-centro-1");
    assert_eq!(got[0]["rule"], "geofence");
    assert_eq!(got[0]["evidence"]["distanceM"], 812.5);

    // A server whose certificate another CA issued: the handshake fails, nothing is delivered, and the
    // sink's task counts the failure under the webhook's name.
    let other = ca("somebody else's CA")?;
    let (bad_addr, bad_received) = webhook_server(&other).await?;
    let hook = Webhook::with_retries(format!("https://{bad_addr}/urna"), &roots, 2, Duration::from_millis(10))?;
    let err = hook.deliver(&alert()).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("2 attempts"), "{err}");
    let metrics = Arc::new(MonitorMetrics::new());
    let (tx, task) = sink::spawn(hook, metrics.clone());
    tx.send(alert()).await?;
    drop(tx);
    task.await?;
    assert_eq!(metrics.delivery_failure_count("webhook"), 1);
    assert!(bad_received.lock().unwrap_or_else(|e| e.into_inner()).is_empty(), "nothing reached the impostor");

    // Without the private CA (system roots only) the trusted server is refused too: its CA is private.
    let system = Webhook::with_retries(format!("https://{addr}/urna"), &WebhookRoots::System, 1, Duration::ZERO)?;
    assert!(system.deliver(&alert()).await.is_err());
    assert_eq!(received.lock().unwrap_or_else(|e| e.into_inner()).len(), 1);
    Ok(())
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let err = Webhook::new("https://127.0.0.1:1/".into(), &WebhookRoots::Pem(b"not a PEM".to_vec())).err();
    assert!(err.is_some_and(|e| e.to_string().contains("no certificate")));
}
