//! `PgSink`: the archiver's batches into PostgreSQL, one transaction per batch, under a shared
//! per-namespace advisory lock that erasure takes exclusively (a batch in flight cannot bring
//! erased rows back). Usually a binary `COPY` straight into the source's table; when the
//! batch holds a row the table has (written again after a crash) or the namespace has erased
//! subjects: a binary `COPY` into a session-local staging table, then `INSERT ... SELECT ...
//! ON CONFLICT DO NOTHING` leaving out rows of an erased subject (`zl_archive_erased`). A
//! batch written twice leaves one copy.

use std::pin::pin;
use std::sync::Arc;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
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

async fn copy<'a, T>(
    tx: &Transaction<'_>,
    into: &str,
    types: &[Type],
    rows: &'a [T],
    f: fn(&T) -> Vec<&(dyn ToSql + Sync)>,
    ns: Option<&'a (dyn ToSql + Sync)>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let sink = tx
        .copy_in(&format!("COPY {into} FROM STDIN (FORMAT binary)"))
        .await?;
    let mut w = pin!(BinaryCopyInWriter::new(sink, types));
    for r in rows {
        let mut vals: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(types.len());
        vals.extend(ns);
        vals.extend(f(r));
        w.as_mut().write(&vals).await?;
    }
    w.finish().await?;
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

/// Where one source's rows go.
struct Spec {
    /// Its table.
    table: &'static str,
    /// Its staging table.
    stage: &'static str,
    /// The columns after `ns`, in the order rows give them.
    cols: &'static str,
    /// The condition on a staged row `s` and an erased subject `e` that leaves the row out
    /// (None: rows of this source name no subject).
    erased: Option<&'static str>,
}

/// Writes `rows` of one source. Fast path: a binary COPY straight into the table, in a
/// savepoint, when no subject of the namespace is erased; a row that is there already
/// (a batch written again after a crash) rolls it back to the staged path: COPY into the
/// staging table, then INSERT ... ON CONFLICT DO NOTHING minus erased subjects.
async fn put<T>(
    tx: &Transaction<'_>,
    ns: &str,
    spec: Spec,
    types: &[Type],
    rows: &[T],
    f: fn(&T) -> Vec<&(dyn ToSql + Sync)>,
) -> Result<u64> {
    let erased = match spec.erased {
        None => false,
        Some(_) => tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM zl_archive_erased WHERE ns = $1)",
                &[&ns],
            )
            .await
            .map_err(map_err)?
            .get(0),
    };
    if !erased {
        tx.batch_execute("SAVEPOINT zl_direct")
            .await
            .map_err(map_err)?;
        let mut all = Vec::with_capacity(types.len() + 1);
        all.push(Type::TEXT);
        all.extend_from_slice(types);
        let into = format!("{} (ns, {})", spec.table, spec.cols);
        let ns_ref: &(dyn ToSql + Sync) = &ns;
        match copy(tx, &into, &all, rows, f, Some(ns_ref)).await {
            Ok(()) => {
                tx.batch_execute("RELEASE SAVEPOINT zl_direct")
                    .await
                    .map_err(map_err)?;
                return Ok(rows.len() as u64);
            }
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                tx.batch_execute("ROLLBACK TO SAVEPOINT zl_direct")
                    .await
                    .map_err(map_err)?;
            }
            Err(e) => return Err(map_err(e)),
        }
    }
    copy(tx, spec.stage, types, rows, f, None)
        .await
        .map_err(map_err)?;
    let filter = spec
        .erased
        .map(|w| {
            format!(
                "WHERE NOT EXISTS (SELECT 1 FROM zl_archive_erased e WHERE e.ns = $1 AND ({w}))"
            )
        })
        .unwrap_or_default();
    let sql = format!(
        "INSERT INTO {} (ns, {cols}) SELECT $1, {cols} FROM {} s {filter} ON CONFLICT DO NOTHING",
        spec.table,
        spec.stage,
        cols = spec.cols
    );
    tx.execute(&sql, &[&ns]).await.map_err(map_err)
}

