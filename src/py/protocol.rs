//! Python bindings of the coded protocol (`zerolag.protocol`).
//!
//! Positions reported to Python are character offsets (Rust reports bytes); everything else
//! is a thin wrapper over `crate::protocol`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;

use crate::protocol::{
    self as proto, Command, Complexity, ContextLoad, ContextLoaded, Depth, Direction, ErrorEvent,
    Event, MemoryStore, Message, ProtocolError, StatusUpdate, TaskComplete, TaskCreate, TaskReady,
    TaskSplit, WorkflowStart,
};
use crate::py::convert::{json_to_py, py_to_json, text, Text};
use crate::py::errors::{protocol_err, validation};

/// Character offset of byte offset `pos` in `s` (clamped).
fn char_pos(s: &str, pos: usize) -> usize {
    let mut p = pos.min(s.len());
    while !s.is_char_boundary(p) {
        p -= 1;
    }
    s[..p].chars().count()
}

/// Character offsets of increasing byte offsets in one string, counted once from the last
/// answer (so converting every error of an extraction is linear in the text, not quadratic).
struct CharPos<'a> {
    s: &'a str,
    byte: usize,
    chars: usize,
}

impl<'a> CharPos<'a> {
    fn new(s: &'a str) -> Self {
        CharPos {
            s,
            byte: 0,
            chars: 0,
        }
    }

    fn at(&mut self, pos: usize) -> usize {
        let mut p = pos.min(self.s.len());
        while !self.s.is_char_boundary(p) {
            p -= 1;
        }
        if p < self.byte {
            (self.byte, self.chars) = (0, 0);
        }
        self.chars += self.s[self.byte..p].chars().count();
        self.byte = p;
        self.chars
    }
}

/// A protocol error about `src`, with its position turned into characters.
fn err_in(src: &str, e: &ProtocolError, prefix: &str) -> PyErr {
    let mut e = e.clone();
    e.position = char_pos(src, e.position);
    if !prefix.is_empty() {
        e.message = format!("{prefix}{}", e.message);
    }
    protocol_err(&e)
}

fn direction(s: &str) -> PyResult<Direction> {
    Direction::parse(s)
        .ok_or_else(|| validation(format!("direction must be 'command' or 'event', not {s:?}")))
}

/// A Rust field type as a Python value.
trait ToPy {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
}

impl ToPy for String {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyString::new(py, self).into_any())
    }
}

impl ToPy for f64 {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyFloat::new(py, *self).into_any())
    }
}

impl ToPy for Complexity {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match (self.name(), self) {
            (Some(n), _) => Ok(PyString::new(py, n).into_any()),
            (None, Complexity::Score(x)) => Ok(PyFloat::new(py, *x).into_any()),
            (None, _) => Ok(py.None().into_bound(py)),
        }
    }
}

impl ToPy for Depth {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Depth::Named(s) => Ok(PyString::new(py, s).into_any()),
            Depth::Level(n) => Ok(n.into_pyobject(py)?.into_any()),
        }
    }
}

impl ToPy for Value {
    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, self)
    }
}

