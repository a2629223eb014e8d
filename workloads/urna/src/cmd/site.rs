//! `urna site --record DIR`: the public results site of an election (docs/site.md), served from its record.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;

use crate::site::{SiteConfig, read_trust, serve};

const LONG_ABOUT: &str = "\
Serves the public results site of an election from its record directory: turnout, the results per contest,
district and modality once the trustees have decrypted them (every figure linked to the record file it is read
from), the record's files for download, its key fingerprints, and a receipt check that verifies a ballot's
inclusion proof against the log's signed checkpoint in the visitor's browser.

The record may be incomplete when the site starts (before its export, or before decryption): the site
re-reads it when its files change, and /readyz answers 503 until it can be read.

--trust FILE publishes the fingerprints the election authority published before the count (`urna record
fingerprints`, or the Election's status.keyFingerprints); the site then says whether the record's keys are
those. Without it the site publishes the fingerprints of the record's own keys, and says so.

Once listening it prints one JSON line on stdout: {\"listening\":\"ADDR\"}.

--snapshots DIR serves the PREP publisher's snapshot directory as it is (static files any mirror can copy)
and shows the newest snapshot's preliminary results and the progress of the counted tally sheets; before
the record exists the site shows PREP and the published fingerprints only.

Endpoints: GET / (the page), /data/site.json, /data/trust.json, /data/status.json, /record/<file>,
/snapshots/<file>,
/v1/checkpoint, /v1/proof/inclusion?leaf_hash=H[&size=N], /metrics, /healthz, /readyz.";

#[derive(Debug, clap::Args)]
#[command(about = "The public results site: turnout, results, key fingerprints, receipt check, from the record")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// The election record directory (`urna record export`, `urna local --record`).
    #[arg(long, value_name = "DIR", env = "URNA_SITE_RECORD")]
    record: PathBuf,
    /// The key fingerprints the election published (a trust file, `urna record fingerprints`).
    #[arg(long, value_name = "FILE", env = "URNA_SITE_TRUST")]
    trust: Option<PathBuf>,
    /// The PREP publisher's snapshot directory (`urna publish`), served as is at /snapshots/ and shown as the
    /// preliminary results.
    #[arg(long, value_name = "DIR", env = "URNA_SITE_SNAPSHOTS")]
    snapshots: Option<PathBuf>,
    #[arg(long, default_value = "0.0.0.0:8080", env = "URNA_SITE_LISTEN")]
    listen: SocketAddr,
}

pub fn run(args: Args) -> Result<()> {
    let trust = args.trust.as_deref().map(read_trust).transpose()?;
    let config = SiteConfig { record: args.record, trust, snapshots: args.snapshots };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr().context("local address")?;
        tracing::info!(%addr, record = %config.record.display(), "results site listening");
        println!("{}", json!({ "listening": addr.to_string() }));
        serve(config, listener, super::signal::shutdown()).await
    })
}
