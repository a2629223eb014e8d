//! The HTTP service: routes, middleware (rate limit, metrics, tracing span), handlers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;
use urna_ballot::BallotCodec;
use urna_crypto::blind::{BlindVerifyingKey, BlindedMessage};

use crate::acta::SignedActa;
use crate::actas::StoredActa;
use crate::ballot_box::{BallotBox, Submitted};
use crate::ballots::BallotStore;
use crate::booth_box::BoothDesk;
use crate::census::{CensusReader, parse_voter_id};
use crate::closing::Closing;
use crate::config::VoteConfig;
use crate::credential;
use crate::drain::Drain;
use crate::error::{ApiError, VoteError};
use crate::forward::Upstreams;
use crate::mesa::Mesa;
use crate::metrics::{Metrics, ReasonLabels, RequestLabels};
use crate::partition::Partition;
use crate::ratelimit::RateLimiter;
use crate::right_keys::RightKeys;
use crate::rights::{Admission, ImportReport, Issue, StoreBinding, VoterStore};
use crate::session::Sessions;
use crate::wire::{
    AdmissionRequest, AdmissionResponse, BallotsPage, BoothBallot, CloseResponse, ElectionInfo, MesaActas, MesaBooth,
    MesaStatus, PublishedBallot, RightRequest, RightResponse, SessionRequest, SessionResponse, VoteStatus,
};
use urna_ballot::AnonId;

/// Longest credential accepted: Argon2 of a megabyte is not what a login should cost.
const MAX_CREDENTIAL_LEN: usize = 256;

/// Verified against when the voter is unknown, so that an unknown voter costs the same time as a wrong
/// credential and the census is not enumerable by timing.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| credential::hash_credential("dummy", None, &mut urna_crypto::os_rng()).unwrap_or_default());

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
            .route("/v1/sessions", post(create_session))
            .route("/v1/rights", post(request_right))
            .route(
                "/v1/ballots",
                post(submit_ballot).layer(DefaultBodyLimit::max(s.max_ballot_bytes)).get(list_ballots),
            )
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

/// `POST /v1/sessions`: authenticate with the one-time credential.
async fn create_session(
    State(s): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SessionResponse>, ApiError> {
    let req: SessionRequest = crate::json::parse(body)?;
    let voter_id = parse_voter_id(&req.voter_id).map_err(|m| ApiError::malformed("voterId", m))?;
    if req.credential.is_empty() || req.credential.len() > MAX_CREDENTIAL_LEN {
        return Err(ApiError::malformed("credential", format!("1 to {MAX_CREDENTIAL_LEN} bytes")));
    }
    let owner = Partition::of_voter(&voter_id, s.partition.count);
    if owner != s.partition.index {
        return Err(ApiError::wrong_partition(owner));
    }
    s.closing.check()?;
    let voters = s.voters.clone();
    let credential = req.credential;
    let found = blocking(&s, move || {
        let voter = voters.voter(&voter_id)?;
        let (hash, known) = match &voter {
            Some(v) => (v.credential_hash.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let ok = credential::verify(&credential, hash) && known;
        match voter {
            Some(v) if ok => Ok(Some((v.district, voters.has_right(&voter_id)?))),
            _ => Ok(None),
        }
    })
    .await?;
    let Some((district, right_issued)) = found else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "unknown voter or wrong credential",
        ));
    };
    let token = s
        .sessions
        .create(voter_id, district.clone())
        .ok_or_else(|| ApiError::unavailable("too many open sessions; retry later"))?;
    Ok(Json(SessionResponse {
        token,
        expires_in_seconds: s.sessions.ttl().as_secs(),
        ballot_style: district,
        right_issued,
    }))
}

