//! The archiver loop and the lease with a real store (both engines) and an in-memory sink.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::lease;
use super::model::Source;
use super::run::{Archiver, Options, OVERRUN_CHANNEL};
use super::sources::Store;
use super::testsink::MemSink;
use crate::engine::runtime;
use crate::hub::Hub;
use crate::jobs::{Finish, NewJob, Outcome};
use crate::testkit::both;

/// Finishes `n` jobs of kind "k" (succeeded); returns their ids.
pub(crate) fn finish_jobs(h: &Hub, n: usize) -> Vec<String> {
    let j = &h.jobs;
    let items = (0..n).map(|i| NewJob::new("k", json!(i))).collect();
    let ids: Vec<String> = j
        .enqueue_many(items)
        .wait()
        .expect("enqueue")
        .into_iter()
        .map(|x| x.id)
        .collect();
    let got = j
        .claim(vec!["k".into()], n, "w", 30.0, Duration::ZERO)
        .wait()
        .expect("claim");
    assert_eq!(got.jobs.len(), n);
    let fin = got
        .jobs
        .iter()
        .map(|c| Finish {
            id: c.id.clone(),
            token: c.token.clone(),
            outcome: Outcome::Done("1".into()),
        })
        .collect();
    j.finish(fin).wait().expect("finish");
    ids
}

fn opts(holder: &str) -> Options {
    Options {
        batch: 7,
        poll: Duration::from_millis(20),
        lease_ttl: Duration::from_millis(900),
        backoff_max: Duration::from_millis(200),
        holder: holder.into(),
    }
}

fn start(h: &Hub, sink: &Arc<MemSink>, holder: &str, sources: &[Source]) -> Archiver {
    let store = Store::new(h.backend().clone(), Arc::from(h.namespace()));
    Archiver::start_sources(store, sink.clone(), opts(holder), sources.to_vec())
}

/// Waits up to 20 s for `f` to hold (no timing assertion: a deadline for a condition).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < end, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn flush(a: &Archiver) -> bool {
    runtime().block_on(a.flush(Duration::from_secs(20)))
}

fn stop(a: &Archiver) {
    runtime().block_on(a.stop())
}

fn holder(h: &Hub) -> Option<String> {
    lease::holder(h.backend(), h.namespace())
        .wait()
        .expect("holder")
}

both!(finished_jobs_arrive_exactly_once);
fn finished_jobs_arrive_exactly_once(h: &Hub) {
    let mut want: HashSet<String> = finish_jobs(h, 30).into_iter().collect();
    let sink = Arc::new(MemSink::default());
    let a = start(h, &sink, "one", &[Source::Jobs]);
    assert!(flush(&a), "caught up");
    want.extend(finish_jobs(h, 20));
    assert!(flush(&a), "caught up again");
    let got = sink.jobs();
    let ids: HashSet<String> = got.iter().map(|x| x.0.clone()).collect();
    assert_eq!(got.len(), 50, "each once");
    assert_eq!(ids, want);
    let st = a.status();
    assert!(st.leader && st.running);
    assert_eq!(st.archived.get("jobs"), Some(&50));
    assert_eq!((st.behind, st.degraded), (0, None));
    assert_eq!(holder(h).as_deref(), Some("one"));
    stop(&a);
    assert_eq!(holder(h), None, "stop releases the lease");
    assert!(!a.status().running);
    // A new archiver starts from the committed cursor: nothing twice.
    let sink2 = Arc::new(MemSink::default());
    let b = start(h, &sink2, "two", &[Source::Jobs]);
    finish_jobs(h, 3);
    assert!(flush(&b));
    assert_eq!(sink2.jobs().len(), 3);
    stop(&b);
}

