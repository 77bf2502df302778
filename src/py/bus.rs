//! `hub.bus` from Python: the sync class waits on core ops with the GIL released,
//! the async class returns awaitables. One method list generates both.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use super::convert::{json_to_py, opt_text, py_to_json, str_list, text, Text};
use super::errors::validation;
use super::{run_async, run_async_blocking, run_sync, run_sync_blocking};
use crate::bus::{self as core, ClaimPolicy, Settings};
use crate::engine::Op;
use crate::hub::Hub as CoreHub;

/// A message on the bus.
#[pyclass(frozen, module = "zerolag._core", name = "Message")]
pub struct Message {
    pub(crate) m: core::Message,
}

#[pymethods]
impl Message {
    #[getter]
    fn id(&self) -> &str {
        &self.m.id
    }
    #[getter]
    fn source(&self) -> &str {
        &self.m.source
    }
    #[getter]
    fn target(&self) -> Option<&str> {
        self.m.target.as_deref()
    }
    #[getter]
    fn time(&self) -> f64 {
        self.m.time
    }
    #[getter]
    fn priority(&self) -> &'static str {
        self.m.priority.as_str()
    }
    #[getter]
    fn kind(&self) -> Option<&str> {
        self.m.kind.as_deref()
    }
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.m.payload)
    }
    #[getter]
    fn broadcast(&self) -> bool {
        self.m.broadcast
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Message>().is_ok_and(|o| o.get().m == self.m)
    }
    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.m.id.hash(&mut h);
        h.finish()
    }
    fn __repr__(&self) -> String {
        format!(
            "Message(id={:?}, source={:?}, target={}, priority={:?}, kind={}, payload={})",
            self.m.id,
            self.m.source,
            opt(&self.m.target),
            self.m.priority.as_str(),
            opt(&self.m.kind),
            short(&self.m.payload),
        )
    }
}

fn opt(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "None".into(),
    }
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// A message handed to one consumer of a group, with its delivery count.
#[pyclass(frozen, module = "zerolag._core", name = "Delivery")]
pub struct Delivery {
    message: Py<Message>,
    #[pyo3(get)]
    agent: String,
    #[pyo3(get)]
    group: String,
    #[pyo3(get)]
    consumer: String,
    #[pyo3(get)]
    deliveries: u64,
    id: String,
}

#[pymethods]
impl Delivery {
    #[getter]
    fn message(&self, py: Python<'_>) -> Py<Message> {
        self.message.clone_ref(py)
    }
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.message.get().payload(py)
    }
    fn __repr__(&self) -> String {
        format!(
            "Delivery(id={:?}, agent={:?}, group={:?}, consumer={:?}, deliveries={}, priority={:?})",
            self.id,
            self.agent,
            self.group,
            self.consumer,
            self.deliveries,
            self.message.get().m.priority.as_str()
        )
    }
}

/// A message that was given up on.
#[pyclass(frozen, module = "zerolag._core", name = "DeadLetter")]
pub struct DeadLetter {
    message: Py<Message>,
    #[pyo3(get)]
    agent: String,
    #[pyo3(get)]
    group: String,
    #[pyo3(get)]
    consumer: String,
    #[pyo3(get)]
    deliveries: u64,
    #[pyo3(get)]
    reason: String,
    #[pyo3(get)]
    time: f64,
    id: String,
}

#[pymethods]
impl DeadLetter {
    #[getter]
    fn message(&self, py: Python<'_>) -> Py<Message> {
        self.message.clone_ref(py)
    }
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }
    fn __repr__(&self) -> String {
        format!(
            "DeadLetter(id={:?}, agent={:?}, group={:?}, consumer={:?}, deliveries={}, reason={:?})",
            self.id, self.agent, self.group, self.consumer, self.deliveries, self.reason
        )
    }
}

