//! `hub.tasks`: the task index from Python. Argument parsing builds a core `Op` once; the sync
//! class waits on it with the GIL released, the async class returns an awaitable.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use super::convert::{json_to_py, py_to_json, str_list, text, Text};
use super::errors::validation;
use super::{run_async, run_sync};
use crate::engine::Op;
use crate::hub::Hub as CoreHub;
use crate::tasks::{self as core, NewTask, Order, Query, TaskPatch};

/// A task as stored.
#[pyclass(frozen, module = "zerolag._core", name = "Task")]
pub struct Task {
    pub(crate) t: core::Task,
}

fn opt_json<'py>(py: Python<'py>, v: &Option<Value>) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Some(v) => json_to_py(py, v),
        None => Ok(py.None().into_bound(py)),
    }
}

#[pymethods]
impl Task {
    #[getter]
    fn id(&self) -> &str {
        &self.t.id
    }
    #[getter]
    fn title(&self) -> &str {
        &self.t.title
    }
    #[getter]
    fn description(&self) -> &str {
        &self.t.description
    }
    #[getter]
    fn intent(&self) -> Option<&str> {
        self.t.intent.as_deref()
    }
    #[getter]
    fn keywords(&self) -> Vec<String> {
        self.t.keywords.clone()
    }
    #[getter]
    fn patterns(&self) -> Vec<String> {
        self.t.patterns.clone()
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.t.confidence
    }
    #[getter]
    fn complexity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        opt_json(py, &self.t.complexity)
    }
    #[getter]
    fn status(&self) -> &str {
        &self.t.status
    }
    #[getter]
    fn progress(&self) -> f64 {
        self.t.progress
    }
    #[getter]
    fn related(&self) -> Vec<String> {
        self.t.related.clone()
    }
    #[getter]
    fn context_cascade(&self) -> Option<&str> {
        self.t.context_cascade.as_deref()
    }
    #[getter]
    fn estimated_effort(&self) -> Option<&str> {
        self.t.estimated_effort.as_deref()
    }
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.t.metadata)
    }
    #[getter]
    fn created_at(&self) -> f64 {
        self.t.created_at
    }
    #[getter]
    fn updated_at(&self) -> f64 {
        self.t.updated_at
    }
    #[getter]
    fn version(&self) -> u64 {
        self.t.version
    }

    /// All fields as a plain dict (JSON-ready).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&self.t).map_err(|e| validation(e.to_string()))?;
        json_to_py(py, &v)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Task>().is_ok_and(|o| o.get().t == self.t)
    }

    /// The task as an HTML table (Jupyter).
    fn _repr_html_(&self) -> String {
        let t = &self.t;
        super::html::fields(
            &format!("Task {}", t.id),
            &[
                ("title", t.title.clone()),
                ("intent", t.intent.clone().unwrap_or_default()),
                ("keywords", t.keywords.join(", ")),
                ("patterns", t.patterns.join(", ")),
                ("confidence", format!("{:.2}", t.confidence)),
                ("status", t.status.clone()),
                ("progress", format!("{:.0} %", t.progress * 100.0)),
                ("related", t.related.join(", ")),
                ("version", t.version.to_string()),
            ],
        )
    }

    fn __repr__(&self) -> String {
        let intent = match &self.t.intent {
            Some(i) => format!("{i:?}"),
            None => "None".to_string(),
        };
        format!(
            "Task(id={:?}, title={:?}, intent={intent}, keywords={:?}, confidence={}, status={:?}, version={})",
            self.t.id, self.t.title, self.t.keywords, self.t.confidence, self.t.status, self.t.version
        )
    }
}

/// One page of search results; iterate it or read `.tasks`; pass `.next_cursor` back to
/// `search(cursor=...)` for the next page.
#[pyclass(frozen, module = "zerolag._core", name = "SearchPage")]
pub struct SearchPage {
    tasks: Vec<Py<Task>>,
    #[pyo3(get)]
    next_cursor: Option<String>,
}

