//! The kinds of line, their fields, and the typed values they decode to.
//!
//! [`KINDS`] is the one table of prefixes and field types; the parser, the encoder and the
//! validation of hand-built values all read it. Adding a kind means: a row here, a struct,
//! a variant in [`Command`] or [`Event`], and its arm in `parse::build`.

use serde_json::Value;

use super::{Direction, ProtocolError};

/// How a field is read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Plain text (never read as a number or literal). `required` rejects empty text.
    Text {
        /// Whether the text must be non-empty.
        required: bool,
    },
    /// A number in `0..=1` (confidence, progress).
    Unit,
    /// `low`, `medium`, `high`, `critical` (any case), or a number in `0..=1`.
    Complexity,
    /// Non-empty text such as `full` or `summary`, or an integer.
    Depth,
    /// Any value: text, number, `true`/`false`/`null`, or an object/array literal.
    Any,
}

/// One field of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Field name as used in the docs and in Python (`task_id`, `type`, …).
    pub name: &'static str,
    /// How it is read.
    pub ty: FieldType,
}

/// Every kind of line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `tc:` command.
    TaskCreate,
    /// `ts:` command.
    TaskSplit,
    /// `wf:` command.
    WorkflowStart,
    /// `cl:` command.
    ContextLoad,
    /// `ms:` command.
    MemoryStore,
    /// `tr:` event.
    TaskReady,
    /// `tc:` event.
    TaskComplete,
    /// `su:` event.
    StatusUpdate,
    /// `cl:` event.
    ContextLoaded,
    /// `er:` event.
    Error,
}

/// One row of the table: a prefix in one direction and its fields, in order. No field is
/// optional: a line must carry all of them (a field may be empty where its type allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSpec {
    /// Which kind.
    pub kind: Kind,
    /// The two-letter prefix before `:`.
    pub prefix: &'static str,
    /// The upper-case name from the design (`TASK_CREATE`).
    pub name: &'static str,
    /// Which way it travels.
    pub direction: Direction,
    /// Its fields in order.
    pub fields: &'static [FieldSpec],
}

const fn f(name: &'static str, ty: FieldType) -> FieldSpec {
    FieldSpec { name, ty }
}
const ID: FieldType = FieldType::Text { required: true };
const NAME: FieldType = FieldType::Text { required: true };
const TEXT: FieldType = FieldType::Text { required: false };

/// The table of kinds. Commands first, then events.
pub static KINDS: [KindSpec; 10] = {
    use Direction::{Command as C, Event as E};
    use FieldType::{Any, Complexity as Cx, Depth as Dp, Unit};
    [
        KindSpec {
            kind: Kind::TaskCreate,
            prefix: "tc",
            name: "TASK_CREATE",
            direction: C,
            fields: &[f("title", NAME), f("intent", NAME), f("complexity", Cx)],
        },
        KindSpec {
            kind: Kind::TaskSplit,
            prefix: "ts",
            name: "TASK_SPLIT",
            direction: C,
            fields: &[f("task_id", ID), f("confidence", Unit), f("reason", TEXT)],
        },
        KindSpec {
            kind: Kind::WorkflowStart,
            prefix: "wf",
            name: "WORKFLOW_START",
            direction: C,
            fields: &[f("workflow_id", ID), f("params", Any)],
        },
        KindSpec {
            kind: Kind::ContextLoad,
            prefix: "cl",
            name: "CONTEXT_LOAD",
            direction: C,
            fields: &[f("context_id", ID), f("depth", Dp)],
        },
        KindSpec {
            kind: Kind::MemoryStore,
            prefix: "ms",
            name: "MEMORY_STORE",
            direction: C,
            fields: &[f("key", ID), f("value", Any), f("type", NAME)],
        },
        KindSpec {
            kind: Kind::TaskReady,
            prefix: "tr",
            name: "TASK_READY",
            direction: E,
            fields: &[f("task_id", ID), f("confidence", Unit), f("routing", NAME)],
        },
        KindSpec {
            kind: Kind::TaskComplete,
            prefix: "tc",
            name: "TASK_COMPLETE",
            direction: E,
            fields: &[f("task_id", ID), f("result", Any), f("next_steps", Any)],
        },
        KindSpec {
            kind: Kind::StatusUpdate,
            prefix: "su",
            name: "STATUS_UPDATE",
            direction: E,
            fields: &[f("entity_id", ID), f("status", NAME), f("progress", Unit)],
        },
        KindSpec {
            kind: Kind::ContextLoaded,
            prefix: "cl",
            name: "CONTEXT_LOADED",
            direction: E,
            fields: &[f("context_id", ID), f("summary", TEXT)],
        },
        KindSpec {
            kind: Kind::Error,
            prefix: "er",
            name: "ERROR",
            direction: E,
            fields: &[f("code", NAME), f("message", TEXT), f("recovery", TEXT)],
        },
    ]
};

impl Kind {
    /// This kind's row of [`KINDS`].
    pub fn spec(self) -> &'static KindSpec {
        // The table is in declaration order of `Kind`.
        &KINDS[self as usize]
    }
}

/// The row for `prefix` in `direction`, if there is one.
pub fn lookup(direction: Direction, prefix: &[u8]) -> Option<&'static KindSpec> {
    KINDS
        .iter()
        .find(|k| k.direction == direction && k.prefix.as_bytes() == prefix)
}

