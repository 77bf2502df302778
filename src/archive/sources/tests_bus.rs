//! The archive's bus sources (messages, acks, dead letters) and the bus's retention hold,
//! each test on the embedded store and on Redis (see `crate::testkit`).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::Store;
use crate::archive::model::{Batch, Message, Rows, Source};
use crate::bus::ClaimPolicy;
use crate::hub::Hub;
use crate::testkit::both;

fn store(h: &Hub) -> Store {
    Store::new(h.backend().clone(), h.bus.namespace().into())
}

fn send(h: &Hub, from: &str, to: Option<&str>, kind: Option<&str>, all: bool, p: Value) -> String {
    let o = h
        .bus
        .outgoing(from, to, &p, "high", kind, None, all)
        .unwrap();
    h.bus.send(o).wait().unwrap().id
}

fn messages(b: &Batch) -> &[Message] {
    match &b.rows {
        Rows::Messages(v) => v,
        other => panic!("not messages: {other:?}"),
    }
}

fn read(s: &Store, src: Source, after: Option<&str>, limit: usize) -> Batch {
    s.read(src, after.map(String::from), limit).wait().unwrap()
}

/// Every message id the store still holds after `after`.
fn held_after(s: &Store, after: Option<&str>) -> (Vec<String>, u64) {
    let b = read(s, Source::Messages, after, 10_000);
    (messages(&b).iter().map(|m| m.id.clone()).collect(), b.lost)
}

both!(messages_come_back_in_order_with_their_recipients);
fn messages_come_back_in_order_with_their_recipients(h: &Hub) {
    let bus = &h.bus;
    bus.register("a1", vec!["k".into()]).wait().unwrap();
    bus.register("a2", vec!["k".into()]).wait().unwrap();
    bus.register("a3", vec![]).wait().unwrap();
    let s = store(h);
    let empty = read(&s, Source::Messages, None, 10);
    assert!(empty.rows.is_empty());
    assert_eq!((empty.behind, empty.lost), (0, 0));
    let direct = send(h, "nova", Some("a1"), None, false, json!({"n": 1}));
    let by_kind = send(h, "nova", None, Some("k"), false, json!("two"));
    let all = send(h, "a1", None, None, true, json!([3]));
    let first = read(&s, Source::Messages, None, 2);
    let m = messages(&first);
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].id.as_str(), m[1].id.as_str()),
        (direct.as_str(), by_kind.as_str())
    );
    assert_eq!(first.behind, 1);
    assert_eq!(first.lost, 0);
    assert_eq!(m[0].sender, "nova");
    assert_eq!(m[0].recipients, ["a1"]);
    assert_eq!(m[0].payload, json!({"n": 1}));
    assert_eq!(m[0].priority, "high");
    assert!(!m[0].broadcast && m[0].kind.is_none());
    assert_eq!(m[1].recipients, ["a1", "a2"]);
    assert_eq!(m[1].kind.as_deref(), Some("k"));
    let ms: i64 = direct.split('-').next().unwrap().parse().unwrap();
    assert_eq!(m[0].at_ms, ms);
    let rest = read(&s, Source::Messages, Some(&first.next), 10);
    let r = messages(&rest);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].id, all);
    assert_eq!(r[0].recipients, ["*"]);
    assert!(r[0].broadcast);
    assert_eq!(r[0].sender, "a1");
    assert_eq!(rest.behind, 0);
    // At the end: no rows, the same cursor.
    let end = read(&s, Source::Messages, Some(&rest.next), 10);
    assert!(end.rows.is_empty());
    assert_eq!(end.next, rest.next);
    // Cursor round trip; a commit never goes back.
    assert_eq!(s.cursor(Source::Messages).wait().unwrap(), None);
    s.commit(Source::Messages, rest.next.clone())
        .wait()
        .unwrap();
    assert_eq!(
        s.cursor(Source::Messages).wait().unwrap(),
        Some(rest.next.clone())
    );
    s.commit(Source::Messages, first.next.clone())
        .wait()
        .unwrap();
    assert_eq!(
        s.cursor(Source::Messages).wait().unwrap(),
        Some(rest.next.clone())
    );
    assert_eq!(s.overrun(Source::Messages).wait().unwrap(), 0);
    assert!(s.commit(Source::Messages, "junk".into()).wait().is_err());
    assert!(s.commit(Source::Messages, "1|x#0".into()).wait().is_err());
    assert!(s.commit(Source::Acks, "1-1@1".into()).wait().is_err());
    assert_eq!(s.cursor(Source::Acks).wait().unwrap(), None);
    assert!(s
        .read(Source::Messages, Some("junk".into()), 1)
        .wait()
        .is_err());
}

