//! `urna bench`: measurements of the real services, as an election authority sizing an election would take
//! them (docs/performance.md).

pub mod ops;
pub mod procs;
pub mod snapshot;
pub mod submit;

use anyhow::Result;

#[derive(Debug, clap::Args)]
#[command(about = "Benchmarks of the real services on this machine")]
pub struct Args {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchCommand {
    // Boxed: its many options make it far larger than the other variants.
    Submit(Box<submit::Args>),
    Snapshot(snapshot::Args),
    /// The operations centre: update latency on the real broker, and memory at fleet sizes.
    Ops(ops::Args),
    /// One share of `bench ops`'s simulated booths, in a process of its own (started by `bench ops`).
    #[command(hide = true)]
    OpsBooths(ops::BoothsArgs),
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        BenchCommand::Submit(a) => submit::run(*a),
        BenchCommand::Snapshot(a) => snapshot::run(a),
        BenchCommand::Ops(a) => ops::run(a),
        BenchCommand::OpsBooths(a) => ops::booths(a),
    }
}
