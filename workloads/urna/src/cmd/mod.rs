//! One module per subcommand; each exposes `Args` (clap) and `run`.

pub mod audit;
pub mod bench;
pub mod booth;
pub mod broker;
pub mod capture;
pub mod ceremony;
pub mod decryption;
pub mod local;
pub mod logging;
pub mod mesa;
pub mod operator;
pub mod publish;
pub mod record;
pub mod results;
pub mod signal;
pub mod site;
pub mod tally;
pub mod token;
pub mod trustee;
pub mod verify;
pub mod verify_challenge;
pub mod vote;
pub mod voters;
pub mod voting_key;
pub mod witness;
