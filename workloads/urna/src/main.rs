//! `urna`: one binary, one image, every workload as a subcommand.

use urna::cmd;

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
    Local(cmd::local::Args),
    Results(cmd::results::Args),
    Decryption(cmd::decryption::Args),
    /// The election record: export it from running services.
    Record(cmd::record::Args),
    Broker(cmd::broker::Args),
    Booth(cmd::booth::Args),
    Mesa(cmd::mesa::Args),
    Voters(cmd::voters::Args),
    VotingKey(cmd::voting_key::Args),
    Witness(cmd::witness::Args),
    Site(cmd::site::Args),
    Capture(cmd::capture::Args),
    Publish(cmd::publish::Args),
    Bench(cmd::bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Interactive tools print their own progress; services log at info.
    let level = match cli.command {
        // rumqttd logs a client's ordinary disconnect as an error; the broker's front reports what matters.
        Command::Local(_) => "warn,rumqttd=off",
        Command::Results(_)
        | Command::Verify(_)
        | Command::Mesa(_)
        | Command::Voters(_)
        | Command::VotingKey(_)
        | Command::Bench(_) => "warn",
        _ => "info",
    };
    cmd::logging::init(cli.log_format, level);
    match cli.command {
        Command::Operator(args) => cmd::operator::run(args),
        Command::Ceremony(args) => cmd::ceremony::run(args),
        Command::Trustee(args) => cmd::trustee::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Tally(args) => cmd::tally::run(args),
        Command::Vote(args) => cmd::vote::run(*args),
        Command::Local(args) => cmd::local::run(args),
        Command::Results(args) => cmd::results::run(args),
        Command::Decryption(args) => cmd::decryption::run(args),
        Command::Record(args) => cmd::record::run(args),
        Command::Broker(args) => cmd::broker::run(args),
        Command::Booth(args) => cmd::booth::run(args),
        Command::Mesa(args) => cmd::mesa::run(args),
        Command::Voters(args) => cmd::voters::run(args),
        Command::VotingKey(args) => cmd::voting_key::run(args),
        Command::Witness(args) => cmd::witness::run(args),
        Command::Site(args) => cmd::site::run(args),
        Command::Capture(args) => cmd::capture::run(args),
        Command::Publish(args) => cmd::publish::run(args),
        Command::Bench(args) => cmd::bench::run(args),
    }
}
