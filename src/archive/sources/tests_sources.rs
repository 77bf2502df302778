//! The jobs and tasks sources (and their holds) on both stores.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::Store;
use crate::archive::model::{Batch, Rows, Source};
use crate::archive::tests_run::finish_jobs;
use crate::hub::Hub;
use crate::jobs::requeue::Requeue;
use crate::jobs::{Finish, NewJob, Outcome};
use crate::tasks::{NewTask, TaskPatch};
use crate::testkit::both;

fn store(h: &Hub) -> Store {
    Store::new(h.backend().clone(), Arc::from(h.namespace()))
}

fn jobs(b: &Batch) -> Vec<(String, String, i64)> {
    match &b.rows {
        Rows::Jobs(v) => v
            .iter()
            .map(|j| (j.id.clone(), j.status.clone(), j.finished_ms))
            .collect(),
        other => panic!("not jobs: {other:?}"),
    }
}

fn tasks(b: &Batch) -> Vec<(String, i64, bool, serde_json::Value)> {
    match &b.rows {
        Rows::Tasks(v) => v
            .iter()
            .map(|t| (t.id.clone(), t.version, t.deleted, t.doc.clone()))
            .collect(),
        other => panic!("not tasks: {other:?}"),
    }
}

/// Reads `src` from its committed cursor to the end in batches of `step`, committing each.
fn drain(s: &Store, src: Source, step: usize) -> Vec<Batch> {
    let mut out = vec![];
    loop {
        let cur = s.cursor(src).wait().expect("cursor");
        let b = s.read(src, cur.clone(), step).wait().expect("read");
        let done = b.rows.is_empty() && cur.as_deref() == Some(b.next.as_str());
        s.commit(src, b.next.clone()).wait().expect("commit");
        if done {
            return out;
        }
        out.push(b);
    }
}

both!(jobs_come_in_finish_order_after_the_cursor);
fn jobs_come_in_finish_order_after_the_cursor(h: &Hub) {
    let s = store(h);
    let first = finish_jobs(h, 5);
    let b = s.read(Source::Jobs, None, 3).wait().unwrap();
    assert_eq!(jobs(&b).len(), 3);
    assert_eq!(b.behind, 2);
    let b2 = s
        .read(Source::Jobs, Some(b.next.clone()), 100)
        .wait()
        .unwrap();
    assert_eq!((jobs(&b2).len(), b2.behind), (2, 0));
    let mut got: Vec<String> = jobs(&b).into_iter().chain(jobs(&b2)).map(|x| x.0).collect();
    let times: Vec<i64> = jobs(&b).into_iter().chain(jobs(&b2)).map(|x| x.2).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "finish order");
    got.sort();
    let mut want = first.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(s.cursor(Source::Jobs).wait().unwrap(), None);
    s.commit(Source::Jobs, b2.next.clone()).wait().unwrap();
    s.commit(Source::Jobs, b.next.clone()).wait().unwrap();
    assert_eq!(
        s.cursor(Source::Jobs).wait().unwrap(),
        Some(b2.next.clone()),
        "never backwards"
    );
    let empty = s
        .read(Source::Jobs, Some(b2.next.clone()), 100)
        .wait()
        .unwrap();
    assert!(empty.rows.is_empty());
    assert_eq!(empty.next, b2.next);
    assert_eq!(
        super::jobs::forget(h.backend(), h.namespace())
            .wait()
            .unwrap(),
        1
    );
    assert_eq!(s.cursor(Source::Jobs).wait().unwrap(), None);
}

both!(a_requeued_dead_job_is_archived_twice);
fn a_requeued_dead_job_is_archived_twice(h: &Hub) {
    let s = store(h);
    let j = &h.jobs;
    let mut n = NewJob::new("d", json!({"x": 1}));
    n.max_attempts = 1;
    let id = j.enqueue(n).wait().unwrap().id;
    let run = |outcome: Outcome| {
        let c = j
            .claim(vec!["d".into()], 1, "w", 30.0, Duration::ZERO)
            .wait()
            .unwrap();
        assert_eq!(c.jobs.len(), 1);
        j.finish(vec![Finish {
            id: c.jobs[0].id.clone(),
            token: c.jobs[0].token.clone(),
            outcome,
        }])
        .wait()
        .unwrap();
    };
    run(Outcome::Failed {
        error: "boom".into(),
        retry: false,
    });
    let dead = drain(&s, Source::Jobs, 10);
    let rows: Vec<_> = dead.iter().flat_map(jobs).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        (id.as_str(), "dead")
    );
    std::thread::sleep(Duration::from_millis(5));
    let moved = j
        .requeue(Requeue::new(Some(vec![id.clone()]), None, None).unwrap())
        .wait()
        .unwrap();
    assert_eq!(moved, 1);
    run(Outcome::Done("2".into()));
    let again: Vec<_> = drain(&s, Source::Jobs, 10).iter().flat_map(jobs).collect();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].0.as_str(), again[0].1.as_str()),
        (id.as_str(), "succeeded")
    );
    assert!(again[0].2 > rows[0].2, "a new natural id (id, finished_ms)");
}

