//! `hub.kv` from Python: values are `bytes` (and `bytearray`, `memoryview`), `str` or any
//! JSON value, and come back as the same kind; `keys()` iterates a prefix page by page.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMemoryView, PyString};

use super::convert::{json_to_py, py_to_json, str_list, text, Text};
use super::errors::validation;
use super::{run_async, run_sync};
use crate::engine::Op;
use crate::error::Error;
use crate::hub::Hub as CoreHub;
use crate::kv::{self as core, Item, KeyPage, Put, Value};

/// Keys fetched per page by the `keys()` iterators.
const PAGE: usize = 1000;

/// A Python value as a stored value.
pub(super) fn value(o: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(b) = o.cast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if o.cast::<PyByteArray>().is_ok() || o.cast::<PyMemoryView>().is_ok() {
        return Ok(Value::Bytes(
            o.extract::<Vec<u8>>()
                .or_else(|_| o.call_method0("tobytes")?.extract::<Vec<u8>>())?,
        ));
    }
    if let Ok(s) = o.cast::<PyString>() {
        return Ok(Value::Text(text(s.as_any(), "value")?));
    }
    let v = py_to_json(o, "value")?;
    Ok(Value::Json(
        serde_json::to_string(&v).map_err(|e| validation(e.to_string()))?,
    ))
}

/// A stored value as Python.
pub(super) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::Text(s) => PyString::new(py, s).into_any(),
        Value::Json(s) => {
            let j: serde_json::Value = serde_json::from_str(s).map_err(Error::from)?;
            json_to_py(py, &j)?
        }
    })
}

fn ttl_of(ttl: Option<f64>) -> PyResult<Option<u64>> {
    Ok(ttl.map(core::ttl_ms).transpose()?)
}

/// One stored key with its version and expiry.
#[pyclass(frozen, module = "zerolag._core", name = "KvItem")]
pub struct KvItem {
    it: Item,
}

#[pymethods]
impl KvItem {
    /// The key.
    #[getter]
    fn key(&self) -> &str {
        &self.it.key
    }
    /// The value (bytes, str or a JSON value, as it was stored).
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.it.value)
    }
    /// 1 for a new key, one more for every write (for `set(..., if_version=)`).
    #[getter]
    fn version(&self) -> u64 {
        self.it.version
    }
    /// When it expires, in seconds since the epoch (None: never).
    #[getter]
    fn expires_at(&self) -> Option<f64> {
        self.it.expires_at_ms.map(crate::clock::secs)
    }
    fn __repr__(&self) -> String {
        let kind = match &self.it.value {
            Value::Bytes(b) => format!("<{} bytes>", b.len()),
            Value::Text(s) | Value::Json(s) if s.len() <= 60 => s.clone(),
            Value::Text(s) | Value::Json(s) => format!("<{} characters>", s.chars().count()),
        };
        format!(
            "KvItem(key={:?}, value={kind}, version={})",
            self.it.key, self.it.version
        )
    }
}

/// A page of keys and where the next one starts.
#[pyclass(frozen, module = "zerolag._core", name = "KeyPage")]
pub struct PyKeyPage {
    page: KeyPage,
}

#[pymethods]
impl PyKeyPage {
    /// The keys, in byte order.
    #[getter]
    fn keys(&self) -> Vec<String> {
        self.page.keys.clone()
    }
    /// Pass it as `after` for the next page (None: this was the last).
    #[getter]
    fn next(&self) -> Option<String> {
        self.page.next.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "KeyPage(keys=<{} keys>, next={:?})",
            self.page.keys.len(),
            self.page.next
        )
    }
}

fn one(
    key: &str,
    value: &Bound<'_, PyAny>,
    ttl: Option<f64>,
    if_version: Option<u64>,
) -> PyResult<Put> {
    Ok(Put {
        key: key.to_string(),
        value: self::value(value)?,
        ttl_ms: ttl_of(ttl)?,
        if_version,
    })
}

fn items(items: &Bound<'_, PyAny>, ttl: Option<f64>) -> PyResult<Vec<Put>> {
    let ttl = ttl_of(ttl)?;
    let pairs: Vec<(String, Bound<'_, PyAny>)> = match items.cast::<PyDict>() {
        Ok(d) => d
            .iter()
            .map(|(k, v)| Ok((text(&k, "items")?, v)))
            .collect::<PyResult<_>>()?,
        Err(_) => items
            .try_iter()?
            .map(|x| {
                let (k, v) = x?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
                Ok((text(&k, "items")?, v))
            })
            .collect::<PyResult<_>>()?,
    };
    pairs
        .into_iter()
        .map(|(k, v)| {
            Ok(Put {
                key: k,
                value: value(&v)?,
                ttl_ms: ttl,
                if_version: None,
            })
        })
        .collect()
}

fn first(mut v: Vec<Option<Item>>) -> Option<Item> {
    v.pop().flatten()
}

