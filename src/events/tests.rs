//! Core tests of the event log; those that touch a store run on the embedded store and on
//! Redis (see `crate::testkit`).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

#[test]
fn glob_matching() {
    assert!(matches("task:*", "task:created"));
    assert!(matches("task:*", "task:"));
    assert!(!matches("task:*", "tasks:created"));
    assert!(matches("*:changed", "file:changed"));
    assert!(matches("f?le:*d", "file:synced"));
    assert!(!matches("f?le:*d", "file:syncing"));
    assert!(matches("*", "anything"));
    assert!(matches("a*b*c", "aXXbYYc"));
    assert!(!matches("a*b*c", "aXXbYY"));
    assert!(matches("loop:s1", "loop:s1"));
    assert!(!matches("loop:s1", "loop:s12"));
    assert!(matches_any(&[], "x"));
}

#[test]
fn patterns_and_ids_are_validated() {
    assert!(pattern("task:*").is_ok());
    assert!(pattern("file:?hanged").is_ok());
    for bad in ["", "a b", "x[1]", "{tag}", "..", "a\nb"] {
        assert!(pattern(bad).is_err(), "{bad:?}");
    }
    assert!(channel("task:*").is_err());
    assert_eq!(parse_id("0").unwrap(), (0, 0));
    assert_eq!(parse_id("1700000000000-7").unwrap(), (1_700_000_000_000, 7));
    for bad in ["", "-", "x-1", "1-x", "1-2-3", "$"] {
        assert!(parse_id(bad).is_err(), "{bad:?}");
    }
}

both!(log_orders_filters_resumes_and_trims);
fn log_orders_filters_resumes_and_trims(h: &Hub) {
    let ev = &h.events;
    let start = ev.last_id().wait().unwrap();
    let a = ev.publish("task:created", json!({"id": 1})).wait().unwrap();
    ev.publish("file:changed", json!("x")).wait().unwrap();
    let c = ev.publish("task:done", json!([1, 2])).wait().unwrap();
    let b = ev
        .read(&["task:*".into()], Some(&start), 100, Duration::ZERO)
        .wait()
        .unwrap();
    assert_eq!(
        b.events.iter().map(|e| &e.id).collect::<Vec<_>>(),
        [&a.id, &c.id]
    );
    assert_eq!(b.cursor, c.id);
    let rest = ev
        .read(&[], Some(&a.id), 100, Duration::ZERO)
        .wait()
        .unwrap();
    assert_eq!(rest.events.len(), 2);
    ev.set_retention(Retention {
        max_len: 2,
        max_age: None,
    })
    .wait()
    .unwrap();
    for i in 0..5 {
        ev.publish("n", json!(i)).wait().unwrap();
    }
    assert_eq!(ev.len().wait().unwrap(), 2);
    let all = ev.read(&[], Some("0"), 100, Duration::ZERO).wait().unwrap();
    assert_eq!(
        all.events
            .iter()
            .map(|e| e.data.clone())
            .collect::<Vec<_>>(),
        [json!(3), json!(4)]
    );
}

both!(reader_wakes_on_publish_from_another_thread);
fn reader_wakes_on_publish_from_another_thread(h: &Hub) {
    let ev = &h.events;
    let ev2 = ev.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        ev2.publish("ping", json!(1)).wait().unwrap()
    });
    let started = Instant::now();
    let b = ev
        .read(&[], None, 10, Duration::from_secs(10))
        .wait()
        .unwrap();
    let sent = t.join().unwrap();
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.events[0].id, sent.id);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Nothing more: a bounded wait returns empty with the cursor where it was.
    let none = ev
        .read(&[], Some(&sent.id), 10, Duration::from_millis(50))
        .wait()
        .unwrap();
    assert!(none.events.is_empty());
    assert_eq!(none.cursor, sent.id);
}