both!(purge_waits_for_the_archive);
fn purge_waits_for_the_archive(h: &Hub) {
    let s = store(h);
    // An archive attached once: a committed cursor before every job.
    let b = s.read(Source::Jobs, None, 10).wait().unwrap();
    s.commit(Source::Jobs, b.next).wait().unwrap();
    finish_jobs(h, 4);
    assert_eq!(
        h.jobs.purge(0.0, None).wait().unwrap(),
        0,
        "not archived: held"
    );
    let b = s
        .read(Source::Jobs, s.cursor(Source::Jobs).wait().unwrap(), 2)
        .wait()
        .unwrap();
    s.commit(Source::Jobs, b.next).wait().unwrap();
    assert_eq!(
        h.jobs.purge(0.0, None).wait().unwrap(),
        2,
        "the archived two go"
    );
    assert_eq!(s.overrun(Source::Jobs).wait().unwrap(), 0);
    assert_eq!(
        super::jobs::forget(h.backend(), h.namespace())
            .wait()
            .unwrap(),
        1
    );
    assert_eq!(
        h.jobs.purge(0.0, None).wait().unwrap(),
        2,
        "no hold without a cursor"
    );
}

fn task(id: &str) -> NewTask {
    NewTask {
        id: Some(id.into()),
        title: format!("task {id}"),
        ..Default::default()
    }
}

fn retitle(h: &Hub, id: &str, title: &str) {
    let p = TaskPatch {
        title: Some(title.into()),
        ..Default::default()
    };
    h.tasks.update(id, p, None).wait().unwrap();
}

both!(every_task_version_arrives_deletes_included);
fn every_task_version_arrives_deletes_included(h: &Hub) {
    let s = store(h);
    h.tasks
        .create_many(vec![task("a"), task("b"), task("c")])
        .wait()
        .unwrap();
    retitle(h, "a", "a2");
    // Before the archive: the snapshot has the tasks as they stand.
    let snap: Vec<_> = drain(&s, Source::Tasks, 2).iter().flat_map(tasks).collect();
    let mut got: Vec<(String, i64)> = snap.iter().map(|t| (t.0.clone(), t.1)).collect();
    got.sort();
    assert_eq!(
        got,
        [("a".to_string(), 2), ("b".into(), 1), ("c".into(), 1)]
    );
    assert_eq!(
        snap.iter().find(|t| t.0 == "a").unwrap().3["title"],
        json!("a2")
    );
    // From now on every version, however quickly they follow one another.
    for i in 0..20 {
        retitle(h, "b", &format!("b{i}"));
    }
    h.tasks.delete("c").wait().unwrap();
    h.tasks.create(task("d")).wait().unwrap();
    let rows: Vec<_> = drain(&s, Source::Tasks, 7).iter().flat_map(tasks).collect();
    let b: Vec<i64> = rows.iter().filter(|t| t.0 == "b").map(|t| t.1).collect();
    assert_eq!(
        b,
        (2..=21).collect::<Vec<i64>>(),
        "each version once, in order"
    );
    let last_b = rows.iter().rfind(|t| t.0 == "b").unwrap();
    assert_eq!(last_b.3["title"], json!("b19"));
    let c: Vec<_> = rows.iter().filter(|t| t.0 == "c").collect();
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].1, c[0].2, &c[0].3),
        (2, true, &json!(null)),
        "the deletion"
    );
    assert!(rows.iter().any(|t| t.0 == "d" && t.1 == 1 && !t.2));
    assert_eq!(rows.len(), 22);
    let mut seen = BTreeMap::new();
    for t in snap.iter().chain(&rows) {
        assert!(
            seen.insert((t.0.clone(), t.1), ()).is_none(),
            "twice: {t:?}"
        );
    }
    // The log keeps only what is not archived yet.
    retitle(h, "a", "a3");
    let b = s
        .read(Source::Tasks, s.cursor(Source::Tasks).wait().unwrap(), 100)
        .wait()
        .unwrap();
    assert_eq!(tasks(&b).len(), 1);
    assert_eq!(s.overrun(Source::Tasks).wait().unwrap(), 0);
    assert_eq!(
        super::tasks::forget(h.backend(), h.namespace())
            .wait()
            .unwrap(),
        1
    );
    retitle(h, "a", "a4");
    assert_eq!(log_len(h), 0, "the log is off once forgotten");
}

