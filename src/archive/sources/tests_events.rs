//! The archive's events source and the event log's retention hold, each test on the
//! embedded store and on Redis (see `crate::testkit`).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use serde_json::json;

use super::Store;
use crate::archive::model::{Batch, Event, Rows, Source};
use crate::events::Retention;
use crate::hub::Hub;
use crate::testkit::both;

fn store(h: &Hub) -> Store {
    Store::new(h.backend().clone(), h.events.namespace().into())
}

fn read(s: &Store, after: Option<&str>, limit: usize) -> Batch {
    s.read(Source::Events, after.map(String::from), limit)
        .wait()
        .unwrap()
}

fn events(b: &Batch) -> &[Event] {
    match &b.rows {
        Rows::Events(v) => v,
        other => panic!("not events: {other:?}"),
    }
}

fn ids(b: &Batch) -> Vec<String> {
    events(b).iter().map(|e| e.id.clone()).collect()
}

fn publish(h: &Hub, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| h.events.publish("t:x", json!({"i": i})).wait().unwrap().id)
        .collect()
}

fn forget(h: &Hub) -> u64 {
    super::events::forget(h.backend(), h.events.namespace())
        .wait()
        .unwrap()
}

both!(events_come_back_in_order_with_cursor_round_trip);
fn events_come_back_in_order_with_cursor_round_trip(h: &Hub) {
    let s = store(h);
    let empty = read(&s, None, 10);
    assert!(empty.rows.is_empty());
    let a = h
        .events
        .publish("task:created", json!({"id": 1}))
        .wait()
        .unwrap();
    let many = h
        .events
        .publish_many(vec![
            ("file:changed".into(), json!("x")),
            ("t:y".into(), json!([1])),
        ])
        .wait()
        .unwrap();
    let first = read(&s, None, 2);
    let e = events(&first);
    assert_eq!(ids(&first), [a.id.clone(), many[0].id.clone()]);
    assert_eq!(
        (e[0].channel.as_str(), &e[0].data),
        ("task:created", &json!({"id": 1}))
    );
    assert_eq!(e[0].at_ms, (a.time * 1000.0).round() as i64);
    assert_eq!((first.behind, first.lost), (1, 0));
    let rest = read(&s, Some(&first.next), 10);
    assert_eq!(ids(&rest), [many[1].id.clone()]);
    assert_eq!(events(&rest)[0].data, json!([1]));
    assert_eq!(rest.behind, 0);
    let end = read(&s, Some(&rest.next), 10);
    assert!(end.rows.is_empty());
    assert_eq!(end.next, rest.next);
    // An empty read from nothing gives a cursor that reads everything later.
    let later = read(&s, Some(&empty.next), 10);
    assert_eq!(later.rows.len(), 3);
    // Commit round trip, never backwards.
    assert_eq!(s.cursor(Source::Events).wait().unwrap(), None);
    s.commit(Source::Events, rest.next.clone()).wait().unwrap();
    s.commit(Source::Events, first.next.clone()).wait().unwrap();
    assert_eq!(
        s.cursor(Source::Events).wait().unwrap(),
        Some(rest.next.clone())
    );
    assert_eq!(forget(h), 1);
    assert_eq!(s.cursor(Source::Events).wait().unwrap(), None);
    assert_eq!(forget(h), 0);
}

both!(event_batches_respect_the_limit_and_miss_nothing);
fn event_batches_respect_the_limit_and_miss_nothing(h: &Hub) {
    let sent = publish(h, 27);
    let s = store(h);
    let (mut got, mut cur) = (Vec::new(), None::<String>);
    loop {
        let b = read(&s, cur.as_deref(), 4);
        if b.rows.is_empty() {
            break;
        }
        assert!(b.rows.len() <= 4);
        got.extend(ids(&b));
        assert_eq!(b.behind as usize, 27 - got.len());
        cur = Some(b.next);
    }
    assert_eq!(got, sent);
}

both!(the_event_log_is_not_held_without_a_cursor);
fn the_event_log_is_not_held_without_a_cursor(h: &Hub) {
    h.events
        .set_retention(Retention {
            max_len: 10,
            max_age: None,
        })
        .wait()
        .unwrap();
    let sent = publish(h, 40);
    let s = store(h);
    assert_eq!(ids(&read(&s, None, 1000)), sent[30..]);
    assert_eq!(s.overrun(Source::Events).wait().unwrap(), 0);
}

