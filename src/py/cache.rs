//! `hub.cache` from Python: values as in `hub.kv` (bytes, str or JSON, back as given); the
//! `cached` decorator and `llm` live in `zerolag.cache` (Python), over the private `_lookup`,
//! `_fill` and `_release` that carry the single-flight lease.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::convert::{str_list, Text};
use super::kv::{to_py, value};
use super::{run_async, run_sync};
use crate::cache::semantic::SemanticHit;
use crate::cache::{self as core, Lease, Lookup, Put, SemanticPut, Stats};
use crate::hub::Hub as CoreHub;

fn ttl_of(ttl: Option<f64>) -> PyResult<Option<u64>> {
    Ok(ttl.map(core::ttl_ms).transpose()?)
}

fn tags_of(tags: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match tags {
        None => Ok(vec![]),
        Some(t) => str_list(t, "tags"),
    }
}

fn items(
    items: &Bound<'_, PyAny>,
    ttl: Option<f64>,
    tags: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Put>> {
    let ttl = ttl_of(ttl)?;
    let tags = tags_of(tags)?;
    let pairs: Vec<(String, Bound<'_, PyAny>)> = match items.cast::<PyDict>() {
        Ok(d) => d
            .iter()
            .map(|(k, v)| Ok((super::convert::text(&k, "items")?, v)))
            .collect::<PyResult<_>>()?,
        Err(_) => items
            .try_iter()?
            .map(|x| {
                let (k, v) = x?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
                Ok((super::convert::text(&k, "items")?, v))
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
                tags: tags.clone(),
                semantic: None,
            })
        })
        .collect()
}

fn hit_value(py: Python<'_>, l: &Lookup) -> PyResult<Option<Py<PyAny>>> {
    match l {
        Lookup::Hit(v) => Ok(Some(to_py(py, v)?.unbind())),
        Lookup::Miss { .. } => Ok(None),
    }
}

fn lease_of(lease: Option<f64>, token: Option<Text>) -> PyResult<Option<Lease>> {
    match (lease, token) {
        (Some(secs), Some(t)) => Ok(Some(Lease {
            token: t.into_string(),
            ms: core::ttl_ms(secs)?,
        })),
        _ => Ok(None),
    }
}

/// The default similarity threshold of `match` (docs/cache.md has the measurements).
pub const DEFAULT_THRESHOLD: f64 = 0.9;
const DEFAULT_K: usize = core::semantic::DEFAULT_K;

fn vector(o: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    super::memory_args::vector(Some(o))?.ok_or_else(|| {
        crate::error::Error::validation("embedding must be a 1-D array or list of numbers").into()
    })
}

fn semantic_of(
    scope: Option<Text>,
    embedding: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<SemanticPut>> {
    match (scope, embedding.filter(|e| !e.is_none())) {
        (Some(s), Some(e)) => Ok(Some(SemanticPut {
            scope: s.into_string(),
            vector: vector(e)?,
        })),
        (None, None) => Ok(None),
        _ => Err(crate::error::Error::validation(
            "a semantic entry needs both scope and embedding",
        )
        .into()),
    }
}

/// What `cache.match()` found: the entry's key and value and the cosine similarity of its
/// prompt embedding to the query's.
#[pyclass(frozen, module = "zerolag._core", name = "SemanticMatch")]
pub struct SemanticMatch {
    m: SemanticHit,
}

#[pymethods]
impl SemanticMatch {
    /// The matched entry's key.
    #[getter]
    fn key(&self) -> &str {
        &self.m.key
    }
    /// Its cached value.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.m.value)
    }
    /// Cosine similarity of the cached prompt's embedding to the query's (1.0: same direction).
    #[getter]
    fn similarity(&self) -> f64 {
        f64::from(self.m.similarity)
    }
    fn __repr__(&self) -> String {
        format!(
            "SemanticMatch(key={:?}, similarity={:.4})",
            self.m.key, self.m.similarity
        )
    }
}

/// The counters of a namespace's cache, from `cache.stats()`.
#[pyclass(frozen, module = "zerolag._core", name = "CacheStats")]
pub struct CacheStats {
    s: Stats,
}

