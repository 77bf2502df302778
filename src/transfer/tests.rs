//! Export and import on both engines: namespaces larger than a page of every capability, and
//! the state the Python API does not show (a document's synced hash and base, the queues' and
//! consumer groups' inner state), compared between the source and copies on each engine.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test here

use std::time::Duration;

use serde_json::json;

use super::{export_to, import_from};
use crate::bus::ClaimPolicy;
use crate::docs::Origin;
use crate::error::Result;
use crate::hub::Hub;
use crate::jobs::NewJob;
use crate::tasks::{NewTask, Order, Query};
use crate::testkit::{both, TempDir, TestHub};

/// Exports `h` and imports the file into a fresh namespace of each engine.
fn copies(h: &Hub) -> Vec<TestHub> {
    let dir = TempDir::new("export");
    let path = dir.path().join("ns.zl");
    let out = export_to(h, &path).unwrap();
    let hubs = vec![TestHub::embedded(), TestHub::redis()];
    for c in &hubs {
        let got = import_from(c, &path).unwrap();
        assert_eq!(got.records, out.records);
    }
    hubs
}

const MANY: usize = 1_203;

both!(namespaces_larger_than_a_page_move_whole);
fn namespaces_larger_than_a_page_move_whole(h: &Hub) -> Result<()> {
    let tasks: Vec<NewTask> = (0..MANY)
        .map(|i| NewTask {
            id: Some(format!("t{i:05}")),
            title: format!("task {i}"),
            keywords: vec![format!("k{}", i % 7)],
            related: vec![format!("t{:05}", (i + 1) % MANY)],
            ..NewTask::default()
        })
        .collect();
    h.tasks.create_many(tasks).wait()?;
    for i in 0..150 {
        let w = h
            .docs
            .value_write(&format!("contexts/d{i:03}.yaml"), &json!({ "i": i }), None)?;
        h.docs.write(w).wait()?;
    }
    h.bus.register("a", vec![]).wait()?;
    let outs = (0..MANY)
        .map(|i| {
            let p = ["critical", "high", "medium", "low"][i % 4];
            h.bus
                .outgoing("b", Some("a"), &json!(i), p, None, None, false)
        })
        .collect::<Result<Vec<_>>>()?;
    h.bus.send_many(outs).wait()?;
    let policy = ClaimPolicy::default();
    h.bus
        .consume("a", "g", "c1", 700, policy, Duration::ZERO)
        .wait()?;
    let items = (0..MANY)
        .map(|i| (format!("ch:{}", i % 3), json!({ "i": i })))
        .collect();
    h.events.publish_many(items).wait()?;
    let jobs = (0..MANY)
        .map(|i| NewJob::new(format!("kind{}", i % 3), json!(i)))
        .collect();
    let jobs: Vec<String> = h
        .jobs
        .enqueue_many(jobs)
        .wait()?
        .into_iter()
        .map(|j| j.id)
        .collect();
    h.jobs
        .claim(vec!["kind1".into()], 300, "w", 60.0, Duration::ZERO)
        .wait()?;
    for r in ["r/1", "r/2", "r/3"] {
        h.patterns.store(r, "t", &json!({ "r": r }), 0.5).wait()?;
    }
    let hubs = copies(h);
    // Everything the reads show (compared without printing thousands of records).
    let reads = |x: &Hub| -> Result<String> {
        let all = Query {
            order: Order::Confidence,
            limit: 1000,
            ..Query::default()
        };
        let events: Vec<_> = x
            .events
            .read(&[], Some("0"), 10_000, Duration::ZERO)
            .wait()?
            .events
            .into_iter()
            .map(|e| (e.channel, e.data, e.time))
            .collect();
        let mut patterns = Vec::new();
        for r in ["r/1", "r/2", "r/3"] {
            patterns.push(x.patterns.export(r).wait()?);
        }
        Ok(format!(
            "{:?}",
            (
                x.tasks.count().wait()?,
                x.tasks.dump_index().wait()?,
                x.tasks.search(all).wait()?.tasks,
                x.docs.list("").wait()?,
                x.docs.pending(1000).wait()?,
                x.bus.pending("a", 10_000).wait()?,
                x.bus.stats().wait()?,
                events,
                x.jobs.get_many(jobs.clone()).wait()?,
                patterns,
            )
        ))
    };
    let want = reads(h)?;
    assert!(want.contains(&format!("t{:05}", MANY - 1)));
    for c in &hubs {
        assert!(
            reads(c)? == want,
            "a copy on {} differs",
            c.backend().name()
        );
    }
    // Held deliveries stay held (not idle yet), the rest are handed out in order; ready jobs
    // are claimed in the same order.
    let probe = |x: &Hub| -> Result<(Vec<crate::bus::Delivery>, Vec<String>)> {
        let d = x
            .bus
            .consume("a", "g", "c2", 10_000, policy, Duration::ZERO)
            .wait()?;
        let kinds = vec!["kind1".into(), "kind2".into()];
        let j = x
            .jobs
            .claim(kinds, 1000, "w2", 60.0, Duration::ZERO)
            .wait()?;
        Ok((d, j.jobs.into_iter().map(|j| j.id).collect()))
    };
    let want = probe(h)?;
    assert_eq!(want.0.len(), MANY - 700);
    for c in &hubs {
        let got = probe(c)?;
        assert!(
            got.0 == want.0,
            "deliveries differ on {}",
            c.backend().name()
        );
        assert!(got.1 == want.1, "claims differ on {}", c.backend().name());
    }
    Ok(())
}