#[pymethods]
impl SearchPage {
    #[getter]
    fn tasks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.tasks.iter().map(|t| t.clone_ref(py)))
    }
    fn __len__(&self) -> usize {
        self.tasks.len()
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.tasks(py)?.into_any().try_iter()?.into_any())
    }
    /// The page as an HTML table, one row per task (Jupyter).
    fn _repr_html_(&self, py: Python<'_>) -> String {
        let rows: Vec<Vec<String>> = self
            .tasks
            .iter()
            .map(|t| {
                let t = &t.bind(py).get().t;
                vec![
                    t.id.clone(),
                    t.title.clone(),
                    t.intent.clone().unwrap_or_default(),
                    t.keywords.join(", "),
                    format!("{:.2}", t.confidence),
                    t.status.clone(),
                    format!("{:.0} %", t.progress * 100.0),
                ]
            })
            .collect();
        let more = match &self.next_cursor {
            Some(_) => ", more after this page",
            None => "",
        };
        super::html::table(
            &format!("{} tasks{more}", self.tasks.len()),
            &[
                "id",
                "title",
                "intent",
                "keywords",
                "confidence",
                "status",
                "progress",
            ],
            &rows,
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "SearchPage({} tasks, next_cursor={:?})",
            self.tasks.len(),
            self.next_cursor
        )
    }
}

fn page(p: core::Page) -> PyResult<SearchPage> {
    Python::attach(|py| {
        let tasks = p
            .tasks
            .into_iter()
            .map(|t| Py::new(py, Task { t }))
            .collect::<PyResult<_>>()?;
        Ok(SearchPage {
            tasks,
            next_cursor: p.next_cursor,
        })
    })
}

fn task(t: core::Task) -> PyResult<Task> {
    Ok(Task { t })
}

fn tasks_vec(v: Vec<core::Task>) -> PyResult<Vec<Task>> {
    Ok(v.into_iter().map(|t| Task { t }).collect())
}

fn opt_tasks(v: Vec<Option<core::Task>>) -> PyResult<Vec<Option<Task>>> {
    Ok(v.into_iter().map(|t| t.map(|t| Task { t })).collect())
}

fn same<T>(v: T) -> PyResult<T> {
    Ok(v)
}

/// Builds a NewTask from a mapping of field names to values.
fn new_task(d: &Bound<'_, PyAny>) -> PyResult<NewTask> {
    if let Ok(t) = d.cast::<Task>() {
        let t = &t.get().t;
        return Ok(NewTask {
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
        });
    }
    let d = d.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err("each task must be a dict of fields (title, intent, keywords, ...)")
    })?;
    let mut n = NewTask::default();
    let mut has_title = false;
    for (k, v) in d.iter() {
        let key: String = k
            .extract()
            .map_err(|_| PyTypeError::new_err("task field names must be str"))?;
        if v.is_none() && key != "complexity" && key != "metadata" {
            continue;
        }
        match key.as_str() {
            "id" => n.id = Some(text(&v, "id")?),
            "title" => {
                n.title = text(&v, "title")?;
                has_title = true;
            }
            "description" => n.description = Some(text(&v, "description")?),
            "intent" => n.intent = Some(text(&v, "intent")?),
            "keywords" => n.keywords = str_list(&v, "keywords")?,
            "patterns" => n.patterns = str_list(&v, "patterns")?,
            "confidence" => n.confidence = Some(v.extract()?),
            "complexity" => n.complexity = Some(py_to_json(&v, "complexity")?),
            "status" => n.status = Some(text(&v, "status")?),
            "progress" => n.progress = Some(v.extract()?),
            "related" => n.related = str_list(&v, "related")?,
            "context_cascade" => n.context_cascade = Some(text(&v, "context_cascade")?),
            "estimated_effort" => n.estimated_effort = Some(text(&v, "estimated_effort")?),
            "metadata" => n.metadata = Some(py_to_json(&v, "metadata")?),
            other => return Err(validation(format!("unknown task field {other:?}"))),
        }
    }
    if !has_title {
        return Err(validation("a task needs a title"));
    }
    Ok(n)
}

