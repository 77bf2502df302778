//! The JSON endpoints, written once for the Rust server and the ASGI app: each takes the hub
//! and the query string's pairs and gives a status and a JSON body.
//!
//! - `GET /status`: health, backend, version, event log, bus, sync (see docs/http.md)
//! - `GET /events?after=ID&channel=PATTERN&limit=N`: a page of the event log
//! - `GET /stream?conversation=C[&after=ID][&limit=N]`: a chat conversation's messages
//! - `GET /analytics[?days=N]`, `?event=E[&days=N|&hours=N]`, `?board=B[&n=N]`: summaries

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::frames::event_json;
use crate::analytics::By;
use crate::clock::now_ms;
use crate::error::Error;
use crate::events::MAX_READ;
use crate::hub::Hub;

/// The query string's pairs, decoded, in order.
pub type Query = Vec<(String, String)>;

/// Decodes a query string (`a=1&b=2`).
pub fn query(raw: Option<&str>) -> Query {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn one<'a>(q: &'a Query, name: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every value of `name`, in order.
pub fn all(q: &Query, name: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn number(q: &Query, name: &str, default: u64, max: u64) -> Result<u64, Error> {
    match one(q, name) {
        None | Some("") => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(Error::validation(format!(
                "{name} must be a whole number from 1 to {max}, got {v:?}"
            ))),
        },
    }
}

/// An error as the status and JSON body of its reply: `{"error": kind, "message": text}`.
pub fn error(e: &Error) -> (u16, Value) {
    let (status, kind) = match e {
        Error::Validation(_) | Error::Protocol(_) => (400, "validation"),
        Error::NotFound(_) => (404, "not_found"),
        Error::Connection(_)
        | Error::Timeout(_)
        | Error::Closed
        | Error::Authentication(_)
        | Error::Forked(_) => (503, "unavailable"),
        _ => (500, "internal"),
    };
    (status, json!({"error": kind, "message": e.to_string()}))
}

/// The reply of `GET <path>` for the JSON endpoints; None for a path that is not one.
pub async fn get(hub: &Hub, path: &str, q: &Query) -> Option<(u16, Value)> {
    let r = match path {
        "/status" => return Some(status(hub).await),
        "/events" => events(hub, q).await,
        "/stream" => stream(hub, q).await,
        "/analytics" => analytics(hub, q).await,
        _ => return None,
    };
    Some(match r {
        Ok(v) => (200, v),
        Err(e) => error(&e),
    })
}

fn backend_name(name: &str) -> &str {
    match name {
        "embedded" => "sqlite",
        "redis-cluster" => "cluster",
        other => other,
    }
}

/// `GET /status`: 200 with `"ok": true`, or 503 with `"ok": false` and the error when the
/// store does not answer.
pub async fn status(hub: &Hub) -> (u16, Value) {
    if let Err(e) = hub.check() {
        return (503, json!({"ok": false, "error": e.to_string()}));
    }
    let now = now_ms() as i64;
    let week = Some((now - 6 * DAY_MS, now));
    let (health, count, last, bus, dead, counts, workers, tracked) = tokio::join!(
        hub.health().run(),
        hub.events.len().run(),
        hub.events.last_id().run(),
        hub.bus.stats().run(),
        hub.bus.dead_letters(None, crate::bus::MAX_COUNT).run(),
        hub.jobs.counts().run(),
        hub.jobs.workers().run(),
        hub.analytics.events(week, now).run(),
    );
    let health = match health {
        Ok(h) => h,
        Err(e) => {
            return (
                503,
                json!({"ok": false, "namespace": hub.namespace(), "error": e.to_string()}),
            )
        }
    };
    let mut dead_by: BTreeMap<String, u64> = BTreeMap::new();
    for d in dead.unwrap_or_default() {
        *dead_by.entry(d.agent).or_default() += 1;
    }
    let agents: Vec<Value> = match &bus {
        Ok(s) => s
            .per_agent
            .iter()
            .map(|(a, n)| json!({"agent": a, "pending": n, "dead": dead_by.get(a).copied().unwrap_or(0)}))
            .collect(),
        Err(_) => vec![],
    };
    let sync = match hub.sync.lock().as_ref().map(|e| e.status()) {
        Some(s) => json!({"running": s.running, "pending_writebacks": s.parked.len(),
                          "lag_ms": null, "errors": s.errors, "last_error": s.last_error}),
        None => json!({"running": false, "pending_writebacks": 0, "lag_ms": null}),
    };
    let v = json!({
        "ok": true,
        "backend": backend_name(&health.backend),
        "namespace": health.namespace,
        "version": env!("CARGO_PKG_VERSION"),
        "server_version": health.server_version,
        "rtt_ms": health.rtt_ms,
        "jobs": {"counts": counts.unwrap_or_default().iter()
            .map(|c| json!({"kind": c.kind, "state": c.state, "count": c.count}))
            .collect::<Vec<_>>()},
        "workers": workers.unwrap_or_default().iter().map(|w| w.to_json()).collect::<Vec<_>>(),
        "bus": {"agents": agents, "groups": [],
                "pending": bus.as_ref().map(|s| s.pending).unwrap_or(0),
                "dead": bus.as_ref().map(|s| s.dead).unwrap_or(0)},
        "events": {"count": count.unwrap_or(0), "last_id": last.ok()},
        "sync": sync,
        "analytics": status_analytics(tracked.unwrap_or_default()),
    });
    (200, v)
}

/// `/status`'s analytics: the most counted events of the last 7 days as `{event: count}`
/// (the dashboard draws a map of numbers as bars), or null when nothing was tracked.
fn status_analytics(totals: Vec<(String, i64)>) -> Value {
    if totals.is_empty() {
        return Value::Null;
    }
    let top: serde_json::Map<String, Value> = totals
        .into_iter()
        .take(STATUS_TOP)
        .map(|(e, c)| (e, json!(c)))
        .collect();
    json!({ "events, last 7 days": top })
}

/// Events `/status` lists under analytics.
const STATUS_TOP: usize = 10;

/// `GET /events`: `{"events": [...], "next": ID}`; `next` is the `after` of the next page.
async fn events(hub: &Hub, q: &Query) -> Result<Value, Error> {
    let pats = super::sse::patterns(&all(q, "channel"))?;
    let pats: Vec<String> = if pats == ["*"] { vec![] } else { pats };
    let after = one(q, "after").filter(|a| !a.is_empty()).unwrap_or("0");
    let limit = number(q, "limit", 100, MAX_READ as u64)? as usize;
    let b = hub
        .events
        .read(&pats, Some(after), limit, Duration::ZERO)
        .run()
        .await?;
    let items: Vec<Value> = b.events.iter().map(event_json).collect();
    Ok(json!({"events": items, "next": b.cursor}))
}

fn meta(m: Option<&str>) -> Value {
    m.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// `GET /stream`: `{"conversation", "messages": [{"id","role","content","meta","ts"}], "next"}`;
/// without `after`, the newest `limit` messages; with it, those after it.
async fn stream(hub: &Hub, q: &Query) -> Result<Value, Error> {
    let Some(conv) = one(q, "conversation").filter(|c| !c.is_empty()) else {
        return Err(Error::validation(
            "conversation is required: /stream?conversation=<id>",
        ));
    };
    let limit = number(q, "limit", 100, crate::streams::MAX_BATCH as u64)? as usize;
    let after = one(q, "after").filter(|a| !a.is_empty());
    let entries = match after {
        None => hub.chat.recent(conv, limit).run().await?,
        Some(a) => {
            hub.chat
                .range(conv, Some(a), None, limit, Duration::ZERO)
                .run()
                .await?
        }
    };
    let next = entries
        .last()
        .map(|e| e.id.clone())
        .or(after.map(str::to_string));
    let msgs: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({"id": e.id, "role": e.kind, "content": e.body,
                   "meta": meta(e.meta.as_deref()), "ts": e.time()})
        })
        .collect();
    Ok(json!({"conversation": conv, "messages": msgs, "next": next}))
}

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// `GET /analytics`: without `event` or `board`, the events tracked over the last `days`
/// (default 7) with their counts, largest first (at most `n`, default 20); with `event`, its
/// counts per day (`days`) or per hour (`hours`) and its unique users over the window; with
/// `board`, the top `n` items of that trending board.
async fn analytics(hub: &Hub, q: &Query) -> Result<Value, Error> {
    let now = now_ms() as i64;
    let n = number(q, "n", 20, 1000)? as usize;
    if let Some(board) = one(q, "board") {
        let top = hub.trending.top(board, n, now).run().await?;
        let items: Vec<Value> = top
            .into_iter()
            .map(|(item, score)| json!({"item": item, "score": score}))
            .collect();
        return Ok(json!({"board": board, "top": items}));
    }
    let secs = |ms: i64| ms as f64 / 1e3;
    if let Some(event) = one(q, "event") {
        let (by, since) = match one(q, "hours") {
            Some(_) => {
                let h = number(q, "hours", 24, crate::analytics::MAX_HOURS as u64)? as i64;
                (By::Hour, now - (h - 1) * HOUR_MS)
            }
            None => {
                let d = number(q, "days", 7, crate::analytics::MAX_DAYS as u64)? as i64;
                (By::Day, now - (d - 1) * DAY_MS)
            }
        };
        let (counts, uniques) = tokio::join!(
            hub.analytics.counts(event, since, now, by, now).run(),
            hub.analytics.uniques(event, since, now, now).run(),
        );
        let counts = counts?;
        let total: i64 = counts.iter().map(|(_, c)| c).sum();
        let series: Vec<Value> = counts
            .into_iter()
            .map(|(t, c)| json!({"t": secs(t), "count": c}))
            .collect();
        return Ok(json!({
            "event": event,
            "by": if by == By::Day { "day" } else { "hour" },
            "since": secs(since), "until": secs(now),
            "counts": series, "total": total, "uniques": uniques?,
        }));
    }
    let d = number(q, "days", 7, crate::analytics::MAX_DAYS as u64)? as i64;
    let since = now - (d - 1) * DAY_MS;
    let totals = hub.analytics.events(Some((since, now)), now).run().await?;
    let items: Vec<Value> = totals
        .into_iter()
        .take(n)
        .map(|(e, c)| json!({"event": e, "count": c}))
        .collect();
    Ok(json!({"since": secs(since), "until": secs(now), "events": items}))
}
