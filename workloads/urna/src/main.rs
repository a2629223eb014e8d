//! `urna`: one binary, one image, every workload as a subcommand.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "urna", version, about = "Elections nobody has to take on trust")]
struct Cli {
    /// Log format: `text` for terminals, `json` for clusters.
    #[arg(long, global = true, env = "URNA_LOG_FORMAT", default_value = "text")]
    log_format: cmd::logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Operator(cmd::operator::Args),
    // About and help texts live on each `Args` (a doc comment here would replace the long help).
    Ceremony(cmd::ceremony::Args),
    /// Trustee tools: partial decryption with proofs.
    Trustee(cmd::trustee::Args),
    Audit(cmd::audit::Args),
    Verify(cmd::verify::Args),
    Tally(cmd::tally::Args),
    Vote(Box<cmd::vote::Args>),
    Broker(cmd::broker::Args),
    Booth(cmd::booth::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    cmd::logging::init(cli.log_format);
    match cli.command {
        Command::Operator(args) => cmd::operator::run(args),
        Command::Ceremony(args) => cmd::ceremony::run(args),
        Command::Trustee(args) => cmd::trustee::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Tally(args) => cmd::tally::run(args),
        Command::Vote(args) => cmd::vote::run(*args),
        Command::Broker(args) => cmd::broker::run(args),
        Command::Booth(args) => cmd::booth::run(args),
    }
}
