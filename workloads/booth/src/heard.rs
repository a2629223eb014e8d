//! Reading a booth message once for every consumer of the monitor (the alert rules and the operations
//! centre): a booth resends its outbox until the collector acknowledges it, so the same SOS or ballot can
//! arrive many times; it must alert and count once everywhere, while each copy is still a sign of life.

use std::collections::{BTreeSet, HashMap};

use crate::message::Envelope;

/// One message on `urna/<fleet>/booth/<device>/<channel>`, as the consumers read it.
#[derive(Debug)]
pub struct Heard<'a> {
    pub channel: &'a str,
    pub payload: &'a [u8],
    /// The numbered envelope it carries, only the first time that number is heard from the device.
    pub fresh: Option<Envelope>,
}

impl<'a> Heard<'a> {
    /// The message as heard for the first time (a single reader with no history: tests and benchmarks).
    pub fn first(channel: &'a str, payload: &'a [u8]) -> Self {
        Self { channel, payload, fresh: serde_json::from_slice(payload).ok() }
    }
}

/// The envelope numbers each device has been heard sending.
#[derive(Debug, Default)]
pub struct Resends {
    devices: HashMap<String, SeenWindow>,
}

impl Resends {
    pub fn hear<'a>(&mut self, device: &str, channel: &'a str, payload: &'a [u8]) -> Heard<'a> {
        let mut heard = Heard::first(channel, payload);
        if let Some(env) = &heard.fresh
            && !self.devices.entry(device.to_owned()).or_default().first_time(env.seq)
        {
            heard.fresh = None;
        }
        heard
    }
}

/// How far below its highest number a device's window remembers: far more than an outbox holds in
/// flight, so a resend is always recognised, and the memory per device stays bounded.
const SEEN_WINDOW: u64 = 4096;

/// Every number up to `floor` has been heard (or is too old to matter); `above` holds those heard beyond
/// it. Envelopes mostly arrive in order, so `above` is usually empty and a device costs a few bytes.
#[derive(Debug, Default)]
struct SeenWindow {
    floor: u64,
    above: BTreeSet<u64>,
}

impl SeenWindow {
    fn first_time(&mut self, seq: u64) -> bool {
        if seq <= self.floor || !self.above.insert(seq) {
            return false;
        }
        while self.above.first() == Some(&(self.floor + 1)) {
            self.above.pop_first();
            self.floor += 1;
        }
        // A number never heard (lost while the monitor was away) must not hold the window open forever.
        let highest = self.above.last().copied().unwrap_or(self.floor);
        if highest - self.floor > SEEN_WINDOW {
            self.floor = highest - SEEN_WINDOW;
            self.above = self.above.split_off(&(self.floor + 1));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(seq: u64) -> Vec<u8> {
        serde_json::json!({ "device": "b-1", "seq": seq, "kind": "ballot", "atMs": 1, "body": {} })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn each_number_is_fresh_once_per_device() {
        let mut r = Resends::default();
        let (one, two) = (envelope(1), envelope(2));
        assert!(r.hear("b-1", "ballot", &one).fresh.is_some());
        assert!(r.hear("b-1", "ballot", &one).fresh.is_none(), "a resend");
        assert!(r.hear("b-2", "ballot", &one).fresh.is_some(), "another device's number 1");
        assert!(r.hear("b-1", "heartbeat", b"{}").fresh.is_none(), "no envelope");
        // An older number not yet heard (a resend overtaken by a newer envelope) is still fresh.
        let five = envelope(5);
        assert!(r.hear("b-1", "ballot", &five).fresh.is_some());
        assert!(r.hear("b-1", "ballot", &two).fresh.is_some());
        assert!(r.hear("b-1", "ballot", &two).fresh.is_none());
    }

    #[test]
    fn the_window_stays_small_in_order_and_bounded_with_gaps() {
        let mut w = SeenWindow::default();
        for seq in 1..=10_000 {
            assert!(w.first_time(seq));
        }
        assert_eq!((w.floor, w.above.len()), (10_000, 0), "in order: nothing held");
        // Every other number lost: the window never holds more than its width.
        for seq in (10_002..10_002 + 6 * SEEN_WINDOW).step_by(2) {
            assert!(w.first_time(seq));
        }
        assert!(w.above.len() as u64 <= SEEN_WINDOW / 2 + 1);
        assert!(!w.first_time(10_001), "fell below the window: treated as heard");
    }
}
