//! Reconnect delays: exponential with jitter, so a fleet cut off together does not reconnect together.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (0 = first retry); `unit` is a uniform draw in [0, 1).
    /// "Equal jitter": half the exponential step is fixed, half random, capped at `max`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let step = self.min.saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX)).min(self.max);
        step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_with_bounded_jitter_up_to_the_cap() {
        let b = Backoff { min: Duration::from_millis(100), max: Duration::from_secs(10) };
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(50));
        assert_eq!(b.delay(0, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(400));
        assert_eq!(b.delay(30, 0.999_999).as_secs(), 9);
        assert!(b.delay(30, 1.0) <= b.max && b.delay(30, 0.0) >= b.max / 2);
    }
}
