//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod audit;
pub mod booth;
pub mod broker;
pub mod ceremony;
pub mod logging;
pub mod operator;
pub mod signal;
pub mod tally;
pub mod trustee;
pub mod verify;
pub mod vote;
