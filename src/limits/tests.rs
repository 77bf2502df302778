//! Rate limits on both engines (see `crate::testkit`).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

const T0: u64 = 1_800_000_000_000;

fn at(limit: i64, window_s: f64, cost: i64, ms: u64) -> Spec {
    spec(limit, window_s, cost, Some(ms as f64 / 1000.0)).unwrap_or_else(|e| panic!("{e}"))
}

both!(the_window_slides);
fn the_window_slides(h: &Hub) -> Result<()> {
    let l = &h.limits;
    for i in 0..3 {
        let d = l.check("u:1", at(3, 10.0, 1, T0 + i * 1000)).wait()?;
        assert!(d.allowed);
        assert_eq!(d.remaining, 2 - i);
    }
    let d = l.check("u:1", at(3, 10.0, 1, T0 + 5000)).wait()?;
    assert_eq!(
        d,
        Decision {
            allowed: false,
            limit: 3,
            remaining: 0,
            reset_after_ms: 7000,
            retry_after_ms: 5000,
        }
    );
    // The first admission leaves the window at T0 + 10 s exactly.
    assert!(!l.check("u:1", at(3, 10.0, 1, T0 + 9999)).wait()?.allowed);
    let p = l.peek("u:1", at(3, 10.0, 1, T0 + 10_000)).wait()?;
    assert!(p.allowed && p.remaining == 0);
    assert!(l.check("u:1", at(3, 10.0, 1, T0 + 10_000)).wait()?.allowed);
    // Another key is another window.
    assert!(l.check("u:2", at(3, 10.0, 3, T0)).wait()?.allowed);
    assert!(!l.check("u:2", at(3, 10.0, 1, T0)).wait()?.allowed);
    assert!(l.reset("u:2").wait()?);
    assert!(!l.reset("u:2").wait()?);
    assert_eq!(l.peek("u:2", at(3, 10.0, 1, T0)).wait()?.remaining, 2);
    Ok(())
}

both!(a_random_run_matches_the_model);
fn a_random_run_matches_the_model(h: &Hub) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut model: Vec<u64> = Vec::new();
    let mut now = T0;
    let (limit, window) = (5i64, 2.0);
    for _ in 0..300 {
        now += rng.random_range(0..700);
        let cost = rng.random_range(1..=3);
        let s = at(limit, window, cost, now);
        model.retain(|&t| now - t < 2000);
        let want = decide(&model, &s);
        let peek = rng.random_bool(0.2);
        let got = if peek {
            h.limits.peek("k", s).wait()?
        } else {
            h.limits.check("k", s).wait()?
        };
        assert_eq!(got, want, "at {now} cost {cost} peek {peek}");
        if want.allowed && !peek {
            model.extend(std::iter::repeat_n(now, cost as usize));
        }
        assert!(model.len() <= limit as usize);
    }
    Ok(())
}

#[test]
fn bad_numbers_are_refused() {
    assert!(spec(0, 1.0, 1, None).is_err());
    assert!(spec(-1, 1.0, 1, None).is_err());
    assert!(spec(MAX_LIMIT as i64 + 1, 1.0, 1, None).is_err());
    assert!(spec(5, 0.0, 1, None).is_err());
    assert!(spec(5, -1.0, 1, None).is_err());
    assert!(spec(5, f64::NAN, 1, None).is_err());
    assert!(spec(5, 1.0, 0, None).is_err());
    assert!(spec(5, 1.0, 6, None).is_err());
    assert!(spec(5, 1.0, 5, Some(-1.0)).is_err());
    assert!(spec(5, 1.0, 5, None).is_ok());
    assert!(check_key("user:42/GET /x").is_err());
    assert!(check_key("*").is_err());
    assert!(check_key("user:42/search").is_ok());
}
