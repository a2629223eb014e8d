//! Topic rights, as pure functions of the identity read from the client certificate.
//!
//! Topic tree (one fleet per broker):
//! - `urna/<fleet>/booth/<device>/<channel>`: what a device publishes (`heartbeat`, `gps`, `ballot`, `sos`,
//!   `state`); nothing else, no deeper levels.
//! - `urna/<fleet>/booth/<device>/cmd/<command>`: what the backend publishes to one device (`block`, `lock`,
//!   ...); the device may subscribe to its own `cmd/#` and nothing else.
//! - Backends subscribe to anything under `urna/<fleet>/`, normally through a shared subscription
//!   (`$share/<group>/urna/<fleet>/booth/+/ballot`) so that several bridge replicas split the stream.

use crate::identity::Identity;

/// The channels a device publishes on.
pub const DEVICE_CHANNELS: [&str; 5] = ["heartbeat", "gps", "ballot", "sos", "state"];

/// Why a publish or subscription is refused (logged and used as a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Not one of this device's own topics.
    NotOwnTopic,
    /// Wildcards, empty levels or `$` topics where a plain topic is needed.
    MalformedTopic,
    /// Retained messages would outlive the device's session; the fleet does not use them.
    Retain,
    /// Shared subscriptions are for backends.
    SharedForDevice,
    /// The backend publishes commands to devices and nothing else.
    NotCommandTopic,
}

impl Denied {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotOwnTopic => "not_own_topic",
            Self::MalformedTopic => "malformed_topic",
            Self::Retain => "retain",
            Self::SharedForDevice => "shared_for_device",
            Self::NotCommandTopic => "not_command_topic",
        }
    }
}

