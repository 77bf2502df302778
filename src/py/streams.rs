//! `hub.chat` and `hub.activity` from Python: the handles (`Chat`, `Activity` and their async
//! twins), the entries they return (`ChatEntry`, `ActivityItem`) and the followers
//! (`ChatFollow`, `ActivityFollow`: blocking iterators; `AsyncChatFollow`,
//! `AsyncActivityFollow`: asyncio ones), all over `crate::streams` (one engine for both).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::convert::{json_to_py, py_to_json, text, Text};
use super::errors::{invalid, to_py, validation};
use super::{run_async, run_sync};
use crate::engine::Op;
use crate::error::Error;
use crate::hub::Hub as CoreHub;
use crate::streams::follow::{self, After, Follow};
use crate::streams::{Entry, NewEntry, Settings, Streams};

/// Longest the blocking followers stay in Rust before they check for Ctrl-C.
const SLICE: Duration = Duration::from_millis(100);
/// Longest one read of the asyncio followers (a cancelled wait stops at the next read).
const ASYNC_SLICE: Duration = Duration::from_millis(250);

/// A core validation error as one about the argument `arg`.
fn named(arg: &str, e: Error) -> PyErr {
    match e {
        Error::Validation(m) => invalid(arg, m),
        e => to_py(e),
    }
}

fn json_text(v: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    serde_json::to_string(&py_to_json(v, what)?).map_err(|e| invalid(what, e))
}

fn parsed<'py>(py: Python<'py>, t: &str) -> PyResult<Bound<'py, PyAny>> {
    let v: serde_json::Value = serde_json::from_str(t).map_err(Error::from)?;
    json_to_py(py, &v)
}

fn settings(py: Python<'_>, s: Settings) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("max_len", s.max_len)?;
    d.set_item("max_size", s.max_size)?;
    Ok(d)
}

fn seconds(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(v) if (0.0..=1e9).contains(&v) => Ok(Some(Duration::from_secs_f64(v))),
        Some(v) => Err(invalid(
            "timeout",
            format!("must be a number of seconds >= 0, got {v}"),
        )),
    }
}

fn first(ids: Vec<String>) -> PyResult<String> {
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
fn chat_new(
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
fn activity_new(logs: &Streams, kind: String, data: &Bound<'_, PyAny>) -> PyResult<NewEntry> {
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
            format!("a tuple item is ({}), got {} values", names.join(", "), t.len()),
        ));
    }
    let mut out: Vec<Option<Bound<'py, PyAny>>> = t.into_iter().map(Some).collect();
    out.resize(names.len(), None);
    Ok(out)
}

fn required<'py>(v: Option<Bound<'py, PyAny>>, name: &str, what: &str) -> PyResult<Bound<'py, PyAny>> {
    v.ok_or_else(|| invalid(what, format!("an item has no {name:?}")))
}

fn chat_batch(logs: &Streams, messages: &Bound<'_, PyAny>) -> PyResult<Vec<NewEntry>> {
    let mut out = Vec::new();
    for m in messages.try_iter()? {
        let m = m?;
        let f = fields(&m, &["role", "content", "meta"], "messages")?;
        let mut it = f.into_iter();
        let (role, content, meta) = (it.next().flatten(), it.next().flatten(), it.next().flatten());
        let role = text(&required(role, "role", "messages")?, "role")?;
        let content = text(&required(content, "content", "messages")?, "content")?;
        out.push(chat_new(logs, role, content, meta.as_ref())?);
    }
    Ok(out)
}

fn activity_batch(logs: &Streams, items: &Bound<'_, PyAny>) -> PyResult<Vec<NewEntry>> {
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
    e: Entry,
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
            if self.e.meta.is_some() { ", meta=..." } else { "" }
        )
    }
}

