//! The typed commands and events, and the canonical encoder.

use serde_json::Value;

use super::escape::{classify, push_quoted, push_text, Bare};
use super::kinds::{validate, Complexity, Depth, Field, FieldRef, FieldType, Kind, KindSpec};
use super::value::{push_any, push_f64};
use super::{Direction, ProtocolError};

/// A Rust type that one field of the table maps to.
pub(crate) trait FieldKind: Sized {
    fn as_field(&self) -> FieldRef<'_>;
    fn from_field(f: Field) -> Option<Self>;
}

impl FieldKind for String {
    fn as_field(&self) -> FieldRef<'_> {
        FieldRef::Text(self)
    }
    fn from_field(f: Field) -> Option<Self> {
        match f {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl FieldKind for f64 {
    fn as_field(&self) -> FieldRef<'_> {
        FieldRef::Num(*self)
    }
    fn from_field(f: Field) -> Option<Self> {
        match f {
            Field::Num(x) => Some(x),
            _ => None,
        }
    }
}

impl FieldKind for Complexity {
    fn as_field(&self) -> FieldRef<'_> {
        FieldRef::Complexity(self)
    }
    fn from_field(f: Field) -> Option<Self> {
        match f {
            Field::Complexity(c) => Some(c),
            _ => None,
        }
    }
}

impl FieldKind for Depth {
    fn as_field(&self) -> FieldRef<'_> {
        FieldRef::Depth(self)
    }
    fn from_field(f: Field) -> Option<Self> {
        match f {
            Field::Depth(d) => Some(d),
            _ => None,
        }
    }
}

