//! From validated commands to the jobs `send` queues: each command's job (from its kind's
//! template), the entity it is about, the label the status section gives it, and a task id
//! for each `tc`.

use std::collections::HashMap;

use rand::Rng;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jobs::NewJob;
use crate::protocol::Command;

/// What a session remembers of a queued command: line, kind, entity, label.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// The canonical command line.
    pub line: String,
    /// `tc`, `ts`, …
    pub kind: &'static str,
    /// What it is about.
    pub entity: String,
    /// How the status section names it.
    pub label: String,
}

/// The jobs to enqueue (same order as the commands) and what to remember of each.
#[derive(Debug)]
pub struct Plan {
    /// One job per command.
    pub jobs: Vec<NewJob>,
    /// One entry per command.
    pub pending: Vec<Pending>,
    /// The task ids of the `tc` commands, in order.
    pub task_ids: Vec<String>,
}

/// A fresh task id: `t_` and 12 random hex digits.
pub fn new_task_id() -> String {
    let n: u64 = rand::rng().random::<u64>() & 0xffff_ffff_ffff;
    format!("t_{n:012x}")
}

/// Plans the jobs of `commands` for `session`. `templates`: the job of each registered kind
/// (its job kind and options). `tasks`: for each `tc` in order, its task id and whether it
/// is indexed already (by the caller, from a handoff); missing entries get a fresh id and
/// are indexed by the worker that picks the command up (`"n": 1` in the payload).
pub fn plan(
    session: &str,
    commands: &[Command],
    templates: &HashMap<String, NewJob>,
    tasks: &[(String, bool)],
) -> Result<Plan> {
    let mut out = Plan {
        jobs: Vec::with_capacity(commands.len()),
        pending: Vec::with_capacity(commands.len()),
        task_ids: Vec::new(),
    };
    let mut given = tasks.iter();
    for c in commands {
        let kind = c.spec().prefix;
        let template = templates
            .get(kind)
            .ok_or_else(|| Error::Validation(format!("command kind {kind:?} is not registered")))?;
        let line = c.encode();
        let mut payload = Map::new();
        payload.insert("s".into(), Value::from(session));
        payload.insert("c".into(), Value::from(line.as_str()));
        let (entity, label) = match c {
            Command::TaskCreate(t) => {
                let (id, indexed) = match given.next() {
                    Some((id, indexed)) => (id.clone(), *indexed),
                    None => (new_task_id(), false),
                };
                payload.insert("t".into(), Value::from(id.as_str()));
                if !indexed {
                    payload.insert("n".into(), Value::from(1)); // the worker indexes it
                }
                out.task_ids.push(id.clone());
                (id, t.title.clone())
            }
            Command::TaskSplit(t) => (t.task_id.clone(), format!("split {}", t.task_id)),
            Command::WorkflowStart(w) => {
                (w.workflow_id.clone(), format!("workflow {}", w.workflow_id))
            }
            Command::ContextLoad(x) => (x.context_id.clone(), format!("context {}", x.context_id)),
            Command::MemoryStore(m) => (m.key.clone(), format!("memory {}", m.key)),
        };
        payload.insert("e".into(), Value::from(entity.as_str()));
        let mut job = template.clone();
        job.payload = Value::Object(payload);
        out.jobs.push(job);
        out.pending.push(Pending {
            line,
            kind,
            entity,
            label,
        });
    }
    Ok(out)
}
