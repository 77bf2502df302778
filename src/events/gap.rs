//! Whether a resume point was trimmed away: a subscriber that comes back with the id of the
//! last event it saw learns whether the log still holds everything after it (the HTTP
//! service's `zerolag.trimmed` notice).
//!
//! The rule is the same on both engines: the log has lost something after `after` when it
//! no longer holds the event `after` itself and its oldest event is newer. (It may say so when
//! only `after` itself was dropped: a reader is told it *may* have missed events, never left
//! to believe it missed none when it did.)

use rusqlite::{params, OptionalExtension};

use super::{parse_id, redis::prefix, Events};
use crate::engine::{tri, Op};
use crate::error::{Error, Result};

/// What the log says about a resume point.
fn verdict(after: (u64, u64), held: bool, oldest: Option<String>) -> Result<Option<String>> {
    if held {
        return Ok(None);
    }
    match oldest {
        Some(o) if parse_id(&o)? > after => Ok(Some(o)),
        _ => Ok(None),
    }
}

impl Events {
    /// `Some(oldest retained id)` when events after `after` may have been trimmed from the
    /// log (see the module docs); None when the log holds everything after it, or `after` is
    /// the start of the log ("0").
    pub fn gap(&self, after: &str) -> Op<Option<String>> {
        if self.split() {
            let n = self.n;
            tri!(self.check_after(after));
            if after == "0" {
                return Op::Ready(Ok(None));
            }
            return self.backend.call(
                (self.ns(), after.to_string()),
                |_, _| {
                    Err(Error::Backend(
                        "partitioned log on the embedded store".into(),
                    ))
                },
                move |r, c, (ns, after)| super::part::gap(r, c, ns, n, after),
            );
        }
        let at = tri!(parse_id(after));
        if at == (0, 0) {
            return Op::Ready(Ok(None));
        }
        let after = after.to_string();
        self.backend.call(
            (self.ns(), after),
            move |db, (ns, _)| {
                db.with(|c| {
                    let (ms, seq) = (clamp(at.0), clamp(at.1));
                    let held = c
                        .prepare_cached(
                            "SELECT 1 FROM events WHERE ns = ?1 AND seq = ?2 AND at_ms = ?3",
                        )?
                        .query_row(params![ns, seq, ms], |_| Ok(()))
                        .optional()?
                        .is_some();
                    let oldest: Option<(i64, i64)> = c
                        .prepare_cached(
                            "SELECT at_ms, seq FROM events WHERE ns = ?1 ORDER BY seq LIMIT 1",
                        )?
                        .query_row([&ns], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    verdict(at, held, oldest.map(|(a, s)| format!("{a}-{s}")))
                })
            },
            move |r, mut c, (ns, after)| async move {
                let key = format!("{}log", prefix(&ns));
                let (mine, first): (Vec<redis::Value>, Vec<redis::Value>) = redis::pipe()
                    .cmd("XRANGE")
                    .arg(&key)
                    .arg(&after)
                    .arg(&after)
                    .arg("COUNT")
                    .arg(1)
                    .cmd("XRANGE")
                    .arg(&key)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut c)
                    .await
                    .map_err(|e| r.err(e))?;
                let oldest = match first.first() {
                    Some(redis::Value::Array(parts)) => match parts.first() {
                        Some(id) => {
                            Some(redis::from_redis_value_ref::<String>(id).map_err(|_| {
                                Error::Backend("unexpected event entry in the log stream".into())
                            })?)
                        }
                        None => None,
                    },
                    _ => None,
                };
                verdict(at, !mine.is_empty(), oldest)
            },
        )
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use crate::events::Retention;
    use crate::hub::Hub;
    use crate::testkit::both;

    both!(a_trimmed_resume_point_is_found);
    fn a_trimmed_resume_point_is_found(h: &Hub) {
        let e = &h.events;
        assert_eq!(e.gap("0").wait().unwrap(), None);
        assert!(e.gap("nope").wait().is_err());
        e.set_retention(Retention {
            max_len: 3,
            max_age: None,
        })
        .wait()
        .unwrap();
        let ids: Vec<String> = (0..6)
            .map(|i| e.publish("c", json!(i)).wait().unwrap().id)
            .collect();
        // Held: nothing after it was lost.
        assert_eq!(e.gap(&ids[4]).wait().unwrap(), None);
        assert_eq!(e.gap(&ids[3]).wait().unwrap(), None);
        // Gone, and the log starts after it.
        assert_eq!(e.gap(&ids[0]).wait().unwrap(), Some(ids[3].clone()));
        assert_eq!(e.gap(&ids[2]).wait().unwrap(), Some(ids[3].clone()));
        // An id past the end is not a gap.
        assert_eq!(e.gap("99999999999999-0").wait().unwrap(), None);
    }
}
