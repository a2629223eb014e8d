//! `urna mesa`: the tools of a mesa's members. `keygen` makes a member's acta signing key; `acta draft`,
//! `sign`, `submit` and `verify` carry an acta from its figures to the audit log. The document, its
//! signatures and the quorum rule are `urna_vote::acta`'s; this is files, flags and HTTP.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use http::Method;
use serde_json::Value;
use urna_audit::AuditClient;
use urna_audit::LogKey;
use urna_vote::acta::{self, ActaBody, ActaDocument, ContestCount, CountSource, Member, SignedActa, parse_public_key};
use urna_vote::client::VoterClient;
use urna_vote::mesa_file::MesasFile;

const LONG_ABOUT: &str = "\
The tools of a mesa's members for its actas (docs/record.md, \"Actas\").

  urna mesa keygen --out KEY          a member's Ed25519 key; put the printed public key in the Mesa
                                      resource (spec.members[].signingKey)
  urna mesa admit ...                 admits voters at the mesa, as a member does at the console (their
                                      census voterIdHash, one per line; console token)
  urna mesa acta draft ...            writes an unsigned acta: constitution, results, participants or
                                      audit codes; with --vote and --token-file the figures the vote service
                                      recorded at the mesa are filled in
  urna mesa acta sign ...             adds one member's signature (each member runs it with their own key)
  urna mesa acta submit ...           sends the signed acta to the booth vote service (console token)
  urna mesa acta verify ...           checks the signatures and quorum against the mesa's members (a Mesa
                                      YAML or the mesas file) and, with --log, that its event is in the
                                      audit log under a checkpoint (signed by --log-key when given)

An acta needs the president's signature and one other voting member's (secretary or scrutineer) when the
mesa has any; observers may sign but do not count.";

#[derive(Debug, clap::Args)]
#[command(about = "Mesa members' tools: acta signing keys, and actas drafted, signed, submitted and verified")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    #[command(subcommand)]
    command: MesaCommand,
}