both!(a_failing_sink_degrades_then_catches_up);
fn a_failing_sink_degrades_then_catches_up(h: &Hub) {
    let sink = Arc::new(MemSink::default());
    sink.down.store(true, std::sync::atomic::Ordering::Release);
    let a = start(h, &sink, "one", &[Source::Jobs]);
    let ids = finish_jobs(h, 12);
    eventually("degraded with the sink's error and the backlog", || {
        let st = a.status();
        st.degraded
            .as_deref()
            .is_some_and(|m| m.contains("postgres is down"))
            && st.behind == 12
    });
    // Everything else goes on while the sink is down.
    finish_jobs(h, 2);
    sink.down.store(false, std::sync::atomic::Ordering::Release);
    sink.fail_next
        .store(2, std::sync::atomic::Ordering::Release);
    assert!(flush(&a));
    let st = a.status();
    assert_eq!((st.degraded, st.behind), (None, 0));
    let got = sink.jobs();
    assert_eq!(got.len(), 14);
    assert!(ids.iter().all(|i| got.iter().any(|g| &g.0 == i)));
    assert!(sink.failed.load(std::sync::atomic::Ordering::Acquire) >= 3);
    stop(&a);
}

both!(a_slow_sink_still_arrives_whole);
fn a_slow_sink_still_arrives_whole(h: &Hub) {
    let sink = Arc::new(MemSink::default());
    *sink.delay.lock() = Duration::from_millis(30);
    finish_jobs(h, 25);
    let a = start(h, &sink, "one", &[Source::Jobs]);
    assert!(flush(&a));
    assert_eq!(sink.jobs().len(), 25);
    stop(&a);
}

both!(two_archivers_one_leader_and_handover);
fn two_archivers_one_leader_and_handover(h: &Hub) {
    let (s1, s2) = (Arc::new(MemSink::default()), Arc::new(MemSink::default()));
    let a = start(h, &s1, "a", &[Source::Jobs]);
    let b = start(h, &s2, "b", &[Source::Jobs]);
    eventually("a leader", || a.status().leader || b.status().leader);
    let (lead, lsink, other, osink) = if a.status().leader {
        (a, s1, b, s2)
    } else {
        (b, s2, a, s1)
    };
    assert!(!other.status().leader, "one leader only");
    finish_jobs(h, 10);
    assert!(flush(&lead));
    assert_eq!(lsink.jobs().len(), 10);
    assert_eq!(osink.jobs().len(), 0, "the standby copies nothing");
    // The leader dies without releasing: the lease expires and the standby takes over.
    let gone = lead.status();
    assert!(gone.leader);
    drop(lead);
    eventually("the standby leads", || other.status().leader);
    finish_jobs(h, 4);
    assert!(flush(&other));
    let mut all = lsink.jobs();
    all.extend(osink.jobs());
    let ids: HashSet<String> = all.iter().map(|x| x.0.clone()).collect();
    assert_eq!(ids.len(), 14);
    stop(&other);
    assert_eq!(holder(h), None);
}

both!(lease_is_one_holders);
fn lease_is_one_holders(h: &Hub) {
    let (b, ns) = (h.backend(), h.namespace());
    let long = Duration::from_secs(30);
    assert!(lease::acquire(b, ns, "x", long).wait().unwrap());
    assert!(lease::acquire(b, ns, "x", long).wait().unwrap(), "renewed");
    assert!(!lease::acquire(b, ns, "y", long).wait().unwrap());
    assert!(
        !lease::release(b, ns, "y").wait().unwrap(),
        "only the holder releases"
    );
    assert!(lease::release(b, ns, "x").wait().unwrap());
    assert!(lease::acquire(b, ns, "y", Duration::from_millis(50))
        .wait()
        .unwrap());
    eventually("expiry", || holder(h).is_none());
    assert!(
        lease::acquire(b, ns, "x", long).wait().unwrap(),
        "taken once expired"
    );
    assert_eq!(holder(h).as_deref(), Some("x"));
}

