//! When the election closes for this service: at `--closes-at`, or when an administrator closes it
//! (`POST /v1/close`, persisted in the ballot store so that a restart stays closed).

use std::sync::atomic::{AtomicBool, Ordering};

pub struct Closing {
    closes_at: Option<jiff::Timestamp>,
    closed: AtomicBool,
}

impl Closing {
    pub fn new(closes_at: Option<jiff::Timestamp>, closed_already: bool) -> Self {
        Self { closes_at, closed: AtomicBool::new(closed_already) }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.closes_at.is_some_and(|t| jiff::Timestamp::now() >= t)
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    pub fn closes_at(&self) -> Option<jiff::Timestamp> {
        self.closes_at
    }
}
