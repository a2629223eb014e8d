//! Where each workload answers: the Service (or a StatefulSet pod's name under its headless Service) and
//! port, named by the same functions the builders use, resolved to a base URL. By default cluster DNS
//! (`http://<service>.<ns>.svc:<port>`); tests map them to 127.0.0.1 ports with [`Endpoints::new`], or, for
//! the operator as a process, with [`Endpoints::from_file`] (`urna operator --test-workload-endpoints`).

use std::sync::Arc;

use kube::ResourceExt;

use crate::build::{booth_vote, boothfleet, election, tallyshard};
use crate::crd::Election;
use crate::workload::HTTP_PORT;

/// A workload's HTTP endpoint, before resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub namespace: String,
    /// The DNS name inside the namespace: a Service, or `<pod>.<headless service>`.
    pub service: String,
    pub port: i32,
}

impl Endpoint {
    pub fn new(namespace: &str, service: impl Into<String>, port: i32) -> Self {
        Self { namespace: namespace.to_owned(), service: service.into(), port }
    }

    /// The in-cluster base URL.
    pub fn cluster_url(&self) -> String {
        format!("http://{}.{}.svc:{}", self.service, self.namespace, self.port)
    }

    /// A tally shard (its headless Service: one replica).
    pub fn shard(namespace: &str, shard: &str) -> Self {
        Self::new(namespace, tallyshard::workload_name(shard), HTTP_PORT)
    }

    /// Vote partition `i` of `e`: its pod under the headless Service (each partition is its own process).
    pub fn vote_partition(namespace: &str, e: &Election, i: u32) -> Self {
        let name = election::vote_name(&e.name_any());
        Self::new(namespace, format!("{name}-{i}.{name}"), HTTP_PORT)
    }

    pub fn audit(namespace: &str, e: &Election) -> Self {
        Self::new(namespace, election::audit_name(&e.name_any()), HTTP_PORT)
    }

    /// The booth vote service (`spec.vote.booth`, one replica).
    pub fn booth_vote(namespace: &str, e: &Election) -> Self {
        Self::new(namespace, booth_vote::booth_vote_name(&e.name_any()), HTTP_PORT)
    }

    /// Replica `i` of broker workload `broker`: its own ClusterIP Service, status on the HTTP port.
    pub fn broker_replica(namespace: &str, broker: &str, i: i32) -> Self {
        Self::new(namespace, boothfleet::broker_replica_service(broker, i), HTTP_PORT)
    }

    /// The fleet monitor's Service.
    pub fn monitor(namespace: &str, fleet: &str) -> Self {
        Self::new(namespace, boothfleet::monitor_name(fleet), HTTP_PORT)
    }
}

/// Resolves an [`Endpoint`] to a base URL (no trailing slash).
#[derive(Clone)]
pub struct Endpoints(Arc<dyn Fn(&Endpoint) -> String + Send + Sync>);

impl Default for Endpoints {
    fn default() -> Self {
        Self(Arc::new(Endpoint::cluster_url))
    }
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoints(..)")
    }
}

impl Endpoints {
    /// A resolver of one's own (tests: services on 127.0.0.1 ports).
    pub fn new(resolve: impl Fn(&Endpoint) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(resolve))
    }

    /// TESTS ONLY (`urna operator --test-workload-endpoints FILE`): the base URL of each workload from a JSON
    /// object, `{"<service>": "http://127.0.0.1:PORT", "*": "<for every other one>"}`, keyed by
    /// [`Endpoint::service`]. The file is read again at every resolution, so a test can add a workload it
    /// started later (write a new file, then rename it over this one). A name neither listed nor covered by
    /// `"*"`, or a file that cannot be read, resolves to cluster DNS as [`Endpoints::default`] does.
    pub fn from_file(path: std::path::PathBuf) -> Self {
        Self::new(move |ep| {
            let map: std::collections::BTreeMap<String, String> =
                std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
            map.get(&ep.service).or_else(|| map.get("*")).cloned().unwrap_or_else(|| ep.cluster_url())
        })
    }

    pub fn base(&self, e: &Endpoint) -> String {
        (self.0)(e).trim_end_matches('/').to_owned()
    }

    /// `base + path` (`path` starts with `/`).
    pub fn url(&self, e: &Endpoint, path: &str) -> String {
        format!("{}{path}", self.base(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_dns_names_match_what_the_builders_route_to() {
        let set = crate::examples::municipal();
        let e = &set.elections[0];
        let ns = e.namespace().unwrap_or_else(|| "ciudad".into());
        let d = Endpoints::default();
        // The vote service's own shard routes name the same URLs.
        let routes = election::shard_routes(e, &election::tally_shards(e));
        let shard = election::tally_shards(e)[0].name_any();
        let url = d.base(&Endpoint::shard(&ns, &shard));
        assert!(routes.iter().any(|r| r.ends_with(&format!("={url}"))), "{url} in {routes:?}");
        // The partitions' URLs are the ones published in election.json.
        let parts: Vec<String> =
            (0..e.spec.vote.partitions).map(|i| d.base(&Endpoint::vote_partition(&ns, e, i))).collect();
        assert_eq!(parts, election::vote_urls(e));
        assert_eq!(d.base(&Endpoint::booth_vote(&ns, e)), booth_vote::booth_vote_url(e));
        assert_eq!(d.url(&Endpoint::audit(&ns, e), "/v1/status"), "http://ciudad-2027-audit.ciudad.svc:8080/v1/status");
        let local = Endpoints::new(|ep| format!("http://127.0.0.1:{}/", 9000 + ep.port));
        assert_eq!(local.url(&Endpoint::monitor("x", "f"), "/v1/status"), "http://127.0.0.1:17080/v1/status");
    }

    #[test]
    fn a_test_endpoints_file_is_read_at_every_resolution() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("endpoints.json");
        let from = Endpoints::from_file(path.clone());
        let audit = Endpoint::new("ciudad", "ciudad-2027-audit", HTTP_PORT);
        assert_eq!(from.base(&audit), "http://ciudad-2027-audit.ciudad.svc:8080", "no file: cluster DNS");
        let write = |text: &str| std::fs::write(&path, text).unwrap_or_else(|e| panic!("write: {e}"));
        write(r#"{"ciudad-2027-audit": "http://127.0.0.1:9001/", "*": "http://127.0.0.1:1"}"#);
        assert_eq!(from.base(&audit), "http://127.0.0.1:9001");
        assert_eq!(from.base(&Endpoint::new("ciudad", "other", HTTP_PORT)), "http://127.0.0.1:1");
        write(r#"{"ciudad-2027-audit": "http://127.0.0.1:9002"}"#);
        assert_eq!(from.base(&audit), "http://127.0.0.1:9002", "read again");
        assert_eq!(from.base(&Endpoint::new("ciudad", "other", HTTP_PORT)), "http://other.ciudad.svc:8080");
    }
}