macro_rules! kv_methods {
    ($cls:ident, $ret:ty, $run:ident, { $($extra:tt)* }) => {
        #[pymethods]
        impl $cls {
            $($extra)*

            /// This handle's limits: `max_value` (bytes, default 16 MiB); returns those in
            /// force (takes effect at once; not a store operation).
            #[pyo3(signature = (*, max_value=None))]
            fn configure<'py>(&self, py: Python<'py>, max_value: Option<usize>) -> PyResult<Bound<'py, PyDict>> {
                let s = self.hub.kv.configure(max_value)?;
                let d = PyDict::new(py);
                d.set_item("max_value", s.max_value)?;
                Ok(d)
            }

            /// The value at `key`, or `default` when there is none (or it expired).
            #[pyo3(signature = (key, default=None))]
            fn get<'py>(&self, py: Python<'py>, key: Text, default: Option<Py<PyAny>>) -> PyResult<$ret> {
                let op = self.hub.kv.get_many(vec![key.to_string()]);
                $run(py, op, move |v| Python::attach(|py| match first(v) {
                    Some(it) => Ok(to_py(py, &it.value)?.unbind()),
                    None => Ok(default.unwrap_or_else(|| py.None())),
                }))
            }

            /// The stored item at `key` with its version and expiry (NotFoundError if none).
            fn item<'py>(&self, py: Python<'py>, key: Text) -> PyResult<$ret> {
                let k = key.to_string();
                let op = self.hub.kv.get_many(vec![key.to_string()]);
                $run(py, op, move |v| match first(v) {
                    Some(it) => Ok(KvItem { it }),
                    None => Err(Error::NotFound(format!("no kv key {k:?}")).into()),
                })
            }

            /// Values by key, None where missing.
            fn get_many<'py>(&self, py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<$ret> {
                let op = self.hub.kv.get_many(str_list(keys, "keys")?);
                $run(py, op, |v| Python::attach(|py| {
                    v.into_iter()
                        .map(|it| match it {
                            Some(it) => Ok(to_py(py, &it.value)?.unbind()),
                            None => Ok(py.None()),
                        })
                        .collect::<PyResult<Vec<Py<PyAny>>>>()
                }))
            }

            /// Stores `value` (bytes, str or any JSON value) at `key`; `ttl` seconds to live
            /// (None: no expiry, and an earlier one is removed); `if_version` makes it a
            /// compare-and-set (0: only if the key does not exist), ConflictError otherwise.
            /// Returns the key's new version.
            #[pyo3(signature = (key, value, *, ttl=None, if_version=None))]
            fn set<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                value: &Bound<'py, PyAny>,
                ttl: Option<f64>,
                if_version: Option<u64>,
            ) -> PyResult<$ret> {
                let op = self.hub.kv.set_many(vec![one(&key, value, ttl, if_version)?]);
                $run(py, op, |v| Ok(v.first().copied().unwrap_or(0)))
            }

            /// Stores several keys at once, all or none (a dict, or `(key, value)` pairs), each
            /// with `ttl`; returns their new versions.
            #[pyo3(signature = (items, *, ttl=None))]
            fn set_many<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>, ttl: Option<f64>) -> PyResult<$ret> {
                $run(py, self.hub.kv.set_many(self::items(items, ttl)?), Ok)
            }

            /// Deletes `key`; True if it existed.
            fn delete<'py>(&self, py: Python<'py>, key: Text) -> PyResult<$ret> {
                $run(py, self.hub.kv.delete_many(vec![key.to_string()]), |n| Ok(n > 0))
            }

            /// Deletes keys; returns how many existed.
            fn delete_many<'py>(&self, py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<$ret> {
                $run(py, self.hub.kv.delete_many(str_list(keys, "keys")?), Ok)
            }

            /// Adds `by` to the integer at `key` atomically (a missing key counts as 0 and
            /// gets `ttl`); returns the result. ValidationError if the value is not an integer
            /// or the sum leaves 64 bits.
            #[pyo3(signature = (key, by=1, *, ttl=None))]
            fn incr<'py>(&self, py: Python<'py>, key: Text, by: i64, ttl: Option<f64>) -> PyResult<$ret> {
                $run(py, self.hub.kv.incr(&key, by, ttl_of(ttl)?), Ok)
            }

            /// Sets the time to live of `key` to `ttl` seconds (None: no expiry); False if
            /// there is no such key.
            fn expire<'py>(&self, py: Python<'py>, key: Text, ttl: Option<f64>) -> PyResult<$ret> {
                $run(py, self.hub.kv.expire(&key, ttl_of(ttl)?), Ok)
            }

            /// Extends the expiry of `key` by its time to live again (sliding expiry); False
            /// if there is no such key.
            fn touch<'py>(&self, py: Python<'py>, key: Text) -> PyResult<$ret> {
                $run(py, self.hub.kv.touch(&key), Ok)
            }

            /// Seconds `key` has left (None: it does not expire); NotFoundError if missing.
            fn ttl<'py>(&self, py: Python<'py>, key: Text) -> PyResult<$ret> {
                let k = key.to_string();
                $run(py, self.hub.kv.ttl(&key), move |t| match t {
                    Some(t) => Ok(t.map(crate::clock::secs)),
                    None => Err(Error::NotFound(format!("no kv key {k:?}")).into()),
                })
            }

            /// One page of the keys starting with `prefix`, in byte order, after `after`
            /// (`reverse`: in descending order, below `after`).
            #[pyo3(signature = (prefix=Text::default(), *, after=None, limit=1000, reverse=false))]
            #[pyo3(text_signature = "($self, prefix=\"\", *, after=None, limit=1000, reverse=False)")]
            fn keys_page<'py>(
                &self,
                py: Python<'py>,
                prefix: Text,
                after: Option<Text>,
                limit: usize,
                reverse: bool,
            ) -> PyResult<$ret> {
                let op = if reverse {
                    self.hub.kv.keys_desc(&prefix, after.as_deref(), limit)
                } else {
                    self.hub.kv.keys(&prefix, after.as_deref(), limit)
                };
                $run(py, op, |page| Ok(PyKeyPage { page }))
            }

            /// Deletes every key starting with `prefix` (page by page, not as one atomic
            /// step); returns how many went.
            fn delete_prefix<'py>(&self, py: Python<'py>, prefix: Text) -> PyResult<$ret> {
                $run(py, self.hub.kv.delete_prefix(&prefix), Ok)
            }

            /// Removes expired keys now (reads never return them anyway); returns how many.
            fn sweep<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.kv.sweep(), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.kv` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Kv")]
pub struct Kv {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.kv` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncKv")]
pub struct AsyncKv {
    pub(crate) hub: Arc<CoreHub>,
}

