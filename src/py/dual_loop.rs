//! The dual loop's in-memory session state and budgeted prompt from Python: `LoopState`
//! (one per `zerolag.DualLoop`) and `build_prompt` (what `zerolag.prompt.build_prompt` calls).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

use super::convert::Text;
use pyo3::types::{PyDict, PyList};

use super::jobs::{item_job, job_headers, AsyncJobs, Jobs};
use super::protocol::{command_of, message_to_py, PyErrorEvent};
use super::{run_async, run_sync};
use crate::dual_loop::{self as core, Budget, Counter, Plan, Prompt, Sessions};
use crate::engine::Op;
use crate::hub::Hub as CoreHub;
use crate::jobs::NewJob;
use crate::protocol::{decode_event, Message};

/// `(total, system, commands, status, user, memories)` from Python.
type BudgetTuple = (i64, i64, i64, i64, i64, i64);

fn budget(b: BudgetTuple) -> Budget {
    Budget {
        total: b.0,
        system: b.1,
        commands: b.2,
        status: b.3,
        user: b.4,
        memories: b.5,
    }
}

use crate::clock::now;

/// Builds with the estimate, or with `count(text) -> int` (a Python callable).
fn build(
    count: Option<&Bound<'_, PyAny>>,
    f: impl FnOnce(&mut Counter<'_, PyErr>) -> PyResult<Prompt>,
) -> PyResult<Prompt> {
    match count {
        None => f(&mut Counter::estimate()),
        Some(cb) => {
            let mut call = |s: &str| -> PyResult<i64> { cb.call1((s,))?.extract::<i64>() };
            f(&mut Counter::custom(&mut call))
        }
    }
}

/// `([system message, user message], tokens per section, trimmed sections)`.
type PromptOut<'py> = (Bound<'py, PyList>, Bound<'py, PyDict>, Vec<&'static str>);

fn prompt_out<'py>(py: Python<'py>, p: Prompt) -> PyResult<PromptOut<'py>> {
    let msg = |role: &str, content: &str| -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("role", role)?;
        d.set_item("content", content)?;
        Ok(d)
    };
    let messages = PyList::new(py, [msg("system", &p.system)?, msg("user", &p.user)?])?;
    let tokens = PyDict::new(py);
    for (name, n) in ["system", "commands", "status", "user", "memories"]
        .iter()
        .zip(p.tokens)
    {
        tokens.set_item(name, n)?;
    }
    Ok((messages, tokens, p.trimmed))
}

/// See `zerolag.prompt.build_prompt`.
#[pyfunction]
#[pyo3(signature = (system, commands, status, user, budget_, count=None, memories=Vec::new()))]
#[allow(clippy::too_many_arguments)] // the Python signature
fn build_prompt<'py>(
    py: Python<'py>,
    system: &str,
    commands: Vec<String>,
    status: Vec<(bool, String)>,
    user: &str,
    budget_: BudgetTuple,
    count: Option<Bound<'py, PyAny>>,
    memories: Vec<String>,
) -> PyResult<PromptOut<'py>> {
    let cmds: Vec<&str> = commands.iter().map(String::as_str).collect();
    let st: Vec<(bool, &str)> = status.iter().map(|(f, l)| (*f, l.as_str())).collect();
    let mems: Vec<&str> = memories.iter().map(String::as_str).collect();
    let b = budget(budget_);
    let p = build(count.as_ref(), |c| {
        core::build_with_memories(system, &mems, &cmds, &st, user, &b, c)
    })?;
    prompt_out(py, p)
}

/// What one `DualLoop` knows about its sessions (thread-safe; internal to the loop).
#[pyclass(frozen, module = "zerolag._core", name = "LoopState")]
pub struct LoopState {
    s: Arc<Mutex<Sessions>>,
    /// The job template of each registered command kind.
    kinds: Mutex<HashMap<String, NewJob>>,
}

