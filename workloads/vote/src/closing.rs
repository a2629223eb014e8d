//! When this service accepts sessions, rights, admissions and ballots: within its modality's window
//! (`--opens-at`, `--closes-at`: the rule is `urna_status::Window`'s, shared with the tally shards), and never
//! once an administrator closed it (`POST /v1/close`, persisted in the ballot store so that a restart stays
//! closed).

use std::sync::atomic::{AtomicBool, Ordering};

use urna_status::Window;
use urna_status::window::{Refusal, WindowStatus};

use crate::error::ApiError;

pub struct Closing {
    window: Window,
    closed: AtomicBool,
}

impl Closing {
    pub fn new(window: Window, closed_already: bool) -> Self {
        Self { window, closed: AtomicBool::new(closed_already) }
    }

    /// Closed by hand or past `closesAt` (before `opensAt` is not closed: it is not open yet).
    pub fn is_closed(&self) -> bool {
        matches!(self.window.check(jiff::Timestamp::now(), self.closed_by_hand()), Err(Refusal::Closed { .. }))
    }

    /// Whether a request arriving now may change anything: `election_not_open` before the window,
    /// `election_closed` after it or once closed.
    pub fn check(&self) -> Result<(), ApiError> {
        self.window.check(jiff::Timestamp::now(), self.closed_by_hand()).map_err(|r| match r {
            Refusal::NotYetOpen { opens_at } => crate::error::not_open(opens_at),
            Refusal::Closed { .. } => crate::error::closed(),
        })
    }

    fn closed_by_hand(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    pub fn window(&self) -> Window {
        self.window
    }

    pub fn status(&self) -> WindowStatus {
        self.window.status(jiff::Timestamp::now(), self.closed_by_hand())
    }
}
