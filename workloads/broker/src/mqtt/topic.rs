//! Topic filter matching (MQTT 3.1.1 §4.7), for the commands the front routes to device sessions itself.

/// Does `filter` (levels, `+` for one level, a final `#` for any rest) match `topic`? Topics starting with
/// `$` are never matched by a leading wildcard (§4.7.2).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn levels_plus_and_hash() {
        assert!(matches("urna/f/booth/d1/cmd/#", "urna/f/booth/d1/cmd/ack"));
        // `#` also matches the parent level itself.
        assert!(matches("urna/f/booth/d1/cmd/#", "urna/f/booth/d1/cmd"));
        assert!(matches("urna/f/booth/d1/cmd/+", "urna/f/booth/d1/cmd/lock"));
        assert!(matches("urna/f/booth/d1/cmd/lock", "urna/f/booth/d1/cmd/lock"));
        assert!(!matches("urna/f/booth/d1/cmd/+", "urna/f/booth/d1/cmd/a/b"));
        assert!(!matches("urna/f/booth/d1/cmd/lock", "urna/f/booth/d1/cmd/unlock"));
        assert!(!matches("urna/f/booth/d1/cmd", "urna/f/booth/d1/cmd/ack"));
        assert!(!matches("+/x", "$SYS/x"));
    }
}