/// `POST /v1/rights`: the voter's single blind signature.
async fn request_right(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RightResponse>, ApiError> {
    let session = bearer(&headers)
        .and_then(|t| s.sessions.get(t))
        .ok_or_else(|| ApiError::unauthorized("a valid session token is required (Authorization: Bearer ...)"))?;
    let req: RightRequest = crate::json::parse(body)?;
    let blinded = BlindedMessage::from_bytes(&s.key, req.blinded_message.as_bytes())
        .map_err(|e| ApiError::malformed("blindedMessage", e.to_string()))?;
    if let Err(e) = s.closing.check() {
        s.metrics.rights_refused.get_or_create(&ReasonLabels { reason: e.code().into() }).inc();
        return Err(e);
    }
    let (voters, key, rights) = (s.voters.clone(), s.key.clone(), s.rights.clone());
    let (voter_id, district) = (session.voter_id, session.district);
    // The right is derived for the voter's own ballot style and this service's modality (crate::right_keys).
    let outcome = blocking(&s, move || {
        let signer = rights.signer(&district).ok_or_else(ApiError::internal)?;
        Ok(voters.issue(&key, &voter_id, &district, &blinded, || Ok(signer.blind_sign(&blinded)?))?)
    })
    .await?;
    match outcome {
        Issue::Issued(sig) => {
            s.metrics.rights_issued.inc();
            Ok(Json(RightResponse { blind_signature: sig }))
        }
        Issue::Repeated(sig) => Ok(Json(RightResponse { blind_signature: sig })),
        Issue::AlreadyIssued => {
            s.metrics.rights_refused.get_or_create(&ReasonLabels { reason: "right_already_issued".into() }).inc();
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "right_already_issued",
                "this voter's voting right was already issued for another blinded message",
            ))
        }
    }
}

/// `POST /v1/ballots`: anonymous.
async fn submit_ballot(State(s): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let result = match crate::json::parse(body) {
        Ok(package) => s.ballot_box.submit(package).await,
        Err(e) => Err(e),
    };
    submitted(&s, result)
}

fn submitted(s: &AppState, result: Result<Submitted, ApiError>) -> Response {
    match result {
        Ok(Submitted::New(receipt)) => {
            s.metrics.ballot("accepted", "ok");
            (StatusCode::CREATED, Json(receipt)).into_response()
        }
        Ok(Submitted::Identical(receipt)) => {
            s.metrics.ballot("duplicate", "ok");
            (StatusCode::OK, Json(receipt)).into_response()
        }
        Err(e) => {
            s.metrics.ballot("rejected", e.code());
            e.into_response()
        }
    }
}

/// The booth desk, or 404 when this service has no mesas.
fn booth_desk(s: &AppState) -> Result<&Arc<BoothDesk>, ApiError> {
    s.booth.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "booth_disabled", "this vote service serves no mesas (--mesas)")
    })
}

/// `GET /mesa/`: the mesa console ([`crate::console`]), where this service serves mesas.
async fn console_page(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    booth_desk(&s)?;
    Ok(crate::console::page())
}

/// `GET /mesa/assets/{name}`: the console's script and styles.
async fn console_asset(State(s): State<Arc<AppState>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    booth_desk(&s)?;
    Ok(crate::console::asset(&name))
}

/// `Authorization: Bearer T` where SHA-256(T) is `expected`.
fn token_matches(headers: &HeaderMap, expected: &[u8; 32]) -> bool {
    bearer(headers).is_some_and(|t| bool::from(Sha256::digest(t.as_bytes()).as_slice().ct_eq(expected)))
}

/// `POST /v1/mesas/{mesa}/admissions` (mesa console): a mesa member admits a voter for one booth ballot.
async fn admit(
    State(s): State<Arc<AppState>>,
    Path(mesa): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AdmissionResponse>, ApiError> {
    let desk = booth_desk(&s)?;
    let mesa = bearer(&headers)
        .and_then(|t| desk.mesas().authenticate(&mesa, t))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("this mesa's console token is required (Authorization: Bearer ...)"))?;
    let req: AdmissionRequest = crate::json::parse(body)?;
    let voter_id = parse_voter_id(&req.voter_id).map_err(|m| ApiError::malformed("voterId", m))?;
    s.closing.check()?;
    let (voters, desk, m) = (s.voters.clone(), desk.clone(), mesa.clone());
    let outcome = blocking(&s, move || {
        match voters.voter(&voter_id)? {
            Some(v) if v.district == m.district => {}
            // One answer for "not in the census" and "another district": the console learns only "not here".
            _ => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_in_mesa_census",
                    "this voter does not vote in this mesa's district",
                ));
            }
        }
        let outcome = desk.admit(&voter_id, &m)?;
        Ok((outcome, voters.admitted(&m.id)?))
    })
    .await?;
    let status = match outcome.0 {
        Admission::Admitted => {
            s.metrics.rights_issued.inc();
            "admitted"
        }
        Admission::AlreadyAdmitted => "alreadyAdmitted",
        Admission::RightUsed => {
            s.metrics.rights_refused.get_or_create(&ReasonLabels { reason: "right_already_issued".into() }).inc();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "right_already_issued",
                "this voter has already voted (remotely or at another mesa)",
            ));
        }
    };
    Ok(Json(AdmissionResponse { mesa: mesa.id, status: status.into(), admitted: outcome.1 }))
}

