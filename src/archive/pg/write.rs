//! `PgSink`: the archiver's batches into PostgreSQL. Each batch is one transaction: a binary
//! `COPY` into a session-local staging table, then `INSERT ... SELECT ... ON CONFLICT DO
//! NOTHING` into the source's table (a batch written twice leaves one copy), leaving out rows
//! of an erased subject (`zl_archive_erased`), under a shared per-namespace advisory lock
//! that erasure takes exclusively: a batch in flight cannot bring erased rows back.

use std::pin::pin;
use std::sync::Arc;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use super::conn::{map_err, Pg};
use crate::archive::model::{Rows, Sink, SinkFut};
use crate::error::Result;

/// The first key of the per-namespace advisory lock shared by writes and erasure.
pub const NS_LOCK: i32 = 0x7a6c_6172; // "zlar"

/// The staging tables (temporary, per connection, emptied at commit).
const STAGING: &str = "
CREATE TEMP TABLE IF NOT EXISTS zl_stage_messages (id text, at_ms bigint, sender text,
  recipients text[], kind text, priority text, broadcast boolean, payload jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS zl_stage_acks (message_id text, at_ms bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS zl_stage_dead_letters (entry text, message_id text, agent text,
  grp text, consumer text, deliveries bigint, reason text, at_ms bigint, envelope jsonb)
  ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS zl_stage_events (id text, id_ms bigint, id_seq bigint,
  channel text, data jsonb, at_ms bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS zl_stage_jobs (id text, finished_ms bigint, kind text,
  status text, attempts bigint, payload jsonb, result jsonb, error text, worker text,
  headers jsonb, created_ms bigint, started_ms bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS zl_stage_tasks (id text, version bigint, doc jsonb,
  deleted boolean, at_ms bigint) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS zl_stage_patterns (id text, observations bigint, last_ms bigint,
  repo text, kind text, data jsonb, confidence double precision, first_ms bigint)
  ON COMMIT DELETE ROWS;
";

/// Makes the staging tables of a new connection.
pub async fn prepare(c: &Client) -> Result<()> {
    c.batch_execute(STAGING).await.map_err(map_err)
}

/// Takes the namespace's advisory lock for this transaction: shared for writes, exclusive
/// for erasure and clearing.
pub async fn lock_ns(tx: &Transaction<'_>, ns: &str, exclusive: bool) -> Result<()> {
    let sql = if exclusive {
        "SELECT pg_advisory_xact_lock($1, hashtext($2))"
    } else {
        "SELECT pg_advisory_xact_lock_shared($1, hashtext($2))"
    };
    tx.execute(sql, &[&NS_LOCK, &ns]).await.map_err(map_err)?;
    Ok(())
}

const NOT_ERASED_MSG: &str = "NOT EXISTS (SELECT 1 FROM zl_archive_erased e WHERE e.ns = $1
  AND (e.subject = s.sender OR e.subject = ANY (s.recipients)))";

/// The sink the archiver writes to.
pub struct PgSink {
    pg: Arc<Pg>,
}

impl PgSink {
    /// A sink on `pg`.
    pub fn new(pg: Arc<Pg>) -> PgSink {
        PgSink { pg }
    }

    /// Writes and commits `rows` of `ns`; how many rows the archive took (duplicates and
    /// erased rows left out).
    pub async fn write_rows(&self, ns: &str, rows: &Rows) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut g = self.pg.writer().await?;
        let Some(c) = g.as_mut() else {
            unreachable!("writer() returns a connection")
        };
        let out = write_tx(c, ns, rows).await;
        if out.is_err() && c.is_closed() {
            *g = None;
        }
        out
    }
}

impl Sink for PgSink {
    fn write<'a>(&'a self, ns: &'a str, rows: &'a Rows) -> SinkFut<'a> {
        Box::pin(async move { self.write_rows(ns, rows).await.map(|_| ()) })
    }
}

