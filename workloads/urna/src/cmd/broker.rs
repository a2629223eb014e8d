//! `urna broker`: the booth fleet's MQTT broker (rumqttd behind the project's mutual-TLS front).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use urna_auth::Token;
use urna_broker::{AdminAuth, Broker, BrokerConfig, Limits, PendingLimits, RateLimit};

/// Where `urna broker` reads its admin token when no `--admin-token-file` is given (the operator passes
/// it so, from the BoothFleet's Secret: `urna_operator::workload::BROKER_ADMIN_TOKEN_ENV`).
pub const ADMIN_TOKEN_ENV: &str = "URNA_BROKER_ADMIN_TOKEN";

const LONG_ABOUT: &str = "\
Runs the booth fleet's MQTT broker: rumqttd embedded on a loopback port, reached only through a front that
requires a client certificate from the fleet CA, takes the device id from its CN (the MQTT client id must
equal it), lets a device publish only on urna/FLEET/booth/DEVICE/{heartbeat,gps,ballot,sos,state} and
subscribe only to urna/FLEET/booth/DEVICE/cmd/#, refuses blocked devices and disconnects them when blocked,
and holds each device to a message rate. Backends (certificate CN in --backend) read the fleet through
shared subscriptions and publish commands.

--tls-dir holds ca.crt, tls.crt and tls.key (the operator's broker Secret). Once listening it prints one
JSON line on stdout: {\"listening\":\"ADDR\",\"status\":\"ADDR\"}.

Status endpoints: GET /healthz, GET /readyz, GET /metrics, GET /v1/status, GET /v1/blocklist,
PUT /v1/blocklist/DEVICE, DELETE /v1/blocklist/DEVICE. PUT and DELETE need the admin token
(Authorization: Bearer TOKEN) from --admin-token-file or URNA_BROKER_ADMIN_TOKEN; without a token the
broker does not start, unless --insecure-no-auth (status port on loopback only) says to leave them open.

Connections not admitted yet (TLS handshake or CONNECT to come) are held apart from the admitted
sessions: at most --max-pending-per-address from one address (an IPv6 /64 counts as one), at most
--max-pending-handshakes in all, beyond which each new one closes the oldest. See docs/broker.md.";

#[derive(Debug, clap::Args)]
#[command(about = "Run the booth fleet's MQTT broker (mutual TLS, per-device topic rights, blocking)")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// The fleet (BoothFleet name): second level of every topic.
    #[arg(long, env = "URNA_BROKER_FLEET")]
    fleet: String,
    /// Directory with ca.crt (fleet CA), tls.crt and tls.key (the broker's certificate).
    #[arg(long, value_name = "DIR", env = "URNA_BROKER_TLS_DIR")]
    tls_dir: PathBuf,
    /// MQTT over TLS.
    #[arg(long, default_value = "0.0.0.0:8883", env = "URNA_BROKER_LISTEN")]
    listen: SocketAddr,
    /// Status, metrics and blocklist API (plain HTTP, keep it inside the cluster).
    #[arg(long, default_value = "0.0.0.0:8080", env = "URNA_BROKER_STATUS_LISTEN")]
    status_listen: SocketAddr,
    /// Certificate CNs that are backends (bridge, monitor) rather than devices.
    #[arg(long = "backend", default_value = urna_broker::DEFAULT_BACKEND, env = "URNA_BROKER_BACKENDS", value_delimiter = ',')]
    backends: Vec<String>,
    /// Time allowed for the TLS handshake, and again for the CONNECT.
    #[arg(long, default_value_t = 10_000)]
    handshake_timeout_ms: u64,
    /// Admitted sessions beyond which a new CONNECT is refused (CONNACK 3).
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Connections not admitted yet, in all; beyond it each new one closes the oldest.
    #[arg(long, default_value_t = PendingLimits::default().budget)]
    max_pending_handshakes: usize,
    /// Connections not admitted yet from one IPv4 address or IPv6 /64; beyond it new ones are closed.
    #[arg(long, default_value_t = PendingLimits::default().per_address)]
    max_pending_per_address: usize,
    #[arg(long, default_value_t = 256 * 1024)]
    max_packet_bytes: usize,
    /// Sustained PUBLISH rate per device (messages per second).
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// PUBLISH burst per device (an offline booth replaying its queue).
    #[arg(long, default_value_t = 200.0)]
    burst: f64,
    /// Blocked devices, one id per line (# comments); re-read when it changes.
    #[arg(long, value_name = "FILE", env = "URNA_BROKER_BLOCKLIST")]
    blocklist: Option<PathBuf>,
    #[arg(long, default_value_t = 2_000)]
    blocklist_poll_ms: u64,
    /// File holding the bearer token for PUT/DELETE /v1/blocklist (or env URNA_BROKER_ADMIN_TOKEN).
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Serve PUT/DELETE /v1/blocklist without a token (tests only; needs a loopback --status-listen).
    #[arg(long)]
    insecure_no_auth: bool,
}

/// The admin API's guard: a token, or, asked for by name and on loopback only, none.
fn admin_auth(token: Option<Token>, insecure_no_auth: bool, status_listen: SocketAddr) -> Result<AdminAuth> {
    let g = super::token::Guarded {
        what: "the blocklist API",
        file_flag: "--admin-token-file",
        env: ADMIN_TOKEN_ENV,
        listen_flag: "--status-listen",
    };
    super::token::server_auth(token, insecure_no_auth, status_listen, &g)
}

pub fn run(args: Args) -> Result<()> {
    if !(args.rate > 0.0 && args.burst >= 1.0) {
        bail!("--rate must be positive and --burst at least 1");
    }
    if args.max_pending_handshakes == 0 || args.max_pending_per_address == 0 {
        bail!("--max-pending-handshakes and --max-pending-per-address must be at least 1");
    }
    let token = super::token::from_file_or_env(args.admin_token_file.as_deref(), ADMIN_TOKEN_ENV)?;
    let admin = admin_auth(token, args.insecure_no_auth, args.status_listen)?;
    let tls = urna_broker::tls::server_config_from_dir(&args.tls_dir)
        .with_context(|| format!("loading TLS material from {}", args.tls_dir.display()))?;
    let mut config = BrokerConfig::new(&args.fleet, tls, admin);
    config.listen = args.listen;
    config.status_listen = args.status_listen;
    config.backends = args.backends;
    config.limits = Limits {
        handshake_timeout: Duration::from_millis(args.handshake_timeout_ms),
        max_connections: args.max_connections,
        pending: PendingLimits { per_address: args.max_pending_per_address, budget: args.max_pending_handshakes },
        max_packet_bytes: args.max_packet_bytes,
        rate: RateLimit { per_second: args.rate, burst: args.burst },
    };
    config.blocklist_file = args.blocklist;
    config.blocklist_poll = Duration::from_millis(args.blocklist_poll_ms.max(100));

    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async move {
        let broker = Broker::start(config).await.context("starting the broker")?;
        let mut out = std::io::stdout().lock();
        let line =
            serde_json::json!({ "listening": broker.mqtt_addr.to_string(), "status": broker.status_addr.to_string() });
        writeln!(out, "{line}").and_then(|()| out.flush()).context("writing to stdout")?;
        drop(out);
        super::signal::shutdown().await;
        tracing::info!("shutting down");
        broker.shutdown().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_api_is_guarded_unless_asked_for_open_on_loopback() -> Result<()> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 8080));
        let anywhere = SocketAddr::from(([0, 0, 0, 0], 8080));
        let err = |r: Result<AdminAuth>| r.err().map(|e| e.to_string()).unwrap_or_default();
        let t = Token::new("t")?;
        assert!(matches!(admin_auth(Some(t.clone()), false, anywhere), Ok(AdminAuth::Token(x)) if x == t));
        assert!(err(admin_auth(None, false, loopback)).contains("--admin-token-file"));
        assert!(err(admin_auth(None, true, anywhere)).contains("loopback"));
        assert!(err(admin_auth(Some(t), true, loopback)).contains("contradicts"));
        assert!(matches!(admin_auth(None, true, loopback), Ok(AdminAuth::InsecureNoAuth)));
        Ok(())
    }
}