/// Counters of the bus.
#[pyclass(frozen, module = "zerolag._core", name = "BusStats")]
pub struct BusStats {
    #[pyo3(get)]
    total: u64,
    #[pyo3(get)]
    pending: u64,
    #[pyo3(get)]
    acknowledged: u64,
    #[pyo3(get)]
    dead: u64,
    per: std::collections::BTreeMap<String, u64>,
}

#[pymethods]
impl BusStats {
    #[getter]
    fn per_agent<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.per {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "BusStats(total={}, pending={}, acknowledged={}, dead={}, per_agent={:?})",
            self.total, self.pending, self.acknowledged, self.dead, self.per
        )
    }
}

fn message(m: core::Message) -> PyResult<Message> {
    Ok(Message { m })
}

fn messages(v: Vec<core::Message>) -> PyResult<Vec<Message>> {
    Ok(v.into_iter().map(|m| Message { m }).collect())
}

fn deliveries(v: Vec<core::Delivery>) -> PyResult<Vec<Delivery>> {
    Python::attach(|py| {
        v.into_iter()
            .map(|d| {
                Ok(Delivery {
                    id: d.message.id.clone(),
                    message: Py::new(py, Message { m: d.message })?,
                    agent: d.agent,
                    group: d.group,
                    consumer: d.consumer,
                    deliveries: d.deliveries,
                })
            })
            .collect()
    })
}

fn dead(v: Vec<core::DeadLetter>) -> PyResult<Vec<DeadLetter>> {
    Python::attach(|py| {
        v.into_iter()
            .map(|d| {
                Ok(DeadLetter {
                    id: d.message.id.clone(),
                    message: Py::new(py, Message { m: d.message })?,
                    agent: d.agent,
                    group: d.group,
                    consumer: d.consumer,
                    deliveries: d.deliveries,
                    reason: d.reason,
                    time: d.time,
                })
            })
            .collect()
    })
}

fn stats(s: core::Stats) -> PyResult<BusStats> {
    Ok(BusStats {
        total: s.total,
        pending: s.pending,
        acknowledged: s.acknowledged,
        dead: s.dead,
        per: s.per_agent,
    })
}

fn agents(
    v: Vec<(String, Vec<String>)>,
) -> PyResult<std::collections::BTreeMap<String, Vec<String>>> {
    Ok(v.into_iter().collect())
}

fn same<T>(v: T) -> PyResult<T> {
    Ok(v)
}

fn is_one(n: u64) -> PyResult<bool> {
    Ok(n > 0)
}

/// A message id from a str, a Message, a Delivery or a DeadLetter.
fn message_id(o: &Bound<'_, PyAny>) -> PyResult<String> {
    if o.cast::<PyString>().is_ok() {
        return text(o, "message_id");
    }
    if let Ok(m) = o.cast::<Message>() {
        return Ok(m.get().m.id.clone());
    }
    if let Ok(d) = o.cast::<Delivery>() {
        return Ok(d.get().id.clone());
    }
    if let Ok(d) = o.cast::<DeadLetter>() {
        return Ok(d.get().id.clone());
    }
    Err(validation(
        "a message id is a str (or a Message, Delivery or DeadLetter)",
    ))
}

fn ids(o: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if o.cast::<PyString>().is_ok() {
        return Err(validation("pass a list of message ids, not one str"));
    }
    o.try_iter()?.map(|x| message_id(&x?)).collect()
}

fn payload(o: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    py_to_json(o, "payload")
}

#[allow(clippy::too_many_arguments)]
fn share_op(
    hub: &CoreHub,
    source: &str,
    target: Option<&str>,
    p: &Bound<'_, PyAny>,
    priority: &str,
    kind: Option<&str>,
    key: Option<&str>,
    broadcast: bool,
) -> PyResult<Op<core::Message>> {
    let out = hub
        .bus
        .outgoing(source, target, &payload(p)?, priority, kind, key, broadcast)
        .map_err(super::errors::to_py)?;
    Ok(hub.bus.send(out))
}

