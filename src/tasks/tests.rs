//! Core tests of the task store, each run on the embedded store and on Redis (see
//! `crate::testkit`).

use serde_json::json;

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn new(id: &str, intent: &str, kws: &[&str]) -> NewTask {
    NewTask {
        id: Some(id.into()),
        title: format!("Task {id} about {intent}"),
        intent: Some(intent.into()),
        keywords: kws.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

both!(create_search_update_delete_keep_the_index_exact);
fn create_search_update_delete_keep_the_index_exact(h: &Hub) -> Result<()> {
    h.tasks
        .create_many(vec![
            new("a", "auth", &["jwt", "db"]),
            new("b", "auth", &["jwt"]),
            new("c", "docs", &[]),
        ])
        .wait()?;
    let q = Query {
        intent: Some("AUTH".into()),
        keywords_all: vec!["JWT".into()],
        limit: 10,
        ..Default::default()
    };
    let page = h.tasks.search(q).wait()?;
    let mut ids: Vec<_> = page.tasks.iter().map(|t| t.id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["a", "b"]);
    let patch = TaskPatch {
        keywords: Some(vec!["oauth".into()]),
        ..Default::default()
    };
    let t = h.tasks.update("a", patch, Some(1)).wait()?;
    assert_eq!(t.version, 2);
    let stale = h
        .tasks
        .update(
            "a",
            TaskPatch {
                title: Some("x".into()),
                ..Default::default()
            },
            Some(1),
        )
        .wait();
    assert!(matches!(stale, Err(Error::Conflict(_))));
    let all: Vec<Task> = h
        .tasks
        .get_many(vec!["a".into(), "b".into(), "c".into()])
        .wait()?
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(h.tasks.dump_index().wait()?, expected_index(&all));
    assert!(h.tasks.delete("a").wait()?);
    assert!(!h.tasks.delete("a").wait()?);
    assert!(matches!(h.tasks.get("a").wait(), Err(Error::NotFound(_))));
    Ok(())
}

both!(bad_input_is_a_validation_error_and_writes_nothing);
fn bad_input_is_a_validation_error_and_writes_nothing(h: &Hub) -> Result<()> {
    for bad in [
        new("*", "x", &[]),
        new("ok", "x", &["a b?"]),
        NewTask {
            title: " ".into(),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            h.tasks.create(bad).wait(),
            Err(Error::Validation(_))
        ));
    }
    assert_eq!(h.tasks.count().wait()?, 0);
    let bad_conf = NewTask {
        title: "t".into(),
        confidence: Some(f64::NAN),
        ..Default::default()
    };
    assert!(matches!(
        h.tasks.create(bad_conf).wait(),
        Err(Error::Validation(_))
    ));
    Ok(())
}

both!(handoff_upserts_and_keeps_unknown_fields);
fn handoff_upserts_and_keeps_unknown_fields(h: &Hub) -> Result<()> {
    let t = h
        .tasks
        .apply_handoff(
            &json!({"taskId": "x1", "intent": "auth", "confidence": "0.9", "why": "asked"}),
        )
        .wait()?;
    assert_eq!(t.title, "auth");
    assert_eq!(t.confidence, 0.9);
    assert_eq!(t.metadata, json!({"handoff": {"why": "asked"}}));
    let t = h
        .tasks
        .apply_handoff(&json!({"action": "update_task", "taskId": "x1", "keywords": "a, b"}))
        .wait()?;
    assert_eq!(t.keywords, ["a", "b"]);
    assert_eq!(t.version, 2);
    Ok(())
}

both!(pages_cover_everything_once);
fn pages_cover_everything_once(h: &Hub) -> Result<()> {
    let items: Vec<NewTask> = (0..95)
        .map(|i| NewTask {
            id: Some(format!("p{i}")),
            title: "t".into(),
            confidence: Some((i % 7) as f64 / 7.0),
            ..Default::default()
        })
        .collect();
    h.tasks.create_many(items).wait()?;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = h
            .tasks
            .search(Query {
                limit: 10,
                cursor: cursor.clone(),
                ..Default::default()
            })
            .wait()?;
        seen.extend(page.tasks.into_iter().map(|t| t.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let mut uniq = seen.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(seen.len(), 95);
    assert_eq!(uniq.len(), 95);
    Ok(())
}
