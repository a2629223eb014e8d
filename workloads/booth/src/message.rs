//! What travels over MQTT between a booth and the backend: numbered envelopes up, commands down.

use serde::{Deserialize, Serialize};

/// One message a booth sends: its device id, its per-booth sequence number (1, 2, ...; one sequence for
/// every queued kind), what it is and when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub device: String,
    pub seq: u64,
    pub kind: String,
    pub at_ms: u64,
    pub body: serde_json::Value,
}

/// Commands the backend sends to one booth on `urna/<fleet>/booth/<device>/cmd/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Everything up to `seq` is durably received: drop it from the outbox.
    Ack(u64),
    /// Stop taking ballots until `Unlock` (an officer's pause; telemetry continues).
    Lock,
    Unlock,
    /// Stop taking ballots until `Unblock` (a forgery alert: the machine waits for the local authority).
    Block,
    Unblock,
    /// Send a GPS fix now (an officer locating the machine).
    Position,
}

#[derive(Debug, Deserialize)]
struct AckBody {
    seq: u64,
}

/// Reads a command from its topic's last level and payload; unknown commands are ignored by the caller.
pub fn parse_command(name: &str, payload: &[u8]) -> Option<Command> {
    match name {
        "ack" => serde_json::from_slice::<AckBody>(payload).ok().map(|a| Command::Ack(a.seq)),
        "lock" => Some(Command::Lock),
        "unlock" => Some(Command::Unlock),
        "block" => Some(Command::Block),
        "unblock" => Some(Command::Unblock),
        "position" => Some(Command::Position),
        _ => None,
    }
}

/// The receiver's decision for a numbered message, given the last sequence it holds for that device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The next one in order: keep it.
    Accept,
    /// Already held (a replay after a lost acknowledgement): acknowledge again, keep nothing.
    Duplicate,
    /// A gap (an earlier one is missing): keep nothing; the booth resends from its oldest unacknowledged.
    Gap,
}

/// Only the next sequence is accepted, so what the receiver holds is always a prefix of what the booth
/// sent: nothing counted twice, and nothing skipped even if messages arrive out of order.
pub fn receipt(last: u64, seq: u64) -> Receipt {
    if seq <= last {
        Receipt::Duplicate
    } else if seq == last + 1 {
        Receipt::Accept
    } else {
        Receipt::Gap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_receipts() {
        assert_eq!(parse_command("ack", br#"{"seq": 7}"#), Some(Command::Ack(7)));
        assert_eq!(parse_command("ack", b"7"), None);
        assert_eq!(parse_command("block", b""), Some(Command::Block));
        assert_eq!(parse_command("reboot", b""), None);
        assert_eq!(parse_command("position", b"{}"), Some(Command::Position));
        assert_eq!(receipt(0, 1), Receipt::Accept);
        assert_eq!(receipt(5, 5), Receipt::Duplicate);
        assert_eq!(receipt(5, 2), Receipt::Duplicate);
        assert_eq!(receipt(5, 7), Receipt::Gap);
    }
}