/// Builds a patch from keyword arguments; None clears the optional fields.
fn patch(fields: Option<&Bound<'_, PyDict>>) -> PyResult<TaskPatch> {
    let mut p = TaskPatch::default();
    let Some(fields) = fields else { return Ok(p) };
    for (k, v) in fields.iter() {
        let key = text(&k, "fields")?;
        let none = v.is_none();
        let refuse_none = |what: &str| -> PyResult<()> {
            if none {
                Err(validation(format!("{what} cannot be set to None")))
            } else {
                Ok(())
            }
        };
        match key.as_str() {
            "title" => {
                refuse_none("title")?;
                p.title = Some(text(&v, "title")?)
            }
            "description" => {
                p.description = Some(if none {
                    String::new()
                } else {
                    text(&v, "description")?
                })
            }
            "intent" => {
                p.intent = Some(if none {
                    None
                } else {
                    Some(text(&v, "intent")?)
                })
            }
            "keywords" => {
                p.keywords = Some(if none {
                    vec![]
                } else {
                    str_list(&v, "keywords")?
                })
            }
            "patterns" => {
                p.patterns = Some(if none {
                    vec![]
                } else {
                    str_list(&v, "patterns")?
                })
            }
            "confidence" => {
                refuse_none("confidence")?;
                p.confidence = Some(v.extract()?)
            }
            "complexity" => {
                p.complexity = Some(if none {
                    None
                } else {
                    Some(py_to_json(&v, "complexity")?)
                })
            }
            "status" => {
                refuse_none("status")?;
                p.status = Some(text(&v, "status")?)
            }
            "progress" => {
                refuse_none("progress")?;
                p.progress = Some(v.extract()?)
            }
            "related" => {
                p.related = Some(if none {
                    vec![]
                } else {
                    str_list(&v, "related")?
                })
            }
            "context_cascade" => {
                p.context_cascade = Some(if none {
                    None
                } else {
                    Some(text(&v, "context_cascade")?)
                })
            }
            "estimated_effort" => {
                p.estimated_effort = Some(if none {
                    None
                } else {
                    Some(text(&v, "estimated_effort")?)
                })
            }
            "metadata" => {
                refuse_none("metadata")?;
                p.metadata = Some(py_to_json(&v, "metadata")?)
            }
            other => return Err(validation(format!("unknown task field {other:?}"))),
        }
    }
    Ok(p)
}

#[allow(clippy::too_many_arguments)]
fn query(
    intent: Option<String>,
    keywords: Option<&Bound<'_, PyAny>>,
    any_keywords: Option<&Bound<'_, PyAny>>,
    patterns: Option<&Bound<'_, PyAny>>,
    status: Option<String>,
    min_confidence: Option<f64>,
    max_confidence: Option<f64>,
    related_to: Option<String>,
    text: Option<String>,
    order: &str,
    limit: usize,
    cursor: Option<String>,
) -> PyResult<Query> {
    let list = |o: Option<&Bound<'_, PyAny>>, what| {
        o.map(|o| str_list(o, what))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(Query {
        intent,
        keywords_all: list(keywords, "keywords")?,
        keywords_any: list(any_keywords, "any_keywords")?,
        patterns: list(patterns, "patterns")?,
        status,
        min_confidence,
        max_confidence,
        related_to,
        text,
        order: match order {
            "confidence" => Order::Confidence,
            "recent" => Order::Recent,
            other => {
                return Err(validation(format!(
                    "order must be \"confidence\" or \"recent\", got {other:?}"
                )))
            }
        },
        limit,
        cursor,
    })
}

fn create_op(hub: &CoreHub, title: String, fields: &Bound<'_, PyDict>) -> PyResult<Op<core::Task>> {
    let d = fields.copy()?;
    d.set_item("title", title)?;
    Ok(hub.tasks.create(new_task(d.as_any())?))
}

fn many_op(hub: &CoreHub, items: &Bound<'_, PyAny>) -> PyResult<Op<Vec<core::Task>>> {
    let mut v = Vec::new();
    for x in items.try_iter()? {
        v.push(new_task(&x?)?);
    }
    Ok(hub.tasks.create_many(v))
}