impl FieldKind for Value {
    fn as_field(&self) -> FieldRef<'_> {
        FieldRef::Value(self)
    }
    fn from_field(f: Field) -> Option<Self> {
        match f {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Writes text as an "any"-style field: quoted when it would otherwise read as something else.
fn push_any_text(out: &mut String, s: &str) {
    if matches!(classify(s), Bare::Text) {
        push_text(out, s, true);
    } else {
        push_quoted(out, s);
    }
}

/// Writes `prefix:f1|f2|…` in canonical form.
pub(crate) fn encode_fields(spec: &KindSpec, fields: &[FieldRef<'_>]) -> String {
    let mut out = String::with_capacity(32);
    out.push_str(spec.prefix);
    out.push(':');
    for (i, (fs, f)) in spec.fields.iter().zip(fields).enumerate() {
        if i > 0 {
            out.push('|');
        }
        match *f {
            FieldRef::Text(s) if matches!(fs.ty, FieldType::Text { .. }) => {
                push_text(&mut out, s, false)
            }
            FieldRef::Text(s) => push_any_text(&mut out, s),
            FieldRef::Num(x) => push_f64(&mut out, x),
            FieldRef::Complexity(c) => match c.name() {
                Some(n) => out.push_str(n),
                None => push_f64(
                    &mut out,
                    if let Complexity::Score(x) = c {
                        *x
                    } else {
                        0.0
                    },
                ),
            },
            FieldRef::Depth(Depth::Named(s)) => push_any_text(&mut out, s),
            FieldRef::Depth(Depth::Level(n)) => out.push_str(&n.to_string()),
            FieldRef::Value(v) => push_any(&mut out, v),
        }
    }
    out
}

macro_rules! kinds {
    ($( $(#[$m:meta])* $name:ident = $kind:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? } )*) => {
        $(
            $(#[$m])*
            #[derive(Debug, Clone, PartialEq)]
            pub struct $name { $( $(#[$fm])* pub $field: $ty, )* }

            impl $name {
                /// Rust field names, in table order (checked against the table by a test).
                #[cfg(test)]
                pub(crate) const FIELD_NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

                /// This kind's row of the table.
                pub fn spec() -> &'static KindSpec {
                    Kind::$kind.spec()
                }

                pub(crate) fn fields(&self) -> Vec<FieldRef<'_>> {
                    vec![$( FieldKind::as_field(&self.$field) ),*]
                }

                pub(crate) fn from_fields(fields: Vec<Field>) -> Option<Self> {
                    let mut it = fields.into_iter();
                    Some($name { $( $field: FieldKind::from_field(it.next()?)?, )* })
                }

                /// Checks what decoding would check: ranges and non-empty required text.
                pub fn validate(&self) -> Result<(), ProtocolError> {
                    validate(Self::spec(), &self.fields())
                }

                /// The canonical line; decoding it gives back an equal value.
                pub fn encode(&self) -> String {
                    encode_fields(Self::spec(), &self.fields())
                }
            }
        )*
    };
}

kinds! {
    /// `tc:{title}|{intent}|{complexity}` — ask the backend to create a task.
    TaskCreate = TaskCreate {
        /// What the task is, in words.
        title: String,
        /// The intent type (`business_growth`, `bug_fix`, …).
        intent: String,
        /// How hard it looks.
        complexity: Complexity,
    }
    /// `ts:{task_id}|{confidence}|{reason}` — ask the backend to split a task (`auto` lets it
    /// choose the task).
    TaskSplit = TaskSplit {
        /// The task to split, or `auto`.
        task_id: String,
        /// Confidence in `0..=1`.
        confidence: f64,
        /// Why.
        reason: String,
    }
    /// `wf:{workflow_id}|{params}` — start a workflow.
    WorkflowStart = WorkflowStart {
        /// Which workflow.
        workflow_id: String,
        /// Its parameters (any value).
        params: Value,
    }
    /// `cl:{context_id}|{depth}` — load a context.
    ContextLoad = ContextLoad {
        /// Which context.
        context_id: String,
        /// How much of it.
        depth: Depth,
    }
    /// `ms:{key}|{value}|{type}` — store a memory.
    MemoryStore = MemoryStore {
        /// Memory key.
        key: String,
        /// What to remember (any value).
        value: Value,
        /// Memory type (`semantic`, `episodic`, …); `type` on the wire and in Python.
        memory_type: String,
    }
    /// `tr:{task_id}|{confidence}|{routing}` — a task is ready.
    TaskReady = TaskReady {
        /// The task.
        task_id: String,
        /// Confidence in `0..=1`.
        confidence: f64,
        /// How it was routed (`one_shot`, `workflow`, …).
        routing: String,
    }
    /// `tc:{task_id}|{result}|{next_steps}` — a task finished.
    TaskComplete = TaskComplete {
        /// The task.
        task_id: String,
        /// Its result (any value).
        result: Value,
        /// What comes next (any value).
        next_steps: Value,
    }
    /// `su:{entity_id}|{status}|{progress}` — progress on something.
    StatusUpdate = StatusUpdate {
        /// The task, workflow or job.
        entity_id: String,
        /// Its status (`in_progress`, …).
        status: String,
        /// Progress in `0..=1`.
        progress: f64,
    }
    /// `cl:{context_id}|{summary}` — a context was loaded.
    ContextLoaded = ContextLoaded {
        /// Which context.
        context_id: String,
        /// What it holds, in words.
        summary: String,
    }
    /// `er:{code}|{message}|{recovery}` — something failed (codes: [`super::ERROR_CODES`]).
    ErrorEvent = Error {
        /// Error code such as `E_TIMEOUT`.
        code: String,
        /// What went wrong.
        message: String,
        /// What to do about it.
        recovery: String,
    }
}

/// A frontend → backend command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `tc:`
    TaskCreate(TaskCreate),
    /// `ts:`
    TaskSplit(TaskSplit),
    /// `wf:`
    WorkflowStart(WorkflowStart),
    /// `cl:`
    ContextLoad(ContextLoad),
    /// `ms:`
    MemoryStore(MemoryStore),
}

/// A backend → frontend event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `tr:`
    TaskReady(TaskReady),
    /// `tc:`
    TaskComplete(TaskComplete),
    /// `su:`
    StatusUpdate(StatusUpdate),
    /// `cl:`
    ContextLoaded(ContextLoaded),
    /// `er:`
    Error(ErrorEvent),
}

/// A command or an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Frontend → backend.
    Command(Command),
    /// Backend → frontend.
    Event(Event),
}

macro_rules! dispatch {
    ($self:expr, $enum:ident, $x:ident => $body:expr, [$($v:ident),*]) => {
        match $self { $( $enum::$v($x) => $body, )* }
    };
}

impl Command {
    /// Which kind.
    pub fn kind(&self) -> Kind {
        self.spec().kind
    }
    /// Its row of the table.
    pub fn spec(&self) -> &'static KindSpec {
        match self {
            Command::TaskCreate(_) => TaskCreate::spec(),
            Command::TaskSplit(_) => TaskSplit::spec(),
            Command::WorkflowStart(_) => WorkflowStart::spec(),
            Command::ContextLoad(_) => ContextLoad::spec(),
            Command::MemoryStore(_) => MemoryStore::spec(),
        }
    }
    /// The canonical line.
    pub fn encode(&self) -> String {
        dispatch!(self, Command, x => x.encode(), [TaskCreate, TaskSplit, WorkflowStart, ContextLoad, MemoryStore])
    }
    /// Checks ranges and required fields.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        dispatch!(self, Command, x => x.validate(), [TaskCreate, TaskSplit, WorkflowStart, ContextLoad, MemoryStore])
    }
}

impl Event {
    /// Which kind.
    pub fn kind(&self) -> Kind {
        self.spec().kind
    }
    /// Its row of the table.
    pub fn spec(&self) -> &'static KindSpec {
        match self {
            Event::TaskReady(_) => TaskReady::spec(),
            Event::TaskComplete(_) => TaskComplete::spec(),
            Event::StatusUpdate(_) => StatusUpdate::spec(),
            Event::ContextLoaded(_) => ContextLoaded::spec(),
            Event::Error(_) => ErrorEvent::spec(),
        }
    }
    /// The canonical line.
    pub fn encode(&self) -> String {
        dispatch!(self, Event, x => x.encode(), [TaskReady, TaskComplete, StatusUpdate, ContextLoaded, Error])
    }
    /// Checks ranges and required fields.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        dispatch!(self, Event, x => x.validate(), [TaskReady, TaskComplete, StatusUpdate, ContextLoaded, Error])
    }
}