both!(batches_respect_the_limit_and_miss_nothing);
fn batches_respect_the_limit_and_miss_nothing(h: &Hub) {
    h.bus.register("a", vec![]).wait().unwrap();
    let sent: Vec<String> = (0..23)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    let s = store(h);
    let mut got = Vec::new();
    let mut cur: Option<String> = None;
    loop {
        let b = read(&s, Source::Messages, cur.as_deref(), 5);
        assert!(b.rows.len() <= 5);
        if b.rows.is_empty() {
            break;
        }
        assert_eq!(b.behind as usize, 23 - got.len() - b.rows.len());
        got.extend(messages(&b).iter().map(|m| m.id.clone()));
        cur = Some(b.next);
    }
    assert_eq!(got, sent);
}

both!(acks_of_one_millisecond_are_never_skipped);
fn acks_of_one_millisecond_are_never_skipped(h: &Hub) {
    let bus = &h.bus;
    bus.register("a", vec![]).wait().unwrap();
    let ids: Vec<String> = (0..30)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    // One call: every ack has the same time.
    assert_eq!(bus.ack("a", ids.clone(), None, None).wait().unwrap(), 30);
    let s = store(h);
    let mut seen = Vec::new();
    let mut cur: Option<String> = None;
    loop {
        let b = read(&s, Source::Acks, cur.as_deref(), 7);
        let Rows::Acks(acks) = &b.rows else { panic!() };
        if acks.is_empty() {
            assert_eq!(b.behind, 0);
            break;
        }
        assert_eq!(b.behind as usize, 30 - seen.len() - acks.len());
        seen.extend(acks.iter().map(|a| a.message_id.clone()));
        // The cursor commits and reads back as given.
        s.commit(Source::Acks, b.next.clone()).wait().unwrap();
        assert_eq!(s.cursor(Source::Acks).wait().unwrap(), Some(b.next.clone()));
        cur = Some(b.next);
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (30, 30));
    assert_eq!(unique, ids.iter().collect());
}

both!(dead_letters_come_back_with_their_envelope);
fn dead_letters_come_back_with_their_envelope(h: &Hub) {
    let bus = &h.bus;
    bus.register("w", vec![]).wait().unwrap();
    let id = send(h, "b", Some("w"), None, false, json!({"job": 7}));
    let pol = ClaimPolicy {
        idle_ms: 0,
        max_deliveries: 1,
    };
    assert_eq!(
        bus.consume("w", "g", "c1", 1, pol, Duration::ZERO)
            .wait()
            .unwrap()
            .len(),
        1
    );
    std::thread::sleep(Duration::from_millis(3));
    // Handed out once already: the next look moves it to the dead letters.
    bus.consume("w", "g", "c2", 1, pol, Duration::ZERO)
        .wait()
        .unwrap();
    let s = store(h);
    let b = read(&s, Source::DeadLetters, None, 10);
    let Rows::DeadLetters(d) = &b.rows else {
        panic!()
    };
    assert_eq!(d.len(), 1);
    assert_eq!(
        (
            d[0].message_id.as_str(),
            d[0].agent.as_str(),
            d[0].group.as_str()
        ),
        (id.as_str(), "w", "g")
    );
    assert_eq!((d[0].consumer.as_str(), d[0].deliveries), ("c1", 1));
    assert!(d[0].reason.contains("max_deliveries=1"), "{}", d[0].reason);
    assert_eq!(d[0].envelope["payload"], json!({"job": 7}));
    assert_eq!(d[0].envelope["id"], json!(id));
    let again = read(&s, Source::DeadLetters, Some(&b.next), 10);
    assert!(again.rows.is_empty());
    s.commit(Source::DeadLetters, b.next.clone())
        .wait()
        .unwrap();
    assert_eq!(s.cursor(Source::DeadLetters).wait().unwrap(), Some(b.next));
}

both!(no_hold_without_a_cursor);
fn no_hold_without_a_cursor(h: &Hub) {
    h.bus.configure(Some(20), None, None).wait().unwrap();
    h.bus.register("a", vec![]).wait().unwrap();
    for i in 0..400 {
        send(h, "b", Some("a"), None, false, json!(i));
    }
    let (held, _) = held_after(&store(h), None);
    // MAXLEN ~ on Redis keeps up to a stream node more (100); SQLite trims every 32nd share.
    assert!(held.len() < 20 + 101, "{} held", held.len());
    assert_eq!(store(h).overrun(Source::Messages).wait().unwrap(), 0);
}