/// One `share_many` item: a dict with the keyword arguments of `share` (or `broadcast`
/// with `"broadcast": True`).
fn outgoing_item(hub: &CoreHub, o: &Bound<'_, PyAny>) -> PyResult<core::Outgoing> {
    let d = o.cast::<PyDict>().map_err(|_| {
        validation(
            "each message must be a dict: {\"source\": ..., \"target\": ..., \"payload\": ...}",
        )
    })?;
    let (mut source, mut target, mut kind, mut key) = (
        None::<String>,
        None::<String>,
        None::<String>,
        None::<String>,
    );
    let (mut p, mut priority, mut broadcast) = (None, "medium".to_string(), false);
    for (k, v) in d.iter() {
        let name = text(&k, "messages")?;
        match name.as_str() {
            "source" => source = Some(text(&v, "source")?),
            "target" => target = opt_text(&v, "target")?,
            "payload" => p = Some(v),
            "priority" => priority = text(&v, "priority")?,
            "kind" => kind = opt_text(&v, "kind")?,
            "idempotency_key" => key = opt_text(&v, "idempotency_key")?,
            "broadcast" => broadcast = v.extract()?,
            other => return Err(validation(format!("unknown message field {other:?}"))),
        }
    }
    let source = source.ok_or_else(|| validation("each message needs a source"))?;
    let p = p.ok_or_else(|| validation("each message needs a payload"))?;
    if broadcast && target.is_some() {
        return Err(validation("a broadcast has no target"));
    }
    hub.bus
        .outgoing(
            &source,
            target.as_deref(),
            &payload(&p)?,
            &priority,
            kind.as_deref(),
            key.as_deref(),
            broadcast,
        )
        .map_err(super::errors::to_py)
}

fn policy(claim_idle_ms: u64, max_deliveries: u64) -> ClaimPolicy {
    ClaimPolicy {
        idle_ms: claim_idle_ms,
        max_deliveries,
    }
}

/// Settings as the dict `configure` returns.
struct SettingsDict(Settings);

impl<'py> IntoPyObject<'py> for SettingsDict {
    type Target = PyDict;
    type Output = Bound<'py, PyDict>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("max_len", self.0.max_len)?;
        d.set_item("max_age", self.0.max_age)?;
        d.set_item("max_payload", self.0.max_payload)?;
        Ok(d)
    }
}

fn settings_dict(s: Settings) -> PyResult<SettingsDict> {
    Ok(SettingsDict(s))
}

fn check(hub: &CoreHub) -> PyResult<()> {
    hub.check().map_err(super::errors::to_py)
}

