//! Reading the archive: history with full-text search and a keyset cursor, the cross-agent
//! insights, stats, and the reads behind the fall-through of `bus.history` and
//! `events.read`.

use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::conn::{map_err, Pg};
use super::schema::TABLES;
use crate::archive::model::{Event, Message};
use crate::error::{Error, Result};

/// Most messages one history page returns.
pub const MAX_LIMIT: usize = 10_000;

/// What `history` looks for.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// Messages this agent sent or received (a broadcast counts as received).
    pub agent: Option<String>,
    /// Only these kinds.
    pub kinds: Option<Vec<String>>,
    /// Shared at or after, ms since the epoch.
    pub since_ms: Option<i64>,
    /// Shared before, ms since the epoch.
    pub until_ms: Option<i64>,
    /// Full-text search over the payload's strings, the kind and the sender
    /// (`websearch_to_tsquery`: words, "quoted phrases", -excluded, or).
    pub text: Option<String>,
    /// At most this many (1..=[`MAX_LIMIT`]).
    pub limit: usize,
    /// The page's cursor (`next` of the page before).
    pub cursor: Option<String>,
}

/// An archived message with when it was acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Archived {
    /// The message.
    pub message: Message,
    /// When it was acknowledged, ms since the epoch (None: not acknowledged, or not yet
    /// archived).
    pub acked_ms: Option<i64>,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The messages, newest first.
    pub messages: Vec<Archived>,
    /// The cursor of the next (older) page; None when this was the last.
    pub next: Option<String>,
}

type Params = Vec<Box<dyn ToSql + Sync + Send>>;

fn refs(p: &Params) -> Vec<&(dyn ToSql + Sync)> {
    p.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn push(p: &mut Params, v: impl ToSql + Sync + Send + 'static) -> String {
    p.push(Box::new(v));
    format!("${}", p.len())
}

fn cursor(c: &str) -> Result<(i64, String)> {
    c.split_once(':')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.to_string())))
        .ok_or_else(|| {
            Error::validation(format!(
                "cursor {c:?} is not one a history page returned (pass its next_cursor)"
            ))
        })
}

const MSG_COLS: &str = "m.id, m.at_ms, m.sender, m.recipients, m.kind, m.priority, m.broadcast,
  m.payload";

fn message(r: &Row) -> Message {
    Message {
        id: r.get(0),
        at_ms: r.get(1),
        sender: r.get(2),
        recipients: r.get(3),
        kind: r.get(4),
        priority: r.get(5),
        broadcast: r.get(6),
        payload: r.get(7),
    }
}

/// Checks a history query's limits before it goes out.
pub fn check(q: &HistoryQuery) -> Result<()> {
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(Error::validation(format!(
            "limit must be 1 to {MAX_LIMIT}, got {}",
            q.limit
        )));
    }
    if let Some(c) = &q.cursor {
        cursor(c)?;
    }
    if let (Some(a), Some(b)) = (q.since_ms, q.until_ms) {
        if b < a {
            return Err(Error::validation("until is before since"));
        }
    }
    Ok(())
}

