//! JSON values to and from Python objects.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted from Python (guards the stack).
const MAX_DEPTH: usize = 64;

/// A JSON value as a Python object (dict, list, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items: Vec<Bound<'py, PyAny>> = a
                .iter()
                .map(|x| json_to_py(py, x))
                .collect::<PyResult<_>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A Python object as JSON; TypeError for anything JSON cannot hold (sets, bytes, NaN, ...).
pub fn py_to_json(o: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json(o, 0)
}

fn to_json(o: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(format!(
            "value nests deeper than {MAX_DEPTH} levels"
        )));
    }
    if o.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = o.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(b) = o.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if o.cast::<PyInt>().is_ok() {
        if let Ok(i) = o.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = o.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(PyTypeError::new_err(
            "integer too large for JSON (beyond 64 bits)",
        ));
    }
    if let Ok(f) = o.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| PyTypeError::new_err(format!("{v} is not a JSON number")));
    }
    if let Ok(d) = o.cast::<PyDict>() {
        let mut m = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| {
                    PyTypeError::new_err(format!(
                        "JSON object keys must be str, got {}",
                        k.get_type()
                    ))
                })?
                .to_str()?
                .to_owned();
            m.insert(key, to_json(&v, depth + 1)?);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = o.cast::<PyList>() {
        return l
            .iter()
            .map(|x| to_json(&x, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    if let Ok(t) = o.cast::<PyTuple>() {
        return t
            .iter()
            .map(|x| to_json(&x, depth + 1))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    Err(PyTypeError::new_err(format!(
        "{} is not JSON-serialisable (use dict, list, tuple, str, int, float, bool or None)",
        o.get_type().name()?
    )))
}

/// A list of strings from any iterable of str (a lone str is refused: it is almost always a
/// mistake for a one-element list).
pub fn str_list(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if o.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a list of str, not a str"
        )));
    }
    let mut out = Vec::new();
    for x in o.try_iter()? {
        let x = x?;
        out.push(
            x.extract::<String>()
                .map_err(|_| PyTypeError::new_err(format!("{what} must contain str only")))?,
        );
    }
    Ok(out)
}
