//! The one clock of the core: wall time since the Unix epoch, in milliseconds, so every
//! backend stores the same value for the same instant (Redis scripts take the time the Rust
//! side passes them, not the server's, unless an operation says otherwise).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the system clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch (0 if the system clock is before it).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, with millisecond precision.
pub fn now() -> f64 {
    secs(now_ms())
}

/// Seconds (float) from milliseconds.
pub fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_have_millisecond_precision() {
        let t = now();
        assert_eq!((t * 1000.0).round() / 1000.0, t);
        assert!(now_ms() >= (t * 1000.0) as u64);
    }
}
