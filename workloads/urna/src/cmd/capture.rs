//! `urna capture serve`: PREP's capture service. Capturists, each with their own token, upload a mesa's
//! results-sheet photo (stored by SHA-256) and type its figures; the double-entry rule
//! (`urna_record::capture`) decides each mesa's status; `urna publish` reads the state (`GET /v1/captures`,
//! the publisher's token) and writes the snapshots.
//!
//! State: `DATA/captures.jsonl`, one accepted capture per line, appended and synced before the answer, and
//! `DATA/photos/<sha256>`, each written (temporary file, sync, rename) before any capture can name it. A
//! restart replays the journal through the same rule, so nothing accepted is lost.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use urna_service::ApiError;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use urna_ballot::ElectionManifest;
use urna_record::capture::{CaptureRef, CaptureRefused, SheetFigures, admit, decide};
use urna_record::capture_tokens::CaptureTokens;
use urna_record::snapshot::{ACTAS_FORMAT, ActasFile, MesaSheet};

const LONG_ABOUT: &str = "\
PREP's capture service: double entry of the mesas' results sheets (docs/record.md, \"PREP\").

Each capturist has a token (--tokens FILE: {\"capturists\": [{\"id\", \"tokenSha256\"}], \"publishers\":
[{\"id\", \"tokenSha256\"}]}, each tokenSha256 the SHA-256 of the token, hex). A capturist uploads the sheet's
photo (PUT /v1/photos, the image bytes; answered with its sha256) and then the figures (POST /v1/captures
{mesa, photoSha256, figures: {voted, ballots, contests}}). Two capturists who type the same figures count the
mesa; a mismatch leaves it disputed until a third capturist agrees with one of them. A capture is never
replaced: a capturist's second, different capture of a mesa is 409 already_captured, any capture of a
counted mesa 409 already_counted.

Once listening it prints one JSON line on stdout: {\"listening\":\"ADDR\"}.

Endpoints: PUT /v1/photos, POST /v1/captures (a capturist's token), GET /v1/captures (a publisher's token: the
state as actas.json of the snapshots), GET /v1/photos/{sha256} (public), GET /healthz.";

#[derive(Debug, clap::Args)]
#[command(about = "PREP capture: double entry of the mesas' results sheets")]
pub struct Args {
    #[command(subcommand)]
    command: CaptureCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CaptureCommand {
    #[command(about = "Serve the capture API", long_about = LONG_ABOUT)]
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The election manifest (JSON or YAML).
    #[arg(long, env = "URNA_CAPTURE_MANIFEST")]
    manifest: PathBuf,
    /// The mesas file (as `urna vote --mesas`): the mesas whose actas are expected, with their districts.
    #[arg(long, env = "URNA_CAPTURE_MESAS")]
    mesas: PathBuf,
    /// The capturists' and publishers' token digests (see the long help).
    #[arg(long, env = "URNA_CAPTURE_TOKENS")]
    tokens: PathBuf,
    /// Directory of the journal and the photos.
    #[arg(long, env = "URNA_CAPTURE_DATA")]
    data: PathBuf,
    #[arg(long, default_value = "0.0.0.0:8080", env = "URNA_CAPTURE_LISTEN")]
    listen: SocketAddr,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        CaptureCommand::Serve(a) => serve(a),
    }
}

/// The largest photo accepted.
const MAX_PHOTO: usize = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Capturist,
    Publisher,
}

/// A capture as the journal and the API carry it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JournalLine {
    mesa: String,
    capture: CaptureRef,
    figures: SheetFigures,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaptureRequest {
    mesa: String,
    photo_sha256: String,
    figures: SheetFigures,
}

struct MesaCaptures {
    district: String,
    captures: Vec<(CaptureRef, SheetFigures)>,
}

/// The capture state: every expected mesa and its accepted captures, and where they are kept.
struct Store {
    manifest: ElectionManifest,
    mesas: BTreeMap<String, MesaCaptures>,
    journal: std::fs::File,
    photos: PathBuf,
}

enum Outcome {
    New,
    AsBefore,
}

impl Store {
    fn open(manifest: ElectionManifest, expected: Vec<(String, String)>, data: &Path) -> Result<Self> {
        let photos = data.join("photos");
        std::fs::create_dir_all(&photos).with_context(|| format!("creating {}", photos.display()))?;
        let mut mesas: BTreeMap<String, MesaCaptures> =
            expected.into_iter().map(|(id, district)| (id, MesaCaptures { district, captures: Vec::new() })).collect();
        let path = data.join("captures.jsonl");
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let l: JournalLine =
                    serde_json::from_str(line).with_context(|| format!("{} line {}", path.display(), i + 1))?;
                let Some(m) = mesas.get_mut(&l.mesa) else {
                    bail!("{} line {}: mesa {} is not in the mesas file", path.display(), i + 1, l.mesa);
                };
                m.captures.push((l.capture, l.figures));
            }
        }
        let journal = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { manifest, mesas, journal, photos })
    }

    fn refs(m: &MesaCaptures) -> Vec<CaptureRef> {
        m.captures.iter().map(|(c, _)| c.clone()).collect()
    }

    fn sheet(mesa: &str, m: &MesaCaptures) -> MesaSheet {
        let refs = Self::refs(m);
        let (status, agreed) = decide(&refs);
        let figures =
            agreed.and_then(|d| m.captures.iter().find(|(c, _)| c.figures_sha256 == d).map(|(_, f)| f.clone()));
        MesaSheet { mesa: mesa.into(), district: m.district.clone(), status, captures: refs, figures }
    }

    fn actas(&self) -> ActasFile {
        ActasFile {
            format: ACTAS_FORMAT.into(),
            election_id: self.manifest.election_id.clone(),
            mesas: self.mesas.iter().map(|(id, m)| Self::sheet(id, m)).collect(),
        }
    }

    fn photo_path(&self, sha256: &str) -> Option<PathBuf> {
        let ok = sha256.len() == 64 && sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| self.photos.join(sha256))
    }

    fn put_photo(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = hex::encode(Sha256::digest(bytes));
        let dest = self.photos.join(&sha);
        if !dest.exists() {
            let tmp = self.photos.join(format!(".tmp-{sha}"));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &dest)?;
            std::fs::File::open(&self.photos)?.sync_all()?;
        }
        Ok(sha)
    }

    /// Applies the double-entry rule to a capturist's capture; journals it (synced) when new.
    fn capture(&mut self, capturist: &str, req: CaptureRequest) -> Result<(Outcome, MesaSheet), ApiError> {
        let Some(m) = self.mesas.get(&req.mesa) else {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_mesa", format!("no mesa {:?}", req.mesa)));
        };
        req.figures
            .check(&self.manifest, &m.district)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_capture", e))?;
        let photo_known = self.photo_path(&req.photo_sha256).is_some_and(|p| p.exists());
        if !photo_known {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_photo",
                format!("no photo {:?}: PUT /v1/photos first", req.photo_sha256),
            ));
        }
        let capture = CaptureRef {
            capturist: capturist.into(),
            captured_at: jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
            photo_sha256: req.photo_sha256,
            figures_sha256: hex::encode(req.figures.digest()),
        };
        let new = admit(&req.mesa, &Self::refs(m), &capture)
            .map_err(|e: CaptureRefused| ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string()))?;
        if new {
            let line = JournalLine { mesa: req.mesa.clone(), capture: capture.clone(), figures: req.figures.clone() };
            let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
            bytes.push(b'\n');
            self.journal
                .write_all(&bytes)
                .and_then(|()| self.journal.sync_data())
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()))?;
        }
        let m =
            self.mesas.get_mut(&req.mesa).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_mesa", ""))?;
        if new {
            m.captures.push((capture, req.figures));
        }
        let sheet = Self::sheet(&req.mesa, m);
        Ok((if new { Outcome::New } else { Outcome::AsBefore }, sheet))
    }
}