/// Largest `POST /v1/mesas/{mesa}/actas` body: an audit-codes acta lists every booth ballot of the mesa
/// (about 70 bytes each), and a results acta every choice of every contest.
pub const MAX_ACTA_BYTES: usize = 1 << 20;

/// The mesa named in the path, if the request carries its console token.
fn console_mesa(s: &AppState, mesa: &str, headers: &HeaderMap) -> Result<(Arc<BoothDesk>, Mesa), ApiError> {
    let desk = booth_desk(s)?;
    let m = bearer(headers)
        .and_then(|t| desk.mesas().authenticate(mesa, t))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("this mesa's console token is required (Authorization: Bearer ...)"))?;
    Ok((desk.clone(), m))
}

/// `POST /v1/mesas/{mesa}/actas` (mesa console): a signed acta ([`crate::actas`]).
async fn submit_acta(
    State(s): State<Arc<AppState>>,
    Path(mesa): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (desk, mesa) = console_mesa(&s, &mesa, &headers)?;
    let acta: SignedActa = crate::json::parse(body)?;
    let outcome = s.ballot_box.submit_acta(&desk, &mesa, acta).await?;
    Ok((outcome.http_status(), Json(outcome.status)).into_response())
}

/// `GET /v1/mesas/{mesa}/actas` (mesa console): what the members need to draft the participants,
/// audit-codes and booth results actas, the actas accepted so far, and the mesa as the console shows it (its
/// district, its members with their public keys, its booths with the ballots each recorded).
async fn mesa_actas(
    State(s): State<Arc<AppState>>,
    Path(mesa): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MesaActas>, ApiError> {
    let (desk, mesa) = console_mesa(&s, &mesa, &headers)?;
    let store = s.ballot_store.clone();
    let (facts, actas, booths, mesa) = blocking(&s, move || {
        let booths = store.booth_ballot_counts(&mesa.booths)?;
        Ok((
            crate::actas::facts(&desk, &store, &mesa)?,
            store.actas(&mesa.id)?.iter().map(StoredActa::status).collect(),
            booths,
            mesa,
        ))
    })
    .await?;
    Ok(Json(MesaActas {
        election_id: s.info.election_id.clone(),
        closed: s.closing.is_closed(),
        admissions: facts.admissions,
        booth_ballots: facts.booth_ballots,
        audit_codes: facts.audit_codes,
        actas,
        district: mesa.district,
        members: mesa.members,
        booths: mesa.booths.into_iter().zip(booths).map(|(id, ballots)| MesaBooth { id, ballots }).collect(),
    }))
}

/// `GET /v1/mesas/{mesa}/actas/{kind}` (public): the accepted signed acta, for anyone to verify with `urna
/// mesa acta verify`. An acta names no voter: participants is a count, audit codes are public AnonIDs.
async fn signed_acta(
    State(s): State<Arc<AppState>>,
    Path((mesa, kind)): Path<(String, String)>,
) -> Result<Json<SignedActa>, ApiError> {
    let desk = booth_desk(&s)?;
    let kind = crate::acta::ActaKind::parse(&kind)
        .ok_or_else(|| ApiError::malformed("kind", "constitution, results, participants or auditCodes"))?;
    let none = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such acta");
    if desk.mesas().get(&mesa).is_none() {
        return Err(none());
    }
    let store = s.ballot_store.clone();
    let found = blocking(&s, move || Ok(store.acta(&mesa, kind)?)).await?;
    found.map(|a| Json(a.acta)).ok_or_else(none)
}

/// `POST /v1/booth/ballots` (the broker's bridge): a booth's ballot, authorized by its mesa's admissions.
async fn submit_booth_ballot(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let desk = booth_desk(&s)?;
        let Some(expected) = s.bridge_token_hash else {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "bridge_disabled", "no bridge token is configured"));
        };
        if !token_matches(&headers, &expected) {
            return Err(ApiError::unauthorized("the bridge token is required (Authorization: Bearer ...)"));
        }
        let req: BoothBallot = crate::json::parse(body)?;
        s.ballot_box.submit_booth(desk, req).await
    }
    .await;
    submitted(&s, result)
}

