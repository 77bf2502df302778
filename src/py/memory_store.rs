//! `hub.memory` from Python: records with two times, the graph and vector spaces. Times are
//! Unix seconds (float) or datetimes; scopes are `dict[str, str]`; embeddings are 1-D numpy
//! arrays (or lists of floats).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{json_to_py, text, Text};
use super::errors::invalid;
use super::memory_args::{
    entities_of, metadata_of, opt_label, scope_of, time_ms, value_of, vector, writes_of,
};
use super::{run_async, run_sync};
use crate::error::Error;
use crate::hub::Hub as CoreHub;
use crate::memory::store::graph::{Direction, Edge};
use crate::memory::store::plan::{EdgeWrite, Space};
use crate::memory::store::record::{Kind, MemoryRecord as Record, Write};

use super::memory_record::{scope_py, secs, MemoryRecord};

/// One edge of the memory graph.
#[pyclass(frozen, module = "zerolag._core", name = "MemoryEdge")]
pub struct MemoryEdge {
    e: Edge,
    known_at: Option<i64>,
}

#[pymethods]
impl MemoryEdge {
    #[getter]
    fn id(&self) -> u64 {
        self.e.id
    }
    #[getter]
    fn src(&self) -> &str {
        &self.e.src
    }
    #[getter]
    fn relation(&self) -> &str {
        &self.e.relation
    }
    #[getter]
    fn dst(&self) -> &str {
        &self.e.dst
    }
    #[getter]
    fn scope<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        scope_py(py, &self.e.scope)
    }
    #[getter]
    fn valid_from(&self) -> f64 {
        secs(self.e.valid_from)
    }
    #[getter]
    fn valid_to(&self) -> Option<f64> {
        self.e.valid_to.map(secs)
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.e.confidence
    }
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.e.metadata {
            None => Ok(py.None().into_bound(py)),
            Some(s) => json_to_py(py, &serde_json::from_str(s).map_err(Error::from)?),
        }
    }
    #[getter]
    fn recorded_at(&self) -> f64 {
        secs(self.e.recorded_at)
    }
    #[getter]
    fn invalidated_at(&self) -> Option<f64> {
        self.e.invalidation(self.known_at).map(|(at, _)| secs(at))
    }
    #[getter]
    fn expired_at(&self) -> Option<f64> {
        self.e.invalidation(self.known_at).map(|(_, tx)| secs(tx))
    }
    #[getter]
    fn has_embedding(&self) -> bool {
        self.e.space.is_some()
    }
    fn __repr__(&self) -> String {
        format!(
            "MemoryEdge(id={}, {} -[{}]-> {}, valid_from={}, valid_to={:?}, invalidated_at={:?})",
            self.e.id,
            self.e.src,
            self.e.relation,
            self.e.dst,
            secs(self.e.valid_from),
            self.e.valid_to.map(secs),
            self.invalidated_at()
        )
    }
}

fn space_dict(py: Python<'_>, s: &Space) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("name", &s.name)?;
    d.set_item("dim", s.dim)?;
    d.set_item("metric", s.metric.name())?;
    Ok(d.into_any().unbind())
}

fn records(v: Vec<Record>) -> Vec<MemoryRecord> {
    v.into_iter().map(|r| MemoryRecord { r }).collect()
}