/// The prefixes of one direction, for error messages (`tc, ts, wf, cl, ms`).
pub(crate) fn prefixes(direction: Direction) -> String {
    let v: Vec<&str> = KINDS
        .iter()
        .filter(|k| k.direction == direction)
        .map(|k| k.prefix)
        .collect();
    v.join(", ")
}

/// How complex a task is: a named level or a score in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Complexity {
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
    /// A score in `0..=1`.
    Score(f64),
}

impl Complexity {
    /// The level's name, or `None` for a score.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Complexity::Low => Some("low"),
            Complexity::Medium => Some("medium"),
            Complexity::High => Some("high"),
            Complexity::Critical => Some("critical"),
            Complexity::Score(_) => None,
        }
    }

    /// Parses a level name, ignoring case.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "low" => Complexity::Low,
            "medium" => Complexity::Medium,
            "high" => Complexity::High,
            "critical" => Complexity::Critical,
            _ => return None,
        })
    }
}

/// How much of a context to load: a named depth (`full`, `summary`, …) or a level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Depth {
    /// Non-empty text.
    Named(String),
    /// An integer.
    Level(i64),
}

/// A field value as the table sees it: the parser produces these, the typed structs are
/// built from them, and the encoder and validator read borrowed ones.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Text(String),
    Num(f64),
    Complexity(Complexity),
    Depth(Depth),
    Value(Value),
}

/// A field problem without a position: what was expected and what went wrong.
pub(crate) type Problem = (String, String);

impl FieldType {
    /// Turns a decoded value into this field's typed form, or says why it cannot.
    pub(crate) fn coerce(self, name: &str, v: Value) -> Result<Field, Problem> {
        let unit_expected = || format!("`{name}`: a number from 0 to 1");
        match self {
            FieldType::Text { .. } => match v {
                Value::String(s) => Ok(Field::Text(s)),
                _ => Err((format!("`{name}`: text"), "not text".into())),
            },
            FieldType::Any => Ok(Field::Value(v)),
            FieldType::Unit => match v.as_f64() {
                Some(x) if v.is_number() => Ok(Field::Num(x)),
                _ => Err((unit_expected(), format!("`{name}` is not a number"))),
            },
            FieldType::Complexity => {
                match &v {
                    Value::String(s) => {
                        Complexity::from_name(s)
                            .map(Field::Complexity)
                            .ok_or_else(|| {
                                (
                        format!("`{name}`: low, medium, high, critical or a number from 0 to 1"),
                        format!("unknown complexity `{s}`"),
                    )
                            })
                    }
                    Value::Number(n) => Ok(Field::Complexity(Complexity::Score(
                        n.as_f64().unwrap_or(f64::NAN),
                    ))),
                    _ => Err((
                        format!("`{name}`: low, medium, high, critical or a number from 0 to 1"),
                        "complexity must be a level or a number".into(),
                    )),
                }
            }
            FieldType::Depth => match v {
                Value::String(s) => Ok(Field::Depth(Depth::Named(s))),
                Value::Number(n) if n.as_i64().is_some() => {
                    Ok(Field::Depth(Depth::Level(n.as_i64().unwrap_or(0))))
                }
                _ => Err((
                    format!("`{name}`: text such as `full` or an integer"),
                    "depth must be text or an integer".into(),
                )),
            },
        }
    }

    /// Checks a typed field against this type (ranges, non-empty text).
    pub(crate) fn check(self, name: &str, f: &FieldRef<'_>) -> Result<(), Problem> {
        let in_unit = |x: f64| (0.0..=1.0).contains(&x);
        match (self, f) {
            (FieldType::Text { required: true }, FieldRef::Text("")) => Err((
                format!("`{name}`: non-empty text"),
                format!("`{name}` is empty"),
            )),
            (FieldType::Unit, FieldRef::Num(x)) if !in_unit(*x) => Err((
                format!("`{name}`: a number from 0 to 1"),
                format!("`{name}` {x} is outside 0..1"),
            )),
            (FieldType::Complexity, FieldRef::Complexity(Complexity::Score(x))) if !in_unit(*x) => {
                Err((
                    format!("`{name}`: a number from 0 to 1"),
                    format!("complexity score {x} is outside 0..1"),
                ))
            }
            (FieldType::Depth, FieldRef::Depth(Depth::Named(s))) if s.is_empty() => Err((
                format!("`{name}`: non-empty text or an integer"),
                "depth is empty".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// A borrowed field, for encoding and validation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldRef<'a> {
    Text(&'a str),
    Num(f64),
    Complexity(&'a Complexity),
    Depth(&'a Depth),
    Value(&'a Value),
}

impl Field {
    pub(crate) fn as_ref(&self) -> FieldRef<'_> {
        match self {
            Field::Text(s) => FieldRef::Text(s),
            Field::Num(x) => FieldRef::Num(*x),
            Field::Complexity(c) => FieldRef::Complexity(c),
            Field::Depth(d) => FieldRef::Depth(d),
            Field::Value(v) => FieldRef::Value(v),
        }
    }
}

/// Validates borrowed fields against a kind's row (for values built by hand rather than
/// decoded, so the error's position is 0).
pub(crate) fn validate(spec: &KindSpec, fields: &[FieldRef<'_>]) -> Result<(), ProtocolError> {
    for (fs, f) in spec.fields.iter().zip(fields) {
        fs.ty.check(fs.name, f).map_err(|(exp, msg)| {
            ProtocolError::new(0, exp, format!("{}: {msg}", spec.name.to_ascii_lowercase()))
        })?;
    }
    Ok(())
}