macro_rules! bus_methods {
    ($cls:ident, $ret:ty, $run:ident, $consume:ident) => {
        #[pymethods]
        impl $cls {
            /// Stores the namespace's retention and sets this handle's payload limit;
            /// returns the settings in force (with no arguments: only reads them).
            #[pyo3(signature = (*, max_len=None, max_age=None, max_payload=None))]
            fn configure<'py>(
                &self,
                py: Python<'py>,
                max_len: Option<u64>,
                max_age: Option<f64>,
                max_payload: Option<usize>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.configure(max_len, max_age, max_payload), settings_dict)
            }

            #[pyo3(signature = (agent, *, kinds=None))]
            fn register<'py>(&self, py: Python<'py>, agent: Text, kinds: Option<&Bound<'py, PyAny>>) -> PyResult<$ret> {
                check(&self.hub)?;
                let kinds = kinds.map(|k| str_list(k, "kinds")).transpose()?.unwrap_or_default();
                $run(py, self.hub.bus.register(&agent, kinds), same)
            }

            fn agents<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.agents(), agents)
            }

            #[pyo3(signature = (source, target, payload, *, priority=Text::from("medium"), kind=None, idempotency_key=None))]
            #[pyo3(text_signature = "($self, source, target, payload, *, priority=\"medium\", kind=None, idempotency_key=None)")]
            #[allow(clippy::too_many_arguments)]
            fn share<'py>(
                &self,
                py: Python<'py>,
                source: Text,
                target: Option<Text>,
                payload: &Bound<'py, PyAny>,
                priority: Text,
                kind: Option<Text>,
                idempotency_key: Option<Text>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let op = share_op(&self.hub, &source, target.as_deref(), payload, &priority, kind.as_deref(), idempotency_key.as_deref(), false)?;
                $run(py, op, message)
            }

            /// Shares several messages in one store operation, all or nothing.
            fn share_many<'py>(&self, py: Python<'py>, messages: &Bound<'py, PyAny>) -> PyResult<$ret> {
                check(&self.hub)?;
                if messages.cast::<PyDict>().is_ok() {
                    return Err(validation("pass a list of message dicts, not one dict"));
                }
                let mut v = Vec::new();
                for x in messages.try_iter()? {
                    v.push(outgoing_item(&self.hub, &x?)?);
                }
                $run(py, self.hub.bus.send_many(v), self::messages)
            }

            #[pyo3(signature = (source, payload, *, priority=Text::from("medium"), kind=None, idempotency_key=None))]
            #[pyo3(text_signature = "($self, source, payload, *, priority=\"medium\", kind=None, idempotency_key=None)")]
            fn broadcast<'py>(
                &self,
                py: Python<'py>,
                source: Text,
                payload: &Bound<'py, PyAny>,
                priority: Text,
                kind: Option<Text>,
                idempotency_key: Option<Text>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let op = share_op(&self.hub, &source, None, payload, &priority, kind.as_deref(), idempotency_key.as_deref(), true)?;
                $run(py, op, message)
            }

            #[pyo3(signature = (agent, count=10))]
            fn pending<'py>(&self, py: Python<'py>, agent: Text, count: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.pending(&agent, count), messages)
            }

            #[pyo3(signature = (agent, message_id, *, group=None, consumer=None))]
            fn ack<'py>(
                &self,
                py: Python<'py>,
                agent: Text,
                message_id: &Bound<'py, PyAny>,
                group: Option<Text>,
                consumer: Option<Text>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let id = self::message_id(message_id)?;
                $run(py, self.hub.bus.ack(&agent, vec![id], group.as_deref(), consumer.as_deref()), is_one)
            }

            #[pyo3(signature = (agent, message_ids, *, group=None, consumer=None))]
            fn ack_many<'py>(
                &self,
                py: Python<'py>,
                agent: Text,
                message_ids: &Bound<'py, PyAny>,
                group: Option<Text>,
                consumer: Option<Text>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.ack(&agent, ids(message_ids)?, group.as_deref(), consumer.as_deref()), same)
            }

            fn is_acked<'py>(&self, py: Python<'py>, message_id: &Bound<'py, PyAny>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.is_acked(&self::message_id(message_id)?), same)
            }

            #[pyo3(signature = (agent_a, agent_b, limit=50))]
            fn history<'py>(&self, py: Python<'py>, agent_a: Text, agent_b: Text, limit: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                // Older messages from the archive when one is attached (docs/archive.md).
                let op = crate::archive::pg::fallthrough::bus_history(
                    self.hub.archive.current(), &self.hub.bus, self.hub.namespace().into(),
                    &agent_a, &agent_b, limit,
                );
                $run(py, op, messages)
            }

            fn stats<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.stats(), stats)
            }

            fn cleanup<'py>(&self, py: Python<'py>, older_than: f64) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.cleanup(older_than), same)
            }

            fn clear<'py>(&self, py: Python<'py>) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.clear(), same)
            }

            #[pyo3(signature = (agent, *, group, consumer, count=10, block_ms=None, claim_idle_ms=30000, max_deliveries=5))]
            #[allow(clippy::too_many_arguments)]
            fn consume<'py>(
                &self,
                py: Python<'py>,
                agent: Text,
                group: Text,
                consumer: Text,
                count: usize,
                block_ms: Option<u64>,
                claim_idle_ms: u64,
                max_deliveries: u64,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let pol = policy(claim_idle_ms, max_deliveries);
                $consume(py, &self.hub, &agent, &group, &consumer, count, pol, block_ms)
            }

            #[pyo3(signature = (agent=None, count=100))]
            fn dead_letters<'py>(&self, py: Python<'py>, agent: Option<Text>, count: usize) -> PyResult<$ret> {
                check(&self.hub)?;
                $run(py, self.hub.bus.dead_letters(agent.as_deref(), count), dead)
            }

            #[pyo3(signature = (message_ids=None, *, agent=None))]
            fn requeue<'py>(
                &self,
                py: Python<'py>,
                message_ids: Option<&Bound<'py, PyAny>>,
                agent: Option<Text>,
            ) -> PyResult<$ret> {
                check(&self.hub)?;
                let ids = message_ids.map(ids).transpose()?;
                $run(py, self.hub.bus.requeue(agent.as_deref(), ids), same)
            }

            fn __repr__(&self) -> String {
                format!("{}(namespace={:?})", stringify!($cls), self.hub.namespace())
            }
        }
    };
}

