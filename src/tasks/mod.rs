//! Tasks with LLM-first indexing: the model supplies intent, keywords, patterns, confidence
//! and related ids; the store indexes them in the same atomic step as the task, and search
//! combines them. Behaviour is defined here once; `sqlite` and `redis` implement it.

pub mod cursor;
pub mod dump;
pub mod handoff;
pub mod model;
pub mod redis;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use self::handoff::{handoff, Handoff, HandoffAction};
pub use self::model::{NewTask, Order, Page, Query, Task, TaskPatch};
use crate::engine::{tri, Backend, Op};
use crate::engine::{Capability, Migration};
use crate::error::{Error, Result};
use crate::ids;

/// This capability's row in the registry (`crate::registry`).
pub const CAPABILITY: Capability = Capability {
    name: "tasks",
    migrations: &[
        Migration {
            version: 1,
            sql: sqlite::SCHEMA,
        },
        Migration {
            version: 25,
            sql: sqlite::ARCHIVE_SCHEMA,
        },
    ],
    rows: sqlite::rows,
    clear: sqlite::clear,
    topic: None,
    tag: "tasks",
    partitioned: false,
    changes: true,
    sweep: None,
    export: dump::export,
    import: dump::import,
};

/// Most tasks one `create_many` or `get_many` call takes.
pub const MAX_BATCH: usize = 10_000;

/// The tasks of one namespace.
#[derive(Clone)]
pub struct Tasks {
    backend: Backend,
    ns: Arc<str>,
}

impl Tasks {
    /// Tasks of `ns` on `backend`.
    pub fn new(backend: Backend, ns: Arc<str>) -> Tasks {
        Tasks { backend, ns }
    }

    fn ns(&self) -> String {
        self.ns.to_string()
    }

    /// Creates one task.
    pub fn create(&self, t: NewTask) -> Op<Task> {
        self.create_many(vec![t]).map(|mut v| v.remove(0))
    }

    /// Creates tasks atomically: all or none.
    pub fn create_many(&self, items: Vec<NewTask>) -> Op<Vec<Task>> {
        if items.is_empty() {
            return Op::Ready(Ok(vec![]));
        }
        if items.len() > MAX_BATCH {
            return Op::Ready(Err(Error::validation(format!(
                "at most {MAX_BATCH} tasks per call, got {}",
                items.len()
            ))));
        }
        let at = model::now();
        let tasks: Vec<Task> = tri!(items
            .into_iter()
            .map(|n| n.into_task(at))
            .collect::<Result<_>>());
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = tasks.iter().find(|t| !seen.insert(t.id.as_str())) {
            return Op::Ready(Err(Error::Conflict(format!(
                "task id {:?} appears twice in the batch",
                dup.id
            ))));
        }
        self.backend.call(
            (self.ns(), tasks),
            |db, (ns, tasks)| sqlite::create_many(db, &ns, tasks),
            |r, c, (ns, tasks)| redis::create_many(r, c, ns, tasks),
        )
    }

    /// One task (NotFound if missing).
    pub fn get(&self, id: &str) -> Op<Task> {
        let id = id.to_string();
        let missing = format!("no task {id:?}");
        self.get_many(vec![id])
            .and_then(move |mut v| v.pop().flatten().ok_or(Error::NotFound(missing)))
    }

    /// Tasks by id; None where missing.
    pub fn get_many(&self, ids_: Vec<String>) -> Op<Vec<Option<Task>>> {
        if ids_.len() > MAX_BATCH {
            return Op::Ready(Err(Error::validation(format!(
                "at most {MAX_BATCH} ids per call"
            ))));
        }
        if let Some(e) = ids_.iter().find_map(|i| ids::id("task id", i).err()) {
            return Op::Ready(Err(e));
        }
        self.backend.call(
            (self.ns(), ids_),
            |db, (ns, ids_)| sqlite::get_many(db, &ns, &ids_),
            |r, c, (ns, ids_)| redis::get_many(r, c, ns, ids_),
        )
    }

    /// Partial update; `if_version` makes it fail with Conflict when the task moved on.
    pub fn update(&self, id: &str, patch: TaskPatch, if_version: Option<u64>) -> Op<Task> {
        tri!(ids::id("task id", id).and_then(|_| patch.validate()));
        let at = model::now();
        self.backend.call(
            (self.ns(), id.to_string(), patch),
            move |db, (ns, id, patch)| sqlite::update(db, &ns, &id, patch, if_version, at),
            move |r, c, (ns, id, patch)| redis::update(r, c, ns, id, patch, if_version, at),
        )
    }

    /// Deletes a task and all of its index entries; true if it existed.
    pub fn delete(&self, id: &str) -> Op<bool> {
        tri!(ids::id("task id", id));
        self.backend.call(
            (self.ns(), id.to_string()),
            |db, (ns, id)| sqlite::delete(db, &ns, &id),
            |r, c, (ns, id)| redis::delete(r, c, ns, id),
        )
    }

    /// Applies a model's handoff (`{taskId, intent, keywords, ...}`): creates, updates or
    /// upserts the task with the metadata the model supplied.
    pub fn apply_handoff(&self, v: &serde_json::Value) -> Op<Task> {
        let h = tri!(handoff(v));
        let at = model::now();
        let create = tri!(h.create.into_task(at));
        tri!(h.patch.validate());
        let must = match h.action {
            HandoffAction::Create => Some(false),
            HandoffAction::Update => Some(true),
            HandoffAction::Upsert => None,
        };
        self.backend.call(
            (self.ns(), create, h.patch),
            move |db, (ns, create, patch)| sqlite::upsert(db, &ns, create, patch, must, at),
            move |r, c, (ns, create, patch)| redis::upsert(r, c, ns, create, patch, must, at),
        )
    }

    /// Searches; see [`Query`].
    pub fn search(&self, q: Query) -> Op<Page> {
        let q = tri!(q.normalized());
        self.backend.call(
            (self.ns(), q),
            |db, (ns, q)| sqlite::search(db, &ns, &q),
            |r, c, (ns, q)| redis::search(r, c, ns, q),
        )
    }

    /// Tasks related to `id` in either direction, by id.
    pub fn related(&self, id: &str) -> Op<Vec<Task>> {
        tri!(ids::id("task id", id));
        self.backend.call(
            (self.ns(), id.to_string()),
            |db, (ns, id)| sqlite::related(db, &ns, &id),
            |r, c, (ns, id)| redis::related(r, c, ns, id),
        )
    }

    /// Number of tasks in the namespace.
    pub fn count(&self) -> Op<u64> {
        self.backend
            .call(self.ns(), |db, ns| sqlite::count(db, &ns), redis::count)
    }

    /// The stored index as `(kind, term, id)` rows, sorted (for consistency checks).
    pub fn dump_index(&self) -> Op<Vec<(String, String, String)>> {
        self.backend.call(
            self.ns(),
            |db, ns| sqlite::dump_index(db, &ns),
            |r, _c, ns| redis::dump_index(r, ns),
        )
    }
}

/// The index that `tasks` should have, recomputed from the records alone.
pub fn expected_index(tasks: &[Task]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for t in tasks {
        for (k, term) in t.index_terms() {
            out.push((k.to_string(), term, t.id.clone()));
        }
        for r in &t.related {
            out.push(("r".to_string(), r.clone(), t.id.clone()));
        }
    }
    out.sort();
    out
}