#[pymethods]
impl CacheStats {
    /// Reads that found a live entry.
    #[getter]
    fn hits(&self) -> u64 {
        self.s.hits
    }
    /// Reads that found none (missing, expired or invalidated).
    #[getter]
    fn misses(&self) -> u64 {
        self.s.misses
    }
    /// hits / (hits + misses), 0.0 before any read.
    #[getter]
    fn hit_ratio(&self) -> f64 {
        let n = self.s.hits + self.s.misses;
        if n == 0 {
            0.0
        } else {
            self.s.hits as f64 / n as f64
        }
    }
    /// Entries stored (invalidated ones count until removed; see docs/cache.md).
    #[getter]
    fn entries(&self) -> u64 {
        self.s.entries
    }
    /// Bytes of the stored values.
    #[getter]
    fn bytes(&self) -> u64 {
        self.s.bytes
    }
    /// Entries of each tag's current generation (tags with none left out).
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (t, n) in &self.s.tags {
            d.set_item(t, n)?;
        }
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "CacheStats(hits={}, misses={}, hit_ratio={:.3}, entries={}, bytes={}, tags=<{} tags>)",
            self.s.hits,
            self.s.misses,
            self.hit_ratio(),
            self.s.entries,
            self.s.bytes,
            self.s.tags.len()
        )
    }
}

