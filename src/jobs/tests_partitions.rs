//! Jobs in a namespace with several partitions (`super::route`), on the embedded store and on
//! Redis: routing by key and by id, claims that visit every partition, pinned claims, and the
//! operations that span partitions (counts, list, purge, requeue, export).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::hub::Hub;
use crate::testkit::{RedisServer, TempDir};

const N: u16 = 4;

/// A hub on a fresh namespace opened with [`N`] partitions, and what it needs kept alive.
struct Parted {
    hub: Hub,
    _server: Option<RedisServer>,
    _root: TempDir,
}

impl Parted {
    fn new(redis: bool) -> Parted {
        let root = TempDir::new("hub");
        let server = redis.then(RedisServer::start);
        let ns = format!("p{:08x}", rand::random::<u32>());
        let hub = Hub::open_with_blocking(
            server.as_ref().map(RedisServer::url),
            root.path().to_path_buf(),
            ns,
            Some(N),
        )
        .expect("open a partitioned hub");
        Parted {
            hub,
            _server: server,
            _root: root,
        }
    }
}

impl Drop for Parted {
    fn drop(&mut self) {
        self.hub.close();
    }
}

macro_rules! parted {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn embedded() {
                super::$name(&super::Parted::new(false).hub)
            }

            #[test]
            fn redis() {
                super::$name(&super::Parted::new(true).hub)
            }
        }
    )+};
}

fn kinds() -> Vec<String> {
    vec!["k".to_string()]
}

fn keyed(key: &str, i: i64) -> NewJob {
    let mut n = NewJob::new("k", json!(i));
    n.key = Some(key.to_string());
    n
}

parted!(ids_carry_their_partition_and_keys_route_stably);
fn ids_carry_their_partition_and_keys_route_stably(h: &Hub) {
    let j = &h.jobs;
    assert_eq!(j.partitions(), N);
    let mut seen = [0u32; N as usize];
    for i in 0..40 {
        let job = j
            .enqueue(NewJob::new("k", json!(i)))
            .wait()
            .expect("enqueue");
        let p = j.partition_of(&job.id).expect("partition");
        assert!(job.id.ends_with(&format!("-{p}")), "{}", job.id);
        seen[p as usize] += 1;
    }
    assert!(
        seen.iter().all(|&c| c > 0),
        "round-robin reaches all: {seen:?}"
    );
    let want = crate::engine::partition::of_key("user-42", N);
    for i in 0..5 {
        let job = j.enqueue(keyed("user-42", i)).wait().expect("keyed");
        assert_eq!(j.partition_of(&job.id).expect("p"), want);
        assert_eq!(j.get(&job.id).wait().expect("get").payload, json!(i));
    }
    assert!(j.partition_of(&format!("j0-{N}")).is_err(), "out of range");
    assert!(matches!(j.get("j0-9").wait(), Err(Error::Validation(_))));
    assert!(matches!(j.get("j0-1").wait(), Err(Error::NotFound(_))));
    assert!(matches!(j.cancel("nope-2").wait(), Err(Error::NotFound(_))));
}

parted!(same_key_keeps_fifo_and_idempotency_is_exact);
fn same_key_keeps_fifo_and_idempotency_is_exact(h: &Hub) {
    let j = &h.jobs;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(j.enqueue(keyed("order-1", i)).wait().expect("enqueue").id);
        j.enqueue(keyed(&format!("noise-{i}"), 100 + i))
            .wait()
            .expect("noise");
    }
    let mut got = Vec::new();
    loop {
        let c = j
            .claim(kinds(), 1, "w", 10.0, Duration::ZERO)
            .wait()
            .expect("claim");
        if c.jobs.is_empty() {
            break;
        }
        got.extend(c.jobs.into_iter().map(|c| c.id));
    }
    assert_eq!(got.len(), 12);
    let mine: Vec<&String> = got.iter().filter(|id| ids.contains(id)).collect();
    assert_eq!(mine, ids.iter().collect::<Vec<_>>(), "FIFO per key");
    let mut a = NewJob::new("k", json!(1));
    a.idempotency_key = Some("once".into());
    let first = j.enqueue(a.clone()).wait().expect("first");
    for _ in 0..5 {
        assert_eq!(j.enqueue(a.clone()).wait().expect("again").id, first.id);
    }
    let batch = j
        .enqueue_many(vec![a.clone(), keyed("x", 1), a])
        .wait()
        .expect("batch");
    assert_eq!(
        (batch[0].id == first.id, batch[2].id == first.id),
        (true, true)
    );
}

parted!(claims_reach_every_partition_and_pins_hold);
fn claims_reach_every_partition_and_pins_hold(h: &Hub) {
    let j = &h.jobs;
    let mut by_part: HashMap<u16, Vec<String>> = HashMap::new();
    for i in 0..16 {
        let job = j
            .enqueue(NewJob::new("k", json!(i)))
            .wait()
            .expect("enqueue");
        by_part
            .entry(j.partition_of(&job.id).expect("p"))
            .or_default()
            .push(job.id);
    }
    assert_eq!(by_part.len(), usize::from(N));
    // A worker pinned to partitions 1 and 3 takes only theirs, then nothing.
    let mut pinned = Vec::new();
    loop {
        let c = j
            .claim_in(kinds(), 3, "pin", 10.0, Duration::ZERO, Some(vec![3, 1]))
            .wait()
            .expect("pinned claim");
        if c.jobs.is_empty() {
            break;
        }
        pinned.extend(c.jobs.into_iter().map(|c| c.id));
    }
    let mut want: Vec<String> = [1u16, 3].iter().flat_map(|p| by_part[p].clone()).collect();
    want.sort();
    pinned.sort();
    assert_eq!(pinned, want);
    assert!(matches!(
        j.claim_in(
            kinds(),
            1,
            "w",
            10.0,
            Duration::ZERO,
            Some(vec![i64::from(N)])
        )
        .wait(),
        Err(Error::Validation(_))
    ));
    // One at a time, an unpinned worker still drains partitions 0 and 2.
    let mut rest = Vec::new();
    for _ in 0..8 {
        let c = j
            .claim(kinds(), 1, "w", 10.0, Duration::ZERO)
            .wait()
            .expect("claim");
        rest.extend(c.jobs.into_iter().map(|c| c.id));
    }
    rest.sort();
    let mut want: Vec<String> = [0u16, 2].iter().flat_map(|p| by_part[p].clone()).collect();
    want.sort();
    assert_eq!(rest, want);
}