macro_rules! memory_methods {
    ($cls:ident, $ret:ty, $run:ident) => {
        #[pymethods]
        impl $cls {
            /// Writes a new version of `key` and returns it (see `_core.pyi`).
            #[pyo3(signature = (key, value, *, kind="semantic", category=None, significance=0.5,
                        embedding=None, space="default", entities=None, scope=None, metadata=None,
                        valid_from=None, valid_to=None, source=None))]
            #[allow(clippy::too_many_arguments)]
            fn remember<'py>(
                &self,
                py: Python<'py>,
                key: &Bound<'py, PyAny>,
                value: &Bound<'py, PyAny>,
                kind: &str,
                category: Option<&Bound<'py, PyAny>>,
                significance: f64,
                embedding: Option<&Bound<'py, PyAny>>,
                space: &str,
                entities: Option<&Bound<'py, PyAny>>,
                scope: Option<&Bound<'py, PyAny>>,
                metadata: Option<&Bound<'py, PyAny>>,
                valid_from: Option<&Bound<'py, PyAny>>,
                valid_to: Option<&Bound<'py, PyAny>>,
                source: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let w = Write {
                    key: text(key, "key")?,
                    scope: scope_of(scope)?,
                    value: Some(value_of(value)?),
                    kind: Kind::parse(kind).map_err(|e| invalid("kind", e))?,
                    category: opt_label(category, "category")?,
                    significance,
                    embedding: vector(embedding)?.map(|v| (space.to_string(), v)),
                    entities: entities_of(entities)?,
                    metadata: metadata_of(metadata)?,
                    source: opt_label(source, "source")?,
                    valid_from: time_ms(valid_from, "valid_from")?,
                    valid_to: time_ms(valid_to, "valid_to")?,
                };
                $run(py, self.hub.memory.remember_many(vec![w]), |mut v| {
                    v.pop()
                        .map(|r| MemoryRecord { r })
                        .ok_or_else(|| Error::Backend("no record written".into()).into())
                })
            }

            /// Writes many records in one atomic call.
            fn remember_many<'py>(
                &self,
                py: Python<'py>,
                items: &Bound<'py, PyAny>,
            ) -> PyResult<$ret> {
                let writes = writes_of(items)?;
                $run(py, self.hub.memory.remember_many(writes), |v| {
                    Ok(records(v))
                })
            }

            /// The version of `key` valid at `as_of` as known at `known_at`, or None.
            #[pyo3(signature = (key, *, scope=None, as_of=None, known_at=None))]
            fn recall<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                scope: Option<&Bound<'py, PyAny>>,
                as_of: Option<&Bound<'py, PyAny>>,
                known_at: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let op = self.hub.memory.recall(
                    &key,
                    &scope_of(scope)?,
                    time_ms(as_of, "as_of")?,
                    time_ms(known_at, "known_at")?,
                );
                $run(py, op, |r| Ok(r.map(|r| MemoryRecord { r })))
            }

            /// Every version of `key`, oldest first.
            #[pyo3(signature = (key, *, scope=None))]
            fn history<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                scope: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let op = self.hub.memory.history(&key, &scope_of(scope)?);
                $run(py, op, |v| Ok(records(v)))
            }

            /// Writes a tombstone for `key` valid from `at` (default now).
            #[pyo3(signature = (key, *, at=None, scope=None))]
            fn forget<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                at: Option<&Bound<'py, PyAny>>,
                scope: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let w = Write {
                    key: key.to_string(),
                    scope: scope_of(scope)?,
                    value: None,
                    kind: Kind::Semantic,
                    category: None,
                    significance: 0.5,
                    embedding: None,
                    entities: Vec::new(),
                    metadata: None,
                    source: None,
                    valid_from: time_ms(at, "at")?,
                    valid_to: None,
                };
                $run(py, self.hub.memory.remember_many(vec![w]), |mut v| {
                    v.pop()
                        .map(|r| MemoryRecord { r })
                        .ok_or_else(|| Error::Backend("no record written".into()).into())
                })
            }

            /// Deletes every version of `key` physically; returns how many.
            #[pyo3(signature = (key, *, scope=None))]
            fn purge<'py>(
                &self,
                py: Python<'py>,
                key: Text,
                scope: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let op = self.hub.memory.purge(&key, &scope_of(scope)?);
                $run(py, op, Ok)
            }

            /// Erases everything of `scope`; returns how many records and edges went.
            fn forget_scope<'py>(
                &self,
                py: Python<'py>,
                scope: &Bound<'py, PyAny>,
            ) -> PyResult<$ret> {
                let s = scope_of(Some(scope))?;
                if s.is_empty() {
                    return Err(invalid("scope", "forget_scope needs a non-empty scope"));
                }
                $run(py, self.hub.memory.forget_scope(&s), Ok)
            }

            /// Declares a vector space.
            #[pyo3(signature = (name, dim, metric="cosine"))]
            fn space<'py>(
                &self,
                py: Python<'py>,
                name: Text,
                dim: usize,
                metric: &str,
            ) -> PyResult<$ret> {
                let op = self.hub.memory.space(&name, dim, metric);
                $run(py, op, |s| Python::attach(|py| space_dict(py, &s)))
            }

            /// The declared vector spaces.
            fn spaces<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                $run(py, self.hub.memory.spaces(), |v| {
                    Python::attach(|py| {
                        v.iter()
                            .map(|s| space_dict(py, s))
                            .collect::<PyResult<Vec<_>>>()
                    })
                })
            }

            /// Adds an edge `src -relation-> dst`.
            #[pyo3(signature = (src, relation, dst, *, valid_from=None, valid_to=None,
                        confidence=1.0, exclusive=false, embedding=None, space="default",
                        metadata=None, scope=None))]
            #[allow(clippy::too_many_arguments)]
            fn relate<'py>(
                &self,
                py: Python<'py>,
                src: Text,
                relation: Text,
                dst: Text,
                valid_from: Option<&Bound<'py, PyAny>>,
                valid_to: Option<&Bound<'py, PyAny>>,
                confidence: f64,
                exclusive: bool,
                embedding: Option<&Bound<'py, PyAny>>,
                space: &str,
                metadata: Option<&Bound<'py, PyAny>>,
                scope: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let w = EdgeWrite {
                    scope: scope_of(scope)?,
                    src: src.to_string(),
                    relation: relation.to_string(),
                    dst: dst.to_string(),
                    valid_from: time_ms(valid_from, "valid_from")?
                        .unwrap_or(crate::clock::now_ms() as i64),
                    valid_to: time_ms(valid_to, "valid_to")?,
                    confidence,
                    exclusive,
                    embedding: vector(embedding)?.map(|v| (space.to_string(), v)),
                    metadata: metadata_of(metadata)?,
                };
                $run(py, self.hub.memory.relate(w), |e| {
                    Ok(MemoryEdge { e, known_at: None })
                })
            }

            /// The edges of `entity` valid at `as_of` as known at `known_at`.
            #[pyo3(signature = (entity, *, relation=None, direction="out", as_of=None,
                        known_at=None, scope=None))]
            #[allow(clippy::too_many_arguments)]
            fn edges<'py>(
                &self,
                py: Python<'py>,
                entity: Text,
                relation: Option<Text>,
                direction: &str,
                as_of: Option<&Bound<'py, PyAny>>,
                known_at: Option<&Bound<'py, PyAny>>,
                scope: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let known_at = time_ms(known_at, "known_at")?;
                let op = self.hub.memory.edges(
                    &entity,
                    &scope_of(scope)?,
                    relation.as_deref(),
                    Direction::parse(direction).map_err(|e| invalid("direction", e))?,
                    time_ms(as_of, "as_of")?,
                    known_at,
                );
                $run(py, op, move |v| {
                    Ok(v.into_iter()
                        .map(|e| MemoryEdge { e, known_at })
                        .collect::<Vec<_>>())
                })
            }

            /// Hybrid search: keywords, vectors and the graph, fused (see `_core.pyi`).
            #[pyo3(signature = (text=None, embedding=None, *, space="default", scope=None,
                        around=None, hops=1, kinds=None, categories=None, as_of=None,
                        known_at=None, k=10, fusion="rrf", weights=None))]
            #[allow(clippy::too_many_arguments)]
            fn search<'py>(
                &self,
                py: Python<'py>,
                text: Option<Text>,
                embedding: Option<&Bound<'py, PyAny>>,
                space: &str,
                scope: Option<&Bound<'py, PyAny>>,
                around: Option<Text>,
                hops: u32,
                kinds: Option<Vec<Text>>,
                categories: Option<Vec<Text>>,
                as_of: Option<&Bound<'py, PyAny>>,
                known_at: Option<&Bound<'py, PyAny>>,
                k: usize,
                fusion: &str,
                weights: Option<Vec<f64>>,
            ) -> PyResult<$ret> {
                let q = super::memory_search::query(
                    text, embedding, space, scope, around, hops, kinds, categories, as_of,
                    known_at, k, fusion, weights,
                )?;
                $run(py, self.hub.memory_search.search(q), super::memory_search::hits)
            }

            /// The entities within `hops` of `entity`, with their distance.
            #[pyo3(signature = (entity, *, hops=1, as_of=None, scope=None))]
            fn neighbors<'py>(
                &self,
                py: Python<'py>,
                entity: Text,
                hops: u32,
                as_of: Option<&Bound<'py, PyAny>>,
                scope: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<$ret> {
                let op = self.hub.memory.neighbors(
                    &entity,
                    &scope_of(scope)?,
                    hops,
                    time_ms(as_of, "as_of")?,
                );
                $run(py, op, Ok)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

/// `hub.memory` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Memory")]
pub struct Memory {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.memory` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncMemory")]
pub struct AsyncMemory {
    pub(crate) hub: Arc<CoreHub>,
}

memory_methods!(Memory, Py<PyAny>, run_sync);
memory_methods!(AsyncMemory, Bound<'py, PyAny>, run_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Memory>()?;
    m.add_class::<AsyncMemory>()?;
    m.add_class::<MemoryRecord>()?;
    m.add_class::<MemoryEdge>()?;
    m.add_class::<super::memory_search::MemoryHit>()?;
    Ok(())
}