both!(publish_many_appends_in_order_as_publish_does);
fn publish_many_appends_in_order_as_publish_does(h: &Hub) {
    let ev = &h.events;
    let start = ev.last_id().wait().unwrap();
    let a = ev.publish("task:created", json!(0)).wait().unwrap();
    let items: Vec<(String, serde_json::Value)> = (1..=4)
        .map(|i| ("file:changed".to_string(), json!({"n": i})))
        .collect();
    let got = ev.publish_many(items).wait().unwrap();
    assert_eq!(got.len(), 4);
    let mut last = parse_id(&a.id).unwrap();
    for (i, e) in got.iter().enumerate() {
        let id = parse_id(&e.id).unwrap();
        assert!(id > last, "{} after {:?}", e.id, last);
        last = id;
        assert_eq!(e.channel, "file:changed");
        assert_eq!(e.data, json!({"n": i + 1}));
    }
    let b = ev
        .read(&[], Some(&start), 100, Duration::ZERO)
        .wait()
        .unwrap();
    let ids: Vec<&str> = b.events.iter().map(|e| e.id.as_str()).collect();
    let want: Vec<&str> = std::iter::once(a.id.as_str())
        .chain(got.iter().map(|e| e.id.as_str()))
        .collect();
    assert_eq!(ids, want);
    assert_eq!(b.events[1..], got[..]);
    // Retention applies to every event of a batch.
    ev.set_retention(Retention {
        max_len: 3,
        max_age: None,
    })
    .wait()
    .unwrap();
    let items = (0..5).map(|i| ("x".to_string(), json!(i))).collect();
    let got = ev.publish_many(items).wait().unwrap();
    assert_eq!(ev.len().wait().unwrap(), 3);
    let b = ev.read(&[], Some("0"), 100, Duration::ZERO).wait().unwrap();
    assert_eq!(b.events[..], got[2..]);
    // One bad item publishes none; no items is nothing.
    let bad = vec![("ok".to_string(), json!(1)), ("a b".to_string(), json!(2))];
    assert!(ev.publish_many(bad).wait().is_err());
    assert_eq!(ev.publish_many(vec![]).wait().unwrap(), vec![]);
    assert_eq!(ev.last_id().wait().unwrap(), got[4].id);
}

both!(ids_grow_in_log_order_whatever_the_publishers_clocks);
fn ids_grow_in_log_order_whatever_the_publishers_clocks(h: &Hub) -> Result<()> {
    // Two publishers whose clocks disagree (or that read the clock in one order and commit
    // in the other): the later entry must not get the smaller id.
    let late = h.events.publish("c", Value::from(1));
    let a = late.wait()?;
    let early = match h.backend() {
        crate::engine::Backend::Sqlite(db) => {
            let at = crate::clock::now_ms() - 5_000;
            crate::events::sqlite::publish(db, h.namespace(), "c", "2", at)?.0
        }
        _ => h.events.publish("c", Value::from(2)).wait()?.id,
    };
    let key = |id: &str| -> (u64, u64) {
        let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
        (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
    };
    assert!(key(&early) > key(&a.id), "{early} after {}", a.id);
    Ok(())
}

both!(ids_compare_as_redis_stream_ids_on_every_backend);
fn ids_compare_as_redis_stream_ids_on_every_backend(h: &Hub) {
    let ev = &h.events;
    let a = ev.publish("task:a", json!(1)).wait().unwrap();
    let b = ev.publish("task:b", json!(2)).wait().unwrap();
    let read = |after: &str| -> Vec<String> {
        ev.read(&[], Some(after), 100, Duration::ZERO)
            .wait()
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    // An id past the end reads nothing, now and after more events (theirs are older).
    let far = "99999999999999-0";
    assert!(read(far).is_empty());
    ev.publish("task:c", json!(3)).wait().unwrap();
    assert!(read(far).is_empty());
    let batch = ev
        .read(&[], Some(far), 100, Duration::from_millis(30))
        .wait()
        .unwrap();
    assert!(batch.events.is_empty());
    assert_eq!(batch.cursor, far);
    // A time alone reads what came after that millisecond began; a made-up id in the
    // middle reads what follows it.
    let (ms_a, _) = parse_id(&a.id).unwrap();
    let from_a = read(&format!("{}", ms_a.saturating_sub(1)));
    assert_eq!(from_a.first(), Some(&a.id));
    assert_eq!(read(&a.id).first(), Some(&b.id));
    let (ms_b, seq_b) = parse_id(&b.id).unwrap();
    let just_before_b = match seq_b {
        0 => format!("{}-{}", ms_b - 1, u64::MAX),
        s => format!("{ms_b}-{}", s - 1),
    };
    if just_before_b != a.id {
        assert_eq!(read(&just_before_b).first(), Some(&b.id));
    }
}