/// `GET /audit/v1/checkpoint`: the audit log's latest signed checkpoint, relayed as the log serves it.
async fn audit_checkpoint(State(s): State<Arc<AppState>>) -> Response {
    relay_audit(&s, "/v1/checkpoint").await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    size: Option<u64>,
}

/// `GET /audit/v1/proof/inclusion?leaf_hash=H&size=N` (or `index=I`): the log's inclusion proof, relayed. The
/// query is re-encoded from parsed values, so nothing but these three parameters reaches the log.
async fn audit_inclusion(State(s): State<Arc<AppState>>, q: Result<Query<InclusionQuery>, QueryRejection>) -> Response {
    let Ok(Query(q)) = q else {
        return ApiError::malformed("query", "expected index or leaf_hash, and size").into_response();
    };
    let mut params = Vec::new();
    if let Some(i) = q.index {
        params.push(format!("index={i}"));
    }
    if let Some(h) = q.leaf_hash {
        if AnonId::from_hex(&h).is_none() {
            return ApiError::malformed("leaf_hash", "expected 64 lowercase hex digits").into_response();
        }
        params.push(format!("leaf_hash={h}"));
    }
    if let Some(n) = q.size {
        params.push(format!("size={n}"));
    }
    relay_audit(&s, &format!("/v1/proof/inclusion?{}", params.join("&"))).await
}

async fn relay_audit(s: &AppState, path: &str) -> Response {
    match s.ballot_box.upstreams.audit_get(path).await {
        Ok((status, body)) => {
            let status = if status.is_server_error() { StatusCode::BAD_GATEWAY } else { status };
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => ApiError::unavailable(e.to_string()).into_response(),
    }
}

async fn receipt(State(s): State<Arc<AppState>>, Path(anon): Path<String>) -> Result<Response, ApiError> {
    let anon =
        AnonId::from_hex(&anon).ok_or_else(|| ApiError::malformed("anonId", "expected 64 lowercase hex digits"))?;
    Ok(Json(s.ballot_box.receipt(anon).await?).into_response())
}

/// Most ballots one `GET /v1/ballots` returns.
pub const MAX_BALLOTS_PAGE: usize = 200;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BallotsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/ballots?after=ANONID&limit=N`: the recorded ballots in AnonID order, the bulletin board the
/// election record exports. Ballots carry no voter data, so publishing them reveals nothing about who voted.
async fn list_ballots(
    State(s): State<Arc<AppState>>,
    q: Result<Query<BallotsQuery>, QueryRejection>,
) -> Result<Json<BallotsPage>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed("query", e.body_text()))?;
    let after = match q.after.as_deref() {
        Some(a) => {
            Some(AnonId::from_hex(a).ok_or_else(|| ApiError::malformed("after", "expected 64 lowercase hex digits"))?)
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(MAX_BALLOTS_PAGE).clamp(1, MAX_BALLOTS_PAGE);
    let store = s.ballot_store.clone();
    let records = tokio::task::spawn_blocking(move || store.list(after.as_ref(), limit))
        .await
        .map_err(|_| ApiError::internal())??;
    let next = (records.len() == limit).then(|| records.last().map(|r| r.anon_id)).flatten();
    let ballots = records
        .into_iter()
        .map(|r| PublishedBallot { anon_id: r.anon_id, log_index: r.log_index, package: r.package })
        .collect();
    Ok(Json(BallotsPage { ballots, next }))
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
