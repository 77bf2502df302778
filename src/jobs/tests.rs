//! Behaviour of the job queue, each test run on the embedded store and on Redis (see
//! `crate::testkit`).

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn kinds() -> Vec<String> {
    vec!["k".to_string()]
}

both!(priority_then_fifo_and_complete);
fn priority_then_fifo_and_complete(h: &Hub) {
    let j = &h.jobs;
    let mut n = NewJob::new("k", json!(1));
    n.priority = 0;
    let a = j.enqueue(n.clone()).wait().expect("a");
    let b = j.enqueue(n.clone()).wait().expect("b");
    n.priority = 5;
    let c = j.enqueue(n).wait().expect("c");
    let got = j
        .claim(kinds(), 3, "w1", 10.0, Duration::ZERO)
        .wait()
        .expect("claim");
    let order: Vec<&str> = got.jobs.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(order, vec![c.id.as_str(), a.id.as_str(), b.id.as_str()]);
    let f = Finish {
        id: a.id.clone(),
        token: got.jobs[1].token.clone(),
        outcome: Outcome::Done("7".into()),
    };
    assert_eq!(
        j.finish(vec![f.clone()]).wait().expect("finish"),
        vec![Ack::Ok]
    );
    assert_eq!(j.finish(vec![f]).wait().expect("again"), vec![Ack::Stale]);
    let a = j.get(&a.id).wait().expect("get");
    assert_eq!((a.status.as_str(), a.result), ("succeeded", Some(json!(7))));
}

both!(failures_back_off_then_die);
fn failures_back_off_then_die(h: &Hub) {
    let j = &h.jobs;
    let mut n = NewJob::new("k", json!(null));
    n.max_attempts = 2;
    n.backoff = Backoff::Fixed(0.0);
    let id = j.enqueue(n).wait().expect("enqueue").id;
    for attempt in 1..=2 {
        let got = j
            .claim(kinds(), 1, "w", 10.0, Duration::from_secs(2))
            .wait()
            .expect("claim");
        assert_eq!(got.jobs.len(), 1);
        assert_eq!(got.jobs[0].attempt, attempt);
        let f = Finish {
            id: id.clone(),
            token: got.jobs[0].token.clone(),
            outcome: Outcome::Failed {
                error: format!("boom {attempt}"),
                retry: true,
            },
        };
        j.finish(vec![f]).wait().expect("fail");
    }
    let job = j.get(&id).wait().expect("get");
    assert_eq!(job.status, "dead");
    assert_eq!(job.error.as_deref(), Some("boom 2"));
    assert_eq!(Backoff::Exponential(1.0).delay(3), 4.0);
}

both!(rejects_bad_input);
fn rejects_bad_input(h: &Hub) {
    let j = &h.jobs;
    assert!(j.enqueue(NewJob::new("a*b", json!(1))).wait().is_err());
    assert!(j.enqueue(NewJob::new("", json!(1))).wait().is_err());
    assert!(j
        .enqueue(NewJob::new("k", json!("x".repeat(2 << 20))))
        .wait()
        .is_err());
    assert!(j.get("nope").wait().is_err());
    assert!(j.claim(vec![], 1, "w", 1.0, Duration::ZERO).wait().is_err());
}

fn counts_of(h: &Hub) -> Vec<(String, String, u64)> {
    h.jobs
        .counts()
        .wait()
        .expect("counts")
        .into_iter()
        .map(|c| (c.kind, c.state, c.count))
        .collect()
}

fn row(k: &str, s: &str, n: u64) -> (String, String, u64) {
    (k.to_string(), s.to_string(), n)
}

both!(counts_follow_every_move);
fn counts_follow_every_move(h: &Hub) {
    let j = &h.jobs;
    assert_eq!(counts_of(h), vec![]);
    for _ in 0..3 {
        j.enqueue(NewJob::new("a", json!(1))).wait().expect("a");
    }
    let mut later = NewJob::new("b", json!(1));
    later.run_at = Some(model::now() + 3600.0);
    let b = j.enqueue(later).wait().expect("b");
    let mut one = NewJob::new("c", json!(1));
    one.max_attempts = 1;
    j.enqueue(one).wait().expect("c");
    assert_eq!(
        counts_of(h),
        vec![
            row("a", "ready", 3),
            row("b", "delayed", 1),
            row("c", "ready", 1)
        ]
    );
    let got = j
        .claim(vec!["a".into(), "c".into()], 4, "w", 10.0, Duration::ZERO)
        .wait()
        .expect("claim");
    assert_eq!(got.jobs.len(), 4);
    let mut fin = Vec::new();
    for (i, c) in got.jobs.iter().enumerate() {
        let outcome = if c.kind == "c" {
            Outcome::Failed {
                error: "boom".into(),
                retry: true,
            }
        } else if i == 0 {
            Outcome::Done("1".into())
        } else {
            continue;
        };
        fin.push(Finish {
            id: c.id.clone(),
            token: c.token.clone(),
            outcome,
        });
    }
    j.finish(fin).wait().expect("finish");
    j.cancel(&b.id).wait().expect("cancel");
    let c = counts_of(h);
    let total: u64 = c.iter().map(|r| r.2).sum();
    assert_eq!(total, 5, "{c:?}");
    assert!(c.contains(&row("b", "cancelled", 1)), "{c:?}");
    assert!(c.contains(&row("c", "dead", 1)), "{c:?}");
    assert!(c.contains(&row("a", "succeeded", 1)), "{c:?}");
    assert!(c.contains(&row("a", "running", 2)), "{c:?}");
    j.purge(0.0, None).wait().expect("purge");
    assert_eq!(counts_of(h), vec![row("a", "running", 2)]);
}