#[allow(clippy::too_many_arguments)]
fn consume_sync(
    py: Python<'_>,
    hub: &Arc<CoreHub>,
    agent: &str,
    group: &str,
    consumer: &str,
    count: usize,
    pol: ClaimPolicy,
    block_ms: Option<u64>,
) -> PyResult<Py<PyAny>> {
    let block = block_ms.filter(|b| *b > 0).map(Duration::from_millis);
    let Some(block) = block else {
        let op = hub
            .bus
            .consume(agent, group, consumer, count, pol, Duration::ZERO);
        return run_sync(py, op, deliveries);
    };
    let (a, g, c, h) = (
        agent.to_string(),
        group.to_string(),
        consumer.to_string(),
        hub.clone(),
    );
    run_sync_blocking(
        py,
        Some(block),
        move |slice| h.bus.consume(&a, &g, &c, count, pol, slice),
        |v: &Vec<core::Delivery>| !v.is_empty(),
        deliveries,
    )
}

#[allow(clippy::too_many_arguments)]
fn consume_async<'py>(
    py: Python<'py>,
    hub: &Arc<CoreHub>,
    agent: &str,
    group: &str,
    consumer: &str,
    count: usize,
    pol: ClaimPolicy,
    block_ms: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    let block = block_ms.filter(|b| *b > 0).map(Duration::from_millis);
    let Some(block) = block else {
        let op = hub
            .bus
            .consume(agent, group, consumer, count, pol, Duration::ZERO);
        return run_async(py, op, deliveries);
    };
    let (a, g, c, h) = (
        agent.to_string(),
        group.to_string(),
        consumer.to_string(),
        hub.clone(),
    );
    run_async_blocking(
        py,
        Some(block),
        move |slice| h.bus.consume(&a, &g, &c, count, pol, slice),
        |v: &Vec<core::Delivery>| !v.is_empty(),
        deliveries,
    )
}

/// `hub.bus` of a sync hub.
#[pyclass(frozen, module = "zerolag._core", name = "Bus")]
pub struct Bus {
    pub(crate) hub: Arc<CoreHub>,
}

/// `hub.bus` of an async hub.
#[pyclass(frozen, module = "zerolag._core", name = "AsyncBus")]
pub struct AsyncBus {
    pub(crate) hub: Arc<CoreHub>,
}

bus_methods!(Bus, Py<PyAny>, run_sync, consume_sync);
bus_methods!(AsyncBus, Bound<'py, PyAny>, run_async, consume_async);

/// Adds this capability's classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Bus>()?;
    m.add_class::<AsyncBus>()?;
    m.add_class::<Message>()?;
    m.add_class::<Delivery>()?;
    m.add_class::<DeadLetter>()?;
    m.add_class::<BusStats>()?;
    Ok(())
}
