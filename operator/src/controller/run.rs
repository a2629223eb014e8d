//! Running the operator: health and metrics server, leader election with a Lease, the four controllers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Config as WatcherConfig;
use kube::{Client, Resource};
use kube_lease_manager::LeaseManagerBuilder;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::{Context, error_policy};
use crate::build::Defaults;
use crate::crd::{BoothFleet, Election, Mesa, TallyShard};
use crate::health::{self, HealthState};
use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Watch only this namespace (the chart's `namespaced: true`); all namespaces when `None`.
    pub namespace: Option<String>,
    pub image: String,
    pub listen: SocketAddr,
    /// Where the leader Lease lives (the operator's own namespace).
    pub lease_namespace: String,
    pub lease_name: String,
    pub identity: String,
    pub leader_election: bool,
    /// Watch Secrets only in these namespaces (the chart's `secretNamespaces`, where a Role grants Secret
    /// access); empty: in the watched namespace(s), as `namespace`.
    pub secret_namespaces: Vec<String>,
    /// How often the workloads' `GET /v1/status` is asked while an Election is Open or closing.
    pub observe_interval: std::time::Duration,
    /// Where the workloads answer: cluster DNS ([`crate::workloads::Endpoints::default`]); tests running the
    /// operator as a process map them to 127.0.0.1.
    pub endpoints: crate::workloads::Endpoints,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("health server on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("leader election: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
    #[error("lost the leader Lease; exiting so a replica with a fresh view takes over")]
    LostLease,
}

fn api<K>(client: &Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs until a shutdown signal (or the loss of the Lease).
pub async fn run(client: Client, settings: Settings) -> Result<(), RunError> {
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let listener =
        tokio::net::TcpListener::bind(settings.listen).await.map_err(|e| RunError::Listen(settings.listen, e))?;
    let router = health::router(HealthState { metrics: metrics.clone(), ready: ready.clone() });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            warn!(error = %e, "health server stopped");
        }
    });
    ready.store(true, Ordering::Relaxed);
    info!(listen = %settings.listen, "serving /healthz, /readyz, /metrics");

    // Two replicas are safe: only the Lease holder reconciles.
    let mut lease = if settings.leader_election {
        let manager = LeaseManagerBuilder::new(client.clone(), &settings.lease_name)
            .with_namespace(&settings.lease_namespace)
            .with_identity(&settings.identity)
            .with_field_manager(crate::workload::FIELD_MANAGER)
            .build()
            .await?;
        let (mut rx, _task) = manager.watch().await;
        info!(lease = %settings.lease_name, identity = %settings.identity, "waiting for the leader Lease");
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return Err(RunError::LostLease);
            }
        }
        info!("acquired the leader Lease");
        Some(rx)
    } else {
        None
    };
    metrics.leader.set(1);

    let clock: super::Clock = Arc::new(jiff::Timestamp::now);
    let poller = crate::workloads::Poller::new(
        crate::workloads::WorkloadClient::default(),
        settings.endpoints.clone(),
        settings.observe_interval,
    );
    let ctx = Arc::new(
        Context::new(client.clone(), metrics, Defaults { image: settings.image.clone() }, clock).with_poller(poller),
    );
    let ns = settings.namespace.as_deref();
    let wc = WatcherConfig::default().any_semantic();
    let owned = WatcherConfig::default().labels(&format!(
        "{}={}",
        crate::meta::LABEL_MANAGED_BY,
        crate::workload::FIELD_MANAGER
    ));
    // Bounded concurrency keeps a federal election (64 shards) from bursting the apiserver.
    let cc = ControllerConfig::default().concurrency(4);

    let elections = Controller::new(api::<Election>(&client, ns), wc.clone())
        .with_config(cc.clone())
        // Mesas and fleets make the booth vote service's mesas file (console tokens, booths).
        .watches(api::<Mesa>(&client, ns), wc.clone(), |m| {
            let ns = m.metadata.namespace.clone()?;
            Some(ObjectRef::new(&m.spec.election).within(&ns))
        })
        .watches(api::<BoothFleet>(&client, ns), wc.clone(), |f| {
            let ns = f.metadata.namespace.clone()?;
            Some(ObjectRef::new(&f.spec.election).within(&ns))
        })
        .owns(api::<StatefulSet>(&client, ns), owned.clone())
        .owns(api::<TallyShard>(&client, ns), owned.clone())
        .owns(api::<ConfigMap>(&client, ns), owned.clone())
        // Closing: the export Job's completion and the decryption service's rollout move it on.
        .owns(api::<Job>(&client, ns), owned.clone())
        .owns(api::<Deployment>(&client, ns), owned.clone())
        .shutdown_on_signal()
        .run(super::election::reconcile, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let mesas = Controller::new(api::<Mesa>(&client, ns), wc.clone())
        .with_config(cc.clone())
        .owns(api::<ConfigMap>(&client, ns), owned.clone())
        .shutdown_on_signal()
        .run(super::mesa::reconcile, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let mut fleets = Controller::new(api::<BoothFleet>(&client, ns), wc.clone())
        .with_config(cc.clone())
        // A Mesa gives its fleet's devices their district (shard), geofence, window and census.
        .watches(api::<Mesa>(&client, ns), wc.clone(), |m| {
            let ns = m.metadata.namespace.clone()?;
            m.spec.booths.as_ref().map(|b| ObjectRef::new(&b.fleet).within(&ns))
        })
        .owns(api::<StatefulSet>(&client, ns), owned.clone())
        .owns(api::<ConfigMap>(&client, ns), owned.clone())
        .owns(api::<Service>(&client, ns), owned.clone());
    // Least privilege: with `secret_namespaces` the operator holds no cluster-wide Secret access, so it
    // watches the Secrets of those namespaces only.
    if settings.secret_namespaces.is_empty() {
        fleets = fleets.owns(api::<Secret>(&client, ns), owned.clone());
    }
    for secret_ns in &settings.secret_namespaces {
        fleets = fleets.owns(Api::<Secret>::namespaced(client.clone(), secret_ns), owned.clone());
    }
    let fleets = fleets
        .shutdown_on_signal()
        .run(super::boothfleet::reconcile, error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));
    let shards = Controller::new(api::<TallyShard>(&client, ns), wc)
        .with_config(cc)
        .owns(api::<StatefulSet>(&client, ns), owned)
        .shutdown_on_signal()
        .run(super::tallyshard::reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()));
    let controllers = async {
        futures::join!(elections, mesas, fleets, shards);
    };
    match lease.as_mut() {
        Some(rx) => {
            let lost = async {
                loop {
                    if rx.changed().await.is_err() || !*rx.borrow_and_update() {
                        return;
                    }
                }
            };
            tokio::select! {
                _ = controllers => Ok(()),
                _ = lost => Err(RunError::LostLease),
            }
        }
        None => {
            controllers.await;
            Ok(())
        }
    }
}
