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

/// `s` as UTF-8, or `ValidationError` naming `what` (when known) for a lone surrogate.
fn unicode(s: &Bound<'_, PyString>, what: Option<&str>) -> PyResult<String> {
    match s.to_str() {
        Ok(t) => Ok(t.to_owned()),
        Err(e) => {
            let py = s.py();
            let at = e
                .value(py)
                .getattr("start")
                .and_then(|a| a.extract::<usize>())
                .unwrap_or(0);
            let msg = format!(
                "text is not valid Unicode: lone surrogate at index {at} (encode it, e.g. \
                 s.encode('utf-8', 'replace').decode(), before passing it)"
            );
            Err(match what {
                Some(w) => invalid(w, msg),
                None => validation(msg),
            })
        }
    }
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
    let mut walk = Walk {
        what,
        path: String::new(),
        open: Vec::new(),
    };
    walk.value(o)
}

/// The state of one conversion: where in the value we are (for the message) and the
/// containers being converted (a container met again inside itself is a cycle).
struct Walk<'w> {
    what: &'w str,
    path: String,
    open: Vec<usize>,
}

impl Walk<'_> {
    fn fail(&self, msg: impl std::fmt::Display) -> PyErr {
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!(" (at {})", self.path)
        };
        invalid(self.what, format!("{msg}{at}: not a JSON value"))
    }

    fn value(&mut self, o: &Bound<'_, PyAny>) -> PyResult<Value> {
        if o.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(s) = o.cast::<PyString>() {
            return unicode(s, Some(self.what))
                .map(Value::String)
                .map_err(|e| self.located(e));
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
            return Err(
                self.fail("integer outside the 64-bit range (-2**63 .. 2**64-1); pass it as a str")
            );
        }
        if let Ok(f) = o.cast::<PyFloat>() {
            let v = f.value();
            return Number::from_f64(v).map(Value::Number).ok_or_else(|| {
                self.fail(format!("{v} (NaN and infinities are not JSON numbers)"))
            });
        }
        let is_dict = o.cast::<PyDict>().is_ok();
        let is_seq = o.cast::<PyList>().is_ok() || o.cast::<PyTuple>().is_ok();
        if !is_dict && !is_seq {
            let name = o
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default();
            return Err(self.fail(format!(
                "a {name} (use dict, list, tuple, str, int, float, bool or None)"
            )));
        }
        let addr = o.as_ptr() as usize;
        if self.open.contains(&addr) {
            return Err(self.fail("a container that contains itself"));
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(self.fail(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.open.push(addr);
        let out = if let Ok(d) = o.cast::<PyDict>() {
            self.dict(d)
        } else {
            self.seq(o)
        };
        self.open.pop();
        out
    }

    fn dict(&mut self, d: &Bound<'_, PyDict>) -> PyResult<Value> {
        let mut m = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let Ok(ks) = k.cast::<PyString>() else {
                let name = k
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                return Err(self.fail(format!("a dict key of type {name} (keys must be str)")));
            };
            let key = unicode(ks, Some(self.what)).map_err(|e| self.located(e))?;
            let len = self.path.len();
            self.path.push_str(&format!("[{key:?}]"));
            let v = self.value(&v)?;
            self.path.truncate(len);
            m.insert(key, v);
        }
        Ok(Value::Object(m))
    }

    fn seq(&mut self, o: &Bound<'_, PyAny>) -> PyResult<Value> {
        let mut out = Vec::new();
        for (i, x) in o.try_iter()?.enumerate() {
            let len = self.path.len();
            self.path.push_str(&format!("[{i}]"));
            out.push(self.value(&x?)?);
            self.path.truncate(len);
        }
        Ok(Value::Array(out))
    }

    /// A text error from [`unicode`] with the place in the value added to its message.
    fn located(&self, e: PyErr) -> PyErr {
        if self.path.is_empty() {
            return e;
        }
        Python::attach(|py| {
            let msg = e.value(py).to_string();
            let msg = msg
                .strip_prefix(&format!("{}: ", self.what))
                .unwrap_or(&msg)
                .to_string();
            invalid(self.what, format!("{msg} (at {})", self.path))
        })
    }
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