/// A Python argument as a Rust field type (TypeError for the wrong Python type; ranges are
/// checked afterwards by `validate`, as decoding does).
trait FromPy: Sized {
    fn from_py(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Self>;
}

fn type_error(name: &str, want: &str, o: &Bound<'_, PyAny>) -> PyErr {
    let got = o
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    PyTypeError::new_err(format!("{name} must be {want}, not {got}"))
}

impl FromPy for String {
    fn from_py(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        text(o, name)
    }
}

/// A number that is not a bool.
fn number(o: &Bound<'_, PyAny>) -> Option<f64> {
    if o.cast::<PyBool>().is_ok() {
        return None;
    }
    if o.cast::<PyFloat>().is_ok() || o.cast::<PyInt>().is_ok() {
        return o.extract::<f64>().ok();
    }
    None
}

impl FromPy for f64 {
    fn from_py(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        number(o).ok_or_else(|| type_error(name, "a float from 0 to 1", o))
    }
}

impl FromPy for Complexity {
    fn from_py(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        if o.cast::<PyString>().is_ok() {
            let s = &text(o, name)?;
            return Complexity::from_name(s).ok_or_else(|| {
                protocol_err(&ProtocolError::new(
                    0,
                    "low, medium, high, critical or a number from 0 to 1",
                    format!("unknown complexity {s:?}"),
                ))
            });
        }
        number(o)
            .map(Complexity::Score)
            .ok_or_else(|| type_error(name, "str or float", o))
    }
}

impl FromPy for Depth {
    fn from_py(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        if let Ok(s) = o.cast::<PyString>() {
            return Ok(Depth::Named(text(s.as_any(), name)?));
        }
        if o.cast::<PyInt>().is_ok() && o.cast::<PyBool>().is_err() {
            return o.extract::<i64>().map(Depth::Level);
        }
        Err(type_error(name, "str or int", o))
    }
}

impl FromPy for Value {
    fn from_py(o: &Bound<'_, PyAny>, name: &str) -> PyResult<Self> {
        py_to_json(o, name)
    }
}

macro_rules! py_kinds {
    ($( $py:ident = $rust:ident as $name:literal, $prefix:literal, $dir:literal,
        { $( $arg:ident => $field:ident ),* } )*) => { $(
        #[doc = concat!("`", $prefix, ":` ", $dir, " (see docs/protocol.md).")]
        #[pyclass(frozen, eq, module = "zerolag._core", name = $name)]
        #[derive(Clone, PartialEq)]
        pub struct $py {
            pub(crate) inner: $rust,
        }

        #[pymethods]
        impl $py {
            #[new]
            #[pyo3(signature = ($($arg),*))]
            fn new($($arg: &Bound<'_, PyAny>),*) -> PyResult<Self> {
                let inner = $rust { $( $field: FromPy::from_py($arg, stringify!($arg))?, )* };
                inner.validate().map_err(|e| protocol_err(&e))?;
                Ok(Self { inner })
            }

            $(
                #[getter]
                fn $arg<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                    self.inner.$field.to_py(py)
                }
            )*

            #[classattr]
            fn kind() -> &'static str {
                $prefix
            }

            #[classattr]
            fn direction() -> &'static str {
                $dir
            }

            #[classattr]
            fn __match_args__(py: Python<'_>) -> PyResult<Py<PyTuple>> {
                Ok(PyTuple::new(py, [$(stringify!($arg).trim_start_matches("r#")),*])?.unbind())
            }

            /// The canonical line.
            fn encode(&self) -> String {
                self.inner.encode()
            }

            /// `{"kind": prefix, field: value, ...}`.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                d.set_item("kind", $prefix)?;
                $( d.set_item(stringify!($arg).trim_start_matches("r#"), self.inner.$field.to_py(py)?)?; )*
                Ok(d)
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let parts: Vec<String> = vec![$(
                    format!("{}={}", stringify!($arg).trim_start_matches("r#"), self.inner.$field.to_py(py)?.repr()?)
                ),*];
                Ok(format!("{}({})", $name, parts.join(", ")))
            }
        }
    )* };
}

