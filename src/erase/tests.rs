//! Erasure on both engines (see `crate::testkit`).

use serde_json::{json, Map, Value as Json};

use super::*;
use crate::error::Error;
use crate::memory::store::record::{Kind, Value, Write};
use crate::streams::NewEntry;
use crate::tasks::NewTask;
use crate::testkit::both;

fn run(h: &Hub, subject: &str) -> Result<Report> {
    crate::engine::runtime().block_on(erase_all(h, subject))
}

fn count(r: &Report, cap: &str) -> u64 {
    r.iter()
        .find(|(c, _)| *c == cap)
        .map_or(u64::MAX, |(_, n)| *n)
}

fn remember(h: &Hub, scope: &str, key: &str) -> Result<()> {
    h.memory
        .remember_many(vec![Write {
            key: key.into(),
            scope: scope.into(),
            value: Some(Value::Text(format!("{key} in {scope}"))),
            kind: Kind::Semantic,
            category: None,
            significance: 0.5,
            embedding: None,
            entities: vec![],
            metadata: None,
            source: None,
            valid_from: None,
            valid_to: None,
        }])
        .wait()?;
    Ok(())
}

fn entry(text: &str) -> NewEntry {
    NewEntry {
        kind: "user".into(),
        body: text.into(),
        meta: None,
    }
}

fn seed(h: &Hub, who: &str, other: &str) -> Result<()> {
    remember(h, &format!("user={who}"), "pref")?;
    remember(h, &format!("agent=bot,user={who}"), "note")?;
    h.chat
        .append(&format!("{who}:support"), vec![entry("hi")])
        .wait()?;
    h.activity
        .append(
            who,
            vec![NewEntry {
                kind: "login".into(),
                body: "{}".into(),
                meta: None,
            }],
        )
        .wait()?;
    h.sessions.create(who, &Map::new(), 60_000, None).wait()?;
    h.tasks
        .create(NewTask {
            id: Some(format!("t-{who}")),
            title: format!("work for {who}"),
            metadata: Some(json!({"user": who, "team": "x", "watchers": [who, "carol"]})),
            ..Default::default()
        })
        .wait()?;
    h.flags.set("beta", who, crate::flags::Setting::On).wait()?;
    h.flags
        .set("dark", who, crate::flags::Setting::Off)
        .wait()?;
    let b = &h.bus;
    b.register(who, vec!["chat".into()]).wait()?;
    let out = b.outgoing(
        who,
        Some(other),
        &json!({"from": who}),
        "medium",
        None,
        None,
        false,
    )?;
    b.send(out).wait()?;
    Ok(())
}

both!(erase_removes_one_subject_and_keeps_the_other);
fn erase_removes_one_subject_and_keeps_the_other(h: &Hub) -> Result<()> {
    h.bus.register("alice", vec![]).wait()?;
    h.bus.register("bob", vec![]).wait()?;
    seed(h, "alice", "bob")?;
    seed(h, "bob", "alice")?;
    let b = &h.bus;
    let with_key = b.outgoing(
        "carol",
        Some("alice"),
        &json!({"to": "alice"}),
        "high",
        None,
        Some("k1"),
        false,
    )?;
    b.send(with_key).wait()?;

    let everyone = b.outgoing("carol", None, &json!("all"), "low", None, None, true)?;
    b.send(everyone).wait()?;

    let r = run(h, "alice")?;
    assert_eq!(
        r.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        CHECKED.to_vec()
    );
    assert_eq!(count(&r, "memory"), 2);
    assert_eq!(count(&r, "chat"), 1);
    assert_eq!(count(&r, "activity"), 1);
    assert_eq!(count(&r, "sessions"), 1);
    assert_eq!(count(&r, "tasks"), 1);
    assert_eq!(count(&r, "bus"), 3);
    assert_eq!(count(&r, "flags"), 2);

    // alice is gone everywhere.
    assert!(h.memory.history("pref", "user=alice").wait()?.is_empty());
    assert!(h
        .memory
        .history("note", "agent=bot,user=alice")
        .wait()?
        .is_empty());
    assert_eq!(h.chat.count("alice:support").wait()?, 0);
    assert_eq!(h.activity.count("alice").wait()?, 0);
    assert!(h.sessions.for_user("alice", None).wait()?.is_empty());
    let t = h.tasks.get("t-alice").wait()?;
    assert_eq!(t.metadata, json!({"team": "x", "watchers": ["carol"]}));
    let t = h.tasks.get("t-bob").wait()?;
    assert_eq!(
        t.metadata,
        json!({"user": "bob", "team": "x", "watchers": ["bob", "carol"]})
    );
    assert!(b.history("alice", "bob", 100).wait()?.is_empty());
    // What is left between alice and carol is carol's broadcast (it names nobody).
    let left = b.history("alice", "carol", 100).wait()?;
    assert!(left.len() == 1 && left[0].broadcast, "{left:?}");
    assert!(b.agents().wait()?.iter().all(|(a, _)| a != "alice"));
    // carol's broadcast reached alice too, but names nobody: it stays for bob.
    let left = b.pending("bob", 100).wait()?;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].source, "carol");

    let state = h.flags.state("beta").wait()?;
    assert_eq!(state.enabled, 1, "{state:?}");
    assert_eq!(h.flags.state("dark").wait()?.disabled, 1);

    // bob keeps what is only his.
    assert_eq!(h.memory.history("pref", "user=bob").wait()?.len(), 1);
    assert_eq!(h.chat.count("bob:support").wait()?, 1);
    assert_eq!(h.activity.count("bob").wait()?, 1);
    assert_eq!(h.sessions.for_user("bob", None).wait()?.len(), 1);
    assert!(b.agents().wait()?.iter().any(|(a, _)| a == "bob"));

    // The idempotency key that pointed at an erased message is free again.
    let again = b.outgoing(
        "carol",
        Some("bob"),
        &json!({}),
        "high",
        None,
        Some("k1"),
        false,
    )?;
    let m = b.send(again).wait()?;
    assert_eq!(m.target.as_deref(), Some("bob"));

    // A second erase finds nothing.
    let r = run(h, "alice")?;
    assert!(r.iter().all(|(_, n)| *n == 0), "{r:?}");
    Ok(())
}

both!(erase_refuses_a_bad_subject);
fn erase_refuses_a_bad_subject(h: &Hub) -> Result<()> {
    for bad in ["", "a b", "*", "../x"] {
        assert!(matches!(run(h, bad), Err(Error::Validation(_))), "{bad:?}");
    }
    Ok(())
}

#[test]
fn names_matches_whole_parts_only() {
    assert!(names("alice", "alice"));
    assert!(names("user:alice", "alice"));
    assert!(names("alice/support", "alice"));
    assert!(names("t:alice:2", "alice"));
    assert!(!names("alice2", "alice"));
    assert!(!names("malice", "alice"));
    assert!(!names("user:alicex:1", "alice"));
}

#[test]
fn scrub_drops_the_subject_at_any_depth() {
    let v: Json = json!({"user": "a", "n": {"by": "a", "k": 1}, "l": ["a", "b"], "x": "ab"});
    assert_eq!(
        tasks::scrub(&v, "a"),
        Some(json!({"n": {"k": 1}, "l": ["b"], "x": "ab"}))
    );
    assert_eq!(tasks::scrub(&json!({"x": "b"}), "a"), None);
}
