//! Chat and activity logs on both engines (see `crate::testkit`).

use std::time::{Duration, Instant};

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn msg(role: &str, content: &str) -> NewEntry {
    NewEntry {
        kind: role.into(),
        body: content.into(),
        meta: None,
    }
}

fn ids_of(es: &[Entry]) -> Vec<String> {
    es.iter().map(|e| e.id.clone()).collect()
}

fn key(id: &str) -> (u64, u64) {
    parse_id(id).unwrap_or((0, 0))
}

both!(appends_read_back_in_order);
fn appends_read_back_in_order(h: &Hub) -> Result<()> {
    let c = &h.chat;
    let mut ids = c.append("c1", vec![msg("system", "be brief")]).wait()?;
    let mut m = msg("user", "");
    m.meta = Some(r#"{"lang":"en"}"#.into());
    ids.extend(c.append("c1", vec![m, msg("assistant", "héllo")]).wait()?);
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| key(&w[0]) < key(&w[1])), "{ids:?}");
    let all = c.recent("c1", 50).wait()?;
    assert_eq!(ids_of(&all), ids);
    assert_eq!(
        all.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["system", "user", "assistant"]
    );
    assert_eq!(all[1].body, "");
    assert_eq!(all[1].meta.as_deref(), Some(r#"{"lang":"en"}"#));
    assert_eq!(all[0].meta, None);
    assert!(all[0].time() > 1.6e9);
    assert_eq!(ids_of(&c.recent("c1", 2).wait()?), &ids[1..]);
    let d = Duration::ZERO;
    let mid = c.range("c1", Some(&ids[0]), None, 10, d).wait()?;
    assert_eq!(ids_of(&mid), &ids[1..]);
    let head = c.range("c1", None, Some(&ids[2]), 10, d).wait()?;
    assert_eq!(ids_of(&head), &ids[..2]);
    assert_eq!(ids_of(&c.range("c1", None, None, 1, d).wait()?), &ids[..1]);
    assert!(c.range("c1", Some(&ids[2]), None, 10, d).wait()?.is_empty());
    assert!(c.recent("other", 5).wait()?.is_empty());
    assert_eq!(c.count("c1").wait()?, 3);
    assert_eq!(c.last_id("c1").wait()?, ids[2]);
    assert_eq!(c.last_id("other").wait()?, "0-0");
    Ok(())
}

both!(trims_to_max_len_and_clear_keeps_ids_growing);
fn trims_to_max_len_and_clear_keeps_ids_growing(h: &Hub) -> Result<()> {
    let a = &h.activity;
    a.configure(Some(5), None)?;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.extend(
            a.append(
                "u1",
                vec![
                    msg("login", &format!("{i}")),
                    msg("comment", &format!("{{\"n\":{i}}}")),
                ],
            )
            .wait()?,
        );
    }
    assert_eq!(a.count("u1").wait()?, 5);
    assert_eq!(ids_of(&a.recent("u1", 100).wait()?), &ids[3..]);
    let last = ids[7].clone();
    assert_eq!(a.clear("u1").wait()?, 5);
    assert_eq!(a.count("u1").wait()?, 0);
    assert_eq!(a.clear("u1").wait()?, 0);
    let again = a.append("u1", vec![msg("login", "1")]).wait()?;
    assert!(key(&again[0]) > key(&last), "{again:?} after {last}");
    // Cleared and written again at once, twice: each start is above the one before.
    a.clear("u1").wait()?;
    let third = a.append("u1", vec![msg("login", "2")]).wait()?;
    assert!(key(&third[0]) > key(&again[0]), "{third:?} after {again:?}");
    Ok(())
}

both!(a_waiting_read_wakes_for_an_append);
fn a_waiting_read_wakes_for_an_append(h: &Hub) -> Result<()> {
    let first = h.chat.append("c", vec![msg("user", "0")]).wait()?;
    let writer = h.chat.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let _ = writer.append("c", vec![msg("user", "1")]).wait();
        let _ = writer.append("other", vec![msg("user", "x")]).wait();
    });
    let t0 = Instant::now();
    let got = h
        .chat
        .range("c", Some(&first[0]), None, 10, Duration::from_secs(10))
        .wait()?;
    let _ = t.join();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "1");
    assert!(t0.elapsed() < Duration::from_secs(10));
    Ok(())
}

both!(bad_input_writes_nothing);
fn bad_input_writes_nothing(h: &Hub) -> Result<()> {
    let c = &h.chat;
    for bad in [
        c.append("c", vec![msg("user", "ok"), msg("robot", "no")]),
        c.append("a b", vec![msg("user", "x")]),
        c.append("*", vec![msg("user", "x")]),
    ] {
        assert!(matches!(bad.wait(), Err(Error::Validation(_))));
    }
    c.configure(None, Some(4))?;
    assert!(matches!(
        c.append("c", vec![msg("user", "12345")]).wait(),
        Err(Error::Validation(_))
    ));
    assert_eq!(c.count("c").wait()?, 0);
    assert!(c.recent("c", 0).wait().is_err());
    assert!(c
        .range("c", Some("x-1"), None, 5, Duration::ZERO)
        .wait()
        .is_err());
    assert!(c.configure(Some(0), None).is_err());
    assert!(h
        .activity
        .append("u", vec![msg("has space", "1")])
        .wait()
        .is_err());
    Ok(())
}

#[test]
fn ids_parse_and_first_ids_grow() {
    assert_eq!(parse_id("12-3").ok(), Some((12, 3)));
    assert_eq!(parse_id("12").ok(), Some((12, 0)));
    assert!(parse_id("a-1").is_err() && parse_id("1-").is_err() && parse_id("").is_err());
    assert!(parse_id("99999999999999999999").is_err());
    assert_eq!(first_id(1_000_000_123_456), (1_000_000_124, 456_001));
    assert!(first_id(5_000_001) > first_id(5_000_000));
}