both!(the_hold_keeps_unarchived_events_up_to_the_bound);
fn the_hold_keeps_unarchived_events_up_to_the_bound(h: &Hub) {
    h.events
        .set_retention(Retention {
            max_len: 10,
            max_age: None,
        })
        .wait()
        .unwrap();
    publish(h, 15);
    let s = store(h);
    let start = read(&s, None, 1000);
    assert_eq!(start.rows.len(), 10);
    s.commit(Source::Events, start.next.clone()).wait().unwrap();
    // 60 unarchived with max_len 10: all kept; the archived ones went.
    let sent = publish(h, 60);
    let b = read(&s, Some(&start.next), 1000);
    assert_eq!((ids(&b), b.lost), (sent.clone(), 0));
    assert_eq!(ids(&read(&s, None, 1000)), sent);
    // 130 unarchived (publish_many too): the bound keeps 100, the 30 oldest go, counted.
    let many: Vec<(String, serde_json::Value)> =
        (0..50).map(|i| ("t:m".to_string(), json!(i))).collect();
    let more = h.events.publish_many(many).wait().unwrap();
    let tail = publish(h, 20);
    let b = read(&s, Some(&start.next), 1000);
    let mut want: Vec<String> = sent[30..].to_vec();
    want.extend(more.iter().map(|e| e.id.clone()));
    want.extend(tail);
    assert_eq!(ids(&b), want);
    assert_eq!(b.lost, 30, "the read after the cursor reports what went");
    assert_eq!(s.overrun(Source::Events).wait().unwrap(), 30);
    // The next read after that batch reports nothing more.
    assert_eq!(read(&s, Some(&b.next), 10).lost, 0);
    // Committing further lets the log trim back to max_len.
    s.commit(Source::Events, b.next.clone()).wait().unwrap();
    let last = publish(h, 1);
    assert_eq!(read(&s, None, 1000).rows.len(), 10);
    assert_eq!(ids(&read(&s, Some(&b.next), 10)), last);
    // Forgetting ends the hold: unarchived events go as retention says.
    assert_eq!(forget(h), 1);
    let fin = publish(h, 30);
    assert_eq!(ids(&read(&s, None, 1000)), fin[20..]);
    assert_eq!(s.overrun(Source::Events).wait().unwrap(), 0);
}

both!(the_hold_keeps_events_past_max_age_up_to_the_bound);
fn the_hold_keeps_events_past_max_age_up_to_the_bound(h: &Hub) {
    use std::time::Duration;
    h.events
        .set_retention(Retention {
            max_len: 1000,
            max_age: Some(Duration::from_millis(200)),
        })
        .wait()
        .unwrap();
    let s = store(h);
    let start = read(&s, None, 10);
    s.commit(Source::Events, start.next.clone()).wait().unwrap();
    let old = publish(h, 5);
    std::thread::sleep(Duration::from_millis(250));
    // Older than max_age but unarchived and within 10 x max_age: kept.
    let new = publish(h, 1);
    let b = read(&s, Some(&start.next), 100);
    assert_eq!(ids(&b)[..5], old[..]);
    assert_eq!(b.rows.len(), 6);
    // Past 10 x max_age: they go, counted (at most 256 per publish on SQLite: 5 here).
    std::thread::sleep(Duration::from_millis(2100));
    let last = publish(h, 1);
    let b = read(&s, Some(&start.next), 100);
    assert_eq!(ids(&b), last);
    assert_eq!(b.lost, 6);
    assert_eq!(s.overrun(Source::Events).wait().unwrap(), 6);
    let _ = new;
}

both!(a_clear_starts_the_events_source_over);
fn a_clear_starts_the_events_source_over(h: &Hub) {
    let s = store(h);
    publish(h, 3);
    let b = read(&s, None, 100);
    s.commit(Source::Events, b.next.clone()).wait().unwrap();
    h.clear().wait().unwrap();
    assert_eq!(s.cursor(Source::Events).wait().unwrap(), None);
    let new = publish(h, 2);
    // An archiver still holding the cursor from before the clear misses nothing.
    let after = read(&s, Some(&b.next), 100);
    assert_eq!((ids(&after), after.lost), (new, 0));
}

both!(the_start_cursor_holds_the_events_there_before_any_batch);
fn the_start_cursor_holds_the_events_there_before_any_batch(h: &Hub) {
    h.events
        .set_retention(Retention {
            max_len: 10,
            max_age: None,
        })
        .wait()
        .unwrap();
    let before = publish(h, 15);
    let s = store(h);
    let start = s.start(Source::Events).wait().unwrap();
    // 60 more with max_len 10: the 10 held at the start and all 60 stay, none lost.
    let sent = publish(h, 60);
    let b = read(&s, Some(&start), 1000);
    assert_eq!(ids(&b), [before[5..].to_vec(), sent].concat());
    assert_eq!(b.lost, 0);
    assert_eq!(
        s.start(Source::Events).wait().unwrap(),
        start,
        "started once"
    );
}