#[derive(Debug, clap::Subcommand)]
enum MesaCommand {
    /// Creates a member's acta signing key (Ed25519 from the OS CSPRNG) in FILE, mode 0600; prints its
    /// public key (64 hex characters, for the Mesa's spec.members[].signingKey).
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Admits the voters listed in FILE at the mesa, each for one booth ballot, as a member does at the
    /// console (POST /v1/mesas/{mesa}/admissions with the console token); prints one JSON line with the
    /// counts. A voter admitted here before counts as already admitted, so running it again is harmless.
    Admit {
        #[arg(long, value_name = "MESA")]
        mesa: String,
        /// The voters' ids, one per line: the census's voterIdHash (64 lowercase hex); blank lines and lines
        /// starting with `#` are skipped.
        #[arg(long, value_name = "FILE")]
        voters: PathBuf,
        #[command(flatten)]
        console: Console,
    },
    /// Actas: draft, sign, submit, verify.
    #[command(subcommand)]
    Acta(Box<ActaCommand>),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    Constitution,
    Results,
    Participants,
    AuditCodes,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Source {
    Booths,
    Paper,
}

/// Where the vote service is and the mesa's console token.
#[derive(Debug, clap::Args)]
struct Console {
    /// The booth vote service's base URL.
    #[arg(long, value_name = "URL")]
    vote: Option<String>,
    /// A file holding the mesa's console token.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum ActaCommand {
    /// Writes an unsigned acta. Figures the vote service recorded at the mesa (voters admitted, booth
    /// ballots, their audit codes) are read from it with --vote and --token-file.
    Draft {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long, value_name = "ID")]
        election: String,
        #[arg(long, value_name = "MESA")]
        mesa: String,
        /// The time the acta states (RFC 3339; default: now, to the second).
        #[arg(long, value_name = "TIME")]
        at: Option<jiff::Timestamp>,
        /// Constitution: the members present (ids, comma-separated).
        #[arg(long, value_name = "IDS", value_delimiter = ',')]
        members_present: Vec<String>,
        /// Participants: how many voted (default: the voters the vote service admitted at the mesa).
        #[arg(long, value_name = "N")]
        voted: Option<u64>,
        /// Results: what was counted (booths: the booth ballots; paper: a hand count entered here).
        #[arg(long, value_enum)]
        source: Option<Source>,
        /// Results: ballots counted (default with --source booths: the booth ballots recorded at the mesa).
        #[arg(long, value_name = "N")]
        ballots: Option<u64>,
        /// Results: the votes, as JSON `[{"contest": ID, "counts": [{"choice": ID, "votes": N}]}]`, every
        /// contest of the mesa's ballot in manifest order and every choice in the contest's numbering.
        #[arg(long, value_name = "FILE")]
        counts: Option<PathBuf>,
        #[command(flatten)]
        console: Console,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Adds MEMBER's signature to the acta in FILE (a draft or an acta others signed), in place or to --out.
    Sign {
        #[arg(long, value_name = "FILE")]
        acta: PathBuf,
        /// The signing member's id (as in the Mesa resource).
        #[arg(long, value_name = "ID")]
        member: String,
        /// The member's key file (from `urna mesa keygen`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Submits the signed acta to the booth vote service; prints what it answered.
    Submit {
        #[arg(long, value_name = "FILE")]
        acta: PathBuf,
        #[command(flatten)]
        console: Console,
    },
    /// Verifies the acta's signatures and quorum against the mesa's members and, with --log, its event in the
    /// audit log.
    Verify {
        #[arg(long, value_name = "FILE")]
        acta: PathBuf,
        /// The Mesa resource (YAML, as applied to the cluster).
        #[arg(long, value_name = "FILE", conflicts_with = "mesas", required_unless_present = "mesas")]
        mesa_resource: Option<PathBuf>,
        /// The mesas file the booth vote service loads (JSON).
        #[arg(long, value_name = "FILE")]
        mesas: Option<PathBuf>,
        /// The election id (default with --mesa-resource: its spec.election).
        #[arg(long, value_name = "ID")]
        election: Option<String>,
        /// The audit log's base URL: check that the acta's event is in it.
        #[arg(long, value_name = "URL")]
        log: Option<String>,
        /// The audit log's Ed25519 public key (64 hex): check the checkpoint's signature too.
        #[arg(long, value_name = "HEX", requires = "log")]
        log_key: Option<String>,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        MesaCommand::Keygen { out } => {
            let key = LogKey::generate().context("generating the member key")?;
            key.write_new(&out).with_context(|| format!("writing the member key to {}", out.display()))?;
            println!("public key: {}", hex::encode(key.public_key()));
            Ok(())
        }
        MesaCommand::Admit { mesa, voters, console: con } => admit(&mesa, &voters, &con),
        MesaCommand::Acta(c) => acta(*c),
    }
}

/// The voter ids of a list (one per line, `#` comments and blank lines skipped), with their line numbers.
fn voter_ids(path: &Path) -> Result<Vec<(usize, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        urna_vote::wire::parse_voter_id(id)
            .map_err(|e| anyhow::anyhow!("{}:{}: not a voter id: {e}", path.display(), i + 1))?;
        ids.push((i + 1, id.to_owned()));
    }
    if ids.is_empty() {
        bail!("{}: no voter ids", path.display());
    }
    Ok(ids)
}

fn admit(mesa: &str, voters: &Path, con: &Console) -> Result<()> {
    let ids = voter_ids(voters)?;
    let (client, token) = console(con)?.context("--vote and --token-file are required")?;
    let (mut admitted, mut again, mut at_mesa) = (0u64, 0u64, 0u64);
    runtime()?.block_on(async {
        for (line, id) in &ids {
            let a = client
                .admit(mesa, &token, id)
                .await
                .with_context(|| format!("{}:{line}: admitting voter {id} at mesa {mesa}", voters.display()))?;
            if a.status == "alreadyAdmitted" {
                again += 1;
            } else {
                admitted += 1;
            }
            at_mesa = a.admitted;
        }
        anyhow::Ok(())
    })?;
    let line =
        serde_json::json!({ "mesa": mesa, "admitted": admitted, "alreadyAdmitted": again, "mesaAdmissions": at_mesa });
    println!("{line}");
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")
}

fn console(c: &Console) -> Result<Option<(VoterClient, String)>> {
    match (&c.vote, &c.token_file) {
        (Some(url), Some(file)) => {
            let token = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            Ok(Some((VoterClient::new(url.trim_end_matches('/')), token.trim().to_owned())))
        }
        (None, None) => Ok(None),
        _ => bail!("--vote and --token-file go together"),
    }
}

fn read_acta(path: &Path) -> Result<SignedActa> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // A signed acta, or a bare document (a draft written elsewhere).
    let value: Value = serde_json::from_slice(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    if value.get("document").is_some() {
        serde_json::from_value(value).with_context(|| format!("{}: not a signed acta", path.display()))
    } else {
        let d: ActaDocument =
            serde_json::from_value(value).with_context(|| format!("{}: not an acta document", path.display()))?;
        Ok(SignedActa::unsigned(d))
    }
}

