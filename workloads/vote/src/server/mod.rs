//! The HTTP service: the state, the routes and the middleware (rate limit, metrics, tracing span), and the
//! operations endpoints (probes, status, close). The handlers live beside it, split as the crate's double
//! envelope is: [`rights`] (voters) and [`ballots`] (anonymous) never share a handler, and [`booth`] serves
//! the polling station.

mod ballots;
mod booth;
mod rights;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;
use urna_ballot::BallotCodec;
use urna_crypto::blind::BlindVerifyingKey;

use crate::actas::StoredActa;
use crate::ballot_box::BallotBox;
use crate::ballots::BallotStore;
use crate::booth_box::BoothDesk;
use crate::census::CensusReader;
use crate::closing::Closing;
use crate::config::VoteConfig;
use crate::drain::Drain;
use crate::error::{ApiError, VoteError};
use crate::forward::Upstreams;
use crate::metrics::{Metrics, RequestLabels};
use crate::partition::Partition;
use crate::ratelimit::RateLimiter;
use crate::right_keys::RightKeys;
use crate::rights::{ImportReport, StoreBinding, VoterStore};
use crate::session::Sessions;
use crate::wire::{CloseResponse, ElectionInfo, MesaStatus, VoteStatus};
pub use ballots::MAX_BALLOTS_PAGE;
use ballots::{audit_checkpoint, audit_inclusion, list_ballots, receipt, submit_ballot};
pub use booth::MAX_ACTA_BYTES;
use booth::{admit, console_asset, console_page, mesa_actas, signed_acta, submit_acta, submit_booth_ballot};
use rights::{create_session, request_right};

struct AppState {
    voters: Arc<VoterStore>,
    sessions: Sessions,
    ballot_box: BallotBox,
    metrics: Arc<Metrics>,
    limiter: RateLimiter,
    rights: Arc<RightKeys>,
    key: BlindVerifyingKey,
    info: ElectionInfo,
    admin_token_hash: Option<[u8; 32]>,
    bridge_token_hash: Option<[u8; 32]>,
    booth: Option<Arc<BoothDesk>>,
    cpu: Arc<Semaphore>,
    closing: Arc<Closing>,
    drain: Arc<Drain>,
    partition: Partition,
    modality: urna_status::Modality,
    ballot_store: Arc<BallotStore>,
    max_ballot_bytes: usize,
    max_small_body_bytes: usize,
}

/// The vote service: stores opened and checked, ready to serve.
pub struct VoteService {
    state: Arc<AppState>,
}