both!(documents_keep_their_sync_state);
fn documents_keep_their_sync_state(h: &Hub) -> Result<()> {
    let d = &h.docs;
    // Read from a file (synced), then changed through the API (base kept, queued, whole).
    d.write(d.text_write(
        "contexts/a.yaml",
        "a: 1  # note\n".into(),
        Origin::File,
        None,
    )?)
    .wait()?;
    d.write(d.value_write("contexts/a.yaml", &json!({"a": 2}), None)?)
        .wait()?;
    // Written back (synced, not queued), then raced by a newer write and rebased.
    let b = d
        .write(d.value_write("workflows/b.json", &json!([1]), None)?)
        .wait()?;
    d.done_writeback("workflows/b.json", Some(b.hash)).wait()?;
    d.write(d.value_write("workflows/b.json", &json!([2]), None)?)
        .wait()?;
    d.rebase("workflows/b.json", &crate::docs::hash("[0]\n"), "[0]\n")
        .wait()?;
    // A file-only document, and a deleted one still queued for its file's deletion.
    d.write(d.text_write("contexts/c.yml", "c: [x]\n".into(), Origin::File, None)?)
        .wait()?;
    d.write(d.value_write("contexts/gone.yaml", &json!({}), None)?)
        .wait()?;
    d.delete("contexts/gone.yaml", Origin::Store).wait()?;
    let state = |x: &Hub| -> Vec<_> {
        [
            "contexts/a.yaml",
            "workflows/b.json",
            "contexts/c.yml",
            "contexts/gone.yaml",
        ]
        .iter()
        .map(|p| {
            (
                x.docs.get_opt(p).wait().unwrap(),
                x.docs.base(p).wait().unwrap(),
            )
        })
        .collect()
    };
    let want = state(h);
    assert!(want[0].1.is_some() && want[1].1.is_some(), "{want:?}");
    for c in copies(h) {
        assert_eq!(state(&c), want);
        assert_eq!(c.docs.pending(100).wait()?, d.pending(100).wait()?);
    }
    Ok(())
}

both!(delivery_times_and_deadlines_survive);
fn delivery_times_and_deadlines_survive(h: &Hub) -> Result<()> {
    const VISIBILITY: f64 = 3.0;
    h.bus.register("a", vec![]).wait()?;
    let out = h
        .bus
        .outgoing("b", Some("a"), &json!(1), "medium", None, None, false)?;
    h.bus.send(out).wait()?;
    let pol = |idle_ms| ClaimPolicy {
        idle_ms,
        max_deliveries: 5,
    };
    h.bus
        .consume("a", "g", "c1", 1, pol(0), Duration::ZERO)
        .wait()?;
    h.jobs.enqueue(NewJob::new("k", json!(1))).wait()?;
    let started = std::time::Instant::now();
    let claimed = h
        .jobs
        .claim(vec!["k".into()], 1, "w", VISIBILITY, Duration::ZERO)
        .wait()?;
    let id = claimed.jobs[0].id.clone();
    let hubs = copies(h);
    for c in &hubs {
        // Held for under a minute: not claimable with a minute's idle time.
        let early = c
            .bus
            .consume("a", "g", "c2", 5, pol(60_000), Duration::ZERO);
        assert!(early.wait()?.is_empty());
        // The job's claim holds until its deadline.
        let again = c.jobs.claim(vec!["k".into()], 1, "w2", 1.0, Duration::ZERO);
        assert!(again.wait()?.jobs.is_empty());
        assert_eq!(c.jobs.get(&id).wait()?.status, "running");
    }
    std::thread::sleep(Duration::from_secs_f64(VISIBILITY + 0.3).saturating_sub(started.elapsed()));
    for c in &hubs {
        let late = c.bus.consume("a", "g", "c2", 5, pol(300), Duration::ZERO);
        assert_eq!(late.wait()?.first().map(|d| d.deliveries), Some(2));
        // Past its deadline, the next claim turns the attempt into a failed one (retried
        // after its backoff), as on the store it came from.
        c.jobs
            .claim(vec!["k".into()], 1, "w2", 1.0, Duration::ZERO)
            .wait()?;
        let j = c.jobs.get(&id).wait()?;
        assert_eq!((j.status.as_str(), j.attempts), ("failed", 1), "{j:?}");
    }
    Ok(())
}
