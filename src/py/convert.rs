//! The one place Python arguments become Rust text and JSON values, and the one rule for what
//! is refused (docs/errors.md): text that is not valid Unicode (a lone surrogate such as
//! `"\ud800"`, which `json.loads` makes from a model reply containing `\ud800`), and values
//! JSON cannot hold (NaN and ±inf, integers outside the signed/unsigned 64-bit range, bytes,
//! sets, dict keys that are not str, nesting deeper than [`MAX_DEPTH`], a container that holds
//! itself). Each raises `zerolag.ValidationError` (a `ValueError`) whose `argument` names the
//! argument; a value of the wrong Python type (an int where text is expected) stays a
//! `TypeError`.
//!
//! Text arguments are declared as [`Text`] (or `Option<Text>`, `Vec<Text>`): PyO3 cannot tell
//! an extractor which argument it fills, but it adds the note `while processing '<name>'` to
//! the error, and `ValidationError.add_note` (python/zerolag/exceptions.py) records that name
//! as `argument`. Values converted inside a method body name their argument explicitly
//! ([`py_to_json`], [`text`], [`str_list`]).

use std::collections::HashMap;
use std::ops::Deref;
use std::path::PathBuf;

use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use super::errors::{invalid, validation};

/// Deepest nesting accepted from Python (guards the stack).
pub const MAX_DEPTH: usize = 64;

/// A text argument: a Python `str` that is valid Unicode. A lone surrogate raises
/// `ValidationError` (not `UnicodeEncodeError`); anything but a `str` raises `TypeError`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(pub String);

impl Text {
    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.to_owned())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

impl<'py> FromPyObject<'_, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        let s = obj.cast::<PyString>()?;
        unicode(&s, None).map(Text)
    }
}

/// A `str -> str` mapping argument as owned strings.
pub fn string_map(m: Option<HashMap<Text, Text>>) -> Option<HashMap<String, String>> {
    m.map(|m| m.into_iter().map(|(k, v)| (k.0, v.0)).collect())
}

/// A filesystem path argument (str or os.PathLike): a str that the filesystem encoding cannot
/// encode (a lone surrogate outside the `surrogateescape` range) raises `ValidationError`, not
/// `UnicodeEncodeError`.
#[derive(Debug, Clone)]
pub struct PathArg(pub PathBuf);

impl<'py> FromPyObject<'_, 'py> for PathArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        match obj.extract::<PathBuf>() {
            Ok(p) => Ok(PathArg(p)),
            Err(e) if e.is_instance_of::<PyUnicodeEncodeError>(py) => Err(validation(
                "path is not valid Unicode text (a lone surrogate the filesystem cannot encode)",
            )),
            Err(e) => Err(e),
        }
    }
}

/// Owned `String`s of a list of [`Text`].
pub fn strings(v: Vec<Text>) -> Vec<String> {
    v.into_iter().map(Text::into_string).collect()
}

/// `s` as UTF-8, or the index of its first lone surrogate.
fn utf8(s: &Bound<'_, PyString>) -> Result<String, usize> {
    match s.to_str() {
        Ok(t) => Ok(t.to_owned()),
        Err(e) => Err(e
            .value(s.py())
            .getattr("start")
            .and_then(|a| a.extract::<usize>())
            .unwrap_or(0)),
    }
}

fn not_unicode(at: usize) -> String {
    format!(
        "text is not valid Unicode: lone surrogate at index {at} (replace it, e.g. with \
         s.encode('utf-8', 'replace').decode(), before passing it)"
    )
}

/// `s` as UTF-8, or `ValidationError` naming `what` (when known) for a lone surrogate.
fn unicode(s: &Bound<'_, PyString>, what: Option<&str>) -> PyResult<String> {
    utf8(s).map_err(|at| match what {
        Some(w) => invalid(w, not_unicode(at)),
        None => validation(not_unicode(at)),
    })
}

/// Text from any Python object that must be a `str` (named `what` in errors): `TypeError` for
/// another type, `ValidationError` for a lone surrogate.
pub fn text(o: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let s = o.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be str, not {}",
            o.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    unicode(s, Some(what))
}

