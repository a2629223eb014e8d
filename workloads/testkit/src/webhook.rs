//! A webhook receiver on 127.0.0.1.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;

/// Starts a webhook receiver on 127.0.0.1: it answers 200 to every request and keeps each JSON body, in the
/// order received (a body that is not JSON is dropped). Returns its URL (`http://ADDR/alerts`) and the bodies;
/// it serves until the test's runtime ends.
pub async fn webhook() -> std::io::Result<(String, Arc<Mutex<Vec<Value>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/alerts", listener.local_addr()?);
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let app = Router::new().fallback(move |body: Bytes| {
        let sink = sink.clone();
        async move {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(v);
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, received))
}