/// One item of a user's activity feed as stored.
#[pyclass(frozen, module = "zerolag._core", name = "ActivityItem")]
pub struct ActivityItem {
    e: Entry,
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
        other.cast::<ActivityItem>().is_ok_and(|o| o.get().e == self.e)
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

fn chat_entries(v: Vec<Entry>) -> PyResult<Vec<ChatEntry>> {
    Ok(v.into_iter().map(|e| ChatEntry { e }).collect())
}

fn activity_items(v: Vec<Entry>) -> PyResult<Vec<ActivityItem>> {
    Ok(v.into_iter().map(|e| ActivityItem { e }).collect())
}

/// The methods chat and activity share: `$field` the core handle, `$arg` the log's argument
/// name (`conversation`, `user`), `$conv` the conversion of entries to Python objects.
macro_rules! log_methods {
    ($cls:ident, $ret:ty, $run:ident, $field:ident, $arg:ident, $conv:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// This handle's limits: `max_len` (entries a log keeps) and `max_size` (bytes of
            /// an entry); returns those in force (not a store operation).
            #[pyo3(signature = (*, max_len=None, max_size=None))]
            fn configure<'py>(
                &self,
                py: Python<'py>,
                max_len: Option<u64>,
                max_size: Option<usize>,
            ) -> PyResult<Bound<'py, PyDict>> {
                settings(py, self.hub.$field.configure(max_len, max_size)?)
            }

            /// The newest `n` entries, oldest first.
            #[pyo3(signature = ($arg, n=50))]
            fn recent<'py>(&self, py: Python<'py>, $arg: Text, n: usize) -> PyResult<$ret> {
                $run(py, self.hub.$field.recent(&$arg, n), $conv)
            }

            /// Entries after `after` and before `before` (ids, both exclusive), oldest first.
            #[pyo3(signature = ($arg, *, after=None, before=None, limit=100))]
            fn range<'py>(
                &self,
                py: Python<'py>,
                $arg: Text,
                after: Option<Text>,
                before: Option<Text>,
                limit: usize,
            ) -> PyResult<$ret> {
                let op = self.hub.$field.range(
                    &$arg,
                    after.as_deref(),
                    before.as_deref(),
                    limit,
                    Duration::ZERO,
                );
                $run(py, op, $conv)
            }

            /// Entries the log holds.
            fn count<'py>(&self, py: Python<'py>, $arg: Text) -> PyResult<$ret> {
                $run(py, self.hub.$field.count(&$arg), Ok)
            }

            /// Deletes the log; returns how many entries went.
            fn clear<'py>(&self, py: Python<'py>, $arg: Text) -> PyResult<$ret> {
                $run(py, self.hub.$field.clear(&$arg), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.chat` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Chat")]
pub struct Chat {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.chat` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncChat")]
pub struct AsyncChat {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.activity` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Activity")]
pub struct Activity {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.activity` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncActivity")]
pub struct AsyncActivity {
    pub(crate) hub: Arc<CoreHub>,
}

/// The follower state of a sync `follow`: "from now" is fixed when `follow` returns.
fn sync_follow(py: Python<'_>, hub: &CoreHub, logs: &Streams, stream: &str, after: Option<Text>) -> PyResult<Follow> {
    logs.check_stream(stream)?;
    let after = match after {
        Some(a) => a.into_string(),
        None => {
            let op = logs.last_id(stream);
            py.detach(move || op.wait())?
        }
    };
    Ok(Follow::new(stream, Some(after), hub.backend().ping_interval())?)
}

/// The follower state of an async `follow`: without `after`, it starts at the end of the
/// log when first used.
fn async_follow(hub: &CoreHub, logs: &Streams, stream: &str, after: Option<Text>) -> PyResult<Follow> {
    logs.check_stream(stream)?;
    Ok(Follow::new(
        stream,
        after.map(Text::into_string),
        hub.backend().ping_interval(),
    )?)
}

log_methods!(Chat, Py<PyAny>, run_sync, chat, conversation, chat_entries, {
    /// Appends one message; returns its id.
    #[pyo3(signature = (conversation, role, content, meta=None))]
    fn append<'py>(
        &self,
        py: Python<'py>,
        conversation: Text,
        role: Text,
        content: Text,
        meta: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let e = chat_new(&self.hub.chat, role.into_string(), content.into_string(), meta.as_ref())?;
        run_sync(py, self.hub.chat.append(&conversation, vec![e]), first)
    }

    /// Appends messages in order, all or none; returns their ids.
    fn append_many<'py>(
        &self,
        py: Python<'py>,
        conversation: Text,
        messages: &Bound<'py, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let es = chat_batch(&self.hub.chat, messages)?;
        run_sync(py, self.hub.chat.append(&conversation, es), Ok)
    }

    /// The messages appended after `after` (None: from now), as a blocking iterator.
    #[pyo3(signature = (conversation, *, after=None))]
    fn follow(&self, py: Python<'_>, conversation: Text, after: Option<Text>) -> PyResult<ChatFollow> {
        let f = sync_follow(py, &self.hub, &self.hub.chat, &conversation, after)?;
        Ok(ChatFollow { hub: self.hub.clone(), follow: Mutex::new(f) })
    }
});

log_methods!(AsyncChat, Bound<'py, PyAny>, run_async, chat, conversation, chat_entries, {
    /// Appends one message; returns its id.
    #[pyo3(signature = (conversation, role, content, meta=None))]
    fn append<'py>(
        &self,
        py: Python<'py>,
        conversation: Text,
        role: Text,
        content: Text,
        meta: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = chat_new(&self.hub.chat, role.into_string(), content.into_string(), meta.as_ref())?;
        run_async(py, self.hub.chat.append(&conversation, vec![e]), first)
    }

    /// Appends messages in order, all or none; returns their ids.
    fn append_many<'py>(
        &self,
        py: Python<'py>,
        conversation: Text,
        messages: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let es = chat_batch(&self.hub.chat, messages)?;
        run_async(py, self.hub.chat.append(&conversation, es), Ok)
    }

    /// The messages appended after `after` (None: from the end of the log when first used),
    /// as an async iterator.
    #[pyo3(signature = (conversation, *, after=None))]
    fn follow(&self, conversation: Text, after: Option<Text>) -> PyResult<AsyncChatFollow> {
        let f = async_follow(&self.hub, &self.hub.chat, &conversation, after)?;
        Ok(AsyncChatFollow { hub: self.hub.clone(), follow: Arc::new(Mutex::new(f)) })
    }
});