/// One page of the namespace's archived messages matching `q`, newest first. Message ids
/// are `<ms>-<seq>`: within a millisecond a longer id is a later one, so `(at_ms,
/// length(id), id)` is the order they were shared in.
pub async fn history(pg: &Pg, ns: &str, q: &HistoryQuery) -> Result<Page> {
    check(q)?;
    let mut p: Params = Vec::new();
    let mut sql = format!(
        "SELECT {MSG_COLS}, a.at_ms FROM zl_messages m
         LEFT JOIN zl_acks a ON a.ns = m.ns AND a.message_id = m.id
         WHERE m.ns = {}",
        push(&mut p, ns.to_string())
    );
    if let Some(agent) = &q.agent {
        // Sent by it, addressed to it, or a broadcast (which reached it).
        let arr = push(&mut p, vec![agent.clone(), "*".to_string()]);
        sql += &format!(" AND m.agents && {arr}");
    }
    if let Some(kinds) = &q.kinds {
        sql += &format!(" AND m.kind = ANY({})", push(&mut p, kinds.clone()));
    }
    if let Some(s) = q.since_ms {
        sql += &format!(" AND m.at_ms >= {}", push(&mut p, s));
    }
    if let Some(u) = q.until_ms {
        sql += &format!(" AND m.at_ms < {}", push(&mut p, u));
    }
    if let Some(t) = q.text.as_ref().filter(|t| !t.trim().is_empty()) {
        sql += &format!(
            " AND m.tsv @@ websearch_to_tsquery('english', {})",
            push(&mut p, t.clone())
        );
    }
    if let Some(c) = &q.cursor {
        let (ms, id) = cursor(c)?;
        let (a, b) = (push(&mut p, ms), push(&mut p, id));
        sql += &format!(" AND (m.at_ms, length(m.id), m.id) < ({a}, length({b}), {b})");
    }
    sql += &format!(
        " ORDER BY m.at_ms DESC, length(m.id) DESC, m.id DESC LIMIT {}",
        push(&mut p, (q.limit + 1) as i64)
    );
    let c = pg.reader().await?;
    let rows = c.query(&sql, &refs(&p)).await.map_err(map_err)?;
    let more = rows.len() > q.limit;
    let messages: Vec<Archived> = rows
        .iter()
        .take(q.limit)
        .map(|r| Archived {
            message: message(r),
            acked_ms: r.get(8),
        })
        .collect();
    let next = match (more, messages.last()) {
        (true, Some(m)) => Some(format!("{}:{}", m.message.at_ms, m.message.id)),
        _ => None,
    };
    Ok(Page { messages, next })
}

fn range(p: &mut Params, col: &str, since: Option<i64>, until: Option<i64>) -> String {
    let mut s = String::new();
    if let Some(a) = since {
        s += &format!(" AND {col} >= {}", push(p, a));
    }
    if let Some(b) = until {
        s += &format!(" AND {col} < {}", push(p, b));
    }
    s
}

