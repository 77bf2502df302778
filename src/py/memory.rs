//! `zerolag._core.VectorIndex`: the memory capability's vector space from Python, numpy in
//! and out.

use numpy::{
    AllowTypeChange, PyArray1, PyArray2, PyArrayLike1, PyArrayLike2, PyUntypedArrayMethods,
};
use parking_lot::RwLock;
use pyo3::prelude::*;

use super::convert::Text;
use crate::error::Error;
use crate::memory::embed::HashEmbedder;
use crate::memory::vector::{Metric, VectorSpace};

/// What `search` returns: ids and scores, best first.
type Found<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<f32>>);

/// An in-process vector index of fixed dimension and metric.
#[pyclass(frozen, module = "zerolag._core", name = "VectorIndex")]
pub struct VectorIndex {
    inner: RwLock<VectorSpace>,
}

/// The row ids of an array-like of non-negative integers.
fn ids_of(ids: &PyArrayLike1<'_, i64, AllowTypeChange>) -> PyResult<Vec<u64>> {
    let view = ids.as_array();
    view.iter()
        .map(|&i| {
            u64::try_from(i).map_err(|_| Error::validation(format!("ids must be >= 0, not {i}")))
        })
        .collect::<Result<_, _>>()
        .map_err(PyErr::from)
}

#[pymethods]
impl VectorIndex {
    #[new]
    #[pyo3(signature = (dim, metric = "cosine", quantized = false))]
    fn new(dim: usize, metric: &str, quantized: bool) -> PyResult<Self> {
        let space = VectorSpace::new(dim, Metric::parse(metric)?, quantized)?;
        Ok(VectorIndex {
            inner: RwLock::new(space),
        })
    }

    #[getter]
    fn dim(&self) -> usize {
        self.inner.read().dim()
    }

    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.read().metric().name()
    }

    #[getter]
    fn quantized(&self) -> bool {
        self.inner.read().quantized()
    }

    fn __len__(&self) -> usize {
        self.inner.read().len()
    }

    fn __contains__(&self, id: i64) -> bool {
        u64::try_from(id).is_ok_and(|id| self.inner.read().contains(id))
    }

    /// Adds or replaces rows: `ids` (n) and a matrix (n x dim). A C-contiguous float32 matrix
    /// is read in place; anything else is converted by numpy first.
    fn add(
        &self,
        ids: PyArrayLike1<'_, i64, AllowTypeChange>,
        matrix: PyArrayLike2<'_, f32, AllowTypeChange>,
    ) -> PyResult<()> {
        let ids = ids_of(&ids)?;
        let shape = matrix.shape();
        let dim = self.inner.read().dim();
        if shape[0] != ids.len() || shape[1] != dim {
            return Err(Error::validation(format!(
                "{} ids need a {} x {dim} matrix, got {} x {}",
                ids.len(),
                ids.len(),
                shape[0],
                shape[1]
            ))
            .into());
        }
        let owned;
        let data: &[f32] = match matrix.as_slice() {
            Ok(s) => s,
            Err(_) => {
                owned = matrix.as_array().iter().copied().collect::<Vec<f32>>();
                &owned
            }
        };
        self.inner.write().add_many(&ids, data)?;
        Ok(())
    }

    /// Removes rows; returns how many were there.
    fn remove(&self, ids: PyArrayLike1<'_, i64, AllowTypeChange>) -> PyResult<usize> {
        let ids = ids_of(&ids)?;
        let mut inner = self.inner.write();
        Ok(ids.into_iter().filter(|&id| inner.remove(id)).count())
    }

    /// The best `k` rows for a query: `(ids, scores)` as numpy arrays (uint64, float32), best
    /// first. Quantised indexes scan int8 and re-rank exactly unless `exact` is set.
    #[pyo3(signature = (vector, k = 10, *, exact = false))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        vector: PyArrayLike1<'py, f32, AllowTypeChange>,
        k: usize,
        exact: bool,
    ) -> PyResult<Found<'py>> {
        let q: Vec<f32> = match vector.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => vector.as_array().iter().copied().collect(),
        };
        let hits = py.detach(|| {
            let inner = self.inner.read();
            if exact {
                inner.search_exact(&q, k)
            } else {
                inner.search(&q, k)
            }
        })?;
        let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
        let scores: Vec<f32> = hits.iter().map(|h| h.score).collect();
        Ok((PyArray1::from_vec(py, ids), PyArray1::from_vec(py, scores)))
    }

    /// Bytes the index holds (rows, ids, the int8 copy, the id map).
    fn memory_bytes(&self) -> usize {
        self.inner.read().memory_bytes()
    }

    fn __repr__(&self) -> String {
        let s = self.inner.read();
        format!(
            "VectorIndex(dim={}, metric={:?}, quantized={}, rows={})",
            s.dim(),
            s.metric().name(),
            if s.quantized() { "True" } else { "False" },
            s.len()
        )
    }
}

/// The hashing embedder's vectors of `texts`: a float32 matrix, one unit row per text
/// (`crate::memory::embed`). The GIL is released while it hashes.
#[pyfunction]
#[pyo3(signature = (texts, dim = 384, ngram_min = 3, ngram_max = 5))]
fn hash_embed<'py>(
    py: Python<'py>,
    texts: Vec<Text>,
    dim: usize,
    ngram_min: usize,
    ngram_max: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let e = HashEmbedder::new(dim, ngram_min, ngram_max)?;
    let n = texts.len();
    let texts: Vec<String> = texts.into_iter().map(String::from).collect();
    let flat = py.detach(|| e.embed(&texts));
    let rows = numpy::ndarray::Array2::from_shape_vec((n, dim), flat)
        .map_err(|e| Error::Backend(e.to_string()))?;
    Ok(PyArray2::from_owned_array(py, rows))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<VectorIndex>()?;
    m.add_function(wrap_pyfunction!(hash_embed, m)?)
}
