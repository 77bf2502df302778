//! The one policy for a reader that follows a log (events, the change feed) while the store
//! is unreachable: a read that fails because of a restart, a dropped connection or a timeout
//! is retried from the same position, so nothing is skipped, for up to [`BUDGET`]; past
//! that the error reaches the caller.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a follower keeps retrying while the store is unreachable before it raises.
pub const BUDGET: Duration = Duration::from_secs(60);
/// Pause between attempts.
pub const PAUSE: Duration = Duration::from_millis(100);

/// Since when the store has been unreachable, if it is.
#[derive(Debug, Clone, Default)]
pub struct Outage(Option<Instant>);

impl Outage {
    /// Takes a read's outcome: `Ok(Some(v))` to use, `Ok(None)` to pause [`PAUSE`] and read
    /// again from the same position, or the error to raise (any error that is not an
    /// unreachable store, or an outage past the budget).
    pub fn absorb<T>(&mut self, r: Result<T>) -> Result<Option<T>> {
        match r {
            Ok(v) => {
                self.0 = None;
                Ok(Some(v))
            }
            Err(Error::Connection(_) | Error::Timeout(_))
                if self.0.get_or_insert_with(Instant::now).elapsed() < BUDGET =>
            {
                Ok(None)
            }
            Err(e) => {
                // A caller that handles the error and reads on gets a whole budget again.
                self.0 = None;
                Err(e)
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn started_long_ago() -> Outage {
        Outage(Instant::now().checked_sub(BUDGET))
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
}
