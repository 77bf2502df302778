//! Metrics: process-wide operation counters and latency histograms ([`ops`]), the store
//! gauges of a hub ([`store`]), and both as Prometheus text ([`prometheus()`]) or as JSON
//! ([`to_json`], what `hub.metrics()` returns). docs/observability.md lists every name.

pub mod archive;
pub mod ops;
pub mod prometheus;
pub mod store;

use serde_json::{json, Value};

use crate::engine::Op;
use crate::hub::Hub;

pub use self::prometheus::{prometheus, render};

/// Everything `hub.metrics()` and `/metrics` report.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub operations: ops::Operations,
    pub store: store::Store,
}

/// Reads the store gauges of `hub` and the process's operation counters.
pub fn snapshot(hub: &Hub) -> Op<Snapshot> {
    store::read(hub).map(|store| Snapshot {
        operations: ops::snapshot(),
        store,
    })
}

/// The snapshot as JSON (the shape `hub.metrics()` documents).
pub fn to_json(s: &Snapshot) -> Value {
    let st = &s.store;
    let ops = &s.operations;
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "backend": st.backend,
        "namespace": st.namespace,
        "at": st.at,
        "operations": ops.calls.iter().map(|c| json!({
            "capability": c.capability, "outcome": c.outcome, "count": c.count,
        })).collect::<Vec<_>>(),
        "latency": ops.latency.iter().map(|l| json!({
            "capability": l.capability, "count": l.count, "sum_seconds": l.sum,
            "buckets": l.buckets.iter().map(|(le, n)| json!([le, n])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "store": {"rtt_ms": st.rtt_ms},
        "jobs": {
            "counts": st.jobs.iter().map(|c| json!({
                "kind": c.kind, "state": c.state, "count": c.count,
            })).collect::<Vec<_>>(),
            "dead": st.dead_jobs(),
        },
        "bus": {
            "messages": st.bus.total,
            "pending": st.bus.pending,
            "acknowledged": st.bus.acknowledged,
            "dead": st.bus.dead,
            "agents": st.bus.per_agent.iter().map(|(a, n)| json!({
                "agent": a, "pending": n,
            })).collect::<Vec<_>>(),
        },
        "events": {"count": st.events_count, "last_id": st.events_last_id},
        "archive": {"lost": archive::lost().into_iter()
            .map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>()},
        "cache": {
            "hits": st.cache.hits,
            "misses": st.cache.misses,
            "hit_ratio": st.cache_hit_ratio(),
            "entries": st.cache.entries,
            "bytes": st.cache.bytes,
        },
        "sync": {
            "running": st.sync.as_ref().is_some_and(|s| s.running),
            "pending_writebacks": st.writeback.pending,
            "lag_ms": st.sync_lag_ms(),
            "conflicts": st.sync.as_ref().map(|s| s.conflicts),
            "errors": st.sync.as_ref().map(|s| s.errors),
            "parked": st.sync.as_ref().map(|s| s.parked.len()),
        },
    })
}

#[cfg(test)]
mod tests;
