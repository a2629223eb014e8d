//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod ceremony;
pub mod logging;
pub mod operator;
pub mod trustee;