/// A single topic level usable as a fleet or device name: no separators, wildcards, `$` prefix or blanks.
pub fn valid_level(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('$')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn plain_topic(t: &str) -> bool {
    !t.is_empty() && !t.starts_with('$') && !t.contains(['+', '#']) && t.split('/').all(|l| !l.is_empty())
}

/// A well-formed filter (MQTT 3.1.1 §4.7.1): `#` only as the whole last level, `+` only as a whole level.
fn valid_filter(f: &str) -> bool {
    if f.is_empty() {
        return false;
    }
    let levels: Vec<&str> = f.split('/').collect();
    let last = levels.len() - 1;
    levels.iter().enumerate().all(|(i, l)| match *l {
        "#" => i == last,
        "+" => true,
        l => !l.contains(['+', '#']),
    })
}

pub fn device_prefix(fleet: &str, device: &str) -> String {
    format!("urna/{fleet}/booth/{device}/")
}

/// May `who` publish on `topic`?
pub fn may_publish(fleet: &str, who: &Identity, topic: &str, retain: bool) -> Result<(), Denied> {
    if !plain_topic(topic) {
        return Err(Denied::MalformedTopic);
    }
    if retain {
        return Err(Denied::Retain);
    }
    match who {
        Identity::Device(d) => {
            let rest = topic.strip_prefix(&device_prefix(fleet, d)).ok_or(Denied::NotOwnTopic)?;
            if DEVICE_CHANNELS.contains(&rest) { Ok(()) } else { Err(Denied::NotOwnTopic) }
        }
        Identity::Backend(_) => {
            let rest = topic.strip_prefix(&format!("urna/{fleet}/booth/")).ok_or(Denied::NotCommandTopic)?;
            match rest.split('/').collect::<Vec<_>>()[..] {
                [device, "cmd", _command] if valid_level(device) => Ok(()),
                _ => Err(Denied::NotCommandTopic),
            }
        }
    }
}

/// May `who` subscribe to `filter`?
pub fn may_subscribe(fleet: &str, who: &Identity, filter: &str) -> Result<(), Denied> {
    match who {
        Identity::Device(d) => {
            if filter.starts_with("$share/") {
                return Err(Denied::SharedForDevice);
            }
            if !valid_filter(filter) {
                return Err(Denied::MalformedTopic);
            }
            let cmd = format!("{}cmd", device_prefix(fleet, d));
            // The prefix has no wildcards, so any filter under it matches only this device's commands.
            if filter == cmd || filter.starts_with(&format!("{cmd}/")) { Ok(()) } else { Err(Denied::NotOwnTopic) }
        }
        Identity::Backend(_) => {
            let inner = match filter.strip_prefix("$share/") {
                Some(rest) => match rest.split_once('/') {
                    Some((group, f)) if valid_level(group) => f,
                    _ => return Err(Denied::MalformedTopic),
                },
                None => filter,
            };
            if !valid_filter(inner) {
                return Err(Denied::MalformedTopic);
            }
            if inner.starts_with(&format!("urna/{fleet}/")) { Ok(()) } else { Err(Denied::NotOwnTopic) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(d: &str) -> Identity {
        Identity::Device(d.into())
    }

    #[test]
    fn device_publishes_only_on_its_own_channels() {
        let d = dev("mesa-1-1");
        for ch in DEVICE_CHANNELS {
            assert_eq!(may_publish("f", &d, &format!("urna/f/booth/mesa-1-1/{ch}"), false), Ok(()));
        }
        assert_eq!(may_publish("f", &d, "urna/f/booth/mesa-1-2/ballot", false), Err(Denied::NotOwnTopic));
        assert_eq!(may_publish("f", &d, "urna/f/booth/mesa-1-1/cmd/unblock", false), Err(Denied::NotOwnTopic));
        assert_eq!(may_publish("f", &d, "urna/f/booth/mesa-1-1/ballot/x", false), Err(Denied::NotOwnTopic));
        assert_eq!(may_publish("g", &d, "urna/f/booth/mesa-1-1/ballot", false), Err(Denied::NotOwnTopic));
        assert_eq!(may_publish("f", &d, "urna/f/booth/mesa-1-1/+", false), Err(Denied::MalformedTopic));
        assert_eq!(may_publish("f", &d, "urna/f/booth/mesa-1-1/ballot", true), Err(Denied::Retain));
        assert_eq!(may_publish("f", &d, "$SYS/x", false), Err(Denied::MalformedTopic));
    }

    #[test]
    fn device_subscribes_only_to_its_own_commands() {
        let d = dev("mesa-1-1");
        assert_eq!(may_subscribe("f", &d, "urna/f/booth/mesa-1-1/cmd/#"), Ok(()));
        assert_eq!(may_subscribe("f", &d, "urna/f/booth/mesa-1-1/cmd/block"), Ok(()));
        assert_eq!(may_subscribe("f", &d, "urna/f/booth/+/cmd/#"), Err(Denied::NotOwnTopic));
        assert_eq!(may_subscribe("f", &d, "urna/f/booth/mesa-1-1/#"), Err(Denied::NotOwnTopic));
        assert_eq!(may_subscribe("f", &d, "#"), Err(Denied::NotOwnTopic));
        assert_eq!(may_subscribe("f", &d, "urna/f/booth/mesa-1-1/cmd/#/x"), Err(Denied::MalformedTopic));
        assert_eq!(may_subscribe("f", &d, "$share/g/urna/f/booth/mesa-1-1/cmd/#"), Err(Denied::SharedForDevice));
    }

    #[test]
    fn backend_reads_the_fleet_and_writes_only_commands() {
        let b = Identity::Backend("urna-bridge".into());
        assert_eq!(may_subscribe("f", &b, "$share/bridge/urna/f/booth/+/ballot"), Ok(()));
        assert_eq!(may_subscribe("f", &b, "urna/f/#"), Ok(()));
        assert_eq!(may_subscribe("f", &b, "urna/g/#"), Err(Denied::NotOwnTopic));
        assert_eq!(may_subscribe("f", &b, "#"), Err(Denied::NotOwnTopic));
        assert_eq!(may_subscribe("f", &b, "$share//urna/f/#"), Err(Denied::MalformedTopic));
        assert_eq!(may_publish("f", &b, "urna/f/booth/mesa-1-1/cmd/block", false), Ok(()));
        assert_eq!(may_publish("f", &b, "urna/f/booth/mesa-1-1/ballot", false), Err(Denied::NotCommandTopic));
    }

    #[test]
    fn levels_that_could_escape_the_tree_are_invalid() {
        assert!(valid_level("mesa-1-1"));
        for bad in ["", "a/b", "+", "#", "$sys", "a b", "é"] {
            assert!(!valid_level(bad), "{bad:?}");
        }
    }
}
