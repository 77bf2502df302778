//! The workers registry and requeue, each test run on the embedded store and on Redis.

use std::time::Duration;

use serde_json::json;

use super::requeue::Requeue;
use super::workers::{WorkerSpec, FORGET, LOST_BEATS};
use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn spec(id: &str, interval: f64) -> WorkerSpec {
    WorkerSpec {
        id: id.into(),
        host: "box-1".into(),
        pid: 42,
        kinds: vec!["a".into(), "b".into()],
        interval,
    }
}

both!(register_beat_lost_forget_unregister);
fn register_beat_lost_forget_unregister(h: &Hub) {
    let j = &h.jobs;
    j.register_worker(spec("w1", 1.0)).wait().expect("register");
    j.register_worker(spec("w2", 100.0))
        .wait()
        .expect("register");
    assert!(j.beat_worker("w1", 5, 2).wait().expect("beat"));
    assert!(!j.beat_worker("nobody", 1, 1).wait().expect("beat"));
    let ws = j.workers().wait().expect("workers");
    assert_eq!(ws.len(), 2);
    let w1 = ws.iter().find(|w| w.id == "w1").expect("w1");
    assert_eq!((w1.done, w1.failed, w1.pid), (5, 2, 42));
    assert_eq!(w1.host, "box-1");
    assert_eq!(w1.kinds, vec!["a".to_string(), "b".to_string()]);
    assert!(!w1.lost && w1.last_beat >= w1.started);
    // Seen from the future: w1 (1 s beats) is lost after 3 s, w2 (100 s beats) is not.
    let later = model::now() + LOST_BEATS * 1.0 + 1.0;
    let ws = j.workers_at(later).wait().expect("later");
    let lost: Vec<(&str, bool)> = ws.iter().map(|w| (w.id.as_str(), w.lost)).collect();
    assert!(
        lost.contains(&("w1", true)) && lost.contains(&("w2", false)),
        "{lost:?}"
    );
    // Past FORGET, nobody is listed.
    let gone = j
        .workers_at(model::now() + FORGET + 1.0)
        .wait()
        .expect("gone");
    assert!(gone.is_empty(), "{gone:?}");
    assert!(j.unregister_worker("w1").wait().expect("unregister"));
    assert!(!j.unregister_worker("w1").wait().expect("again"));
    let ws = j.workers().wait().expect("workers");
    assert_eq!(
        ws.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        vec!["w2"]
    );
    // Registering again starts the counts over.
    j.register_worker(spec("w2", 100.0)).wait().expect("again");
    assert_eq!(j.workers().wait().expect("w")[0].done, 0);
}

both!(bad_worker_input_is_rejected);
fn bad_worker_input_is_rejected(h: &Hub) {
    let j = &h.jobs;
    let mut s = spec("w 1", 1.0);
    assert!(j.register_worker(s.clone()).wait().is_err());
    s.id = "w1".into();
    s.interval = 0.0;
    assert!(j.register_worker(s.clone()).wait().is_err());
    s.interval = 1.0;
    s.host = "a\nb".into();
    assert!(j.register_worker(s.clone()).wait().is_err());
    s.host = "h".into();
    s.kinds = vec!["*".into()];
    assert!(j.register_worker(s).wait().is_err());
    assert!(j.beat_worker("*", 0, 0).wait().is_err());
    assert!(j.workers().wait().expect("none").is_empty());
}

fn dead_job(j: &Jobs, kind: &str) -> String {
    let mut n = NewJob::new(kind, json!({"k": kind}));
    n.max_attempts = 1;
    let id = j.enqueue(n).wait().expect("enqueue").id;
    let got = j
        .claim(vec![kind.into()], 1, "w", 10.0, Duration::ZERO)
        .wait()
        .expect("claim");
    let f = Finish {
        id: id.clone(),
        token: got.jobs[0].token.clone(),
        outcome: Outcome::Failed {
            error: "boom".into(),
            retry: true,
        },
    };
    j.finish(vec![f]).wait().expect("fail");
    assert_eq!(j.get(&id).wait().expect("get").status, "dead");
    id
}

both!(requeue_by_id_and_in_bulk);
fn requeue_by_id_and_in_bulk(h: &Hub) {
    let j = &h.jobs;
    let a = dead_job(j, "a");
    let b = dead_job(j, "b");
    let c = dead_job(j, "a");
    let live = j
        .enqueue(NewJob::new("a", json!(0)))
        .wait()
        .expect("live")
        .id;
    let gone = j.enqueue(NewJob::new("z", json!(0))).wait().expect("z").id;
    assert!(j.cancel(&gone).wait().expect("cancel"));
    // By id: dead and cancelled ones move, others are skipped.
    let what = Requeue::new(
        Some(vec![a.clone(), live.clone(), gone.clone(), a.clone()]),
        None,
        None,
    )
    .expect("ids");
    assert_eq!(j.requeue(what).wait().expect("requeue"), 2);
    let ja = j.get(&a).wait().expect("a");
    assert_eq!((ja.status.as_str(), ja.attempts), ("pending", 0));
    assert_eq!(ja.finished_at, None);
    assert_eq!(j.get(&gone).wait().expect("z").status, "pending");
    // In bulk, by kind: only the dead of that kind.
    let what = Requeue::new(None, Some("b".into()), None).expect("kind");
    assert_eq!(j.requeue(what).wait().expect("b"), 1);
    assert_eq!(j.get(&c).wait().expect("c").status, "dead");
    assert_eq!(j.get(&b).wait().expect("b").status, "pending");
    let what = Requeue::new(None, None, None).expect("all");
    assert_eq!(j.requeue(what).wait().expect("all"), 1);
    // The counts per kind and state followed the moves.
    let counts: Vec<(String, String, u64)> = j
        .counts()
        .wait()
        .expect("counts")
        .into_iter()
        .map(|c| (c.kind, c.state, c.count))
        .collect();
    let want = [("a", "ready", 3), ("b", "ready", 1), ("z", "ready", 1)];
    let want: Vec<(String, String, u64)> = want
        .iter()
        .map(|(k, s, n)| (k.to_string(), s.to_string(), *n))
        .collect();
    assert_eq!(counts, want);
    let what = Requeue::new(None, None, None).expect("none left");
    assert_eq!(j.requeue(what).wait().expect("none"), 0);
    // The requeued jobs run again, after the job that was already ready (FIFO).
    let got = j
        .claim(vec!["a".into()], 10, "w", 10.0, Duration::ZERO)
        .wait()
        .expect("claim");
    let order: Vec<&str> = got.jobs.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(order, vec![live.as_str(), a.as_str(), c.as_str()]);
    assert!(got.jobs.iter().all(|x| x.attempt == 1 || x.id == live));
    assert!(Requeue::new(Some(vec![a]), Some("a".into()), None).is_err());
    assert!(Requeue::new(None, None, Some(0)).is_err());
}

both!(bulk_requeue_and_purge_take_a_limit);
fn bulk_requeue_and_purge_take_a_limit(h: &Hub) {
    let j = &h.jobs;
    for _ in 0..5 {
        dead_job(j, "a");
    }
    let what = Requeue::new(None, None, Some(2)).expect("limit");
    assert_eq!(j.requeue(what).wait().expect("2"), 2);
    assert_eq!(j.purge(0.0, Some(2)).wait().expect("purge 2"), 2);
    assert_eq!(j.purge(0.0, None).wait().expect("purge rest"), 1);
    assert!(j.purge(0.0, Some(0)).wait().is_err());
}