both!(lost_entries_are_reported);
fn lost_entries_are_reported(h: &Hub) {
    let store = Store::new(h.backend().clone(), Arc::from(h.namespace()));
    let sink = Arc::new(MemSink::default());
    let a = start(h, &sink, "one", &[Source::Jobs]);
    finish_jobs(h, 2);
    assert!(flush(&a));
    assert!(store.cursor(Source::Jobs).wait().unwrap().is_some());
    let before = crate::metrics::archive::lost()
        .into_iter()
        .find(|x| x.0 == "jobs")
        .unwrap()
        .1;
    bump_overrun(h, 5);
    assert_eq!(store.overrun(Source::Jobs).wait().unwrap(), 5);
    let mut seen = vec![];
    eventually("the overrun event", || {
        let b = h
            .events
            .read(
                &[OVERRUN_CHANNEL.to_string()],
                Some("0-0"),
                10,
                Duration::ZERO,
            )
            .wait()
            .expect("read");
        seen = b.events.into_iter().map(|e| e.data).collect();
        !seen.is_empty()
    });
    assert_eq!(seen[0], json!({"source": "jobs", "lost": 5, "total": 5}));
    eventually("the status", || a.status().lost.get("jobs") == Some(&5));
    let after = crate::metrics::archive::lost()
        .into_iter()
        .find(|x| x.0 == "jobs")
        .unwrap()
        .1;
    assert!(after >= before + 5);
    stop(&a);
}

/// Adds to the jobs source's overrun counter the way the trimming does.
fn bump_overrun(h: &Hub, n: u64) {
    use crate::engine::Backend;
    let ns = h.namespace().to_string();
    match h.backend() {
        Backend::Sqlite(db) => db
            .with_tx(|tx| super::sources::state::sqlite_add_overrun(tx, &ns, Source::Jobs, n))
            .unwrap(),
        Backend::Redis(r) => {
            let key = super::sources::state::lost_key(&ns, Source::Jobs);
            runtime().block_on(async {
                let mut c = r.conn();
                let _: u64 = redis::cmd("INCRBY")
                    .arg(key)
                    .arg(n)
                    .query_async(&mut c)
                    .await
                    .unwrap();
            });
        }
    }
}

both!(jobs_and_tasks_together);
fn jobs_and_tasks_together(h: &Hub) {
    use crate::tasks::{NewTask, TaskPatch};
    let sink = Arc::new(MemSink::default());
    let a = start(
        h,
        &sink,
        "one",
        &[Source::Jobs, Source::Tasks, Source::Patterns],
    );
    let t = h
        .tasks
        .create(NewTask {
            id: Some("x".into()),
            title: "x".into(),
            ..Default::default()
        })
        .wait()
        .unwrap();
    assert_eq!(t.version, 1);
    assert!(flush(&a));
    for i in 0..10 {
        let p = TaskPatch {
            title: Some(format!("x{i}")),
            ..Default::default()
        };
        h.tasks.update("x", p, None).wait().unwrap();
    }
    finish_jobs(h, 3);
    assert!(flush(&a));
    let mut v: Vec<i64> = sink.tasks().into_iter().map(|t| t.1).collect();
    v.sort();
    v.dedup();
    assert_eq!(v, (1..=11).collect::<Vec<i64>>(), "every version");
    assert_eq!(sink.jobs().len(), 3);
    stop(&a);
}

both!(a_cleared_namespace_starts_over);
fn a_cleared_namespace_starts_over(h: &Hub) {
    use crate::tasks::NewTask;
    let sink = Arc::new(MemSink::default());
    let a = start(h, &sink, "one", &[Source::Jobs, Source::Tasks]);
    finish_jobs(h, 2);
    assert!(flush(&a));
    h.clear().wait().expect("clear");
    let new = |id: &str| NewTask {
        id: Some(id.into()),
        title: id.into(),
        ..Default::default()
    };
    h.tasks.create(new("after")).wait().unwrap();
    finish_jobs(h, 3);
    eventually("the task written after the clear", || {
        sink.tasks().iter().any(|t| t.0 == "after")
    });
    assert!(flush(&a));
    assert_eq!(sink.jobs().len(), 5);
    stop(&a);
}