fn ids_op(hub: &CoreHub, ids: &Bound<'_, PyAny>) -> PyResult<Op<Vec<Option<core::Task>>>> {
    Ok(hub.tasks.get_many(str_list(ids, "ids")?))
}

fn handoff_op(hub: &CoreHub, handoff: &Bound<'_, PyAny>) -> PyResult<Op<core::Task>> {
    Ok(hub.tasks.apply_handoff(&py_to_json(handoff, "handoff")?))
}

macro_rules! task_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            #[pyo3(signature = (title, **fields))]
            fn create<'py>(&self, py: Python<'py>, title: Text, fields: Option<&Bound<'py, PyDict>>) -> PyResult<$ret> {
                let f = match fields {
                    Some(f) => f.clone(),
                    None => PyDict::new(py),
                };
                $run(py, create_op(&self.hub, title.into_string(), &f)?, task)
            }

            fn create_many<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<$ret> {
                $run(py, many_op(&self.hub, items)?, tasks_vec)
            }

            fn get<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                $run(py, self.hub.tasks.get(&id), task)
            }

            fn get_many<'py>(&self, py: Python<'py>, ids: &Bound<'py, PyAny>) -> PyResult<$ret> {
                $run(py, ids_op(&self.hub, ids)?, opt_tasks)
            }

            #[pyo3(signature = (id, *, if_version=None, **fields))]
            fn update<'py>(
                &self,
                py: Python<'py>,
                id: Text,
                if_version: Option<u64>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<$ret> {
                $run(py, self.hub.tasks.update(&id, patch(fields)?, if_version), task)
            }

            fn delete<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                $run(py, self.hub.tasks.delete(&id), same)
            }

            fn apply_handoff<'py>(&self, py: Python<'py>, handoff: &Bound<'py, PyAny>) -> PyResult<$ret> {
                $run(py, handoff_op(&self.hub, handoff)?, task)
            }

            #[pyo3(signature = (*, intent=None, keywords=None, any_keywords=None, patterns=None, status=None,
                min_confidence=None, max_confidence=None, related_to=None, text=None, order=Text::from("confidence"),
                limit=20, cursor=None),
                text_signature = "($self, *, intent=None, keywords=None, any_keywords=None, patterns=None, status=None, min_confidence=None, max_confidence=None, related_to=None, text=None, order=\"confidence\", limit=20, cursor=None)")]
            #[allow(clippy::too_many_arguments)]
            fn search<'py>(
                &self,
                py: Python<'py>,
                intent: Option<Text>,
                keywords: Option<&Bound<'py, PyAny>>,
                any_keywords: Option<&Bound<'py, PyAny>>,
                patterns: Option<&Bound<'py, PyAny>>,
                status: Option<Text>,
                min_confidence: Option<f64>,
                max_confidence: Option<f64>,
                related_to: Option<Text>,
                text: Option<Text>,
                order: Text,
                limit: usize,
                cursor: Option<Text>,
            ) -> PyResult<$ret> {
                let q = query(
                    intent.map(Text::into_string), keywords, any_keywords, patterns, status.map(Text::into_string), min_confidence, max_confidence,
                    related_to.map(Text::into_string), text.map(Text::into_string), &order, limit, cursor.map(Text::into_string),
                )?;
                $run(py, self.hub.tasks.search(q), page)
            }

            fn related<'py>(&self, py: Python<'py>, id: Text) -> PyResult<$ret> {
                $run(py, self.hub.tasks.related(&id), tasks_vec)
            }

            fn count<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.tasks.count(), same)
            }

            /// The stored index as sorted `(kind, term, id)` tuples (for consistency checks).
            fn _dump_index<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.tasks.dump_index(), same)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.tasks` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Tasks")]
pub struct Tasks {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.tasks` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncTasks")]
pub struct AsyncTasks {
    pub(crate) hub: Arc<CoreHub>,
}

task_methods!(Tasks, Py<PyAny>, run_sync);
task_methods!(AsyncTasks, Bound<'py, PyAny>, run_async);