#[derive(Clone)]
struct App {
    store: Arc<Mutex<Store>>,
    tokens: Arc<HashMap<[u8; 32], (String, Role)>>,
}

impl App {
    /// Whose token this request carries, if it is one of `role`'s.
    fn who(&self, headers: &HeaderMap, role: Role) -> Option<String> {
        let found = urna_auth::bearer(headers)
            .and_then(|t| self.tokens.get(&<[u8; 32]>::from(Sha256::digest(t.as_bytes()))))
            .filter(|(_, r)| *r == role);
        found.map(|(id, _)| id.clone())
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn put_photo(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if app.who(&headers, Role::Capturist).is_none() {
        return urna_auth::unauthorized();
    }
    if body.is_empty() {
        return ApiError::new(StatusCode::BAD_REQUEST, "empty_photo", "the photo has no bytes").into_response();
    }
    let result = tokio::task::block_in_place(|| app.store().put_photo(&body));
    match result {
        Ok(sha) => (StatusCode::CREATED, axum::Json(json!({"sha256": sha}))).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string()).into_response(),
    }
}

async fn get_photo(State(app): State<App>, UrlPath(sha): UrlPath<String>) -> Response {
    let path = app.store().photo_path(&sha);
    match path.map(std::fs::read) {
        Some(Ok(bytes)) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        _ => ApiError::new(StatusCode::NOT_FOUND, "unknown_photo", format!("no photo {sha:?}")).into_response(),
    }
}

async fn post_capture(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(capturist) = app.who(&headers, Role::Capturist) else {
        return urna_auth::unauthorized();
    };
    let req: CaptureRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return ApiError::new(StatusCode::BAD_REQUEST, "malformed_capture", e.to_string()).into_response(),
    };
    let mesa = req.mesa.clone();
    let result = tokio::task::block_in_place(|| app.store().capture(&capturist, req));
    match result {
        Ok((outcome, sheet)) => {
            let status = match outcome {
                Outcome::New => StatusCode::CREATED,
                Outcome::AsBefore => StatusCode::OK,
            };
            tracing::info!(%mesa, %capturist, status = sheet.status.as_str(), "capture");
            (status, axum::Json(sheet)).into_response()
        }
        Err(e) => {
            tracing::warn!(%mesa, %capturist, code = e.code(), message = %e.detail.message, "capture refused");
            e.into_response()
        }
    }
}