async fn copy<T>(
    tx: &Transaction<'_>,
    stage: &str,
    types: &[Type],
    rows: &[T],
    f: fn(&T) -> Vec<&(dyn ToSql + Sync)>,
) -> Result<()> {
    let sink = tx
        .copy_in(&format!("COPY {stage} FROM STDIN (FORMAT binary)"))
        .await
        .map_err(map_err)?;
    let mut w = pin!(BinaryCopyInWriter::new(sink, types));
    for r in rows {
        w.as_mut().write(&f(r)).await.map_err(map_err)?;
    }
    w.finish().await.map_err(map_err)?;
    Ok(())
}

/// An event id's `(ms, seq)` for ordering (`(at_ms, 0)` if it is not of that form).
pub fn id_parts(id: &str, at_ms: i64) -> (i64, i64) {
    let (a, b) = id.split_once('-').unwrap_or((id, "0"));
    match (a.parse(), b.parse()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => (at_ms, 0),
    }
}

async fn write_tx(c: &mut Client, ns: &str, rows: &Rows) -> Result<u64> {
    use Type as T;
    let tx = c.transaction().await.map_err(map_err)?;
    lock_ns(&tx, ns, false).await?;
    let insert = match rows {
        Rows::Messages(v) => {
            let types = [
                T::TEXT,
                T::INT8,
                T::TEXT,
                T::TEXT_ARRAY,
                T::TEXT,
                T::TEXT,
                T::BOOL,
                T::JSONB,
            ];
            copy(&tx, "zl_stage_messages", &types, v, |m| {
                vec![
                    &m.id,
                    &m.at_ms,
                    &m.sender,
                    &m.recipients,
                    &m.kind,
                    &m.priority,
                    &m.broadcast,
                    &m.payload,
                ]
            })
            .await?;
            format!(
                "INSERT INTO zl_messages (ns, id, at_ms, sender, recipients, kind, priority,
                   broadcast, payload)
                 SELECT $1, id, at_ms, sender, recipients, kind, priority, broadcast, payload
                 FROM zl_stage_messages s WHERE {NOT_ERASED_MSG} ON CONFLICT DO NOTHING"
            )
        }
        Rows::Acks(v) => {
            copy(&tx, "zl_stage_acks", &[T::TEXT, T::INT8], v, |a| {
                vec![&a.message_id, &a.at_ms]
            })
            .await?;
            "INSERT INTO zl_acks (ns, message_id, at_ms) SELECT $1, message_id, at_ms
             FROM zl_stage_acks ON CONFLICT DO NOTHING"
                .to_string()
        }
        Rows::DeadLetters(v) => {
            let types = [
                T::TEXT,
                T::TEXT,
                T::TEXT,
                T::TEXT,
                T::TEXT,
                T::INT8,
                T::TEXT,
                T::INT8,
                T::JSONB,
            ];
            copy(&tx, "zl_stage_dead_letters", &types, v, |d| {
                vec![
                    &d.entry,
                    &d.message_id,
                    &d.agent,
                    &d.group,
                    &d.consumer,
                    &d.deliveries,
                    &d.reason,
                    &d.at_ms,
                    &d.envelope,
                ]
            })
            .await?;
            "INSERT INTO zl_dead_letters (ns, entry, message_id, agent, grp, consumer,
               deliveries, reason, at_ms, envelope)
             SELECT $1, entry, message_id, agent, grp, consumer, deliveries, reason, at_ms,
               envelope FROM zl_stage_dead_letters s
             WHERE NOT EXISTS (SELECT 1 FROM zl_archive_erased e WHERE e.ns = $1
               AND (e.subject = s.agent OR e.subject = s.envelope->>'source'))
             ON CONFLICT DO NOTHING"
                .to_string()
        }
        Rows::Events(v) => {
            let parts: Vec<(i64, i64)> = v.iter().map(|e| id_parts(&e.id, e.at_ms)).collect();
            let rows: Vec<_> = v.iter().zip(&parts).collect();
            let types = [T::TEXT, T::INT8, T::INT8, T::TEXT, T::JSONB, T::INT8];
            copy(&tx, "zl_stage_events", &types, &rows, |(e, p)| {
                vec![&e.id, &p.0, &p.1, &e.channel, &e.data, &e.at_ms]
            })
            .await?;
            "INSERT INTO zl_events (ns, id, id_ms, id_seq, channel, data, at_ms)
             SELECT $1, id, id_ms, id_seq, channel, data, at_ms FROM zl_stage_events
             ON CONFLICT DO NOTHING"
                .to_string()
        }
        Rows::Jobs(v) => {
            let types = [
                T::TEXT,
                T::INT8,
                T::TEXT,
                T::TEXT,
                T::INT8,
                T::JSONB,
                T::JSONB,
                T::TEXT,
                T::TEXT,
                T::JSONB,
                T::INT8,
                T::INT8,
            ];
            copy(&tx, "zl_stage_jobs", &types, v, |j| {
                vec![
                    &j.id,
                    &j.finished_ms,
                    &j.kind,
                    &j.status,
                    &j.attempts,
                    &j.payload,
                    &j.result,
                    &j.error,
                    &j.worker,
                    &j.headers,
                    &j.created_ms,
                    &j.started_ms,
                ]
            })
            .await?;
            "INSERT INTO zl_jobs (ns, id, finished_ms, kind, status, attempts, payload, result,
               error, worker, headers, created_ms, started_ms)
             SELECT $1, id, finished_ms, kind, status, attempts, payload, result, error, worker,
               headers, created_ms, started_ms FROM zl_stage_jobs ON CONFLICT DO NOTHING"
                .to_string()
        }
        Rows::Tasks(v) => {
            let types = [T::TEXT, T::INT8, T::JSONB, T::BOOL, T::INT8];
            copy(&tx, "zl_stage_tasks", &types, v, |t| {
                vec![&t.id, &t.version, &t.doc, &t.deleted, &t.at_ms]
            })
            .await?;
            format!(
                "INSERT INTO zl_tasks (ns, id, version, doc, deleted, at_ms)
                 SELECT $1, id, version, doc, deleted, at_ms FROM zl_stage_tasks s
                 WHERE NOT EXISTS (SELECT 1 FROM zl_archive_erased e WHERE e.ns = $1
                   AND e.subject IN {TASK_SUBJECTS})
                 ON CONFLICT DO NOTHING"
            )
        }
        Rows::Patterns(v) => {
            let types = [
                T::TEXT,
                T::INT8,
                T::INT8,
                T::TEXT,
                T::TEXT,
                T::JSONB,
                T::FLOAT8,
                T::INT8,
            ];
            copy(&tx, "zl_stage_patterns", &types, v, |p| {
                vec![
                    &p.id,
                    &p.observations,
                    &p.last_ms,
                    &p.repo,
                    &p.kind,
                    &p.data,
                    &p.confidence,
                    &p.first_ms,
                ]
            })
            .await?;
            "INSERT INTO zl_patterns (ns, id, observations, last_ms, repo, kind, data,
               confidence, first_ms)
             SELECT $1, id, observations, last_ms, repo, kind, data, confidence, first_ms
             FROM zl_stage_patterns ON CONFLICT DO NOTHING"
                .to_string()
        }
    };
    let n = tx.execute(&insert, &[&ns]).await.map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(n)
}

/// The subjects a task version names (`s.doc`): its metadata's values, as an SQL subquery.
pub const TASK_SUBJECTS: &str = "(SELECT m.value FROM jsonb_each_text(CASE WHEN
  jsonb_typeof(s.doc->'metadata') = 'object' THEN s.doc->'metadata' ELSE '{}'::jsonb END) m)";
