//! Arguments of `hub.memory` from Python: times (Unix seconds or datetimes), scopes
//! (`dict[str, str]`), embeddings (1-D array-likes), values, metadata and the items of
//! `remember_many`.

use numpy::{AllowTypeChange, PyArrayLike1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::convert::{py_to_json, str_list, text};
use super::errors::{invalid, validation};
use crate::memory::store::record::{self as rec, Kind, Value, Write};

/// Unix seconds from a number or a datetime, as milliseconds.
pub fn time_ms(o: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<i64>> {
    let Some(o) = o.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let secs: f64 = if let Ok(ts) = o.getattr("timestamp") {
        ts.call0()?.extract()?
    } else {
        o.extract::<f64>().map_err(|_| {
            PyTypeError::new_err(format!("{what} must be a datetime or Unix seconds"))
        })?
    };
    Ok(Some(rec::ms(what, secs)?))
}

/// A scope dict (None: the global scope) in its canonical form.
pub fn scope_of(o: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    let Some(o) = o.filter(|o| !o.is_none()) else {
        return Ok(String::new());
    };
    let d = o
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err("scope must be a dict of str to str, or None"))?;
    let mut pairs = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        pairs.push((text(&k, "scope")?, text(&v, "scope")?));
    }
    rec::scope(pairs).map_err(|e| invalid("scope", e))
}

/// An embedding: a 1-D array-like of numbers.
pub fn vector<'py>(o: Option<&Bound<'py, PyAny>>) -> PyResult<Option<Vec<f32>>> {
    let Some(o) = o.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    let a = o
        .extract::<PyArrayLike1<'py, f32, AllowTypeChange>>()
        .map_err(|_| invalid("embedding", "must be a 1-D array or list of numbers"))?;
    Ok(Some(match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    }))
}

pub fn value_of(o: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(s) = o.cast::<PyString>() {
        return Ok(Value::Text(text(s.as_any(), "value")?));
    }
    let v = py_to_json(o, "value")?;
    Ok(Value::Json(
        serde_json::to_string(&v).map_err(|e| validation(e.to_string()))?,
    ))
}

pub fn metadata_of(o: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    match o.filter(|o| !o.is_none()) {
        None => Ok(None),
        Some(o) => {
            let v = py_to_json(o, "metadata")?;
            Ok(Some(
                serde_json::to_string(&v).map_err(|e| validation(e.to_string()))?,
            ))
        }
    }
}

pub fn opt_label(o: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    match o.filter(|o| !o.is_none()) {
        None => Ok(None),
        Some(o) => Ok(Some(text(o, what)?)),
    }
}

pub fn entities_of(o: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    match o.filter(|o| !o.is_none()) {
        None => Ok(Vec::new()),
        Some(o) => Ok(rec::entities(str_list(o, "entities")?).map_err(|e| invalid("entities", e))?),
    }
}

/// One write from keyword arguments (a dict of `remember_many`, or `remember`'s own).
fn write_of<'py>(
    key: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<Write> {
    let get = |name: &str| -> PyResult<Option<Bound<'py, PyAny>>> {
        match kw {
            Some(d) => d.get_item(name),
            None => Ok(None),
        }
    };
    let kind = match get("kind")? {
        Some(k) if !k.is_none() => {
            Kind::parse(&text(&k, "kind")?).map_err(|e| invalid("kind", e))?
        }
        _ => Kind::Semantic,
    };
    let significance = match get("significance")? {
        Some(s) if !s.is_none() => s
            .extract::<f64>()
            .map_err(|_| PyTypeError::new_err("significance must be a number"))?,
        _ => 0.5,
    };
    let space = match get("space")? {
        Some(s) if !s.is_none() => text(&s, "space")?,
        _ => "default".to_string(),
    };
    let embedding = vector(get("embedding")?.as_ref())?.map(|v| (space, v));
    Ok(Write {
        key: text(key, "key")?,
        scope: scope_of(get("scope")?.as_ref())?,
        value: Some(value_of(value)?),
        kind,
        category: opt_label(get("category")?.as_ref(), "category")?,
        significance,
        embedding,
        entities: entities_of(get("entities")?.as_ref())?,
        metadata: metadata_of(get("metadata")?.as_ref())?,
        source: opt_label(get("source")?.as_ref(), "source")?,
        valid_from: time_ms(get("valid_from")?.as_ref(), "valid_from")?,
        valid_to: time_ms(get("valid_to")?.as_ref(), "valid_to")?,
    })
}

const FIELDS: &[&str] = &[
    "key",
    "value",
    "kind",
    "category",
    "significance",
    "embedding",
    "space",
    "entities",
    "scope",
    "metadata",
    "valid_from",
    "valid_to",
    "source",
];

/// The items of `remember_many`: dicts with `key` and `value` (and any option of
/// `remember`), or `(key, value)` tuples.
pub fn writes_of(items: &Bound<'_, PyAny>) -> PyResult<Vec<Write>> {
    let mut out = Vec::new();
    for x in items.try_iter()? {
        let x = x?;
        if let Ok(d) = x.cast::<PyDict>() {
            for k in d.keys() {
                let k = text(&k, "items")?;
                if !FIELDS.contains(&k.as_str()) {
                    return Err(invalid("items", format!("unknown field {k:?}")));
                }
            }
            let key = d
                .get_item("key")?
                .ok_or_else(|| invalid("items", "an item has no 'key'"))?;
            let value = d
                .get_item("value")?
                .ok_or_else(|| invalid("items", "an item has no 'value'"))?;
            out.push(write_of(&key, &value, Some(d))?);
        } else if let Ok(t) = x.cast::<PyTuple>() {
            let (k, v) = t.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
            out.push(write_of(&k, &v, None)?);
        } else {
            return Err(PyTypeError::new_err(
                "items must be dicts with 'key' and 'value', or (key, value) tuples",
            ));
        }
        if out.len() > rec::MAX_BATCH {
            return Err(validation(format!(
                "at most {} records per call",
                rec::MAX_BATCH
            )));
        }
    }
    Ok(out)
}