macro_rules! cache_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// This handle's limits: `max_value` (bytes, default 16 MiB), `max_entries` and
            /// `max_bytes` (0: unbounded, the default); returns those in force. Not a store
            /// operation: it applies to this process's writes (docs/cache.md).
            #[pyo3(signature = (*, max_value=None, max_entries=None, max_bytes=None))]
            fn configure<'py>(
                &self,
                py: Python<'py>,
                max_value: Option<usize>,
                max_entries: Option<u64>,
                max_bytes: Option<u64>,
            ) -> PyResult<Bound<'py, PyDict>> {
                let s = self
                    .hub
                    .cache
                    .configure(max_value, max_entries, max_bytes)?;
                let d = PyDict::new(py);
                d.set_item("max_value", s.max_value)?;
                d.set_item("max_entries", s.max_entries.unwrap_or(0))?;
                d.set_item("max_bytes", s.max_bytes.unwrap_or(0))?;
                Ok(d)
            }

            /// The value cached at `key`, or `default` when there is none (missing, expired
            /// or invalidated).
            #[pyo3(signature = (key, default=None))]
            fn get<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                default: Option<Py<PyAny>>,
            ) -> PyResult<$ret> {
                let op = self.hub.cache.get_many(vec![key.into_string()], None, true);
                $run(py, op, move |v| {
                    Python::attach(|py| {
                        match v.first().map(|l| hit_value(py, l)).transpose()?.flatten() {
                            Some(x) => Ok(x),
                            None => Ok(default.unwrap_or_else(|| py.None())),
                        }
                    })
                })
            }

            /// Values by key, None where there is none.
            fn get_many<'py>(&self, py: Python<'py>, keys: &Bound<'py, PyAny>) -> PyResult<$ret> {
                let op = self.hub.cache.get_many(str_list(keys, "keys")?, None, true);
                $run(py, op, |v| {
                    Python::attach(|py| {
                        v.iter()
                            .map(|l| Ok(hit_value(py, l)?.unwrap_or_else(|| py.None())))
                            .collect::<PyResult<Vec<Py<PyAny>>>>()
                    })
                })
            }

            /// Caches `value` (bytes, str or any JSON value) at `key` for `ttl` seconds (None:
            /// until evicted or invalidated), tagged with `tags`.
            #[pyo3(signature = (key, value, *, ttl=None, tags=None))]
            #[pyo3(text_signature = "($self, key, value, *, ttl=None, tags=())")]
            fn set<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                value: &Bound<'py, PyAny>,
                ttl: Option<f64>,
                tags: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let put = Put {
                    key: key.into_string(),
                    value: self::value(value)?,
                    ttl_ms: ttl_of(ttl)?,
                    tags: tags_of(tags)?,
                    semantic: None,
                };
                $run(py, self.hub.cache.set_many(vec![put], None), Ok)
            }

            /// Caches several entries at once, all or none (a dict, or `(key, value)` pairs),
            /// each with `ttl` and `tags`.
            #[pyo3(signature = (items, *, ttl=None, tags=None))]
            #[pyo3(text_signature = "($self, items, *, ttl=None, tags=())")]
            fn set_many<'py>(
                &self,
                py: Python<'py>,
                items: &Bound<'py, PyAny>,
                ttl: Option<f64>,
                tags: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                $run(
                    py,
                    self.hub
                        .cache
                        .set_many(self::items(items, ttl, tags)?, None),
                    Ok,
                )
            }

            /// Deletes the entry at `key`; True if there was a live one.
            fn delete<'py>(&self, py: Python<'py>, key: Text) -> PyResult<$ret> {
                $run(
                    py,
                    self.hub.cache.delete_many(vec![key.into_string()]),
                    |n| Ok(n > 0),
                )
            }

            /// Invalidates every entry tagged `tag`, atomically and in O(1) (docs/cache.md);
            /// returns how many entries had it.
            fn invalidate_tag<'py>(&self, py: Python<'py>, tag: Text) -> PyResult<$ret> {
                $run(py, self.hub.cache.invalidate_tag(&tag), Ok)
            }

            /// Deletes every entry whose key starts with `prefix` (page by page, not as one
            /// atomic step); returns how many went.
            fn invalidate_prefix<'py>(&self, py: Python<'py>, prefix: Text) -> PyResult<$ret> {
                $run(py, self.hub.cache.invalidate_prefix(&prefix), Ok)
            }

            /// Hits, misses, hit ratio, entries, bytes and entries per tag of this namespace's
            /// cache, as every process sees them (docs/cache.md says how exact).
            fn stats<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.cache.stats(), |s| Ok(CacheStats { s }))
            }

            /// Removes expired and invalidated entries now (reads never return them anyway);
            /// returns how many.
            fn sweep<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.cache.sweep(), Ok)
            }

            /// A decorator caching a function's results here for `ttl` seconds, tagged
            /// `tags`, keyed by `key(*args, **kwargs)` or a hash of the function's name and
            /// arguments; concurrent misses compute once (single flight, with a `lease` of 30 s
            /// in the store across processes). See `zerolag.cache.cached`.
            #[pyo3(signature = (r#fn=None, *, ttl=None, tags=None, key=None, lease=None))]
            #[pyo3(text_signature = "($self, fn=None, *, ttl=None, tags=(), key=None, lease=None)")]
            fn cached<'py>(
                slf: &Bound<'py, Self>,
                r#fn: Option<&Bound<'py, PyAny>>,
                ttl: Option<f64>,
                tags: Option<&Bound<'py, PyAny>>,
                key: Option<&Bound<'py, PyAny>>,
                lease: Option<f64>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let py = slf.py();
                let tags = tags_of(tags)?;
                for t in &tags {
                    core::check_tag(t)?;
                }
                ttl_of(ttl)?;
                let kw = PyDict::new(py);
                kw.set_item("ttl", ttl)?;
                kw.set_item("tags", PyTuple::new(py, tags)?)?;
                kw.set_item("key", key)?;
                if let Some(l) = lease {
                    core::ttl_ms(l)?;
                    kw.set_item("lease", l)?;
                }
                py.import("zerolag.cache")?
                    .getattr("cached")?
                    .call((slf, r#fn), Some(&kw))
            }

            /// Responses of language models cached here (`zerolag.cache.LlmCache`).
            #[getter]
            fn llm<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                slf.py()
                    .import("zerolag.cache")?
                    .getattr("LlmCache")?
                    .call1((slf,))
            }

            /// A read for the single-flight loop: `(hit, value, leased)`; with `lease` seconds
            /// and `token`, a miss on a key nobody holds takes its lease (`leased` True).
            #[pyo3(signature = (key, lease=None, token=None, count=true))]
            fn _lookup<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                lease: Option<f64>,
                token: Option<Text>,
                count: bool,
            ) -> PyResult<$ret> {
                let op = self.hub.cache.get_many(
                    vec![key.into_string()],
                    lease_of(lease, token)?,
                    count,
                );
                $run(py, op, |v| {
                    Python::attach(|py| {
                        let out: Py<PyAny> = match v.first() {
                            Some(Lookup::Hit(x)) => (true, to_py(py, x)?, false)
                                .into_pyobject(py)?
                                .into_any()
                                .unbind(),
                            Some(Lookup::Miss { leased }) => (false, py.None(), *leased)
                                .into_pyobject(py)?
                                .into_any()
                                .unbind(),
                            None => (false, py.None(), false)
                                .into_pyobject(py)?
                                .into_any()
                                .unbind(),
                        };
                        Ok(out)
                    })
                })
            }

            /// The write that ends a single flight: caches the value (with its prompt
            /// embedding under `scope` when both are given) and gives up the lease `token`
            /// held.
            #[pyo3(signature = (key, value, *, ttl=None, tags=None, token=None, scope=None, embedding=None))]
            #[allow(clippy::too_many_arguments)]
            fn _fill<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                value: &Bound<'py, PyAny>,
                ttl: Option<f64>,
                tags: Option<&Bound<'py, PyAny>>,
                token: Option<Text>,
                scope: Option<Text>,
                embedding: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let put = Put {
                    key: key.into_string(),
                    value: self::value(value)?,
                    ttl_ms: ttl_of(ttl)?,
                    tags: tags_of(tags)?,
                    semantic: semantic_of(scope, embedding)?,
                };
                $run(
                    py,
                    self.hub
                        .cache
                        .set_many(vec![put], token.map(Text::into_string)),
                    Ok,
                )
            }

            /// Caches `value` at `key` like `set`, with the prompt's `embedding` (a 1-D array
            /// of numbers) in `scope` (a text naming the model and the parameters that change
            /// the answer), so `match` finds it for a similar prompt (docs/cache.md).
            #[pyo3(signature = (key, value, *, scope, embedding, ttl=None, tags=None))]
            #[pyo3(text_signature = "($self, key, value, *, scope, embedding, ttl=None, tags=())")]
            #[allow(clippy::too_many_arguments)]
            fn set_semantic<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                value: &Bound<'py, PyAny>,
                scope: Text,
                embedding: &Bound<'py, PyAny>,
                ttl: Option<f64>,
                tags: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let put = Put {
                    key: key.into_string(),
                    value: self::value(value)?,
                    ttl_ms: ttl_of(ttl)?,
                    tags: tags_of(tags)?,
                    semantic: semantic_of(Some(scope), Some(embedding))?,
                };
                $run(py, self.hub.cache.set_many(vec![put], None), Ok)
            }

            /// The live entry of `scope` whose prompt embedding is the most similar to
            /// `embedding` (cosine) among those at least `threshold` similar, as a
            /// `SemanticMatch` (key, value, similarity), or None. Expired, invalidated and
            /// deleted entries are never returned (docs/cache.md). `k`: candidates read.
            #[pyo3(signature = (scope, embedding, *, threshold=DEFAULT_THRESHOLD, k=DEFAULT_K))]
            #[pyo3(text_signature = "($self, scope, embedding, *, threshold=0.9, k=4)")]
            fn r#match<'py>(
                &self,
                py: Python<'py>,
                scope: Text,
                embedding: &Bound<'py, PyAny>,
                threshold: f64,
                k: usize,
            ) -> PyResult<$ret> {
                let v = vector(embedding)?;
                let op = self.hub.cache.semantic_lookup(&scope, v, threshold, k);
                $run(py, op, |m| Ok(m.map(|m| SemanticMatch { m })))
            }

            /// `(entries, scopes)` in this handle's semantic index, brought up to date first
            /// (the first call loads it).
            fn semantic_index<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.cache.semantic_size(), Ok)
            }

            /// Gives up the lease `token` holds on `key` (the computation failed).
            fn _release<'py>(&self, py: Python<'py>, key: Text, token: Text) -> PyResult<$ret> {
                $run(py, self.hub.cache.release(&key, &token), Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.cache` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Cache")]
pub struct Cache {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.cache` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncCache")]
pub struct AsyncCache {
    pub(crate) hub: Arc<CoreHub>,
}

cache_methods!(Cache, Py<PyAny>, run_sync);
cache_methods!(AsyncCache, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Cache>()?;
    m.add_class::<AsyncCache>()?;
    m.add_class::<CacheStats>()?;
    m.add_class::<SemanticMatch>()?;
    Ok(())
}
