//! Analytics on both engines (see `crate::testkit`).

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

/// The start of today (UTC): buckets expire in real time on Redis, so tests work near now.
fn t0() -> i64 {
    (crate::clock::now_ms() as i64).div_euclid(DAY_MS) * DAY_MS
}

fn ev(event: &str, user: Option<&str>, at_ms: i64) -> Event {
    Event {
        event: event.into(),
        user: user.map(str::to_string),
        props: vec![("plan".into(), "pro".into())],
        at_ms,
    }
}

#[test]
fn dates_are_utc_calendar_days() {
    assert_eq!(date(0), "19700101");
    assert_eq!(date(20_427), "20251205");
    assert_eq!(date(11_016), "20000229");
    assert_eq!(date(-1), "19691231");
}

both!(counts_uniques_and_expiry);
fn counts_uniques_and_expiry(h: &Hub) -> Result<()> {
    let a = &h.analytics;
    let t = t0();
    let events: Vec<Event> = (0..30)
        .map(|i| ev("signup", Some(&format!("u{}", i % 10)), t + i * 3_600_000))
        .collect();
    assert_eq!(a.track_many(events).wait()?, 30);
    let days = a.counts("signup", t, t + DAY_MS, By::Day, t).wait()?;
    assert_eq!(days, vec![(t, 24), (t + DAY_MS, 6)]);
    let hours = a
        .counts("signup", t, t + 2 * 3_600_000, By::Hour, t)
        .wait()?;
    assert_eq!(hours, vec![(t, 1), (t + 3_600_000, 1), (t + 7_200_000, 1)]);
    assert_eq!(a.uniques("signup", t, t + DAY_MS, t).wait()?, 10);
    let by = a
        .counts_by_prop("signup", "plan", t, t + DAY_MS, t)
        .wait()?;
    assert_eq!(by, vec![("pro".to_string(), 30)]);
    assert_eq!(a.events(None, t).wait()?, vec![("signup".to_string(), 30)]);
    // Past the retention at the caller's time, the buckets are gone; the total stays.
    let later = t + i64::from(DEFAULT_RETENTION_DAYS + 2) * DAY_MS;
    let days = a.counts("signup", t, t + DAY_MS, By::Day, later).wait()?;
    assert_eq!(days, vec![(t, 0), (t + DAY_MS, 0)]);
    assert_eq!(a.uniques("signup", t, t + DAY_MS, later).wait()?, 0);
    assert_eq!(
        a.events(None, later).wait()?,
        vec![("signup".to_string(), 30)]
    );
    Ok(())
}
