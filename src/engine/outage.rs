//! The one policy for a reader that follows a log (events, the change feed) while the store
//! is unreachable: a read that fails because of a restart, a dropped connection or a timeout
//! is retried from the same position, so nothing is skipped, for up to [`BUDGET`]; past
//! that the error reaches the caller.
//!
//! A silent store (one that takes requests and answers nothing: a paused server, a frozen
//! VM) is told apart from a restarting one: reads that time out are retried only until the
//! store has been silent for the follower's ping interval (the `ping_interval` URL option;
//! each read, at least one a second while a follower waits, is the ping), then the follower
//! raises TimeoutError saying so. Either way the follower keeps its position: a caller that
//! handles the error and reads on resumes where it was, with a whole budget again.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a follower keeps retrying while the store is unreachable before it raises.
pub const BUDGET: Duration = Duration::from_secs(60);
/// Pause between attempts.
pub const PAUSE: Duration = Duration::from_millis(100);

/// Since when the store has been unreachable, if it is, and when it last answered.
#[derive(Debug, Clone)]
pub struct Outage {
    since: Option<Instant>,
    answered: Instant,
    ping_interval: Duration,
}

impl Default for Outage {
    fn default() -> Self {
        Outage::with_ping_interval(BUDGET)
    }
}

impl Outage {
    /// A policy that raises once the store has answered nothing for `ping_interval`.
    pub fn with_ping_interval(ping_interval: Duration) -> Outage {
        Outage {
            since: None,
            answered: Instant::now(),
            ping_interval: ping_interval.min(BUDGET),
        }
    }

    /// Takes a read's outcome: `Ok(Some(v))` to use, `Ok(None)` to pause [`PAUSE`] and read
    /// again from the same position, or the error to raise (any error that is not an
    /// unreachable store, an outage past the budget, or a store silent for longer than the
    /// ping interval).
    pub fn absorb<T>(&mut self, r: Result<T>) -> Result<Option<T>> {
        match r {
            Ok(v) => {
                self.since = None;
                self.answered = Instant::now();
                Ok(Some(v))
            }
            Err(Error::Timeout(m)) => {
                let silent = self.answered.elapsed();
                if silent < self.ping_interval {
                    self.since.get_or_insert_with(Instant::now);
                    return Ok(None);
                }
                self.reset();
                Err(Error::Timeout(format!(
                    "the store has answered nothing for {:.1} s, longer than the ping interval \
                     ({:.1} s; the ping_interval URL option): {m}. The subscription keeps its \
                     place: read on to resume once the store answers again",
                    silent.as_secs_f64(),
                    self.ping_interval.as_secs_f64()
                )))
            }
            Err(Error::Connection(_))
                if self.since.get_or_insert_with(Instant::now).elapsed() < BUDGET =>
            {
                Ok(None)
            }
            Err(e) => {
                self.reset();
                Err(e)
            }
        }
    }

    /// A caller that handles the error and reads on gets a whole budget again.
    fn reset(&mut self) {
        self.since = None;
        self.answered = Instant::now();
    }

    #[cfg(test)]
    pub(crate) fn started_long_ago() -> Outage {
        Outage {
            since: Instant::now().checked_sub(BUDGET),
            ..Outage::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retries_within_the_budget_and_raises_the_rest() {
        let mut o = Outage::default();
        let down = || Err::<(), _>(Error::Connection("down".into()));
        assert!(o.absorb(down()).unwrap().is_none());
        assert_eq!(o.absorb(Ok(3)).unwrap(), Some(3));
        let mut late = Outage::started_long_ago();
        assert!(late.absorb(down()).is_err());
        assert!(o
            .absorb(Err::<(), _>(Error::Validation("bad".into())))
            .is_err());
    }

    #[test]
    fn a_silent_store_is_reported_after_the_ping_interval() {
        let mut o = Outage::with_ping_interval(Duration::from_millis(30));
        let silent = || Err::<(), _>(Error::Timeout("no reply".into()));
        assert!(o.absorb(silent()).unwrap().is_none());
        std::thread::sleep(Duration::from_millis(40));
        match o.absorb(silent()) {
            Err(Error::Timeout(m)) => assert!(m.contains("ping_interval"), "{m}"),
            other => panic!("{other:?}"),
        }
        // It starts over: the next silent read is retried again.
        assert!(o.absorb(silent()).unwrap().is_none());
    }
}
