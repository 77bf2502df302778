//! The change feed on both engines (see `crate::testkit`).

use std::time::{Duration, Instant};

use super::*;
use crate::docs::Origin;
use crate::hub::Hub;
use crate::tasks::{NewTask, TaskPatch};
use crate::testkit::both;

fn task(id: &str) -> NewTask {
    NewTask {
        id: Some(id.into()),
        title: format!("task {id}"),
        ..Default::default()
    }
}

fn kinds(p: &Page) -> Vec<(String, String, u64, &'static str)> {
    p.changes
        .iter()
        .map(|c| (c.capability.clone(), c.id.clone(), c.version, c.kind.name()))
        .collect()
}

fn t(cap: &str, id: &str, v: u64, k: &'static str) -> (String, String, u64, &'static str) {
    (cap.into(), id.into(), v, k)
}

both!(writes_append_their_changes_in_order);
fn writes_append_their_changes_in_order(h: &Hub) -> Result<()> {
    let start = h.changes.end().wait()?.encode();
    h.tasks.create_many(vec![task("a"), task("b")]).wait()?;
    let patch = TaskPatch {
        status: Some("done".into()),
        ..Default::default()
    };
    h.tasks.update("a", patch, None).wait()?;
    h.tasks.delete("b").wait()?;
    let w = h
        .docs
        .value_write("contexts/x.yaml", &serde_json::json!({"a": 1}), None)?;
    h.docs.write(w).wait()?;
    h.docs.delete("contexts/x.yaml", Origin::Store).wait()?;
    let page = h.changes.read(Some(&start), 100, Duration::ZERO).wait()?;
    assert_eq!(
        kinds(&page),
        [
            t("tasks", "a", 1, "created"),
            t("tasks", "b", 1, "created"),
            t("tasks", "a", 2, "updated"),
            t("tasks", "b", 1, "deleted"),
            t("docs", "contexts/x.yaml", 1, "created"),
            t("docs", "contexts/x.yaml", 1, "deleted"),
        ]
    );
    // Reading on from the page's cursor finds nothing new; from None, everything kept.
    let next = page.cursor.encode();
    assert!(h
        .changes
        .read(Some(&next), 100, Duration::ZERO)
        .wait()?
        .changes
        .is_empty());
    assert_eq!(
        h.changes
            .read(None, 100, Duration::ZERO)
            .wait()?
            .changes
            .len(),
        6
    );
    // Pages: two at a time, the same changes.
    let (mut cur, mut seen) = (start, Vec::new());
    loop {
        let p = h.changes.read(Some(&cur), 2, Duration::ZERO).wait()?;
        if p.changes.is_empty() {
            break;
        }
        assert!(p.changes.len() <= 2);
        seen.extend(kinds(&p));
        cur = p.cursor.encode();
    }
    assert_eq!(seen, kinds(&page));
    Ok(())
}

both!(a_failed_write_appends_nothing);
fn a_failed_write_appends_nothing(h: &Hub) -> Result<()> {
    h.tasks.create(task("a")).wait()?;
    let end = h.changes.end().wait()?.encode();
    assert!(h
        .tasks
        .create_many(vec![task("z"), task("a")])
        .wait()
        .is_err());
    let stale = h.tasks.update("a", TaskPatch::default(), Some(9)).wait();
    assert!(matches!(stale, Err(Error::Conflict(_))));
    assert!(h
        .changes
        .read(Some(&end), 10, Duration::ZERO)
        .wait()?
        .changes
        .is_empty());
    Ok(())
}

both!(a_cleared_namespace_asks_readers_to_rescan);
fn a_cleared_namespace_asks_readers_to_rescan(h: &Hub) -> Result<()> {
    h.tasks.create(task("a")).wait()?;
    let page = h.changes.read(None, 10, Duration::ZERO).wait()?;
    let cur = page.cursor.encode();
    h.clear().wait()?;
    h.tasks.create(task("b")).wait()?;
    let end = match h.changes.read(Some(&cur), 10, Duration::ZERO).wait() {
        Err(Error::Rescan(end)) => end,
        other => panic!("expected a rescan, got {other:?}"),
    };
    // From the cursor the error carries, only what comes later.
    h.tasks.create(task("c")).wait()?;
    let p = h.changes.read(Some(&end), 10, Duration::ZERO).wait()?;
    assert_eq!(kinds(&p), [t("tasks", "c", 1, "created")]);
    Ok(())
}

both!(a_reader_behind_the_retention_is_asked_to_rescan);
fn a_reader_behind_the_retention_is_asked_to_rescan(h: &Hub) -> Result<()> {
    h.tasks.create(task("first")).wait()?;
    let cur = h
        .changes
        .read(None, 10, Duration::ZERO)
        .wait()?
        .cursor
        .encode();
    // More than the feed keeps, in batches (Redis trims about MAX_LEN: give it room).
    let n = MAX_LEN as usize + 1_500;
    for chunk in 0..(n / 1000 + 1) {
        let batch = (0..1000).map(|i| task(&format!("t{chunk}-{i}"))).collect();
        h.tasks.create_many(batch).wait()?;
    }
    assert!(matches!(
        h.changes.read(Some(&cur), 10, Duration::ZERO).wait(),
        Err(Error::Rescan(_))
    ));
    Ok(())
}

both!(a_blocking_read_wakes_on_a_write);
fn a_blocking_read_wakes_on_a_write(h: &Hub) -> Result<()> {
    let end = h.changes.end().wait()?.encode();
    let tasks = h.tasks.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        tasks.create(task("late")).wait()
    });
    let t0 = Instant::now();
    let p = h
        .changes
        .read(Some(&end), 10, Duration::from_secs(10))
        .wait()?;
    writer
        .join()
        .map_err(|_| Error::Backend("writer panicked".into()))??;
    assert_eq!(kinds(&p), [t("tasks", "late", 1, "created")]);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "woke late: {:?}",
        t0.elapsed()
    );
    Ok(())
}

#[test]
fn the_lua_prelude_keeps_as_many_entries_as_the_rust_side() {
    let prelude = include_str!("../engine/lua/prelude.lua");
    assert!(prelude.contains(&format!("local CHANGES_MAX_LEN = {MAX_LEN}\n")));
}
