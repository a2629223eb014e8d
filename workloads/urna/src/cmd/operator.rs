//! `urna operator`: the Kubernetes operator (controllers for Election, Mesa, BoothFleet and TallyShard).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tracing::instrument::WithSubscriber;
use tracing::subscriber::NoSubscriber;
use urna_operator::controller::run::{Settings, run as run_operator};

/// Run the Kubernetes operator.
#[derive(Debug, clap::Args)]
#[command(about = "Run the Kubernetes operator", long_about = None)]
pub struct Args {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "URNA_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// The image the election workloads run.
    #[arg(long, env = "URNA_IMAGE", default_value = urna_operator::workload::DEFAULT_IMAGE)]
    image: String,
    /// Address for /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Namespace of the leader Lease (the operator's own).
    #[arg(long, env = "POD_NAMESPACE", default_value = "urna-system")]
    lease_namespace: String,
    #[arg(long, default_value = "urna-operator")]
    lease_name: String,
    /// Reconcile without holding the Lease (a single replica, or local development).
    #[arg(long)]
    no_leader_election: bool,
    /// Watch Secrets only in this namespace (repeatable): the namespaces where Elections run, when RBAC grants
    /// Secret access only there (the chart's `secretNamespaces`). Default: the watched namespace(s).
    #[arg(long = "secret-namespace", value_name = "NAMESPACE")]
    secret_namespaces: Vec<String>,
    /// Seconds between two polls of a workload's `GET /v1/status` while its Election is Open, Closed or
    /// Tallying (the counters, shards' seals and the audit log's head in the status).
    #[arg(long, env = "URNA_OBSERVE_INTERVAL_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    observe_interval_seconds: u64,
    /// TESTS ONLY: resolve the workloads' status endpoints from this JSON file (`{"<service>": "<base URL>",
    /// "*": "<any other>"}`, read again at every request) instead of cluster DNS, to run the operator against
    /// workloads on 127.0.0.1 (operator/tests/operator_process.rs). Never set in a cluster.
    #[arg(long, value_name = "FILE", hide = true)]
    test_workload_endpoints: Option<std::path::PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        // The check is silent (kube logs its own connection error); a failure is one line and exit 1, with
        // no backtrace, since it is an operational condition and not a bug.
        let client = match connect().with_subscriber(NoSubscriber::default()).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("urna operator: {e}");
                std::process::exit(1);
            }
        };
        let identity = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| format!("urna-operator-{}", std::process::id()));
        let settings = Settings {
            namespace: args.namespace,
            image: args.image,
            listen: args.listen,
            lease_namespace: args.lease_namespace,
            lease_name: args.lease_name,
            identity,
            leader_election: !args.no_leader_election,
            secret_namespaces: args.secret_namespaces,
            observe_interval: Duration::from_secs(args.observe_interval_seconds),
            endpoints: args
                .test_workload_endpoints
                .map(urna_operator::workloads::Endpoints::from_file)
                .unwrap_or_default(),
        };
        run_operator(client, settings).await.map_err(|e| anyhow!("{e}"))
    })
}

/// Connects and checks the apiserver answers, so a missing or unreachable cluster fails fast with one line
/// naming what was tried.
async fn connect() -> anyhow::Result<kube::Client> {
    let kubeconfig = std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into());
    let config = kube::Config::infer().await.map_err(|e| {
        anyhow!("no Kubernetes configuration: not in a cluster and no usable kubeconfig at {kubeconfig} ({e})")
    })?;
    let url = config.cluster_url.clone();
    let client = kube::Client::try_from(config).map_err(|e| anyhow!("Kubernetes client for {url}: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(v)) => {
            tracing::info!(server = %url, version = %v.git_version, "connected");
            Ok(client)
        }
        Ok(Err(e)) => {
            Err(anyhow!("cannot reach the Kubernetes API at {url} (from {kubeconfig} or in-cluster config): {e}"))
        }
        Err(_) => Err(anyhow!(
            "cannot reach the Kubernetes API at {url} (from {kubeconfig} or in-cluster config): timed out after 10s"
        )),
    }
}