/// Messages by sender, receiver, kind and day (UTC); acknowledgement latency percentiles;
/// dead letters by agent and reason; over messages shared in `[since, until)`.
pub async fn insights(
    pg: &Pg,
    ns: &str,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
) -> Result<Value> {
    let c = pg.reader().await?;
    let mut p: Params = vec![Box::new(ns.to_string())];
    let r = range(&mut p, "m.at_ms", since_ms, until_ms);
    let by = c
        .query(
            &format!(
                "SELECT m.sender, r.receiver, m.kind,
                   to_char(to_timestamp(m.at_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                   count(*)
                 FROM zl_messages m, unnest(m.recipients) AS r(receiver)
                 WHERE m.ns = $1 {r} GROUP BY 1, 2, 3, 4 ORDER BY 4, 1, 2, 3"
            ),
            &refs(&p),
        )
        .await
        .map_err(map_err)?;
    let messages: Vec<Value> = by
        .iter()
        .map(|row| {
            json!({
                "sender": row.get::<_, String>(0),
                "receiver": row.get::<_, String>(1),
                "kind": row.get::<_, Option<String>>(2),
                "day": row.get::<_, String>(3),
                "count": row.get::<_, i64>(4),
            })
        })
        .collect();
    let lat = c
        .query_one(
            &format!(
                "SELECT count(*), percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[])
                   WITHIN GROUP (ORDER BY (a.at_ms - m.at_ms))
                 FROM zl_acks a JOIN zl_messages m ON m.ns = a.ns AND m.id = a.message_id
                 WHERE a.ns = $1 {r}"
            ),
            &refs(&p),
        )
        .await
        .map_err(map_err)?;
    let pct: Option<Vec<f64>> = lat.get(1);
    let at = |i: usize| pct.as_ref().and_then(|v| v.get(i).copied());
    let mut p2: Params = vec![Box::new(ns.to_string())];
    let r2 = range(&mut p2, "at_ms", since_ms, until_ms);
    let dead = c
        .query(
            &format!(
                "SELECT agent, reason, count(*) FROM zl_dead_letters WHERE ns = $1 {r2}
                 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
            ),
            &refs(&p2),
        )
        .await
        .map_err(map_err)?;
    let dead: Vec<Value> = dead
        .iter()
        .map(|row| {
            json!({
                "agent": row.get::<_, String>(0),
                "reason": row.get::<_, String>(1),
                "count": row.get::<_, i64>(2),
            })
        })
        .collect();
    Ok(json!({
        "messages": messages,
        "ack_latency_ms": {
            "count": lat.get::<_, i64>(0),
            "p50": at(0), "p90": at(1), "p99": at(2),
        },
        "dead_letters": dead,
    }))
}

/// Rows per source, the oldest and newest message or event time (seconds), and the bytes
/// the namespace's rows take.
pub async fn stats(pg: &Pg, ns: &str) -> Result<Value> {
    let c = pg.reader().await?;
    let names = [
        "messages",
        "acks",
        "dead_letters",
        "events",
        "jobs",
        "tasks",
        "patterns",
    ];
    let mut out = serde_json::Map::new();
    let mut bytes = 0i64;
    for (name, table) in names.iter().zip(TABLES) {
        let r = c
            .query_one(
                &format!(
                    "SELECT count(*), coalesce(sum(pg_column_size(t.*)), 0)::bigint
                     FROM {table} t WHERE ns = $1"
                ),
                &[&ns],
            )
            .await
            .map_err(map_err)?;
        out.insert(name.to_string(), json!(r.get::<_, i64>(0)));
        bytes += r.get::<_, i64>(1);
    }
    let r = c
        .query_one(
            "SELECT least((SELECT min(at_ms) FROM zl_messages WHERE ns = $1),
                          (SELECT min(at_ms) FROM zl_events WHERE ns = $1)),
                    greatest((SELECT max(at_ms) FROM zl_messages WHERE ns = $1),
                             (SELECT max(at_ms) FROM zl_events WHERE ns = $1))",
            &[&ns],
        )
        .await
        .map_err(map_err)?;
    let secs = |v: Option<i64>| v.map(|ms| ms as f64 / 1e3);
    out.insert("oldest".into(), json!(secs(r.get(0))));
    out.insert("newest".into(), json!(secs(r.get(1))));
    out.insert("bytes".into(), json!(bytes));
    Ok(Value::Object(out))
}

/// Events of the namespace after `after` (an event id, exclusive) and before `before` (an
/// event id, exclusive; None: no bound), oldest first, at most `limit`; the caller filters
/// channels.
pub async fn events_between(
    pg: &Pg,
    ns: &str,
    after: (i64, i64),
    before: Option<(i64, i64)>,
    limit: usize,
) -> Result<Vec<Event>> {
    let c = pg.reader().await?;
    let (bm, bs) = before.unwrap_or((i64::MAX, i64::MAX));
    let rows = c
        .query(
            "SELECT id, channel, data, at_ms FROM zl_events
             WHERE ns = $1 AND (id_ms, id_seq) > ($2, $3) AND (id_ms, id_seq) < ($4, $5)
             ORDER BY id_ms, id_seq LIMIT $6",
            &[&ns, &after.0, &after.1, &bm, &bs, &(limit as i64)],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| Event {
            id: r.get(0),
            channel: r.get(1),
            data: r.get(2),
            at_ms: r.get(3),
        })
        .collect())
}

/// The last `limit` archived messages between `a` and `b` (either direction; broadcasts by
/// either count) shared at or before `until_ms` (None: no bound), oldest first.
pub async fn bus_history(
    pg: &Pg,
    ns: &str,
    a: &str,
    b: &str,
    until_ms: Option<i64>,
    limit: usize,
) -> Result<Vec<Message>> {
    let c = pg.reader().await?;
    let until = until_ms.unwrap_or(i64::MAX);
    let rows = c
        .query(
            &format!(
                "SELECT {MSG_COLS} FROM zl_messages m
                 WHERE m.ns = $1 AND m.agents && ARRAY[$2, $3]
                   AND ((m.sender = $2 AND (m.broadcast OR $3 = ANY (m.recipients)))
                     OR (m.sender = $3 AND (m.broadcast OR $2 = ANY (m.recipients))))
                   AND m.at_ms <= $4
                 ORDER BY m.at_ms DESC, length(m.id) DESC, m.id DESC LIMIT $5"
            ),
            &[&ns, &a, &b, &until, &(limit as i64)],
        )
        .await
        .map_err(map_err)?;
    let mut v: Vec<Message> = rows.iter().map(message).collect();
    v.reverse();
    Ok(v)
}