async fn get_captures(State(app): State<App>, headers: HeaderMap) -> Response {
    if app.who(&headers, Role::Publisher).is_none() {
        return urna_auth::unauthorized();
    }
    let actas = app.store().actas();
    axum::Json(actas).into_response()
}

fn serve(a: ServeArgs) -> Result<()> {
    let manifest = super::vote::read_manifest(&a.manifest)?;
    let registry = urna_vote::mesa::MesaRegistry::load(&a.mesas, &manifest).context("loading the mesas")?;
    let expected: Vec<(String, String)> = registry
        .ids()
        .into_iter()
        .filter_map(|id| registry.get(&id).map(|m| (id.clone(), m.district.clone())))
        .collect();
    if expected.is_empty() {
        bail!("{}: no mesas", a.mesas.display());
    }
    let text = std::fs::read_to_string(&a.tokens).with_context(|| format!("reading {}", a.tokens.display()))?;
    let file: CaptureTokens = serde_json::from_str(&text).with_context(|| format!("parsing {}", a.tokens.display()))?;
    let mut tokens = HashMap::new();
    let entries = file.capturists.into_iter().map(|t| (t, Role::Capturist));
    for (t, role) in entries.chain(file.publishers.into_iter().map(|t| (t, Role::Publisher))) {
        if tokens.insert(t.token_sha256, (t.id.clone(), role)).is_some() {
            bail!("{}: two entries share the token of {}", a.tokens.display(), t.id);
        }
    }
    std::fs::create_dir_all(&a.data).with_context(|| format!("creating {}", a.data.display()))?;
    let store = Store::open(manifest, expected, &a.data)?;
    let app = App { store: Arc::new(Mutex::new(store)), tokens: Arc::new(tokens) };
    let router = Router::new()
        .route("/v1/photos", put(put_photo))
        .route("/v1/photos/{sha256}", get(get_photo))
        .route("/v1/captures", post(post_capture).get(get_captures))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_PHOTO))
        .with_state(app);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(a.listen).await.with_context(|| format!("binding {}", a.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        println!("{}", json!({"listening": addr.to_string()}));
        tracing::info!(%addr, "capture service listening");
        axum::serve(listener, router).with_graceful_shutdown(super::signal::shutdown()).await.context("serving HTTP")
    })
}
