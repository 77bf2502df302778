//! The partitioned log (`part`) on a Redis server of its own, through the hub: what the Python
//! tests cannot reach (batches over several partitions, the per-partition gap).

#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::Retention;
use crate::engine::partition::of_key;
use crate::hub::Hub;
use crate::testkit::{RedisServer, TempDir};

/// A hub on a namespace of 4 partitions; closed before its server stops.
struct P4 {
    hub: Hub,
    _server: RedisServer,
    _root: TempDir,
}

impl Drop for P4 {
    fn drop(&mut self) {
        self.hub.close();
    }
}

fn p4() -> P4 {
    let root = TempDir::new("events-p4");
    let server = RedisServer::start();
    let ns = format!("t{:08x}", rand::random::<u32>());
    let hub = Hub::open_with_blocking(Some(server.url()), root.path().to_path_buf(), ns, Some(4))
        .unwrap();
    P4 {
        hub,
        _server: server,
        _root: root,
    }
}

/// Two channels in different partitions of 4.
fn apart() -> (&'static str, &'static str) {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let a = names[0];
    let b = names.iter().find(|n| of_key(n, 4) != of_key(a, 4)).unwrap();
    (a, b)
}

fn key(id: &str) -> (u64, u64) {
    super::parse_id(id).unwrap()
}

#[test]
fn a_batch_over_partitions_keeps_each_channels_order_and_is_read_merged() {
    let t = p4();
    let e = &t.hub.events;
    let (a, b) = apart();
    let items: Vec<(String, serde_json::Value)> = (0..20)
        .map(|i| ((if i % 3 == 0 { b } else { a }).to_string(), json!(i)))
        .collect();
    let sent = e.publish_many(items.clone()).wait().unwrap();
    assert_eq!(sent.len(), 20);
    for ((ev, (ch, data)), i) in sent.iter().zip(&items).zip(0..) {
        assert_eq!((&ev.channel, &ev.data), (ch, data), "event {i}");
        // The id says the partition: seq = (...) * n + p.
        assert_eq!(key(&ev.id).1 % 4, u64::from(of_key(ch, 4)));
    }
    for ch in [a, b] {
        let ids: Vec<_> = sent
            .iter()
            .filter(|x| x.channel == ch)
            .map(|x| key(&x.id))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ch}: {ids:?}");
    }
    let all = e
        .read(&[], Some("0"), 100, std::time::Duration::ZERO)
        .wait()
        .unwrap();
    let mut want = sent.clone();
    want.sort_by_key(|x| key(&x.id));
    assert_eq!(all.events, want);
    assert_eq!(e.len().wait().unwrap(), 20);
    assert_eq!(e.last_id().wait().unwrap(), want[19].id);
}

#[test]
fn a_trimmed_resume_point_is_found_in_its_partition_only() {
    let t = p4();
    let e = &t.hub.events;
    let (a, b) = apart();
    e.set_retention(Retention {
        max_len: 3,
        max_age: None,
    })
    .wait()
    .unwrap();
    let ids: Vec<String> = (0..6)
        .map(|i| e.publish(a, json!(i)).wait().unwrap().id)
        .collect();
    let other = e.publish(b, json!("b")).wait().unwrap().id;
    assert_eq!(e.gap("0").wait().unwrap(), None);
    assert_eq!(e.gap(&ids[4]).wait().unwrap(), None);
    assert_eq!(e.gap(&ids[3]).wait().unwrap(), None);
    assert_eq!(e.gap(&ids[0]).wait().unwrap(), Some(ids[3].clone()));
    assert_eq!(e.gap(&ids[2]).wait().unwrap(), Some(ids[3].clone()));
    // The other partition dropped nothing, and `a`'s holds everything after `other`.
    assert_eq!(e.gap(&other).wait().unwrap(), None);
    assert_eq!(e.gap("99999999999999-0").wait().unwrap(), None);
    assert!(e.gap("1-0~7.1-0").wait().is_err());
    assert_eq!(e.retention().wait().unwrap().max_len, 3);
}

#[test]
fn a_merged_reader_gets_concurrent_publishes_once_in_id_order() {
    let t = p4();
    let (e, url, ns) = (
        &t.hub.events,
        t._server.url(),
        t.hub.namespace().to_string(),
    );
    let start = e.start(&[]).wait().unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, ns) = (url.clone(), ns.clone());
            std::thread::spawn(move || {
                let root = TempDir::new("events-p4-writer");
                let h = Hub::open_with_blocking(Some(url), root.path().to_path_buf(), ns, None)
                    .unwrap();
                let ids: Vec<String> = (0..150)
                    .map(|i| {
                        let ch = format!("w{w}:{}", i % 5);
                        h.events.publish(&ch, json!([w, i])).wait().unwrap().id
                    })
                    .collect();
                h.close();
                ids
            })
        })
        .collect();
    let mut got = Vec::new();
    let mut cursor = start;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.len() < 600 && std::time::Instant::now() < deadline {
        let b = e
            .read(
                &[],
                Some(&cursor),
                64,
                std::time::Duration::from_millis(100),
            )
            .wait()
            .unwrap();
        got.extend(b.events.into_iter().map(|x| x.id));
        cursor = b.cursor;
    }
    let mut sent: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let keys: Vec<_> = got.iter().map(|i| key(i)).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "out of order");
    sent.sort_by_key(|i| key(i));
    assert_eq!(got, sent);
}
