//! `urna decryption serve --record DIR`: the election's decryption service. It serves the record's decryption
//! request and threshold key to the trustees, takes their partial decryptions over HTTP (each verified on
//! arrival, refused with a reason, stored atomically before it is acknowledged, idempotent per trustee) and,
//! once `t` valid answers are stored, writes `results.json` as `urna results` does. The state is the record
//! directory itself ([`urna_record::intake`]), so a restart (or a `kill -9`) loses nothing accepted.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;
use urna_record::RecordDir;
use urna_record::intake::{Intake, Intook, SubmitError};
use urna_record::model::TrusteePartials;
use urna_status::decryption::{DecryptionStatus, RecordVerification};

const LONG_ABOUT: &str = "\
Serves an exported election record's decryption request to the trustees and collects their partial
decryptions. Each answer (what `urna trustee decrypt --election URL` posts) is checked on arrival: the
trustee must be one of the key's, the answer must be for this record's request (requestHash), and its
batched proof must verify. A refused answer gets a reason and nothing is stored; an accepted one is written
to DIR/decryption/trustee-<i>.json (synced) before the 200. The same answer again gets the same 200; a
different answer from a trustee who already answered gets 409. Once THRESHOLD answers are stored, they are
combined and DIR/results.json is written (as `urna results`).

Once the results are written, the service verifies the finished record as `urna verify record DIR` does
(consistency with its own keys) and reports the outcome in GET /v1/status (`verification`: running, valid
with the ballots counted, or invalid with the first failure): the operator publishes results only from a
record that verified.

Once listening it prints one JSON line on stdout: {\"listening\":\"ADDR\"}.

Endpoints: GET /v1/decryption/request (the bytes of decryption/request.json, which requestHash hashes),
GET /v1/decryption/key (the threshold public key), POST /v1/decryption/partials, GET /v1/results (once
written), GET /v1/status, GET /metrics, GET /healthz, GET /readyz.";

#[derive(Debug, clap::Args)]
#[command(about = "The decryption service: trustees' partial decryptions in, verified, results out")]
pub struct Args {
    #[command(subcommand)]
    command: DecryptionCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DecryptionCommand {
    #[command(about = "Serve a record's decryption request and collect the trustees' answers")]
    #[command(long_about = LONG_ABOUT)]
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The exported election record (with decryption/request.json and keys/threshold-public.json).
    #[arg(long, value_name = "DIR", env = "URNA_DECRYPTION_RECORD")]
    record: PathBuf,
    #[arg(long, default_value = "0.0.0.0:8080", env = "URNA_DECRYPTION_LISTEN")]
    listen: SocketAddr,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DecryptionCommand::Serve(a) => serve(a),
    }
}

/// Most bytes one answer may have: a partial per ciphertext of the request, 3072-bit keys.
const MAX_BODY: usize = 64 << 20;

struct Metrics {
    registry: Registry,
    /// Answers by outcome: `accepted`, `already_accepted`, or the refusal's code.
    answers: Family<Vec<(&'static str, &'static str)>, Counter>,
    results_written: Gauge,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_decryption");
        let answers = Family::default();
        let results_written = Gauge::default();
        registry.register("answers", "Trustee answers received, by outcome", answers.clone());
        registry.register("results_written", "1 once results.json is written", results_written.clone());
        Self { registry, answers, results_written }
    }

    fn count(&self, outcome: &'static str) {
        self.answers.get_or_create(&vec![("outcome", outcome)]).inc();
    }
}

#[derive(Clone)]
struct App {
    intake: Arc<Mutex<Intake>>,
    /// Published after every change, so status reads never wait behind a proof being verified.
    status: Arc<Mutex<DecryptionStatus>>,
    request: Bytes,
    key: String,
    results_path: PathBuf,
    record_dir: PathBuf,
    /// The finished record's verification; `None` until the results are written.
    verification: Arc<Mutex<Option<RecordVerification>>>,
    metrics: Arc<Metrics>,
}

impl App {
    fn publish(&self, intake: &Intake) {
        let mut status = intake.status();
        self.metrics.results_written.set(i64::from(status.results.is_some()));
        let written = status.results.is_some();
        status.verification = self.verification.lock().unwrap_or_else(PoisonError::into_inner).clone();
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = status;
        if written {
            self.verify_once();
        }
    }

