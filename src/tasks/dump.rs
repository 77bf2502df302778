//! Tasks in a namespace export (`crate::transfer`, docs/export.md): one record per task, the
//! whole stored record (id, version, created and updated times, related ids, metadata).
//! Exported newest change first, page by page through the search order; imported with the
//! create path of each backend, which builds the index from the record exactly as it was
//! built when the task was written (the index is a function of the records).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{NewTask, Order, Query, Task};
use super::{redis, sqlite, Tasks};
use crate::engine::{Backend, Importer, Op, Page, Record};
use crate::error::Result;
use crate::transfer::record::{self, BATCH, PAGE};

/// A tasks record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Rec {
    /// One task as stored.
    Task(Task),
}

/// One page of the namespace's tasks (most recently updated first).
pub fn export(b: &Backend, ns: &str, cursor: Value) -> Op<Page> {
    let cursor: Option<String> = crate::engine::tri!(record::cursor(cursor));
    let q = Query {
        order: Order::Recent,
        limit: PAGE,
        cursor,
        ..Query::default()
    };
    Tasks::new(b.clone(), ns.into()).search(q).and_then(|p| {
        Ok(Page {
            records: p
                .tasks
                .into_iter()
                .map(|t| record::record(&Rec::Task(t)))
                .collect::<Result<_>>()?,
            next: p.next_cursor.map(Value::String),
        })
    })
}

/// Writes tasks back in batches (`create_many` of each backend: a task that exists already
/// is a ConflictError).
pub fn import(b: &Backend, ns: &str) -> Box<dyn Importer> {
    Box::new(Import {
        b: b.clone(),
        ns: ns.to_string(),
        batch: Vec::new(),
    })
}

struct Import {
    b: Backend,
    ns: String,
    batch: Vec<Task>,
}

/// `t` if the tasks capability would store it as it is (the create path's validation and
/// normalisation, with the times and version of the record).
fn check(t: Task) -> Result<Task> {
    record::time("created_at", t.created_at)?;
    record::time("updated_at", t.updated_at)?;
    if t.version == 0 {
        return Err(crate::Error::validation(format!(
            "task {:?} has version 0 (versions start at 1)",
            t.id
        )));
    }
    let new = NewTask {
        id: Some(t.id.clone()),
        title: t.title.clone(),
        description: Some(t.description.clone()),
        intent: t.intent.clone(),
        keywords: t.keywords.clone(),
        patterns: t.patterns.clone(),
        confidence: Some(t.confidence),
        complexity: t.complexity.clone(),
        status: Some(t.status.clone()),
        progress: Some(t.progress),
        related: t.related.clone(),
        context_cascade: t.context_cascade.clone(),
        estimated_effort: t.estimated_effort.clone(),
        metadata: Some(t.metadata.clone()),
    };
    let mut stored = new.into_task(t.created_at)?;
    stored.updated_at = t.updated_at;
    stored.version = t.version;
    record::same(&format!("task {:?}", t.id), &t, &stored)?;
    Ok(t)
}

impl Import {
    fn flush(&mut self) -> Option<Op<()>> {
        if self.batch.is_empty() {
            return None;
        }
        let tasks = std::mem::take(&mut self.batch);
        Some(
            self.b
                .call(
                    (self.ns.clone(), tasks),
                    |db, (ns, tasks)| sqlite::create_many(db, &ns, tasks),
                    |r, c, (ns, tasks)| redis::create_many(r, c, ns, tasks),
                )
                .map(|_| ()),
        )
    }
}

impl Importer for Import {
    fn add(&mut self, rec: Record) -> Result<Option<Op<()>>> {
        let keys: Vec<String> = rec.keys().cloned().collect();
        let Rec::Task(t) = record::parse("tasks", rec)?;
        let t = check(t)?;
        record::no_strangers("tasks", &keys, &record::record(&Rec::Task(t.clone()))?)?;
        if self.batch.iter().any(|x| x.id == t.id) {
            return Err(record::duplicate("task", &t.id));
        }
        self.batch.push(t);
        Ok(if self.batch.len() >= BATCH {
            self.flush()
        } else {
            None
        })
    }

    fn finish(&mut self) -> Result<Option<Op<()>>> {
        Ok(self.flush())
    }
}
