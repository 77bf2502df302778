//! The bus's main paths, each run on the embedded store and on Redis (see `crate::testkit`);
//! the Python suite covers the rest of the model on every backend, Redis Cluster included.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

/// A direct share from `source` to `target` (validated as the API does).
fn to(h: &Hub, source: &str, target: &str, payload: Value, priority: &str) -> Outgoing {
    h.bus
        .outgoing(source, Some(target), &payload, priority, None, None, false)
        .unwrap()
}

/// The ids of `messages`.
fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

both!(share_pending_ack_round_trip);
fn share_pending_ack_round_trip(h: &Hub) {
    let bus = &h.bus;
    assert!(bus.register("dexter", vec![]).wait().unwrap());
    assert!(!bus.register("dexter", vec![]).wait().unwrap());
    let payload = json!({"n": [1, 2.5, null, true], "big": 1u64 << 62, "s": "ü\n"});
    let m = bus
        .send(to(h, "nova", "dexter", payload.clone(), "high"))
        .wait()
        .unwrap();
    assert_eq!(
        (m.source.as_str(), m.target.as_deref(), m.priority),
        ("nova", Some("dexter"), Priority::High)
    );
    assert_eq!(m.payload, payload);
    assert_eq!(
        ids(&bus.pending("dexter", 10).wait().unwrap()),
        [m.id.as_str()]
    );
    assert_eq!(
        bus.pending("dexter", 10).wait().unwrap(),
        std::slice::from_ref(&m),
        "a peek"
    );
    assert!(!bus.is_acked(&m.id).wait().unwrap());
    let ack = |id: &str| bus.ack("dexter", vec![id.to_string()], None, None).wait();
    assert_eq!(ack(&m.id).unwrap(), 1);
    assert!(bus.is_acked(&m.id).wait().unwrap());
    assert_eq!(ack(&m.id).unwrap(), 0, "a second ack changes nothing");
    assert!(bus.pending("dexter", 10).wait().unwrap().is_empty());
    // Most urgent first, oldest first within a priority.
    let sent: Vec<Message> = ["low", "critical", "medium", "critical"]
        .iter()
        .enumerate()
        .map(|(i, p)| bus.send(to(h, "s", "dexter", json!(i), p)).wait().unwrap())
        .collect();
    let got = bus.pending("dexter", 10).wait().unwrap();
    let want = [&sent[1], &sent[3], &sent[2], &sent[0]].map(|m| m.id.as_str());
    assert_eq!(ids(&got), want);
    let st = bus.stats().wait().unwrap();
    assert_eq!(
        (st.total, st.acknowledged, st.pending, st.dead),
        (5, 1, 4, 0)
    );
    assert_eq!(st.per_agent.get("dexter"), Some(&4));
    assert_eq!(
        bus.agents().wait().unwrap(),
        [("dexter".to_string(), vec![])]
    );
}

both!(kinds_and_broadcasts_reach_every_registered_agent);
fn kinds_and_broadcasts_reach_every_registered_agent(h: &Hub) {
    let bus = &h.bus;
    bus.register("a1", vec!["sales_data".into(), "crm".into()])
        .wait()
        .unwrap();
    bus.register("a2", vec!["Sales Data".into()])
        .wait()
        .unwrap();
    bus.register("a3", vec![]).wait().unwrap();
    let by_kind = |kind: &str| {
        bus.outgoing("nova", None, &json!(1), "medium", Some(kind), None, false)
            .and_then(|o| bus.send(o).wait())
    };
    let m = by_kind("sales_data").unwrap();
    assert_eq!((m.target, m.kind.as_deref()), (None, Some("sales_data")));
    assert_eq!(ids(&bus.pending("a1", 10).wait().unwrap()), [m.id.as_str()]);
    assert_eq!(ids(&bus.pending("a2", 10).wait().unwrap()), [m.id.as_str()]);
    assert!(bus.pending("a3", 10).wait().unwrap().is_empty());
    assert!(matches!(by_kind("nobody_has_it"), Err(Error::NotFound(_))));
    let b = bus
        .outgoing("a1", None, &json!("news"), "critical", None, None, true)
        .unwrap();
    let b = bus.send(b).wait().unwrap();
    assert!(b.broadcast);
    assert_eq!(
        ids(&bus.pending("a1", 10).wait().unwrap()),
        [m.id.as_str()],
        "the sender does not receive its own broadcast"
    );
    assert_eq!(ids(&bus.pending("a3", 10).wait().unwrap()), [b.id.as_str()]);
    bus.register("late", vec![]).wait().unwrap();
    assert_eq!(
        ids(&bus.pending("late", 10).wait().unwrap()),
        [b.id.as_str()]
    );
    // A batch with an unknown target writes nothing.
    let total = bus.stats().wait().unwrap().total;
    let bad = vec![
        to(h, "s", "a3", json!(1), "low"),
        to(h, "s", "nobody", json!(2), "low"),
    ];
    assert!(matches!(bus.send_many(bad).wait(), Err(Error::NotFound(_))));
    assert_eq!(bus.stats().wait().unwrap().total, total);
    assert_eq!(bus.pending("a3", 10).wait().unwrap().len(), 1);
}

both!(groups_claim_idle_deliveries_and_dead_letter_them);
fn groups_claim_idle_deliveries_and_dead_letter_them(h: &Hub) {
    let bus = &h.bus;
    bus.register("w", vec![]).wait().unwrap();
    let m = bus
        .send(to(h, "s", "w", json!({"job": 1}), "medium"))
        .wait()
        .unwrap();
    let policy = ClaimPolicy {
        idle_ms: 250,
        max_deliveries: 2,
    };
    let consume = |c: &str| {
        bus.consume("w", "g", c, 10, policy, Duration::ZERO)
            .wait()
            .unwrap()
    };
    let d1 = consume("c1");
    assert_eq!(d1.len(), 1);
    assert_eq!(
        (d1[0].message.id.as_str(), d1[0].deliveries),
        (m.id.as_str(), 1)
    );
    assert!(consume("c2").is_empty(), "not idle yet");
    std::thread::sleep(Duration::from_millis(300));
    let d2 = consume("c2");
    assert_eq!((d2[0].consumer.as_str(), d2[0].deliveries), ("c2", 2));
    let ack_by = |c: &str, id: &str| {
        bus.ack("w", vec![id.to_string()], Some("g"), Some(c))
            .wait()
    };
    assert!(matches!(ack_by("c1", &m.id), Err(Error::Conflict(_))));
    std::thread::sleep(Duration::from_millis(300));
    assert!(consume("c3").is_empty(), "handed out twice: dead now");
    let dead = bus.dead_letters(None, 10).wait().unwrap();
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!(
        (
            d.message.id.as_str(),
            d.agent.as_str(),
            d.consumer.as_str(),
            d.deliveries
        ),
        (m.id.as_str(), "w", "c2", 2)
    );
    assert_eq!(bus.stats().wait().unwrap().dead, 1);
    assert!(bus.pending("w", 10).wait().unwrap().is_empty());
    assert_eq!(bus.requeue(None, None).wait().unwrap(), 1);
    assert!(bus.dead_letters(None, 10).wait().unwrap().is_empty());
    let d3 = consume("c1");
    assert_ne!(d3[0].message.id, m.id);
    assert_eq!(
        (d3[0].deliveries, &d3[0].message.payload),
        (1, &json!({"job": 1}))
    );
    assert_eq!(ack_by("c1", &d3[0].message.id).unwrap(), 1);
    assert_eq!(bus.stats().wait().unwrap().pending, 0);
}