    /// Starts verifying the finished record (once per process: the record does not change after the results
    /// are written, and a restarted service verifies again).
    fn verify_once(&self) {
        {
            let mut v = self.verification.lock().unwrap_or_else(PoisonError::into_inner);
            if v.is_some() {
                return;
            }
            *v = Some(RecordVerification::Running);
        }
        self.set_verification(RecordVerification::Running);
        let app = self.clone();
        std::thread::spawn(move || {
            let progress = |step: &str, done: u64, total: u64| tracing::debug!(step, done, total, "verifying");
            let outcome = match urna_record::verify_record(&RecordDir::new(&app.record_dir), None, &progress) {
                Ok(summary) => {
                    tracing::info!(ballots = summary.ballots, "the finished record verifies");
                    RecordVerification::Valid { ballots: summary.ballots }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the finished record does not verify");
                    RecordVerification::Invalid { reason: e.to_string() }
                }
            };
            *app.verification.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome.clone());
            app.set_verification(outcome);
        });
    }

    fn set_verification(&self, v: RecordVerification) {
        self.status.lock().unwrap_or_else(PoisonError::into_inner).verification = Some(v);
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let record = RecordDir::new(&args.record);
    let mut intake = Intake::open(record).with_context(|| format!("opening the record {}", args.record.display()))?;
    // A service killed between storing the t-th answer and writing the results finishes the job now.
    intake.combine_if_ready().context("combining the stored answers")?;
    let status = intake.status();
    tracing::info!(
        trustees = status.trustees,
        threshold = status.threshold,
        accepted = ?status.accepted,
        results = status.results.is_some(),
        request_hash = %hex::encode(status.request_hash),
        "decryption service opened"
    );
    let app = App {
        request: Bytes::copy_from_slice(intake.request_bytes()),
        key: intake.public_key().to_json(),
        results_path: intake.record().results(),
        record_dir: args.record.clone(),
        verification: Arc::new(Mutex::new(None)),
        status: Arc::new(Mutex::new(status)),
        intake: Arc::new(Mutex::new(intake)),
        metrics: Arc::new(Metrics::new()),
    };
    app.publish(&app.intake.lock().unwrap_or_else(PoisonError::into_inner));
    let router = Router::new()
        .route("/v1/decryption/request", get(request))
        .route("/v1/decryption/key", get(key))
        .route("/v1/decryption/partials", post(submit))
        .route("/v1/results", get(results))
        .route("/v1/status", get(status_handler))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { json_response(StatusCode::OK, &json!({ "status": "ok" })) }))
        .route("/readyz", get(|| async { json_response(StatusCode::OK, &json!({ "status": "ready" })) }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr().context("local address")?;
        tracing::info!(%addr, "decryption service listening");
        println!("{}", json!({ "listening": addr.to_string() }));
        // In-flight submissions finish (and are stored) before the process exits.
        axum::serve(listener, router).with_graceful_shutdown(super::signal::shutdown()).await.context("serving")
    })
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    json_response(status, &json!({ "error": { "code": code, "message": message.to_string() } }))
}

async fn request(State(app): State<App>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.request.clone()).into_response()
}

async fn key(State(app): State<App>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.key.clone()).into_response()
}

async fn status_handler(State(app): State<App>) -> Response {
    let status = app.status.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match serde_json::to_value(&status) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    }
}

async fn results(State(app): State<App>) -> Response {
    let written = app.status.lock().unwrap_or_else(PoisonError::into_inner).results.is_some();
    if !written {
        return error(StatusCode::NOT_FOUND, "no_results", "fewer than THRESHOLD trustees have answered");
    }
    let path = &app.results_path;
    match tokio::fs::read(path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", format!("{}: {e}", path.display())),
    }
}

async fn metrics(State(app): State<App>) -> Response {
    let mut text = String::new();
    if let Err(e) = encode(&mut text, &app.metrics.registry) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

/// `POST /v1/decryption/partials`: one trustee's answer (`{requestHash, partials}`, as `urna trustee decrypt`
/// writes it). Verified off the async threads, one answer at a time.
async fn submit(State(app): State<App>, body: Bytes) -> Response {
    let answer: TrusteePartials = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            app.metrics.count("malformed");
            return error(StatusCode::BAD_REQUEST, "malformed", format!("not a trustee answer: {e}"));
        }
    };
    let trustee = answer.partials.trustee().get();
    let request_hash = answer.request_hash;
    let worker = app.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut intake = worker.intake.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = intake.submit(answer);
        worker.publish(&intake);
        outcome
    })
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    };
    match outcome {
        Ok(intook) => {
            let label = match intook {
                Intook::Accepted => "accepted",
                Intook::AlreadyAccepted => "already_accepted",
            };
            app.metrics.count(label);
            tracing::info!(trustee, outcome = label, "trustee answer");
            // The same body whether new or repeated: a trustee retrying after a lost response sees what it
            // would have seen.
            json_response(
                StatusCode::OK,
                &json!({ "trustee": trustee, "requestHash": hex::encode(request_hash), "status": "accepted" }),
            )
        }
        Err(SubmitError::Refused(r)) => {
            app.metrics.count(r.code());
            tracing::warn!(trustee, code = r.code(), reason = %r, "trustee answer refused");
            let status = match r {
                urna_record::intake::Refusal::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            error(status, r.code(), r)
        }
        Err(SubmitError::Record(e)) => {
            app.metrics.count("storage_error");
            tracing::error!(trustee, error = %e, "storing or combining a trustee answer failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                format!("{e}; the answer is not acknowledged, resend it"),
            )
        }
    }
}