kv_methods!(Kv, Py<PyAny>, run_sync, {
    /// The keys starting with `prefix`, in byte order, fetched page by page as iterated.
    #[pyo3(signature = (prefix=Text::default()))]
    #[pyo3(text_signature = "($self, prefix=\"\")")]
    fn keys(&self, prefix: Text) -> PyResult<KeyIter> {
        core::check_prefix(&prefix)?;
        Ok(KeyIter {
            hub: self.hub.clone(),
            state: Mutex::new(Keys::new(&prefix)),
        })
    }
});

kv_methods!(AsyncKv, Bound<'py, PyAny>, run_async, {
    /// The keys starting with `prefix`, in byte order, as an async iterator.
    #[pyo3(signature = (prefix=Text::default()))]
    #[pyo3(text_signature = "($self, prefix=\"\")")]
    fn keys(&self, prefix: Text) -> PyResult<AsyncKeyIter> {
        core::check_prefix(&prefix)?;
        Ok(AsyncKeyIter {
            hub: self.hub.clone(),
            state: Arc::new(Mutex::new(Keys::new(&prefix))),
        })
    }
});

/// Where a key iteration is.
struct Keys {
    prefix: String,
    buffer: VecDeque<String>,
    /// None before the first page; Some(None) after the last.
    next: Option<Option<String>>,
}

impl Keys {
    fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_string(),
            buffer: VecDeque::new(),
            next: None,
        }
    }

    /// The read of the next page, or None when there is none.
    fn read(&self, hub: &CoreHub) -> Option<Op<KeyPage>> {
        match &self.next {
            Some(None) => None,
            Some(Some(after)) => Some(hub.kv.keys(&self.prefix, Some(after), PAGE)),
            None => Some(hub.kv.keys(&self.prefix, None, PAGE)),
        }
    }

    fn absorb(&mut self, page: KeyPage) {
        self.buffer.extend(page.keys);
        self.next = Some(page.next);
    }
}

/// The keys under a prefix, from `Kv.keys`.
#[pyclass(frozen, module = "zerolag._core", name = "KeyIterator")]
pub struct KeyIter {
    hub: Arc<CoreHub>,
    state: Mutex<Keys>,
}

#[pymethods]
impl KeyIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<String> {
        loop {
            let op = {
                let mut st = self.state.lock();
                if let Some(k) = st.buffer.pop_front() {
                    return Ok(k);
                }
                match st.read(&self.hub) {
                    Some(op) => op,
                    None => return Err(PyStopIteration::new_err(())),
                }
            };
            let page = py.detach(move || op.wait())?;
            self.state.lock().absorb(page);
        }
    }
}

/// The keys under a prefix, from `AsyncKv.keys`.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncKeyIterator")]
pub struct AsyncKeyIter {
    hub: Arc<CoreHub>,
    state: Arc<Mutex<Keys>>,
}

#[pymethods]
impl AsyncKeyIter {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (hub, state) = (self.hub.clone(), self.state.clone());
        let op = Op::Async(Box::pin(async move {
            loop {
                let read = {
                    let mut st = state.lock();
                    if let Some(k) = st.buffer.pop_front() {
                        return Ok(Some(k));
                    }
                    st.read(&hub)
                };
                let Some(read) = read else {
                    return Ok(None);
                };
                let page = read.run().await?;
                state.lock().absorb(page);
            }
        }));
        run_async(py, op, |k| {
            k.ok_or_else(|| PyStopAsyncIteration::new_err(()))
        })
    }
}

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Kv>()?;
    m.add_class::<AsyncKv>()?;
    m.add_class::<KvItem>()?;
    m.add_class::<PyKeyPage>()?;
    m.add_class::<KeyIter>()?;
    m.add_class::<AsyncKeyIter>()?;
    Ok(())
}
