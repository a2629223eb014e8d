//! The `urna` binary's subcommands as a library, so tests can parse arguments with the real clap
//! definitions (`tests/operator_args.rs` checks every argument list the operator builds). The binary
//! (`main.rs`) assembles them into the `urna` command.

pub mod cmd;