impl VoteService {
    /// Opens (creating if needed) the stores in `config.data_dir` and checks the configuration: the manifest
    /// and key make a codec, every district has a shard, the stores belong to this election and key.
    pub fn open(config: VoteConfig) -> Result<Self, VoteError> {
        let VoteConfig {
            manifest,
            public_key,
            signing_key,
            data_dir,
            modality,
            shards,
            audit_url,
            opens_at,
            closes_at,
            admin_token,
            session_ttl,
            partition,
            limits,
            retry,
            mesas,
            bridge_token,
            internal_token,
            drain_timeout,
            cpu_jobs,
            audit_log_key,
            witnesses,
            batching,
        } = config;
        let codec = Arc::new(BallotCodec::new(manifest, public_key)?);
        let unserved = shards.unserved(codec.manifest(), modality);
        if !unserved.is_empty() {
            return Err(VoteError::Config(format!(
                "no tally shard configured for modality {modality} in districts {unserved:?} (--shard district:{modality}=URL)"
            )));
        }
        if !mesas.is_empty() && modality != urna_status::Modality::Booth {
            return Err(VoteError::Config(format!("mesas are for the booth modality; this service is {modality}")));
        }
        if !mesas.is_empty() && partition.count > 1 {
            // A mesa's admissions and its booth ballots are counted against each other in one process; across
            // partitions that count would need a cross-replica protocol this service does not have yet.
            return Err(VoteError::Config(format!(
                "mesas (booth ballots) need a single partition; this service is --partition {}/{}",
                partition.index, partition.count
            )));
        }
        // The voting-right keys of every ballot style (refuses a key that is not made of safe primes).
        let rights = Arc::new(RightKeys::derive(&signing_key, codec.manifest(), modality)?);
        std::fs::create_dir_all(&data_dir)?;
        let key = signing_key.verifying_key().clone();
        let binding = StoreBinding {
            election_id: codec.manifest().election_id.clone(),
            manifest_hash: codec.manifest_hash(),
            signing_key_fingerprint: key.fingerprint(),
            partition: partition.index,
            partitions: partition.count,
        };
        let voters = Arc::new(VoterStore::open(&data_dir, &binding)?);
        let ballot_store = Arc::new(BallotStore::open(&data_dir, &binding)?);
        let closing =
            Arc::new(Closing::new(urna_status::Window::new(opens_at, closes_at), ballot_store.closed_at()?.is_some()));
        let metrics = Arc::new(Metrics::new());
        let cpu = Arc::new(Semaphore::new(cpu_jobs.max(1)));
        let info = ElectionInfo {
            election_id: codec.manifest().election_id.clone(),
            manifest_hash: codec.manifest_hash(),
            manifest: codec.manifest().clone(),
            public_key: codec.public_key().clone(),
            blind_key: key.clone(),
            modality: modality.to_string(),
            opens_at: opens_at.map(|t| t.to_string()),
            closes_at: closes_at.map(|t| t.to_string()),
            closed: false,
            partitions: partition.count,
            audit_log: audit_log_key,
            witnesses,
        };
        let upstreams = Upstreams::new(shards, &audit_url, retry, modality, internal_token);
        let ballot_box = BallotBox::new(
            codec,
            rights.clone(),
            modality,
            ballot_store.clone(),
            upstreams,
            metrics.clone(),
            cpu.clone(),
            closing.clone(),
            partition,
            batching,
        )?;
        let booth =
            (!mesas.is_empty()).then(|| Arc::new(BoothDesk { mesas, rights: rights.clone(), voters: voters.clone() }));
        let state = AppState {
            voters,
            sessions: Sessions::new(session_ttl),
            ballot_box,
            metrics,
            limiter: RateLimiter::new(limits.rate_per_second, limits.rate_burst),
            rights,
            key,
            info,
            admin_token_hash: admin_token.map(|t| Sha256::digest(t.as_bytes()).into()),
            bridge_token_hash: bridge_token.map(|t| Sha256::digest(t.as_bytes()).into()),
            booth,
            cpu,
            closing,
            drain: Arc::new(Drain::new(drain_timeout)),
            partition,
            modality,
            ballot_store,
            max_ballot_bytes: limits.max_ballot_bytes,
            max_small_body_bytes: limits.max_small_body_bytes,
        };
        Ok(Self { state: Arc::new(state) })
    }

    /// Imports a census into this service's voter store (see [`crate::census`]); only this partition's rows.
    pub fn import_census<R: std::io::BufRead>(&self, input: R) -> Result<ImportReport, VoteError> {
        let reader = CensusReader::new(input, &self.state.info.manifest);
        self.state.voters.import(reader, self.state.partition)
    }

