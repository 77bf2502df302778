//! The handoff shape of a model reply (`{"action", "taskId", "intent", ...}`) turned into a create or an update.

use serde_json::{Map, Value};

use super::model::{NewTask, TaskPatch};
use crate::error::{Error, Result};

/// Turns the handoff shape of a model reply into a create or an update.
///
/// Accepted keys: `action` (`create_task`, `update_task`, `upsert_task`; default upsert),
/// `taskId`/`task_id`/`id`, `title`, `description`, `intent`, `keywords`, `patterns`,
/// `confidence`, `related_tasks`/`related`, `context_cascade`, `estimated_effort`,
/// `complexity`, `status`, `progress`, `metadata`. Unknown keys go into metadata under
/// `handoff`, so nothing the model said is dropped.
pub fn handoff(v: &Value) -> Result<Handoff> {
    let Value::Object(m) = v else {
        return Err(Error::validation("a handoff must be a mapping"));
    };
    let get_str = |k: &str| -> Result<Option<String>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(Error::validation(format!(
                "handoff field {k} must be text, got {other}"
            ))),
        }
    };
    let get_list = |k: &str| -> Result<Vec<String>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| match x {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(Error::validation(format!(
                        "handoff field {k} must list text, got {other}"
                    ))),
                })
                .collect(),
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()),
            Some(other) => Err(Error::validation(format!(
                "handoff field {k} must be a list, got {other}"
            ))),
        }
    };
    let get_f = |k: &str| -> Result<Option<f64>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                Error::validation(format!("handoff field {k} must be a number, got {s:?}"))
            }),
            Some(other) => Err(Error::validation(format!(
                "handoff field {k} must be a number, got {other}"
            ))),
        }
    };
    let action = get_str("action")?.unwrap_or_else(|| "upsert_task".into());
    let id = match get_str("taskId")? {
        Some(i) => Some(i),
        None => match get_str("task_id")? {
            Some(i) => Some(i),
            None => get_str("id")?,
        },
    };
    let known = [
        "action",
        "taskId",
        "task_id",
        "id",
        "title",
        "description",
        "intent",
        "keywords",
        "patterns",
        "confidence",
        "related_tasks",
        "related",
        "context_cascade",
        "estimated_effort",
        "complexity",
        "status",
        "progress",
        "metadata",
    ];
    let mut meta = match m.get("metadata") {
        Some(Value::Object(o)) => o.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(Error::validation(format!(
                "handoff metadata must be a mapping, got {other}"
            )))
        }
    };
    let extra: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !extra.is_empty() {
        meta.insert("handoff".into(), Value::Object(extra));
    }
    let mut related = get_list("related_tasks")?;
    related.extend(get_list("related")?);
    let has = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
    let title = get_str("title")?;
    let patch = TaskPatch {
        title: title.clone(),
        description: get_str("description")?,
        intent: has("intent").then(|| get_str("intent")).transpose()?,
        keywords: has("keywords").then(|| get_list("keywords")).transpose()?,
        patterns: has("patterns").then(|| get_list("patterns")).transpose()?,
        confidence: get_f("confidence")?,
        complexity: has("complexity").then(|| m.get("complexity").cloned()),
        status: get_str("status")?,
        progress: get_f("progress")?,
        related: (has("related_tasks") || has("related")).then(|| related.clone()),
        context_cascade: has("context_cascade")
            .then(|| get_str("context_cascade"))
            .transpose()?,
        estimated_effort: has("estimated_effort")
            .then(|| get_str("estimated_effort"))
            .transpose()?,
        metadata: if meta.is_empty() {
            None
        } else {
            Some(Value::Object(meta.clone()))
        },
    };
    // A task created from a handoff without a title is named after its intent or id.
    let fallback_title = title
        .or_else(|| get_str("intent").ok().flatten())
        .or_else(|| id.clone())
        .unwrap_or_default();
    let create = NewTask {
        id: id.clone(),
        title: fallback_title,
        description: get_str("description")?,
        intent: get_str("intent")?,
        keywords: get_list("keywords")?,
        patterns: get_list("patterns")?,
        confidence: get_f("confidence")?,
        complexity: m.get("complexity").cloned(),
        status: get_str("status")?,
        progress: get_f("progress")?,
        related,
        context_cascade: get_str("context_cascade")?,
        estimated_effort: get_str("estimated_effort")?,
        metadata: if meta.is_empty() {
            None
        } else {
            Some(Value::Object(meta))
        },
    };
    let action = match action.as_str() {
        "create_task" | "create" => HandoffAction::Create,
        "update_task" | "update" => HandoffAction::Update,
        "upsert_task" | "upsert" => HandoffAction::Upsert,
        other => {
            return Err(Error::validation(format!(
                "handoff action {other:?} is not one of create_task, update_task, upsert_task"
            )))
        }
    };
    if action != HandoffAction::Create && id.is_none() {
        return Err(Error::validation("an update handoff needs taskId"));
    }
    Ok(Handoff {
        action,
        id,
        create,
        patch,
    })
}

/// What a handoff asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffAction {
    /// Create; fails if the id exists.
    Create,
    /// Update; fails if the id does not exist.
    Update,
    /// Update if it exists, else create.
    Upsert,
}

/// A parsed handoff: the create and the patch it implies.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// The action.
    pub action: HandoffAction,
    /// The task id, if given.
    pub id: Option<String>,
    /// Used when the task is created.
    pub create: NewTask,
    /// Used when the task exists.
    pub patch: TaskPatch,
}