async fn write_tx(c: &mut Client, ns: &str, rows: &Rows) -> Result<u64> {
    use Type as T;
    let tx = c.transaction().await.map_err(map_err)?;
    lock_ns(&tx, ns, false).await?;
    let n = match rows {
        Rows::Messages(v) => {
            let spec = Spec {
                table: "zl_messages",
                stage: "zl_stage_messages",
                cols: "id, at_ms, sender, recipients, kind, priority, broadcast, payload",
                erased: Some("e.subject = s.sender OR e.subject = ANY (s.recipients)"),
            };
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
            put(&tx, ns, spec, &types, v, |m| {
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
            .await?
        }
        Rows::Acks(v) => {
            let spec = Spec {
                table: "zl_acks",
                stage: "zl_stage_acks",
                cols: "message_id, at_ms",
                erased: None,
            };
            put(&tx, ns, spec, &[T::TEXT, T::INT8], v, |a| {
                vec![&a.message_id, &a.at_ms]
            })
            .await?
        }
        Rows::DeadLetters(v) => {
            let spec = Spec {
                table: "zl_dead_letters",
                stage: "zl_stage_dead_letters",
                cols: "entry, message_id, agent, grp, consumer, deliveries, reason, at_ms, \
                       envelope",
                erased: Some("e.subject = s.agent OR e.subject = s.envelope->>'source'"),
            };
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
            put(&tx, ns, spec, &types, v, |d| {
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
            .await?
        }
        Rows::Events(v) => {
            let parts: Vec<(i64, i64)> = v.iter().map(|e| id_parts(&e.id, e.at_ms)).collect();
            let rows: Vec<_> = v.iter().zip(&parts).collect();
            let spec = Spec {
                table: "zl_events",
                stage: "zl_stage_events",
                cols: "id, id_ms, id_seq, channel, data, at_ms",
                erased: None,
            };
            let types = [T::TEXT, T::INT8, T::INT8, T::TEXT, T::JSONB, T::INT8];
            put(&tx, ns, spec, &types, &rows, |(e, p)| {
                vec![&e.id, &p.0, &p.1, &e.channel, &e.data, &e.at_ms]
            })
            .await?
        }
        Rows::Jobs(v) => {
            let spec = Spec {
                table: "zl_jobs",
                stage: "zl_stage_jobs",
                cols: "id, finished_ms, kind, status, attempts, payload, result, error, worker, \
                       headers, created_ms, started_ms",
                erased: None,
            };
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
            put(&tx, ns, spec, &types, v, |j| {
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
            .await?
        }
        Rows::Tasks(v) => {
            let spec = Spec {
                table: "zl_tasks",
                stage: "zl_stage_tasks",
                cols: "id, version, doc, deleted, at_ms",
                erased: Some(TASK_ERASED),
            };
            let types = [T::TEXT, T::INT8, T::JSONB, T::BOOL, T::INT8];
            put(&tx, ns, spec, &types, v, |t| {
                vec![&t.id, &t.version, &t.doc, &t.deleted, &t.at_ms]
            })
            .await?
        }
        Rows::Patterns(v) => {
            let spec = Spec {
                table: "zl_patterns",
                stage: "zl_stage_patterns",
                cols: "id, observations, last_ms, repo, kind, data, confidence, first_ms",
                erased: None,
            };
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
            put(&tx, ns, spec, &types, v, |p| {
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
            .await?
        }
    };
    tx.commit().await.map_err(map_err)?;
    Ok(n)
}

/// A staged task version `s` names the erased subject `e` (in its metadata's values).
const TASK_ERASED: &str = "e.subject IN (SELECT m.value FROM jsonb_each_text(CASE WHEN
  jsonb_typeof(s.doc->'metadata') = 'object' THEN s.doc->'metadata' ELSE '{}'::jsonb END) m)";

/// The subjects a task version names (`s.doc`): its metadata's values, as an SQL subquery.
pub const TASK_SUBJECTS: &str = "(SELECT m.value FROM jsonb_each_text(CASE WHEN
  jsonb_typeof(s.doc->'metadata') = 'object' THEN s.doc->'metadata' ELSE '{}'::jsonb END) m)";
