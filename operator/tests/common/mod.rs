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

/// The reason of an Election status's `Closing` condition (empty without one).
pub fn closing_reason(status: &serde_json::Value) -> String {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Closing")
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_default()
        .to_owned()
}