fn write_acta(path: &Path, a: &SignedActa) -> Result<()> {
    let mut text = serde_json::to_string_pretty(a).context("encoding the acta")?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn acta(c: ActaCommand) -> Result<()> {
    match c {
        ActaCommand::Draft {
            kind,
            election,
            mesa,
            at,
            members_present,
            voted,
            source,
            ballots,
            counts,
            console: con,
            out,
        } => {
            let recorded = match console(&con)? {
                Some((client, token)) => Some(
                    runtime()?
                        .block_on(client.mesa_actas(&mesa, &token))
                        .with_context(|| format!("reading mesa {mesa}'s figures from the vote service"))?,
                ),
                None => None,
            };
            let need = |what: &str| format!("{what} (or --vote and --token-file to read it from the vote service)");
            let body = match kind {
                Kind::Constitution => {
                    let mut present = members_present;
                    present.sort();
                    present.dedup();
                    ActaBody::Constitution { members_present: present }
                }
                Kind::Participants => ActaBody::Participants {
                    voted: voted.or(recorded.as_ref().map(|r| r.admissions)).with_context(|| need("--voted"))?,
                },
                Kind::AuditCodes => ActaBody::AuditCodes {
                    codes: recorded.as_ref().map(|r| r.audit_codes.clone()).with_context(|| need("the codes"))?,
                },
                Kind::Results => {
                    let source = match source.context("--source booths or --source paper")? {
                        Source::Booths => CountSource::Booths,
                        Source::Paper => CountSource::Paper,
                    };
                    let from_service = match source {
                        CountSource::Booths => recorded.as_ref().map(|r| r.booth_ballots),
                        CountSource::Paper => None,
                    };
                    let ballots = ballots.or(from_service).with_context(|| need("--ballots"))?;
                    let path = counts.context("--counts FILE: the votes per contest and choice")?;
                    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                    let contests: Vec<ContestCount> = serde_json::from_slice(&text)
                        .with_context(|| format!("{}: not a counts list", path.display()))?;
                    ActaBody::Results { source, ballots, contests }
                }
            };
            let at = at.unwrap_or_else(jiff::Timestamp::now);
            let doc = ActaDocument::new(&election, &mesa, at, body);
            doc.check().context("the draft")?;
            write_acta(&out, &SignedActa::unsigned(doc))?;
            println!("{}", out.display());
            Ok(())
        }
        ActaCommand::Sign { acta: path, member, key, out } => {
            let mut a = read_acta(&path)?;
            a.document.check().context("the acta to sign")?;
            let key = LogKey::load(&key).with_context(|| format!("loading the member key {}", key.display()))?;
            a.sign_with(&member, |m| key.sign(m));
            write_acta(out.as_deref().unwrap_or(&path), &a)?;
            println!("signed by {member}: sha256 {}", hex::encode(a.document.digest()));
            Ok(())
        }
        ActaCommand::Submit { acta: path, console: con } => {
            let a = read_acta(&path)?;
            let (client, token) = console(&con)?.context("--vote and --token-file are required")?;
            let status = runtime()?
                .block_on(client.submit_acta(&a.document.mesa, &token, &a))
                .map_err(|e| anyhow::anyhow!("the vote service refused the acta: {e}"))?;
            println!("{}", serde_json::to_string(&status).context("encoding the answer")?);
            Ok(())
        }
        ActaCommand::Verify { acta: path, mesa_resource, mesas, election, log, log_key } => {
            let a = read_acta(&path)?;
            let (members, election) = match (&mesa_resource, &mesas) {
                (Some(p), _) => mesa_from_resource(p, &a.document.mesa, election)?,
                (None, Some(p)) => {
                    let election = election.context("--election ID is required with --mesas")?;
                    (mesa_from_file(p, &a.document.mesa)?, election)
                }
                (None, None) => bail!("--mesa-resource or --mesas is required"),
            };
            let v = acta::verify(&a, &election, &a.document.mesa, &members)
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            println!(
                "acta {} of mesa {}: sha256 {}, signed by {}",
                a.document.kind().as_str(),
                a.document.mesa,
                hex::encode(v.digest),
                v.signers.join(", ")
            );
            if let Some(url) = log {
                let (index, size) = runtime()?.block_on(in_log(&url, log_key.as_deref(), &a))?;
                println!("in the audit log at index {index}, under its checkpoint of size {size}");
            }
            Ok(())
        }
    }
}

fn members_from(list: &Value, key_field: &str, what: &str) -> Result<Vec<Member>> {
    let list = list.as_array().with_context(|| format!("{what}: no members list"))?;
    list.iter()
        .map(|m| {
            let id = m["id"].as_str().with_context(|| format!("{what}: a member without an id"))?;
            let role =
                serde_json::from_value(m["role"].clone()).with_context(|| format!("{what}: member {id}: role"))?;
            let key = m[key_field].as_str().with_context(|| format!("{what}: member {id}: no {key_field}"))?;
            let public_key = parse_public_key(key).map_err(|e| anyhow::anyhow!("{what}: member {id}: {e}"))?;
            Ok(Member { id: id.to_owned(), role, public_key })
        })
        .collect()
}

/// The members of a Mesa resource (YAML) named `mesa`, and its election.
fn mesa_from_resource(path: &Path, mesa: &str, election: Option<String>) -> Result<(Vec<Member>, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let what = path.display().to_string();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).with_context(|| format!("{what}: not YAML"))?;
        if v["kind"] != "Mesa" || v["metadata"]["name"] != mesa {
            continue;
        }
        let members = members_from(&v["spec"]["members"], "signingKey", &what)?;
        let election = match election {
            Some(e) => e,
            None => v["spec"]["election"].as_str().with_context(|| format!("{what}: no spec.election"))?.to_owned(),
        };
        return Ok((members, election));
    }
    bail!("{what} has no Mesa named {mesa:?}")
}

