//! The redb store: reopening recovers exactly; a store that belongs to another log, or whose hashes no
//! longer agree with its entries, is refused.

use urna_audit::checkpoint::open_checkpoint;
use urna_audit::merkle::MemoryTree;
use urna_audit::store::{CheckpointRequest, Store, StoreError};
use urna_audit::{EventKind, LogEntry, LogKey, verify_consistency, verify_inclusion};

const ORIGIN: &str = "urna.test/store";

fn entries(range: std::ops::Range<u8>) -> Vec<LogEntry> {
    range.map(|i| LogEntry::Ballot { anon_id: [i; 32] }).collect()
}

#[test]
fn reopen_recovers_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let key = LogKey::from_seed(&[1; 32]);
    let mut all = entries(0..37);
    all.push(LogEntry::Event { kind: EventKind::Snapshot, digest: [5; 32], detail: "prep 1".into() });
    let (root, size) = {
        let store = Store::open(&path, ORIGIN, &key.public_key()).expect("open");
        store.commit(&all[..20], None).expect("commit");
        let req = CheckpointRequest { key: &key, origin: ORIGIN, timestamp: 1, close: false };
        let c = store.commit(&all[20..], Some(req)).expect("commit");
        assert_eq!(c.indices, (20..38).collect::<Vec<_>>());
        let cp = c.checkpoint.expect("checkpoint");
        assert_eq!(open_checkpoint(&cp.note.text(), &key.public_key()).expect("signed"), cp.checkpoint);
        (c.root, c.size)
    };
    let store = Store::open(&path, ORIGIN, &key.public_key()).expect("reopen");
    let snap = store.snapshot().expect("snapshot");
    assert_eq!((snap.size(), snap.root(size).expect("root")), (size, root));
    let tree = MemoryTree::from_leaves(all.iter().map(LogEntry::leaf_hash));
    assert_eq!(tree.root(), root);
    for i in 0..size {
        let p = snap.inclusion_proof(i, size).expect("proof");
        verify_inclusion(&all[i as usize].leaf_hash(), i, size, &p, &root).expect("verifies");
    }
    for m in 0..=size {
        let p = snap.consistency_proof(m, size).expect("proof");
        verify_consistency(m, size, &tree.root_at(m).expect("root"), &root, &p).expect("consistent");
    }
    let served = snap.entries(0, size).expect("entries");
    assert_eq!(served.into_iter().map(|(_, e, _)| e).collect::<Vec<_>>(), all);
    assert_eq!(snap.latest_checkpoint().expect("read").expect("one").checkpoint.size, size);
}

#[test]
fn closed_store_refuses_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let key = LogKey::from_seed(&[1; 32]);
    let store = Store::open(&path, ORIGIN, &key.public_key()).expect("open");
    let req = CheckpointRequest { key: &key, origin: ORIGIN, timestamp: 1, close: true };
    let c = store.commit(&entries(0..3), Some(req)).expect("close");
    assert!(c.checkpoint.expect("final").checkpoint.closed);
    assert!(matches!(store.commit(&entries(3..4), None), Err(StoreError::Closed)));
    drop(store);
    let store = Store::open(&path, ORIGIN, &key.public_key()).expect("reopen");
    assert!(store.snapshot().expect("snap").closed());
    assert!(matches!(store.commit(&entries(3..4), None), Err(StoreError::Closed)));
}

#[test]
fn another_logs_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let key = LogKey::from_seed(&[1; 32]);
    drop(Store::open(&path, ORIGIN, &key.public_key()).expect("open"));
    assert!(matches!(Store::open(&path, "other", &key.public_key()), Err(StoreError::OriginMismatch { .. })));
    let other = LogKey::from_seed(&[2; 32]);
    assert!(matches!(Store::open(&path, ORIGIN, &other.public_key()), Err(StoreError::KeyMismatch { .. })));
}

#[test]
fn tampered_store_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log.redb");
    let key = LogKey::from_seed(&[1; 32]);
    {
        let store = Store::open(&path, ORIGIN, &key.public_key()).expect("open");
        let req = CheckpointRequest { key: &key, origin: ORIGIN, timestamp: 1, close: false };
        store.commit(&entries(0..9), Some(req)).expect("commit");
    }
    // Rewrite one entry behind the log's back, as an attacker with disk access would.
    {
        let db = redb::Database::create(&path).expect("raw open");
        let txn = db.begin_write().expect("txn");
        {
            let mut t = txn.open_table(redb::TableDefinition::<u64, &[u8]>::new("entries")).expect("table");
            t.insert(4, LogEntry::Ballot { anon_id: [0xee; 32] }.encode().as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
    }
    match Store::open(&path, ORIGIN, &key.public_key()) {
        Err(StoreError::Corrupt(m)) => {
            assert!(m.contains("entry 4") || m.contains("leaf node 4"), "{m}")
        }
        other => panic!("tampering not detected: {other:?}"),
    }
}