    pub fn router(&self) -> Router {
        let s = &self.state;
        Router::new()
            .route("/", get(crate::app::index))
            .route("/assets/{name}", get(crate::app::asset))
            .route("/mesa", get(|| async { axum::response::Redirect::permanent("/mesa/") }))
            .route("/mesa/", get(console_page))
            .route("/mesa/assets/{name}", get(console_asset))
            .route("/audit/v1/checkpoint", get(audit_checkpoint))
            .route("/audit/v1/proof/inclusion", get(audit_inclusion))
            .merge(urna_service::probes(readyz, metrics))
            .route("/openapi.json", get(openapi))
            .route("/v1/election", get(election))
            .route("/v1/status", get(status))
            .merge(partition_routes(s))
            .nest(&Partition::path_prefix(s.partition.index), partition_routes(s))
            .route("/v1/receipts/{anon_id}", get(receipt))
            .route("/v1/close", post(close))
            .route("/v1/mesas/{mesa}/admissions", post(admit))
            .route(
                "/v1/mesas/{mesa}/actas",
                post(submit_acta).get(mesa_actas).layer(DefaultBodyLimit::max(MAX_ACTA_BYTES)),
            )
            .route("/v1/mesas/{mesa}/actas/{kind}", get(signed_acta))
            .route("/v1/booth/ballots", post(submit_booth_ballot).layer(DefaultBodyLimit::max(s.max_ballot_bytes)))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(s.max_small_body_bytes))
            .layer(middleware::from_fn_with_state(s.clone(), observe))
            .with_state(s.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then drains ([`crate::drain`]): no new connection
    /// or request is taken, requests in flight finish within the drain timeout or are answered 503
    /// (retryable), and this returns. Also resumes pending ballots and purges sessions in the background.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = self.router();
        let state = self.state.clone();
        let background = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                state.sessions.purge();
                match state.ballot_box.resume_pending().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(ballots = n, "pending ballots acknowledged upstream"),
                    Err(e) => tracing::error!(error = %e, "resuming pending ballots"),
                }
                if state.booth.is_some() {
                    match state.ballot_box.resume_actas().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(actas = n, "actas appended to the audit log"),
                        Err(e) => tracing::error!(error = %e, "resuming actas"),
                    }
                }
            }
        });
        let drain = self.state.drain.clone();
        let signal = {
            let drain = drain.clone();
            async move {
                shutdown.await;
                drain.begin();
            }
        };
        let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal)
            .into_future();
        // Refused requests answer at once; a connection that still has not closed a moment after the drain
        // timeout (a client that stopped reading) is dropped rather than hold the pod past its grace period.
        let result = tokio::select! {
            r = server => r,
            () = async {
                drain.expired().await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            } => {
                tracing::warn!("connections still open after the drain: closing them");
                Ok(())
            }
        };
        background.abort();
        tracing::info!("drained");
        result
    }
}

/// Rate limit, tracing span and request metrics around every route.
async fn observe(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "other".into());
    let method = req.method().to_string();
    let exempt = matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics");
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let response = match peer {
        Some(ip) if !exempt => match s.limiter.check(ip) {
            Ok(()) => None,
            Err(wait) => {
                s.metrics.rate_limited.inc();
                let mut r =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; slow down")
                        .into_response();
                if let Ok(v) = http::HeaderValue::from_str(&format!("{}", wait.ceil().max(1.0) as u64)) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                Some(r)
            }
        },
        _ => None,
    };
    // Draining: a request that starts now is refused (retryable), one in flight is refused once the drain
    // timeout passes; probes and metrics still answer (readiness says "draining").
    let response = match response {
        None if !exempt && s.drain.is_draining() => Some(Drain::refusal().into_response()),
        r => r,
    };
    let started = Instant::now();
    let span = tracing::info_span!("request", method = %method, route = %route);
    let response = match response {
        Some(r) => r,
        None => {
            tokio::select! {
                biased;
                r = next.run(req).instrument(span.clone()) => r,
                () = s.drain.expired(), if !exempt => Drain::refusal().into_response(),
            }
        }
    };
    let mut response = response;
    // Every 503 of this service is retryable (an upstream down, a drain, a store not readable yet): say when.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(http::HeaderValue::from(crate::drain::RETRY_AFTER_SECONDS));
    }
    let status = response.status().as_u16();
    span.in_scope(|| tracing::debug!(status, millis = started.elapsed().as_millis() as u64, "handled"));
    s.metrics.requests.get_or_create(&RequestLabels { route, method, status }).inc();
    response
}