/// Entries in the tasks' archive log.
fn log_len(h: &Hub) -> u64 {
    use crate::engine::Backend;
    let ns = h.namespace().to_string();
    match h.backend() {
        Backend::Sqlite(db) => db
            .with(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM tasks_archive WHERE ns = ?1",
                    [&ns],
                    |r| r.get::<_, i64>(0),
                )? as u64)
            })
            .unwrap(),
        Backend::Redis(r) => crate::engine::runtime().block_on(async {
            let mut c = r.conn();
            redis::cmd("XLEN")
                .arg(format!("{}arch", crate::tasks::redis::prefix(&ns)))
                .query_async(&mut c)
                .await
                .unwrap()
        }),
    }
}

fn patterns(b: &Batch) -> Vec<(String, i64, i64)> {
    match &b.rows {
        Rows::Patterns(v) => v
            .iter()
            .map(|p| (p.id.clone(), p.observations, p.last_ms))
            .collect(),
        other => panic!("not patterns: {other:?}"),
    }
}

both!(pattern_records_come_after_each_write);
fn pattern_records_come_after_each_write(h: &Hub) {
    let s = store(h);
    let p = &h.patterns;
    let a = p
        .store("repo-a", "style", &json!({"k": 1}), 0.5)
        .wait()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3));
    p.store("repo-b", "style", &json!({"k": 2}), 0.5)
        .wait()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3));
    p.store("repo-a", "naming", &json!({"k": 3}), 0.5)
        .wait()
        .unwrap();
    let first: Vec<_> = drain(&s, Source::Patterns, 2)
        .iter()
        .flat_map(patterns)
        .collect();
    assert_eq!(first.len(), 3);
    assert!(first.windows(2).all(|w| w[0].2 <= w[1].2), "by last seen");
    std::thread::sleep(Duration::from_millis(3));
    p.update(&a.id, None, None, true).wait().unwrap();
    let next: Vec<_> = drain(&s, Source::Patterns, 10)
        .iter()
        .flat_map(patterns)
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].0.as_str(), next[0].1), (a.id.as_str(), 2));
    assert!(next[0].2 > first.iter().find(|x| x.0 == a.id).unwrap().2);
    assert!(drain(&s, Source::Patterns, 10).is_empty(), "nothing twice");
}

both!(start_cursors_hold_jobs_tasks_and_patterns_from_before_any_batch);
fn start_cursors_hold_jobs_tasks_and_patterns_from_before_any_batch(h: &Hub) {
    let s = store(h);
    // Jobs finished before the archive started are held by its start cursor: a purge
    // before the first batch (PostgreSQL down) keeps them.
    finish_jobs(h, 3);
    let c = s.start(Source::Jobs).wait().unwrap();
    assert_eq!(s.start(Source::Jobs).wait().unwrap(), c, "started once");
    assert_eq!(h.jobs.purge(0.0, None).wait().unwrap(), 0, "held");
    let b = s.read(Source::Jobs, Some(c), 10).wait().unwrap();
    assert_eq!(jobs(&b).len(), 3);
    // Tasks: starting turns the archive log on, so versions written before the first read
    // do not collapse into the snapshot.
    h.tasks.create(task("a")).wait().unwrap();
    let c = s.start(Source::Tasks).wait().unwrap();
    for i in 0..5 {
        retitle(h, "a", &format!("a{i}"));
    }
    assert_eq!(log_len(h), 5, "the log is on from the start");
    let rows: Vec<_> = {
        let mut out = vec![];
        let mut cur = c;
        loop {
            let b = s.read(Source::Tasks, Some(cur.clone()), 4).wait().unwrap();
            if b.rows.is_empty() && b.next == cur {
                break;
            }
            out.extend(tasks(&b));
            cur = b.next;
        }
        out
    };
    let mut versions: Vec<i64> = rows.iter().map(|t| t.1).collect();
    versions.sort();
    versions.dedup();
    assert_eq!(
        versions,
        (2..=6).collect::<Vec<i64>>(),
        "every version after the start"
    );
    // Patterns start before every record.
    h.patterns
        .store("repo-a", "style", &json!({"k": 1}), 0.5)
        .wait()
        .unwrap();
    let c = s.start(Source::Patterns).wait().unwrap();
    let b = s.read(Source::Patterns, Some(c), 10).wait().unwrap();
    assert_eq!(patterns(&b).len(), 1);
}
