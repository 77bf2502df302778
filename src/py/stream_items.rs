//! The entries `hub.chat` and `hub.activity` return (`ChatEntry`, `ActivityItem`) and the
//! conversion of their arguments: messages and items checked (kind, size) before anything is
//! sent, each error naming its argument.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{json_to_py, py_to_json, text};
use super::errors::{invalid, to_py, validation};
use crate::error::Error;
use crate::streams::{Entry, NewEntry, Settings, Streams};

/// A core validation error as one about the argument `arg`.
pub(super) fn named(arg: &str, e: Error) -> PyErr {
    match e {
        Error::Validation(m) => invalid(arg, m),
        e => to_py(e),
    }
}

pub(super) fn json_text(v: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    serde_json::to_string(&py_to_json(v, what)?).map_err(|e| invalid(what, e))
}

pub(super) fn parsed<'py>(py: Python<'py>, t: &str) -> PyResult<Bound<'py, PyAny>> {
    let v: serde_json::Value = serde_json::from_str(t).map_err(Error::from)?;
    json_to_py(py, &v)
}

pub(super) fn settings(py: Python<'_>, s: Settings) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("max_len", s.max_len)?;
    d.set_item("max_size", s.max_size)?;
    Ok(d)
}

pub(super) fn first(ids: Vec<String>) -> PyResult<String> {
    ids.into_iter()
        .next()
        .ok_or_else(|| validation("nothing was appended"))
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return format!("{s:?}");
    }
    let cut: String = s.chars().take(max - 3).collect();
    format!("{:?}", format!("{cut}..."))
}

/// A chat message to append, checked (role, size).
pub(super) fn chat_new(
    logs: &Streams,
    role: String,
    content: String,
    meta: Option<&Bound<'_, PyAny>>,
) -> PyResult<NewEntry> {
    let meta = match meta {
        Some(m) if !m.is_none() => Some(json_text(m, "meta")?),
        _ => None,
    };
    let e = NewEntry {
        kind: role,
        body: content,
        meta,
    };
    (logs.kind().check_kind)(&e.kind).map_err(|x| named("role", x))?;
    logs.check_size(&e).map_err(|x| named("content", x))?;
    Ok(e)
}

/// An activity item to append, checked (kind, size).
pub(super) fn activity_new(
    logs: &Streams,
    kind: String,
    data: &Bound<'_, PyAny>,
) -> PyResult<NewEntry> {
    let e = NewEntry {
        kind,
        body: json_text(data, "data")?,
        meta: None,
    };
    (logs.kind().check_kind)(&e.kind).map_err(|x| named("kind", x))?;
    logs.check_size(&e).map_err(|x| named("data", x))?;
    Ok(e)
}

/// The fields of one item of a batch: a dict with exactly `names` (the last optional), or a
/// tuple of 2 or `names.len()` values.
fn fields<'py>(
    item: &Bound<'py, PyAny>,
    names: &[&str],
    what: &str,
) -> PyResult<Vec<Option<Bound<'py, PyAny>>>> {
    if let Ok(d) = item.cast::<PyDict>() {
        for k in d.keys() {
            let k = text(&k, what)?;
            if !names.contains(&k.as_str()) {
                return Err(invalid(
                    what,
                    format!("unknown key {k:?}; an item has {}", names.join(", ")),
                ));
            }
        }
        return names.iter().map(|n| d.get_item(n)).collect();
    }
    let t: Vec<Bound<'py, PyAny>> = item.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "each of {what} must be a dict or a tuple ({}), not {}",
            names.join(", "),
            item.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    if t.len() < 2 || t.len() > names.len() {
        return Err(invalid(
            what,
            format!(
                "a tuple item is ({}), got {} values",
                names.join(", "),
                t.len()
            ),
        ));
    }
    let mut out: Vec<Option<Bound<'py, PyAny>>> = t.into_iter().map(Some).collect();
    out.resize(names.len(), None);
    Ok(out)
}

fn required<'py>(
    v: Option<Bound<'py, PyAny>>,
    name: &str,
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    v.ok_or_else(|| invalid(what, format!("an item has no {name:?}")))
}

pub(super) fn chat_batch(logs: &Streams, messages: &Bound<'_, PyAny>) -> PyResult<Vec<NewEntry>> {
    let mut out = Vec::new();
    for m in messages.try_iter()? {
        let m = m?;
        let f = fields(&m, &["role", "content", "meta"], "messages")?;
        let mut it = f.into_iter();
        let (role, content, meta) = (
            it.next().flatten(),
            it.next().flatten(),
            it.next().flatten(),
        );
        let role = text(&required(role, "role", "messages")?, "role")?;
        let content = text(&required(content, "content", "messages")?, "content")?;
        out.push(chat_new(logs, role, content, meta.as_ref())?);
    }
    Ok(out)
}