impl Message {
    /// Which kind.
    pub fn kind(&self) -> Kind {
        self.spec().kind
    }
    /// Its row of the table.
    pub fn spec(&self) -> &'static KindSpec {
        match self {
            Message::Command(c) => c.spec(),
            Message::Event(e) => e.spec(),
        }
    }
    /// Which way it travels.
    pub fn direction(&self) -> Direction {
        self.spec().direction
    }
    /// The canonical line.
    pub fn encode(&self) -> String {
        match self {
            Message::Command(c) => c.encode(),
            Message::Event(e) => e.encode(),
        }
    }
    /// Checks ranges and required fields.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        match self {
            Message::Command(c) => c.validate(),
            Message::Event(e) => e.validate(),
        }
    }

    /// Builds a message from parsed fields (the parser's last step).
    pub(crate) fn from_fields(kind: Kind, fields: Vec<Field>) -> Option<Message> {
        use Command as C;
        use Event as E;
        Some(match kind {
            Kind::TaskCreate => Message::Command(C::TaskCreate(TaskCreate::from_fields(fields)?)),
            Kind::TaskSplit => Message::Command(C::TaskSplit(TaskSplit::from_fields(fields)?)),
            Kind::WorkflowStart => {
                Message::Command(C::WorkflowStart(WorkflowStart::from_fields(fields)?))
            }
            Kind::ContextLoad => {
                Message::Command(C::ContextLoad(ContextLoad::from_fields(fields)?))
            }
            Kind::MemoryStore => {
                Message::Command(C::MemoryStore(MemoryStore::from_fields(fields)?))
            }
            Kind::TaskReady => Message::Event(E::TaskReady(TaskReady::from_fields(fields)?)),
            Kind::TaskComplete => {
                Message::Event(E::TaskComplete(TaskComplete::from_fields(fields)?))
            }
            Kind::StatusUpdate => {
                Message::Event(E::StatusUpdate(StatusUpdate::from_fields(fields)?))
            }
            Kind::ContextLoaded => {
                Message::Event(E::ContextLoaded(ContextLoaded::from_fields(fields)?))
            }
            Kind::Error => Message::Event(E::Error(ErrorEvent::from_fields(fields)?)),
        })
    }
}

macro_rules! froms {
    ($($t:ident => $outer:ident :: $v:ident),*) => {$(
        impl From<$t> for $outer {
            fn from(x: $t) -> Self { $outer::$v(x) }
        }
        impl From<$t> for Message {
            fn from(x: $t) -> Self { Message::$outer($outer::$v(x)) }
        }
    )*};
}
froms!(TaskCreate => Command::TaskCreate, TaskSplit => Command::TaskSplit,
    WorkflowStart => Command::WorkflowStart, ContextLoad => Command::ContextLoad,
    MemoryStore => Command::MemoryStore, TaskReady => Event::TaskReady,
    TaskComplete => Event::TaskComplete, StatusUpdate => Event::StatusUpdate,
    ContextLoaded => Event::ContextLoaded, ErrorEvent => Event::Error);

impl From<Command> for Message {
    fn from(c: Command) -> Self {
        Message::Command(c)
    }
}

impl From<Event> for Message {
    fn from(e: Event) -> Self {
        Message::Event(e)
    }
}
