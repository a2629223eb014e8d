//! Building the desired state of the federal example (64 TallyShards and the rest) must stay well under
//! 50 ms: the Election controller does it on every reconcile.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use urna_operator::build::{self, Defaults};

fn federal(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/federal");
    let set = match urna_operator::examples::load_dir(&dir) {
        Ok(set) => set,
        Err(e) => panic!("examples/federal: {e}"),
    };
    let e = &set.elections[0];
    let defaults = Defaults::default();
    c.bench_function("build federal election (64 shards)", |b| {
        b.iter(|| build::election::build(std::hint::black_box(e), &defaults).map(|c| c.len()))
    });
    let shards = build::election::tally_shards(e);
    c.bench_function("build 64 tally shards' workloads", |b| {
        b.iter(|| shards.iter().map(|s| build::tallyshard::build(s, e, &defaults)).collect::<Result<Vec<_>, _>>())
    });
}

criterion_group!(benches, federal);
criterion_main!(benches);