async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if s.drain.is_draining() {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "draining", "shutting down").into_response();
    }
    let voters = s.voters.clone();
    let store = s.ballot_store.clone();
    let ok = tokio::task::spawn_blocking(move || voters.census_size().is_ok() && store.counts().is_ok())
        .await
        .unwrap_or(false);
    if ok {
        urna_service::ready().into_response()
    } else {
        ApiError::unavailable("stores are not readable").into_response()
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    urna_service::openmetrics(s.metrics.encode())
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::DOCUMENT)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn election(State(s): State<Arc<AppState>>) -> Json<ElectionInfo> {
    let mut info = s.info.clone();
    info.closed = s.closing.is_closed();
    Json(info)
}

async fn status(State(s): State<Arc<AppState>>) -> Result<Json<VoteStatus>, ApiError> {
    let voters = s.voters.clone();
    let store = s.ballot_store.clone();
    let mesa_ids = s.booth.as_ref().map(|d| d.mesas().ids()).unwrap_or_default();
    let (census, (rights, rights_by_style), (ballots, pending), mesas) = tokio::task::spawn_blocking(move || {
        let mesas = mesa_ids
            .into_iter()
            .map(|mesa| {
                Ok(MesaStatus {
                    admissions: voters.admitted(&mesa)?,
                    ballots: store.mesa_ballots(&mesa)?,
                    actas: store.actas(&mesa)?.iter().map(StoredActa::status).collect(),
                    mesa,
                })
            })
            .collect::<Result<Vec<_>, VoteError>>()?;
        Ok::<_, VoteError>((
            voters.census_size()?,
            (voters.rights_issued()?, voters.rights_by_style()?),
            store.counts()?,
            mesas,
        ))
    })
    .await
    .map_err(|_| ApiError::internal())??;
    Ok(Json(VoteStatus {
        election_id: s.info.election_id.clone(),
        modality: s.modality,
        partition: s.partition.index,
        partitions: s.partition.count,
        census,
        rights_issued: rights,
        rights_by_style,
        voters_voted: rights,
        ballots_recorded: ballots,
        ballots_pending: pending,
        closed: s.closing.is_closed(),
        window: s.closing.status(),
        mesas,
    }))
}

async fn blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = s.cpu.clone().acquire_owned().await.map_err(|_| ApiError::internal())?;
    tokio::task::spawn_blocking(f).await.map_err(|_| ApiError::internal())?
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// `Authorization: Bearer T` where SHA-256(T) is `expected`.
fn token_matches(headers: &HeaderMap, expected: &[u8; 32]) -> bool {
    bearer(headers).is_some_and(|t| bool::from(Sha256::digest(t.as_bytes()).as_slice().ct_eq(expected)))
}

/// `POST /v1/close` (admin): stop accepting rights and ballots, durably.
async fn close(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<CloseResponse>, ApiError> {
    let Some(expected) = s.admin_token_hash else {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "admin_disabled", "no admin token is configured"));
    };
    if !token_matches(&headers, &expected) {
        return Err(ApiError::unauthorized("admin token required"));
    }
    let store = s.ballot_store.clone();
    let now = jiff::Timestamp::now().to_string();
    let at = tokio::task::spawn_blocking(move || store.close(&now)).await.map_err(|_| ApiError::internal())??;
    s.closing.close();
    tracing::info!(closed_at = %at, "ballot box closed");
    Ok(Json(CloseResponse { closed: true, closed_at: at }))
}

/// [`Partition::ROUTES`], served at `/v1/...` and at `/p/<this partition>/v1/...`: the voter app prefixes them
/// when the election has several partitions, and the cluster's Ingress routes each prefix to its partition's
/// pod.
fn partition_routes(s: &Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/sessions", post(create_session))
        .route("/v1/rights", post(request_right))
        .route("/v1/ballots", post(submit_ballot).layer(DefaultBodyLimit::max(s.max_ballot_bytes)).get(list_ballots))
}
