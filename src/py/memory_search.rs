//! `hub.memory.search` from Python: the query's arguments and the hits.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::Text;
use super::errors::invalid;
use super::memory_args::{scope_of, time_ms, vector};
use super::memory_record::MemoryRecord;
use crate::memory::fusion::{Fusion, SignalScore};
use crate::memory::search::{Query, SearchHit};
use crate::memory::store::record::Kind;

/// The query of `search(...)`'s arguments.
#[allow(clippy::too_many_arguments)]
pub fn query(
    text: Option<Text>,
    embedding: Option<&Bound<'_, PyAny>>,
    space: &str,
    scope: Option<&Bound<'_, PyAny>>,
    around: Option<Text>,
    hops: u32,
    kinds: Option<Vec<Text>>,
    categories: Option<Vec<Text>>,
    as_of: Option<&Bound<'_, PyAny>>,
    known_at: Option<&Bound<'_, PyAny>>,
    k: usize,
    fusion: &str,
    weights: Option<Vec<f64>>,
) -> PyResult<Query> {
    let kinds = kinds
        .map(|ks| {
            ks.iter()
                .map(|k| Kind::parse(k).map_err(|e| invalid("kinds", e)))
                .collect::<PyResult<Vec<_>>>()
        })
        .transpose()?;
    Ok(Query {
        text: text.map(String::from),
        embedding: vector(embedding)?,
        space: space.to_string(),
        scope: scope_of(scope)?,
        around: around.map(String::from),
        hops,
        kinds,
        categories: categories.map(|cs| cs.into_iter().map(String::from).collect()),
        as_of: time_ms(as_of, "as_of")?,
        known_at: time_ms(known_at, "known_at")?,
        k,
        fusion: Fusion::parse(fusion).map_err(|e| invalid("fusion", e))?,
        weights,
    })
}

/// One result of `hub.memory.search`: the record, the fused score, and each signal's score
/// and rank.
#[pyclass(frozen, module = "zerolag._core", name = "MemoryHit")]
pub struct MemoryHit {
    #[pyo3(get)]
    record: Py<MemoryRecord>,
    #[pyo3(get)]
    score: f64,
    keyword: Option<SignalScore>,
    vector: Option<SignalScore>,
    graph: Option<SignalScore>,
}

fn pair(s: Option<SignalScore>) -> Option<(f32, u32)> {
    s.map(|s| (s.score, s.rank))
}

#[pymethods]
impl MemoryHit {
    /// `(score, rank)` of the keyword signal (BM25), None if it did not rank the record.
    #[getter]
    fn keyword(&self) -> Option<(f32, u32)> {
        pair(self.keyword)
    }
    /// `(score, rank)` of the vector signal (similarity), None if it did not rank it.
    #[getter]
    fn vector(&self) -> Option<(f32, u32)> {
        pair(self.vector)
    }
    /// `(score, rank)` of the graph signal (1 / (1 + hops)), None if it did not rank it.
    #[getter]
    fn graph(&self) -> Option<(f32, u32)> {
        pair(self.graph)
    }
    /// Every signal that ranked the record: `{"keyword": (score, rank), ...}`.
    fn signals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, s) in [
            ("keyword", self.keyword),
            ("vector", self.vector),
            ("graph", self.graph),
        ] {
            if let Some(p) = pair(s) {
                d.set_item(name, p)?;
            }
        }
        Ok(d)
    }
    /// The hit as an HTML table (Jupyter): the record, its times and each signal.
    fn _repr_html_(&self, py: Python<'_>) -> String {
        let r = &self.record.bind(py).get().r;
        let when = super::html::utc;
        let sig = |s: Option<SignalScore>| match s {
            Some(s) => format!("{:.4} (#{})", s.score, s.rank),
            None => "–".to_string(),
        };
        let value = match &r.value {
            Some(v) => v.data().to_string(),
            None => "(forgotten)".to_string(),
        };
        super::html::fields(
            &format!("{} v{} — score {:.4}", r.key, r.version, self.score),
            &[
                ("value", value),
                ("kind", r.kind.name().to_string()),
                ("category", r.category.clone().unwrap_or_default()),
                ("entities", r.entities.join(", ")),
                (
                    "valid",
                    format!(
                        "from {}{}",
                        when(r.valid_from),
                        match r.valid_to {
                            Some(t) => format!(" to {}", when(t)),
                            None => String::new(),
                        }
                    ),
                ),
                ("recorded", when(r.recorded_at)),
                ("keyword", sig(self.keyword)),
                ("vector", sig(self.vector)),
                ("graph", sig(self.graph)),
            ],
        )
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        let r = &self.record.bind(py).get().r;
        let sig = |s: Option<SignalScore>| match s {
            Some(s) => format!("#{}", s.rank),
            None => "-".to_string(),
        };
        format!(
            "MemoryHit(key={:?}, version={}, score={:.4}, keyword={}, vector={}, graph={})",
            r.key,
            r.version,
            self.score,
            sig(self.keyword),
            sig(self.vector),
            sig(self.graph)
        )
    }
}

/// The hits as Python objects.
pub fn hits(v: Vec<SearchHit>) -> PyResult<Vec<MemoryHit>> {
    Python::attach(|py| {
        v.into_iter()
            .map(|h| {
                Ok(MemoryHit {
                    record: Py::new(py, MemoryRecord { r: h.record })?,
                    score: h.score,
                    keyword: h.keyword,
                    vector: h.vector,
                    graph: h.graph,
                })
            })
            .collect()
    })
}
