//! Tasks' part of an erase: metadata values equal to the subject are removed.
//!
//! The task itself stays (a task is shared work; who asked for it is metadata). Inside the
//! metadata object, at any depth, an object field whose value is the subject is removed and
//! an array element equal to it is dropped; the rest is kept. Each changed task is one update
//! (the change feed records it, the version grows).

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::tasks::model::{Order, Query, TaskPatch, MAX_LIMIT};
use crate::tasks::Tasks;

/// `v` without the subject: object fields and array elements equal to it dropped, at any
/// depth. None when nothing changed.
pub fn scrub(v: &Value, subject: &str) -> Option<Value> {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            let mut changed = false;
            for (k, x) in m {
                if x.as_str() == Some(subject) {
                    changed = true;
                    continue;
                }
                match scrub(x, subject) {
                    Some(y) => {
                        changed = true;
                        out.insert(k.clone(), y);
                    }
                    None => {
                        out.insert(k.clone(), x.clone());
                    }
                }
            }
            changed.then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            let mut changed = false;
            for x in a {
                if x.as_str() == Some(subject) {
                    changed = true;
                    continue;
                }
                match scrub(x, subject) {
                    Some(y) => {
                        changed = true;
                        out.push(y);
                    }
                    None => out.push(x.clone()),
                }
            }
            changed.then_some(Value::Array(out))
        }
        _ => None,
    }
}

/// The metadata patch that turns `old` into `new` (both objects): removed keys as null,
/// changed ones with their new value (the update merges it key by key).
fn patch(old: &Value, new: &Value) -> Value {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return new.clone();
    };
    let mut p = Map::new();
    for (k, v) in o {
        match n.get(k) {
            None => {
                p.insert(k.clone(), Value::Null);
            }
            Some(w) if w != v => {
                p.insert(k.clone(), w.clone());
            }
            Some(_) => {}
        }
    }
    Value::Object(p)
}

/// Removes `subject` from every task's metadata; returns how many tasks changed.
pub async fn erase(t: &Tasks, subject: &str) -> Result<u64> {
    let mut n = 0;
    let mut cursor = None;
    loop {
        let q = Query {
            order: Order::Confidence,
            limit: MAX_LIMIT,
            cursor: cursor.take(),
            ..Query::default()
        };
        let page = t.search(q).run().await?;
        for task in page.tasks {
            let (mut meta, mut version) = (task.metadata, task.version);
            // An update between the read and the write: read again and redo (a few times).
            for attempt in 0.. {
                let Some(clean) = scrub(&meta, subject) else {
                    break;
                };
                let p = TaskPatch {
                    metadata: Some(patch(&meta, &clean)),
                    ..TaskPatch::default()
                };
                match t.update(&task.id, p, Some(version)).run().await {
                    Ok(_) => {
                        n += 1;
                        break;
                    }
                    Err(Error::Conflict(_)) if attempt < 5 => {
                        let now = t.get(&task.id).run().await?;
                        (meta, version) = (now.metadata, now.version);
                    }
                    Err(Error::NotFound(_)) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}