py_kinds! {
    PyTaskCreate = TaskCreate as "TaskCreate", "tc", "command", { title => title, intent => intent, complexity => complexity }
    PyTaskSplit = TaskSplit as "TaskSplit", "ts", "command", { task_id => task_id, confidence => confidence, reason => reason }
    PyWorkflowStart = WorkflowStart as "WorkflowStart", "wf", "command", { workflow_id => workflow_id, params => params }
    PyContextLoad = ContextLoad as "ContextLoad", "cl", "command", { context_id => context_id, depth => depth }
    PyMemoryStore = MemoryStore as "MemoryStore", "ms", "command", { key => key, value => value, r#type => memory_type }
    PyTaskReady = TaskReady as "TaskReady", "tr", "event", { task_id => task_id, confidence => confidence, routing => routing }
    PyTaskComplete = TaskComplete as "TaskComplete", "tc", "event", { task_id => task_id, result => result, next_steps => next_steps }
    PyStatusUpdate = StatusUpdate as "StatusUpdate", "su", "event", { entity_id => entity_id, status => status, progress => progress }
    PyContextLoaded = ContextLoaded as "ContextLoaded", "cl", "event", { context_id => context_id, summary => summary }
    PyErrorEvent = ErrorEvent as "ErrorEvent", "er", "event", { code => code, message => message, recovery => recovery }
}

/// A decoded message as its Python class.
pub(crate) fn message_to_py(py: Python<'_>, m: Message) -> PyResult<Py<PyAny>> {
    Ok(match m {
        Message::Command(c) => match c {
            Command::TaskCreate(inner) => Py::new(py, PyTaskCreate { inner })?.into_any(),
            Command::TaskSplit(inner) => Py::new(py, PyTaskSplit { inner })?.into_any(),
            Command::WorkflowStart(inner) => Py::new(py, PyWorkflowStart { inner })?.into_any(),
            Command::ContextLoad(inner) => Py::new(py, PyContextLoad { inner })?.into_any(),
            Command::MemoryStore(inner) => Py::new(py, PyMemoryStore { inner })?.into_any(),
        },
        Message::Event(e) => match e {
            Event::TaskReady(inner) => Py::new(py, PyTaskReady { inner })?.into_any(),
            Event::TaskComplete(inner) => Py::new(py, PyTaskComplete { inner })?.into_any(),
            Event::StatusUpdate(inner) => Py::new(py, PyStatusUpdate { inner })?.into_any(),
            Event::ContextLoaded(inner) => Py::new(py, PyContextLoaded { inner })?.into_any(),
            Event::Error(inner) => Py::new(py, PyErrorEvent { inner })?.into_any(),
        },
    })
}

/// The core command inside a command object (`TaskCreate`, …).
pub(crate) fn command_of(o: &Bound<'_, PyAny>) -> PyResult<Command> {
    if let Ok(x) = o.cast::<PyTaskCreate>() {
        return Ok(Command::TaskCreate(x.get().inner.clone()));
    }
    if let Ok(x) = o.cast::<PyTaskSplit>() {
        return Ok(Command::TaskSplit(x.get().inner.clone()));
    }
    if let Ok(x) = o.cast::<PyWorkflowStart>() {
        return Ok(Command::WorkflowStart(x.get().inner.clone()));
    }
    if let Ok(x) = o.cast::<PyContextLoad>() {
        return Ok(Command::ContextLoad(x.get().inner.clone()));
    }
    if let Ok(x) = o.cast::<PyMemoryStore>() {
        return Ok(Command::MemoryStore(x.get().inner.clone()));
    }
    Err(type_error("command", "a command object", o))
}

/// The canonical line of any message object.
fn encode_obj(o: &Bound<'_, PyAny>) -> PyResult<String> {
    macro_rules! try_enc {
        ($($t:ty),*) => {$(
            if let Ok(x) = o.cast::<$t>() {
                return Ok(x.get().inner.encode());
            }
        )*};
    }
    try_enc!(
        PyTaskCreate,
        PyTaskSplit,
        PyWorkflowStart,
        PyContextLoad,
        PyMemoryStore,
        PyTaskReady,
        PyTaskComplete,
        PyStatusUpdate,
        PyContextLoaded,
        PyErrorEvent
    );
    Err(type_error("obj", "a command or event object", o))
}

/// Decodes one line in `direction` ("command" or "event").
#[pyfunction]
#[pyo3(signature = (line, direction))]
fn decode(py: Python<'_>, line: Text, direction: Text) -> PyResult<Py<PyAny>> {
    let dir = self::direction(&direction)?;
    let m = proto::decode(&line, dir).map_err(|e| err_in(&line, &e, ""))?;
    message_to_py(py, m)
}

/// Decodes a frontend → backend command.
#[pyfunction]
#[pyo3(signature = (line))]
fn decode_command(py: Python<'_>, line: Text) -> PyResult<Py<PyAny>> {
    let m = proto::decode(&line, Direction::Command).map_err(|e| err_in(&line, &e, ""))?;
    message_to_py(py, m)
}

/// Decodes a backend → frontend event.
#[pyfunction]
#[pyo3(signature = (line))]
fn decode_event(py: Python<'_>, line: Text) -> PyResult<Py<PyAny>> {
    let m = proto::decode(&line, Direction::Event).map_err(|e| err_in(&line, &e, ""))?;
    message_to_py(py, m)
}

/// Decodes many lines in one call; the first bad line raises (its index is in the message).
#[pyfunction]
#[pyo3(signature = (lines, direction = Text::from("command")))]
#[pyo3(text_signature = "(lines, direction=\"command\")")]
fn decode_many<'py>(
    py: Python<'py>,
    lines: &Bound<'py, PyAny>,
    direction: Text,
) -> PyResult<Bound<'py, PyList>> {
    let dir = self::direction(&direction)?;
    if lines.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(
            "lines must be a list of str, not a str",
        ));
    }
    let one = |i: usize, item: &Bound<'py, PyAny>| -> PyResult<Py<PyAny>> {
        if item.cast::<PyString>().is_err() {
            return Err(type_error("lines", "a list of str", item));
        }
        let line = &text(item, "lines")?;
        let m = proto::decode(line, dir).map_err(|e| err_in(line, &e, &format!("line {i}: ")))?;
        message_to_py(py, m)
    };
    let mut out = Vec::new();
    if let Ok(list) = lines.cast::<PyList>() {
        // Fast path for the common case: no iterator protocol per item.
        out.reserve(list.len());
        for (i, item) in list.iter().enumerate() {
            out.push(one(i, &item)?);
        }
    } else {
        for (i, item) in lines.try_iter()?.enumerate() {
            out.push(one(i, &item?)?);
        }
    }
    PyList::new(py, out)
}