both!(the_hold_keeps_unarchived_messages_up_to_the_bound);
fn the_hold_keeps_unarchived_messages_up_to_the_bound(h: &Hub) {
    let bus = &h.bus;
    bus.configure(Some(20), None, None).wait().unwrap();
    bus.register("a", vec![]).wait().unwrap();
    let s = store(h);
    for i in 0..10 {
        send(h, "b", Some("a"), None, false, json!(i));
    }
    let start = read(&s, Source::Messages, None, 1000);
    s.commit(Source::Messages, start.next.clone())
        .wait()
        .unwrap();
    // 150 unarchived: 7.5 x max_len, all kept; what the archive has goes.
    let sent: Vec<String> = (0..150)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    let (after, lost) = held_after(&s, Some(&start.next));
    assert_eq!(after, sent);
    assert_eq!(lost, 0);
    let (all, _) = held_after(&s, None);
    assert_eq!(all, sent, "entries up to the cursor are trimmed as before");
    assert_eq!(s.overrun(Source::Messages).wait().unwrap(), 0);
    // 250 unarchived: past the bound of 10 x 20; the oldest go and are counted.
    let more: Vec<String> = (0..100)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    let (after, lost) = held_after(&s, Some(&start.next));
    let over = s.overrun(Source::Messages).wait().unwrap();
    assert!(
        after.len() >= 200 && after.len() < 200 + 32,
        "{} held",
        after.len()
    );
    assert_eq!(over as usize, 250 - after.len());
    assert_eq!(lost, over, "the read after the cursor reports what went");
    assert_eq!(after.last(), more.last());
    // The bus's own reads are unaffected by the hold's extra entries.
    assert_eq!(bus.history("b", "a", 5).wait().unwrap().len(), 5);
    // Forgetting the cursor ends the hold: the next trims go back to max_len.
    assert_eq!(
        super::bus::forget(h.backend(), h.bus.namespace())
            .wait()
            .unwrap(),
        1
    );
    assert_eq!(s.cursor(Source::Messages).wait().unwrap(), None);
    assert_eq!(s.overrun(Source::Messages).wait().unwrap(), 0);
    for i in 0..64 {
        send(h, "b", Some("a"), None, false, json!(i));
    }
    let (all, _) = held_after(&s, None);
    assert!(all.len() < 20 + 101, "{} held after forget", all.len());
}

both!(the_hold_keeps_acks_up_to_the_bound);
fn the_hold_keeps_acks_up_to_the_bound(h: &Hub) {
    let bus = &h.bus;
    bus.configure(Some(5), None, None).wait().unwrap();
    bus.register("a", vec![]).wait().unwrap();
    let s = store(h);
    let start = read(&s, Source::Acks, None, 10);
    s.commit(Source::Acks, start.next.clone()).wait().unwrap();
    // Shared and acked four at a time (the inbox keeps 5).
    let share_ack = |n: usize| {
        for _ in 0..n / 4 {
            let ids: Vec<String> = (0..4)
                .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
                .collect();
            bus.ack("a", ids, None, None).wait().unwrap();
        }
    };
    share_ack(40);
    let acks = |after: &str| {
        let b = read(&s, Source::Acks, Some(after), 10_000);
        let Rows::Acks(v) = b.rows else { panic!() };
        (v.len(), b.lost)
    };
    assert_eq!(acks(&start.next), (40, 0), "40 acks held with max_len 5");
    share_ack(80);
    let (held, lost) = acks(&start.next);
    let over = s.overrun(Source::Acks).wait().unwrap();
    assert!(over > 0, "past the bound of 50");
    assert!(held >= 50, "{held} held");
    assert_eq!(over as usize, 120 - held);
    assert_eq!(lost, over);
}

both!(cleanup_keeps_what_the_archive_holds);
fn cleanup_keeps_what_the_archive_holds(h: &Hub) {
    let bus = &h.bus;
    bus.register("a", vec![]).wait().unwrap();
    let s = store(h);
    let old: Vec<String> = (0..5)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    let b = read(&s, Source::Messages, None, 3);
    s.commit(Source::Messages, b.next.clone()).wait().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    bus.cleanup(0.0).wait().unwrap();
    let (all, _) = held_after(&s, None);
    assert_eq!(all, old[3..], "archived entries went, the others stayed");
    super::bus::forget(h.backend(), h.bus.namespace())
        .wait()
        .unwrap();
    bus.cleanup(0.0).wait().unwrap();
    assert!(held_after(&s, None).0.is_empty());
}