pub(super) fn activity_batch(logs: &Streams, items: &Bound<'_, PyAny>) -> PyResult<Vec<NewEntry>> {
    let py = items.py();
    let mut out = Vec::new();
    for it in items.try_iter()? {
        let it = it?;
        let f = fields(&it, &["kind", "data"], "items")?;
        let mut f = f.into_iter();
        let (kind, data) = (f.next().flatten(), f.next().flatten());
        let kind = text(&required(kind, "kind", "items")?, "kind")?;
        let data = data.unwrap_or_else(|| py.None().into_bound(py));
        out.push(activity_new(logs, kind, &data)?);
    }
    Ok(out)
}

/// One chat message as stored.
#[pyclass(frozen, module = "zerolag._core", name = "ChatEntry")]
pub struct ChatEntry {
    pub(super) e: Entry,
}

#[pymethods]
impl ChatEntry {
    #[getter]
    fn id(&self) -> &str {
        &self.e.id
    }
    #[getter]
    fn conversation(&self) -> &str {
        &self.e.stream
    }
    #[getter]
    fn role(&self) -> &str {
        &self.e.kind
    }
    #[getter]
    fn content(&self) -> &str {
        &self.e.body
    }
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.e.meta {
            Some(t) => parsed(py, t),
            None => Ok(py.None().into_bound(py)),
        }
    }
    #[getter]
    fn time(&self) -> f64 {
        self.e.time()
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", &self.e.id)?;
        d.set_item("conversation", &self.e.stream)?;
        d.set_item("role", &self.e.kind)?;
        d.set_item("content", &self.e.body)?;
        d.set_item("meta", self.meta(py)?)?;
        d.set_item("time", self.e.time())?;
        Ok(d)
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<ChatEntry>().is_ok_and(|o| o.get().e == self.e)
    }
    fn __hash__(&self) -> u64 {
        hash(&self.e)
    }
    fn __repr__(&self) -> String {
        format!(
            "ChatEntry(id={:?}, conversation={:?}, role={:?}, content={}{})",
            self.e.id,
            self.e.stream,
            self.e.kind,
            short(&self.e.body, 60),
            if self.e.meta.is_some() {
                ", meta=..."
            } else {
                ""
            }
        )
    }
}

/// One item of a user's activity feed as stored.
#[pyclass(frozen, module = "zerolag._core", name = "ActivityItem")]
pub struct ActivityItem {
    pub(super) e: Entry,
}

#[pymethods]
impl ActivityItem {
    #[getter]
    fn id(&self) -> &str {
        &self.e.id
    }
    #[getter]
    fn user(&self) -> &str {
        &self.e.stream
    }
    #[getter]
    fn kind(&self) -> &str {
        &self.e.kind
    }
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        parsed(py, &self.e.body)
    }
    #[getter]
    fn time(&self) -> f64 {
        self.e.time()
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", &self.e.id)?;
        d.set_item("user", &self.e.stream)?;
        d.set_item("kind", &self.e.kind)?;
        d.set_item("data", self.data(py)?)?;
        d.set_item("time", self.e.time())?;
        Ok(d)
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<ActivityItem>()
            .is_ok_and(|o| o.get().e == self.e)
    }
    fn __hash__(&self) -> u64 {
        hash(&self.e)
    }
    fn __repr__(&self) -> String {
        format!(
            "ActivityItem(id={:?}, user={:?}, kind={:?}, data={})",
            self.e.id,
            self.e.stream,
            self.e.kind,
            short(&self.e.body, 60)
        )
    }
}

fn hash(e: &Entry) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&e.stream, &e.id).hash(&mut h);
    h.finish()
}

pub(super) fn chat_entries(v: Vec<Entry>) -> PyResult<Vec<ChatEntry>> {
    Ok(v.into_iter().map(|e| ChatEntry { e }).collect())
}

/// `append_recent`'s answer: the new message's id and the newest messages.
pub(super) fn chat_turn(
    (ids, es): (Vec<String>, Vec<Entry>),
) -> PyResult<(String, Vec<ChatEntry>)> {
    Ok((first(ids)?, chat_entries(es)?))
}

pub(super) fn activity_items(v: Vec<Entry>) -> PyResult<Vec<ActivityItem>> {
    Ok(v.into_iter().map(|e| ActivityItem { e }).collect())
}