/// `(text, commands, er events)` of a check.
type CheckOut = (String, Vec<Py<PyAny>>, Vec<Py<PyErrorEvent>>);

/// `(job ids, task ids)` of a dispatch.
type Dispatched = (Vec<String>, Vec<String>);

impl LoopState {
    /// Plans the commands' jobs and returns the enqueue, which records them in the session
    /// once the store has them.
    fn queue(
        &self,
        hub: &CoreHub,
        session: Text,
        commands: &Bound<'_, PyAny>,
        tasks: Option<Vec<(String, bool)>>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Op<Dispatched>> {
        let headers = job_headers(headers)?;
        let mut cmds = Vec::new();
        for c in commands.try_iter()? {
            cmds.push(command_of(&c?)?);
        }
        self.s.lock().get(&session)?; // a bad session name queues nothing
        let Plan {
            mut jobs,
            pending,
            task_ids,
        } = core::plan(
            &session,
            &cmds,
            &self.kinds.lock(),
            &tasks.unwrap_or_default(),
        )?;
        if !headers.is_empty() {
            for j in &mut jobs {
                j.headers
                    .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let (state, session) = (self.s.clone(), session.to_string());
        Ok(hub.jobs.enqueue_many(jobs).map(move |stored| {
            let ids: Vec<String> = stored.into_iter().map(|j| j.id).collect();
            if let Ok(s) = state.lock().get(&session) {
                s.record(pending, &ids, now());
            }
            (ids, task_ids)
        }))
    }
}

// The signature's literal keeps the stub's text signature readable; this keeps it in step.
const _: () = assert!(
    core::MAX_SESSIONS == 10_000,
    "keep LoopState's default in step"
);

#[pymethods]
impl LoopState {
    #[new]
    #[pyo3(signature = (max_sessions=10000))]
    fn new(max_sessions: usize) -> Self {
        LoopState {
            s: Arc::new(Mutex::new(Sessions::new(max_sessions))),
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Registers command `kind` with its job options (`{"kind": job kind, "max_attempts":
    /// ..., ...}`, as an `enqueue_many` item without payload).
    fn set_kind(&self, kind: Text, options: &Bound<'_, PyAny>) -> PyResult<()> {
        let template = item_job(options)?;
        template.clone().into_job(now())?; // refuse bad options now
        self.kinds.lock().insert(kind.to_string(), template);
        Ok(())
    }

    /// Queues `commands` (typed command objects) of `session` as one atomic enqueue on
    /// `jobs` and remembers them: `(job ids, task ids of the tc commands)`. `tasks`: for
    /// each `tc` in order, a task id and whether it is indexed already.
    #[pyo3(signature = (jobs, session, commands, tasks=None, headers=None))]
    fn dispatch(
        &self,
        py: Python<'_>,
        jobs: PyRef<'_, Jobs>,
        session: Text,
        commands: &Bound<'_, PyAny>,
        tasks: Option<Vec<(String, bool)>>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let op = self.queue(&jobs.hub, session, commands, tasks, headers)?;
        run_sync(py, op, Ok)
    }

    /// :meth:`dispatch` on an async hub's jobs: an awaitable of the same, already done when
    /// a fast Redis reply came while the calling thread polled for it (see `Op::start`).
    #[pyo3(signature = (jobs, session, commands, tasks=None, headers=None))]
    fn adispatch<'py>(
        &self,
        py: Python<'py>,
        jobs: PyRef<'py, AsyncJobs>,
        session: Text,
        commands: &Bound<'py, PyAny>,
        tasks: Option<Vec<(String, bool)>>,
        headers: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let op = self.queue(&jobs.hub, session, commands, tasks, headers)?;
        run_async(py, op, Ok)
    }

    fn __len__(&self) -> usize {
        self.s.lock().len()
    }

    /// The prompt of `session` for `message` now: `(messages, tokens)`; `memories`: lines
    /// for the `# Relevant memories` section, best first.
    #[pyo3(signature = (session, message, system, budget_, grace, count=None, memories=Vec::new()))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn prompt<'py>(
        &self,
        py: Python<'py>,
        session: Text,
        message: Text,
        system: Text,
        budget_: BudgetTuple,
        grace: f64,
        count: Option<Bound<'py, PyAny>>,
        memories: Vec<String>,
    ) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyDict>)> {
        let b = budget(budget_);
        // Copy the lines out and build after the lock: a Python counter may let other
        // threads run (and the lines are copies either way).
        let (cmds, st) = {
            let mut s = self.s.lock();
            let sess = s.get(&session)?;
            (sess.command_lines(), sess.status_lines(now(), grace))
        };
        let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
        let st: Vec<(bool, &str)> = st.iter().map(|(f, l)| (*f, l.as_str())).collect();
        let mems: Vec<&str> = memories.iter().map(String::as_str).collect();
        let p = build(count.as_ref(), |c| {
            core::build_with_memories(&system, &mems, &cmds, &st, &message, &b, c)
        })?;
        let (messages, tokens, _) = prompt_out(py, p)?;
        Ok((messages, tokens))
    }

    /// Checks a model reply (without its handoffs) against the registered kinds and the
    /// limits: `(text for the user, commands, er events)`; any event means nothing may run.
    fn check(
        &self,
        py: Python<'_>,
        text: Text,
        max_commands: usize,
        max_command_bytes: usize,
    ) -> PyResult<CheckOut> {
        let kinds: Vec<String> = {
            let mut k: Vec<String> = self.kinds.lock().keys().cloned().collect();
            k.sort();
            k
        };
        let refs: Vec<&str> = kinds.iter().map(String::as_str).collect();
        let c = core::check(&text, &refs, max_commands, max_command_bytes);
        let commands = c
            .commands
            .into_iter()
            .map(|x| message_to_py(py, Message::Command(x)))
            .collect::<PyResult<_>>()?;
        let errors = c
            .errors
            .into_iter()
            .map(|inner| Py::new(py, PyErrorEvent { inner }))
            .collect::<PyResult<_>>()?;
        Ok((c.text, commands, errors))
    }

    /// Applies a backend event (its coded line, the job and command it is about, its time);
    /// a command this instance did not dispatch is adopted from its first event. Returns
    /// False for a line that is not an event or a session name that is not valid (then
    /// nothing changes).
    #[pyo3(signature = (session, line, job, command, when))]
    fn apply(
        &self,
        session: Text,
        line: Text,
        job: Option<Text>,
        command: Option<Text>,
        when: f64,
    ) -> PyResult<bool> {
        let Ok(ev) = decode_event(&line) else {
            return Ok(false);
        };
        let job = job.filter(|j| !j.is_empty());
        let mut s = self.s.lock();
        let Ok(sess) = s.get(&session) else {
            return Ok(false); // not a session name this loop could have sent on
        };
        if let (Some(j), Some(c)) = (&job, command.filter(|c| !c.is_empty())) {
            if sess.by_job(j).is_none() {
                sess.adopt(&c, j, &ev, when);
            }
        }
        sess.apply(&ev, job.as_deref(), when);
        Ok(true)
    }

    /// `(count, oldest queued_at)` of the commands of `session` no backend touched for more
    /// than `grace` seconds (`oldest` is infinite when there are none).
    fn waiting(&self, session: Text, grace: f64) -> PyResult<(usize, f64)> {
        let mut s = self.s.lock();
        Ok(s.get(&session)?.waiting(now(), grace))
    }

    /// The backend status lines of `session` now.
    fn status(&self, session: Text, grace: f64) -> PyResult<Vec<String>> {
        let mut s = self.s.lock();
        let sess = s.get(&session)?;
        Ok(sess
            .status_lines(now(), grace)
            .into_iter()
            .map(|x| x.1)
            .collect())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LoopState>()?;
    m.add_function(wrap_pyfunction!(build_prompt, m)?)?;
    Ok(())
}
