//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_api;
pub mod fake_apiserver;
pub mod processes;

use std::path::PathBuf;

use urna_operator::examples::{ExampleSet, load_dir};

pub fn examples_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name)
}

pub fn example(name: &str) -> ExampleSet {
    load_dir(examples_dir(name)).unwrap_or_else(|e| panic!("examples/{name}: {e}"))
}

pub const EXAMPLES: [&str; 3] = ["university", "municipal", "federal"];