log_methods!(Activity, Py<PyAny>, run_sync, activity, user, activity_items, {
    /// Appends one item to the user's feed; returns its id.
    #[pyo3(signature = (user, kind, data=None))]
    fn add<'py>(
        &self,
        py: Python<'py>,
        user: Text,
        kind: Text,
        data: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let data = data.unwrap_or_else(|| py.None().into_bound(py));
        let e = activity_new(&self.hub.activity, kind.into_string(), &data)?;
        run_sync(py, self.hub.activity.append(&user, vec![e]), first)
    }

    /// Appends items in order, all or none; returns their ids.
    fn add_many<'py>(&self, py: Python<'py>, user: Text, items: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let es = activity_batch(&self.hub.activity, items)?;
        run_sync(py, self.hub.activity.append(&user, es), Ok)
    }

    /// The items added after `after` (None: from now), as a blocking iterator.
    #[pyo3(signature = (user, *, after=None))]
    fn follow(&self, py: Python<'_>, user: Text, after: Option<Text>) -> PyResult<ActivityFollow> {
        let f = sync_follow(py, &self.hub, &self.hub.activity, &user, after)?;
        Ok(ActivityFollow { hub: self.hub.clone(), follow: Mutex::new(f) })
    }
});

log_methods!(AsyncActivity, Bound<'py, PyAny>, run_async, activity, user, activity_items, {
    /// Appends one item to the user's feed; returns its id.
    #[pyo3(signature = (user, kind, data=None))]
    fn add<'py>(
        &self,
        py: Python<'py>,
        user: Text,
        kind: Text,
        data: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = data.unwrap_or_else(|| py.None().into_bound(py));
        let e = activity_new(&self.hub.activity, kind.into_string(), &data)?;
        run_async(py, self.hub.activity.append(&user, vec![e]), first)
    }

    /// Appends items in order, all or none; returns their ids.
    fn add_many<'py>(&self, py: Python<'py>, user: Text, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let es = activity_batch(&self.hub.activity, items)?;
        run_async(py, self.hub.activity.append(&user, es), Ok)
    }

    /// The items added after `after` (None: from the end of the feed when first used), as
    /// an async iterator.
    #[pyo3(signature = (user, *, after=None))]
    fn follow(&self, user: Text, after: Option<Text>) -> PyResult<AsyncActivityFollow> {
        let f = async_follow(&self.hub, &self.hub.activity, &user, after)?;
        Ok(AsyncActivityFollow { hub: self.hub.clone(), follow: Arc::new(Mutex::new(f)) })
    }
});

