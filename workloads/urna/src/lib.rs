//! The `urna` binary's library: the subcommands (`cmd`, each its clap `Args` and `run`: argument parsing and
//! printing), so tests can parse arguments with the real clap definitions (`tests/operator_args.rs` checks
//! every argument list the operator builds); the key ceremony's files (`keys`); and the election harness
//! `urna local` and `urna voters` share (`local`); the public results site `urna site` and `urna local --site`
//! serve (`site`); appending election events to the audit log (`log_events`). The binary (`main.rs`)
//! assembles the subcommands.

pub mod cmd;
pub mod keys;
pub mod local;
pub mod log_events;
pub mod site;