both!(a_clear_of_the_bus_starts_the_sources_over);
fn a_clear_of_the_bus_starts_the_sources_over(h: &Hub) {
    let bus = &h.bus;
    bus.register("a", vec![]).wait().unwrap();
    let s = store(h);
    for i in 0..3 {
        send(h, "b", Some("a"), None, false, json!(i));
    }
    let b = read(&s, Source::Messages, None, 100);
    s.commit(Source::Messages, b.next.clone()).wait().unwrap();
    bus.clear().wait().unwrap();
    assert_eq!(s.cursor(Source::Messages).wait().unwrap(), None);
    bus.register("a", vec![]).wait().unwrap();
    let new: Vec<String> = (0..2)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    // An archiver still holding the cursor from before the clear misses nothing.
    let (after, lost) = held_after(&s, Some(&b.next));
    assert_eq!((after, lost), (new, 0));
}

both!(the_hold_keeps_dead_letters_up_to_the_bound);
fn the_hold_keeps_dead_letters_up_to_the_bound(h: &Hub) {
    let bus = &h.bus;
    bus.configure(Some(2), None, None).wait().unwrap();
    bus.register("w", vec![]).wait().unwrap();
    let s = store(h);
    let start = read(&s, Source::DeadLetters, None, 10);
    s.commit(Source::DeadLetters, start.next.clone())
        .wait()
        .unwrap();
    let pol = ClaimPolicy {
        idle_ms: 0,
        max_deliveries: 1,
    };
    let dead = |after: &str| {
        let b = read(&s, Source::DeadLetters, Some(after), 10_000);
        let Rows::DeadLetters(v) = b.rows else {
            panic!()
        };
        (v.len(), b.lost)
    };
    // Two at a time (the inbox keeps 2): handed out once, then moved to the dead letters.
    let kill = |rounds: usize| {
        for _ in 0..rounds {
            for i in 0..2 {
                send(h, "b", Some("w"), None, false, json!(i));
            }
            bus.consume("w", "g", "c", 2, pol, Duration::ZERO)
                .wait()
                .unwrap();
            std::thread::sleep(Duration::from_millis(2));
            bus.consume("w", "g", "c", 2, pol, Duration::ZERO)
                .wait()
                .unwrap();
        }
    };
    kill(8);
    assert_eq!(dead(&start.next), (16, 0), "16 held with max_len 2");
    kill(7);
    // Shares past the 32nd make the embedded store trim (it trims on every 32nd write).
    for i in 0..40 {
        send(h, "b", Some("w"), None, false, json!(i));
    }
    let (held, lost) = dead(&start.next);
    let over = s.overrun(Source::DeadLetters).wait().unwrap();
    assert!(over > 0 && held >= 20, "held {held}, over {over}");
    assert_eq!(over as usize, 30 - held);
    assert_eq!(lost, over);
}

both!(the_start_cursor_holds_what_the_store_has_before_any_batch);
fn the_start_cursor_holds_what_the_store_has_before_any_batch(h: &Hub) {
    // Attaching while PostgreSQL is down: the archive commits its start cursors before it
    // writes anything, so retention already holds the messages the store had then.
    let bus = &h.bus;
    bus.configure(Some(20), None, None).wait().unwrap();
    bus.register("a", vec![]).wait().unwrap();
    let s = store(h);
    // More than max_len sent before: the plain trim keeps about max_len (the newest).
    for i in 0..60 {
        send(h, "b", Some("a"), None, false, json!(i));
    }
    let (before, _) = held_after(&s, None);
    assert!(!before.is_empty());
    let start = s.start(Source::Messages).wait().unwrap();
    assert_eq!(
        s.cursor(Source::Messages).wait().unwrap(),
        Some(start.clone())
    );
    // Starting again gives the stored cursor back, whatever was sent since.
    let sent: Vec<String> = (0..100)
        .map(|i| send(h, "b", Some("a"), None, false, json!(i)))
        .collect();
    assert_eq!(s.start(Source::Messages).wait().unwrap(), start);
    // Everything held at the start and everything since is still there, read in order
    // after the start cursor, with nothing reported lost.
    let (after, lost) = held_after(&s, Some(&start));
    assert_eq!(lost, 0);
    assert_eq!(after, [before, sent].concat());
    assert_eq!(s.overrun(Source::Messages).wait().unwrap(), 0);
    // The other bus sources start too (empty ones as well), and read from their oldest.
    for src in [Source::Acks, Source::DeadLetters] {
        let c = s.start(src).wait().unwrap();
        assert_eq!(s.cursor(src).wait().unwrap(), Some(c.clone()));
        let b = read(&s, src, Some(&c), 10);
        assert_eq!((b.rows.is_empty(), b.lost), (true, 0), "{src:?}");
    }
}