parted!(no_partition_starves_under_steady_load);
fn no_partition_starves_under_steady_load(h: &Hub) {
    let j = &h.jobs;
    // Every partition always has work; 40 claims of one job each must serve all of them.
    for i in 0..(N as i64 * 20) {
        j.enqueue(keyed(&format!("k{}", i % 97), i))
            .wait()
            .expect("enqueue");
    }
    let mut served = [0u32; N as usize];
    for _ in 0..40 {
        let c = j
            .claim(kinds(), 1, "w", 10.0, Duration::ZERO)
            .wait()
            .expect("claim");
        for c in c.jobs {
            served[j.partition_of(&c.id).expect("p") as usize] += 1;
        }
    }
    assert_eq!(served.iter().sum::<u32>(), 40);
    assert!(served.iter().all(|&s| s >= 5), "{served:?}");
}

parted!(a_blocking_claim_wakes_on_any_partition);
fn a_blocking_claim_wakes_on_any_partition(h: &Hub) {
    let j = h.jobs.clone();
    let t = std::thread::spawn(move || {
        j.claim(kinds(), 1, "w", 10.0, Duration::from_secs(20))
            .wait()
            .expect("claim")
    });
    std::thread::sleep(Duration::from_millis(200));
    let job = h.jobs.enqueue(keyed("late", 1)).wait().expect("enqueue");
    let got = t.join().expect("join");
    assert_eq!(got.jobs.len(), 1);
    assert_eq!(got.jobs[0].id, job.id);
}

parted!(spanning_operations_cover_every_partition);
fn spanning_operations_cover_every_partition(h: &Hub) {
    let j = &h.jobs;
    let mut n = NewJob::new("k", json!(0));
    n.max_attempts = 1;
    let jobs = j
        .enqueue_many((0..12).map(|_| n.clone()).collect())
        .wait()
        .expect("enqueue");
    let parts: std::collections::HashSet<u16> = jobs
        .iter()
        .map(|x| j.partition_of(&x.id).expect("p"))
        .collect();
    assert_eq!(parts.len(), usize::from(N));
    let got = j
        .get_many(jobs.iter().map(|x| x.id.clone()).collect())
        .wait()
        .expect("get_many");
    assert!(got
        .iter()
        .zip(&jobs)
        .all(|(g, x)| g.as_ref().map(|g| &g.id) == Some(&x.id)));
    // Listing pages through every partition.
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let l = list::Listing::new("ready", Some("k".into()), None, cursor.as_deref(), 5)
            .expect("listing");
        let page = j.list(l).wait().expect("list");
        listed.extend(page.jobs.into_iter().map(|x| x.id));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    listed.sort();
    let mut all: Vec<String> = jobs.iter().map(|x| x.id.clone()).collect();
    all.sort();
    assert_eq!(listed, all);
    // Claim all, fail them for good (dead), count, requeue, purge.
    let c = j
        .claim(kinds(), 12, "w", 10.0, Duration::ZERO)
        .wait()
        .expect("claim");
    assert_eq!(c.jobs.len(), 12);
    let fails = c
        .jobs
        .iter()
        .map(|c| Finish {
            id: c.id.clone(),
            token: c.token.clone(),
            outcome: Outcome::Failed {
                error: "no".into(),
                retry: false,
            },
        })
        .collect();
    assert!(j
        .finish(fails)
        .wait()
        .expect("finish")
        .iter()
        .all(|a| *a == Ack::Ok));
    let counts = j.counts().wait().expect("counts");
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.state.as_str(), c.count))
            .collect::<Vec<_>>(),
        vec![("dead", 12)]
    );
    assert_eq!(
        j.requeue(requeue::Requeue::Dead {
            kind: None,
            limit: Some(5)
        })
        .wait()
        .expect("requeue some"),
        5
    );
    assert_eq!(
        j.requeue(requeue::Requeue::Dead {
            kind: None,
            limit: None
        })
        .wait()
        .expect("requeue rest"),
        7
    );
    let c = j
        .claim(kinds(), 12, "w", 10.0, Duration::ZERO)
        .wait()
        .expect("claim again");
    let done = c
        .jobs
        .iter()
        .map(|c| Finish {
            id: c.id.clone(),
            token: c.token.clone(),
            outcome: Outcome::Done("1".into()),
        })
        .collect();
    assert_eq!(j.finish(done).wait().expect("finish").len(), 12);
    assert_eq!(j.purge(0.0, Some(5)).wait().expect("purge some"), 5);
    assert_eq!(j.purge(0.0, None).wait().expect("purge rest"), 7);
    assert!(j.counts().wait().expect("counts").is_empty());
}