/// The blocking and asyncio followers of one kind: `$field` the core handle, `$item` the
/// Python class of an entry, `$arg` the name of the log's getter.
macro_rules! followers {
    ($sync:ident, $sname:literal, $async_:ident, $aname:literal, $field:ident, $item:ident, $arg:ident) => {
        /// A blocking follower of one log, from `follow()`.
        #[pyclass(frozen, module = "zerolag._core", name = $sname)]
        pub struct $sync {
            hub: Arc<CoreHub>,
            follow: Mutex<Follow>,
        }

        impl $sync {
            /// The next entry within `timeout` (None: no limit), reading in slices and
            /// handling signals between them.
            fn next_entry(&self, py: Python<'_>, timeout: Option<Duration>) -> PyResult<Option<$item>> {
                let deadline = timeout.map(|t| Instant::now() + t);
                loop {
                    let op = {
                        let mut f = self.follow.lock();
                        if f.closed() {
                            return Ok(None);
                        }
                        if let Some(e) = f.pop() {
                            return Ok(Some($item { e }));
                        }
                        let slice = match deadline {
                            Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                            None => SLICE,
                        };
                        self.hub.check()?;
                        f.read(&self.hub.$field, slice)
                    };
                    let r = py.detach(move || op.wait());
                    let after = self.follow.lock().absorb(r)?;
                    if after == After::Pause {
                        py.detach(|| std::thread::sleep(follow::RECONNECT_PAUSE));
                    }
                    if self.follow.lock().is_empty() {
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            return Ok(None);
                        }
                        py.check_signals()?;
                    }
                }
            }
        }

        #[pymethods]
        impl $sync {
            fn __iter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __next__(&self, py: Python<'_>) -> PyResult<$item> {
                match self.next_entry(py, None)? {
                    Some(e) => Ok(e),
                    None => Err(PyStopIteration::new_err(())),
                }
            }

            /// The next entry, or None after `timeout` seconds (None: as long as it takes).
            #[pyo3(signature = (timeout=None))]
            fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<$item>> {
                self.next_entry(py, seconds(timeout)?)
            }

            /// Id of the last entry handed out (pass it as `after` to resume), or None.
            #[getter]
            fn last_id(&self) -> Option<String> {
                self.follow.lock().last_id().map(str::to_string)
            }

            /// The log followed.
            #[getter]
            fn $arg(&self) -> String {
                self.follow.lock().stream().to_string()
            }

            /// Stops the iteration (a later `next` raises StopIteration).
            fn close(&self) {
                self.follow.lock().close();
            }

            fn __enter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            #[pyo3(signature = (*_args))]
            fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
                self.close();
                false
            }

            fn __repr__(&self) -> String {
                repr($sname, &self.follow.lock())
            }
        }

        /// An asyncio follower of one log, from `follow()` on an async hub.
        #[pyclass(frozen, module = "zerolag._core", name = $aname)]
        pub struct $async_ {
            hub: Arc<CoreHub>,
            follow: Arc<Mutex<Follow>>,
        }

        impl $async_ {
            /// The next entry within `timeout` (None: no limit), as a future: the same reads
            /// and outage policy as the blocking follower, in steps of at most 250 ms.
            fn next_entry(&self, timeout: Option<Duration>) -> Op<Option<Entry>> {
                let (hub, follow) = (self.hub.clone(), self.follow.clone());
                let deadline = timeout.map(|t| Instant::now() + t);
                Op::Async(Box::pin(async move {
                    loop {
                        let op = {
                            let mut f = follow.lock();
                            if f.closed() {
                                return Ok(None);
                            }
                            if let Some(e) = f.pop() {
                                return Ok(Some(e));
                            }
                            let slice = match deadline {
                                Some(d) => d
                                    .saturating_duration_since(Instant::now())
                                    .min(ASYNC_SLICE),
                                None => ASYNC_SLICE,
                            };
                            hub.check()?;
                            f.read(&hub.$field, slice)
                        };
                        let r = op.run().await;
                        let after = follow.lock().absorb(r)?;
                        if after == After::Pause {
                            tokio::time::sleep(follow::RECONNECT_PAUSE).await;
                        }
                        if follow.lock().is_empty()
                            && deadline.is_some_and(|d| Instant::now() >= d)
                        {
                            return Ok(None);
                        }
                    }
                }))
            }

            /// Finds the end of the log for a follower that starts there.
            fn start(&self) -> Op<()> {
                if self.follow.lock().started() {
                    return Op::Ready(Ok(()));
                }
                let (hub, follow) = (self.hub.clone(), self.follow.clone());
                Op::Async(Box::pin(async move {
                    let op = follow.lock().read(&hub.$field, Duration::ZERO);
                    let r = op.run().await;
                    follow.lock().absorb(r).map(|_| ())
                }))
            }
        }

        #[pymethods]
        impl $async_ {
            /// The next entry, or None after `timeout` seconds (None: as long as it takes).
            #[pyo3(signature = (timeout=None))]
            fn get<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
                run_async(py, self.next_entry(seconds(timeout)?), |e| {
                    Ok(e.map(|e| $item { e }))
                })
            }

            fn __aiter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                run_async(py, self.next_entry(None), |e| match e {
                    Some(e) => Ok($item { e }),
                    None => Err(PyStopAsyncIteration::new_err(())),
                })
            }

            /// Id of the last entry handed out (pass it as `after` to resume), or None.
            #[getter]
            fn last_id(&self) -> Option<String> {
                self.follow.lock().last_id().map(str::to_string)
            }

            /// The log followed.
            #[getter]
            fn $arg(&self) -> String {
                self.follow.lock().stream().to_string()
            }

            /// Stops the iteration (a waiting `get` returns None at its next read).
            fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                self.follow.lock().close();
                run_async(py, Op::Ready(Ok(())), Ok)
            }

            fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                let py = slf.py();
                let me = slf.clone().unbind();
                run_async(py, slf.get().start(), move |()| Ok(me))
            }

            #[pyo3(signature = (*_args))]
            fn __aexit__<'py>(&self, py: Python<'py>, _args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
                self.follow.lock().close();
                run_async(py, Op::Ready(Ok(false)), Ok)
            }

            fn __repr__(&self) -> String {
                repr($aname, &self.follow.lock())
            }
        }
    };
}

fn repr(name: &str, f: &Follow) -> String {
    format!(
        "{name}({:?}, last_id={:?}{})",
        f.stream(),
        f.last_id(),
        if f.closed() { ", closed" } else { "" }
    )
}

followers!(ChatFollow, "ChatFollow", AsyncChatFollow, "AsyncChatFollow", chat, ChatEntry, conversation);
followers!(
    ActivityFollow,
    "ActivityFollow",
    AsyncActivityFollow,
    "AsyncActivityFollow",
    activity,
    ActivityItem,
    user
);

/// Adds these capabilities' classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Chat>()?;
    m.add_class::<AsyncChat>()?;
    m.add_class::<Activity>()?;
    m.add_class::<AsyncActivity>()?;
    m.add_class::<ChatEntry>()?;
    m.add_class::<ActivityItem>()?;
    m.add_class::<ChatFollow>()?;
    m.add_class::<AsyncChatFollow>()?;
    m.add_class::<ActivityFollow>()?;
    m.add_class::<AsyncActivityFollow>()?;
    Ok(())
}