/// The canonical line of a command or event object.
#[pyfunction]
#[pyo3(signature = (obj))]
fn encode(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    encode_obj(obj)
}

/// A candidate in a reply that looked like a command but did not parse.
#[pyclass(frozen, module = "zerolag._core", name = "ExtractError")]
pub struct PyExtractError {
    /// The command text from its prefix on (without brackets or label).
    #[pyo3(get)]
    source: String,
    /// Character offset in the reply where the removed span starts.
    #[pyo3(get)]
    offset: usize,
    /// 1-based line number.
    #[pyo3(get)]
    line: usize,
    /// Character offset of the problem within `source`.
    #[pyo3(get)]
    position: usize,
    /// What the parser expected there.
    #[pyo3(get)]
    expected: String,
    /// What is wrong.
    #[pyo3(get)]
    message: String,
    event: ErrorEvent,
}

#[pymethods]
impl PyExtractError {
    /// The `er:` event (code `E_PARSE`) a frontend can send back.
    fn to_event(&self) -> PyErrorEvent {
        PyErrorEvent {
            inner: self.event.clone(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "ExtractError(line={}, position={}, source={:?}, message={:?})",
            self.line, self.position, self.source, self.message
        )
    }
}

/// What `extract` found: the messages, the reply without them, and the bad candidates.
#[pyclass(frozen, module = "zerolag._core", name = "Extraction")]
pub struct PyExtraction {
    /// Decoded commands (or events, for direction="event"), in order.
    #[pyo3(get)]
    commands: Py<PyList>,
    /// The reply with the coded lines removed and whitespace tidied.
    #[pyo3(get)]
    text: String,
    /// Candidates that did not parse, in order.
    #[pyo3(get)]
    errors: Py<PyList>,
}

#[pymethods]
impl PyExtraction {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Extraction(commands={}, text={}, errors={})",
            self.commands.bind(py).repr()?,
            PyString::new(py, &self.text).repr()?,
            self.errors.bind(py).repr()?
        ))
    }
}

/// Finds the coded lines in a model's reply (rules in docs/protocol.md).
#[pyfunction]
#[pyo3(signature = (text, direction = Text::from("command")))]
#[pyo3(text_signature = "(text, direction=\"command\")")]
fn extract(py: Python<'_>, text: Text, direction: Text) -> PyResult<PyExtraction> {
    let dir = self::direction(&direction)?;
    let x = proto::extract(&text, dir);
    let commands = PyList::empty(py);
    for m in x.messages {
        commands.append(message_to_py(py, m.message)?)?;
    }
    let errors = PyList::empty(py);
    let mut offsets = CharPos::new(&text);
    for e in x.errors {
        let err = PyExtractError {
            offset: offsets.at(e.span.start),
            line: e.line,
            position: char_pos(&e.source, e.error.position),
            event: e.to_event(),
            expected: e.error.expected,
            message: e.error.message,
            source: e.source,
        };
        errors.append(Py::new(py, err)?)?;
    }
    Ok(PyExtraction {
        commands: commands.unbind(),
        text: x.text,
        errors: errors.unbind(),
    })
}

/// Adds the protocol classes, functions and tables to `zerolag._core`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTaskCreate>()?;
    m.add_class::<PyTaskSplit>()?;
    m.add_class::<PyWorkflowStart>()?;
    m.add_class::<PyContextLoad>()?;
    m.add_class::<PyMemoryStore>()?;
    m.add_class::<PyTaskReady>()?;
    m.add_class::<PyTaskComplete>()?;
    m.add_class::<PyStatusUpdate>()?;
    m.add_class::<PyContextLoaded>()?;
    m.add_class::<PyErrorEvent>()?;
    m.add_class::<PyExtraction>()?;
    m.add_class::<PyExtractError>()?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(decode_command, m)?)?;
    m.add_function(wrap_pyfunction!(decode_event, m)?)?;
    m.add_function(wrap_pyfunction!(decode_many, m)?)?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    let codes = PyDict::new(m.py());
    for (code, hint) in proto::ERROR_CODES.iter() {
        codes.set_item(code, hint)?;
    }
    m.add("ERROR_CODES", codes)?;
    m.add("PROTOCOL_VERSION", proto::VERSION)?;
    m.add("MAX_LINE_BYTES", proto::MAX_LINE_BYTES)?;
    m.add("MAX_DEPTH", proto::MAX_DEPTH)?;
    Ok(())
}