/// Like [`text`] for an optional value (None stays None).
pub fn opt_text(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<String>> {
    if o.is_none() {
        Ok(None)
    } else {
        text(o, what).map(Some)
    }
}

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

/// A Python object as JSON, `what` naming the argument in errors. `ValidationError` for
/// anything JSON cannot hold (see the module doc): dict, list, tuple, str, int, float, bool
/// and None are JSON.
pub fn py_to_json(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    let mut open = Vec::new();
    to_json(o, &mut open).map_err(|e| match e {
        Fail::Py(e) => e,
        Fail::Bad { msg, mut path } => {
            path.reverse();
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" (at {})", path.concat())
            };
            invalid(what, format!("{msg}{at}"))
        }
    })
}

/// Why a conversion failed: a value JSON cannot hold (with the place, innermost segment
/// first, filled in as the error goes up; kept off the success path) or a Python error.
enum Fail {
    Bad { msg: String, path: Vec<String> },
    Py(PyErr),
}

impl From<PyErr> for Fail {
    fn from(e: PyErr) -> Fail {
        Fail::Py(e)
    }
}

fn bad(msg: impl Into<String>) -> Fail {
    Fail::Bad {
        msg: msg.into(),
        path: Vec::new(),
    }
}

/// Adds the segment `seg` (made only on failure) to the place of a failure.
fn at(e: Fail, seg: impl FnOnce() -> String) -> Fail {
    match e {
        Fail::Bad { msg, mut path } => {
            path.push(seg());
            Fail::Bad { msg, path }
        }
        other => other,
    }
}

fn type_name(o: &Bound<'_, PyAny>) -> String {
    o.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// `o` as JSON; `open` holds the containers being converted (one met again inside itself
/// is a cycle).
fn to_json(o: &Bound<'_, PyAny>, open: &mut Vec<usize>) -> Result<Value, Fail> {
    if o.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = o.cast::<PyString>() {
        return json_str(s).map(Value::String);
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
        return Err(bad(
            "integer outside the 64-bit range (-2**63 .. 2**64-1) is not a JSON value; pass \
             it as a str",
        ));
    }
    if let Ok(f) = o.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            bad(format!(
                "{v} is not a JSON value (NaN and infinities are not JSON numbers)"
            ))
        });
    }
    let dict = o.cast::<PyDict>().ok();
    if dict.is_none() && o.cast::<PyList>().is_err() && o.cast::<PyTuple>().is_err() {
        return Err(bad(format!(
            "a {} is not a JSON value (use dict, list, tuple, str, int, float, bool or None)",
            type_name(o)
        )));
    }
    let addr = o.as_ptr() as usize;
    if open.contains(&addr) {
        return Err(bad("a container that contains itself is not a JSON value"));
    }
    if open.len() >= MAX_DEPTH {
        return Err(bad(format!(
            "nesting deeper than {MAX_DEPTH} levels is refused"
        )));
    }
    open.push(addr);
    let out = match dict {
        Some(d) => json_object(d, open),
        None => json_array(o, open),
    };
    open.pop();
    out
}

fn json_str(s: &Bound<'_, PyString>) -> Result<String, Fail> {
    utf8(s).map_err(|at| bad(not_unicode(at)))
}

fn json_object(d: &Bound<'_, PyDict>, open: &mut Vec<usize>) -> Result<Value, Fail> {
    let mut m = Map::with_capacity(d.len());
    for (k, v) in d.iter() {
        let Ok(ks) = k.cast::<PyString>() else {
            return Err(bad(format!(
                "a dict key of type {} is not JSON (keys must be str)",
                type_name(&k)
            )));
        };
        let key = json_str(ks).map_err(|e| at(e, || "[<key>]".into()))?;
        let v = to_json(&v, open).map_err(|e| at(e, || format!("[{key:?}]")))?;
        m.insert(key, v);
    }
    Ok(Value::Object(m))
}

fn json_array(o: &Bound<'_, PyAny>, open: &mut Vec<usize>) -> Result<Value, Fail> {
    let mut out = Vec::with_capacity(o.len().unwrap_or(0));
    for (i, x) in o.try_iter()?.enumerate() {
        out.push(to_json(&x?, open).map_err(|e| at(e, || format!("[{i}]")))?);
    }
    Ok(Value::Array(out))
}

/// A list of strings from any iterable of str (a lone str is refused: it is almost always a
/// mistake for a one-element list); `what` names the argument in errors.
pub fn str_list(o: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if o.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a list of str, not a str"
        )));
    }
    let mut out = Vec::new();
    for x in o.try_iter()? {
        let x = x?;
        let s = x
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("{what} must contain str only")))?;
        out.push(unicode(s, Some(what))?);
    }
    Ok(out)
}