/// The members of mesa `mesa` in a mesas file.
fn mesa_from_file(path: &Path, mesa: &str) -> Result<Vec<Member>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file: MesasFile =
        serde_json::from_slice(&text).with_context(|| format!("{}: not a mesas file", path.display()))?;
    let m = file.mesas.into_iter().find(|m| m.id == mesa);
    let m = m.with_context(|| format!("{} has no mesa {mesa:?}", path.display()))?;
    m.members
        .iter()
        .map(|x| x.parse().map_err(|e| anyhow::anyhow!("{}: member {}: {e}", path.display(), x.id)))
        .collect()
}

/// Finds the acta's event in the audit log and checks its inclusion proof against the latest checkpoint
/// (whose signature is checked when `log_key` is given); returns the leaf index and the checkpoint's size.
async fn in_log(url: &str, log_key: Option<&str>, a: &SignedActa) -> Result<(u64, u64)> {
    let client = AuditClient::new(url);
    let d = &a.document;
    let leaf = acta::log_event(&d.mesa, d.kind(), d.digest()).leaf_hash();
    let cp = get(&client, "/v1/checkpoint").await?;
    let (size, root) = match log_key {
        Some(k) => {
            let mut key = [0u8; 32];
            hex::decode_to_slice(k, &mut key).context("--log-key must be 64 hex characters")?;
            let note = cp["note"].as_str().context("the checkpoint has no note")?;
            let c = urna_audit::checkpoint::open_checkpoint(note, &key)
                .map_err(|e| anyhow::anyhow!("the log's checkpoint does not verify under --log-key: {e}"))?;
            (c.size, c.root)
        }
        None => {
            eprintln!("note: the checkpoint's signature is not checked (give --log-key)");
            (cp["size"].as_u64().context("the checkpoint has no size")?, hash(&cp["root"])?)
        }
    };
    let path = format!("/v1/proof/inclusion?leaf_hash={}&size={size}", hex::encode(leaf));
    let proof = get(&client, &path)
        .await
        .context("the acta's event is not in the audit log under its latest checkpoint (yet?)")?;
    let index = proof["index"].as_u64().context("the proof has no index")?;
    let hashes =
        proof["proof"].as_array().context("the proof has no hashes")?.iter().map(hash).collect::<Result<Vec<_>>>()?;
    urna_audit::verify_inclusion(&leaf, index, size, &hashes, &root)
        .map_err(|e| anyhow::anyhow!("the inclusion proof does not verify: {e}"))?;
    Ok((index, size))
}

fn hash(v: &Value) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().unwrap_or_default(), &mut out).context("a hash is not 64 hex characters")?;
    Ok(out)
}

async fn get(client: &AuditClient, path: &str) -> Result<Value> {
    client.call(Method::GET, path).await.map_err(|e| anyhow::anyhow!("GET {path}: {e}"))
}
