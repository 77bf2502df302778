//! The archive's tables in PostgreSQL, created and migrated by the library: an append-only
//! list of migrations, recorded in `zl_archive_schema`, applied in one transaction under an
//! advisory lock (two processes attaching at once do not race). Every table holds rows of
//! every namespace (`ns`) with the source's natural id as its primary key.

use tokio_postgres::Client;

use super::conn::map_err;
use crate::error::{Error, Result};

/// The advisory lock key the migrations hold (`pg_advisory_xact_lock`).
const LOCK: i64 = 0x7a65_726f_6c61_6731; // "zerolag1"

/// The migrations, in order; append only (the archive records how many it applied).
pub const MIGRATIONS: &[&str] = &[V1];

/// The first schema: one table per source, the erased subjects.
const V1: &str = "
CREATE TABLE zl_messages (
  ns text NOT NULL, id text NOT NULL, at_ms bigint NOT NULL, sender text NOT NULL,
  recipients text[] NOT NULL, kind text, priority text NOT NULL, broadcast boolean NOT NULL,
  payload jsonb NOT NULL,
  agents text[] GENERATED ALWAYS AS (array_prepend(sender, recipients)) STORED,
  tsv tsvector GENERATED ALWAYS AS (
    to_tsvector('english'::regconfig, coalesce(kind, '') || ' ' || sender)
    || jsonb_to_tsvector('english'::regconfig, payload, '[\"string\"]')) STORED,
  PRIMARY KEY (ns, id));
CREATE INDEX zl_messages_time ON zl_messages (ns, at_ms, id);
CREATE INDEX zl_messages_agents ON zl_messages USING gin (agents);
CREATE INDEX zl_messages_tsv ON zl_messages USING gin (tsv);
CREATE TABLE zl_acks (
  ns text NOT NULL, message_id text NOT NULL, at_ms bigint NOT NULL,
  PRIMARY KEY (ns, message_id));
CREATE TABLE zl_dead_letters (
  ns text NOT NULL, entry text NOT NULL, message_id text NOT NULL, agent text NOT NULL,
  grp text NOT NULL, consumer text NOT NULL, deliveries bigint NOT NULL, reason text NOT NULL,
  at_ms bigint NOT NULL, envelope jsonb NOT NULL,
  PRIMARY KEY (ns, entry));
CREATE INDEX zl_dead_letters_agent ON zl_dead_letters (ns, agent, at_ms);
CREATE TABLE zl_events (
  ns text NOT NULL, id text NOT NULL, id_ms bigint NOT NULL, id_seq bigint NOT NULL,
  channel text NOT NULL, data jsonb NOT NULL, at_ms bigint NOT NULL,
  PRIMARY KEY (ns, id));
CREATE INDEX zl_events_order ON zl_events (ns, id_ms, id_seq);
CREATE TABLE zl_jobs (
  ns text NOT NULL, id text NOT NULL, finished_ms bigint NOT NULL, kind text NOT NULL,
  status text NOT NULL, attempts bigint NOT NULL, payload jsonb NOT NULL, result jsonb NOT NULL,
  error text, worker text, headers jsonb NOT NULL, created_ms bigint NOT NULL,
  started_ms bigint,
  PRIMARY KEY (ns, id, finished_ms));
CREATE INDEX zl_jobs_time ON zl_jobs (ns, finished_ms);
CREATE TABLE zl_tasks (
  ns text NOT NULL, id text NOT NULL, version bigint NOT NULL, doc jsonb NOT NULL,
  deleted boolean NOT NULL, at_ms bigint NOT NULL,
  PRIMARY KEY (ns, id, version));
CREATE TABLE zl_patterns (
  ns text NOT NULL, id text NOT NULL, observations bigint NOT NULL, last_ms bigint NOT NULL,
  repo text NOT NULL, kind text NOT NULL, data jsonb NOT NULL, confidence double precision NOT NULL,
  first_ms bigint NOT NULL,
  PRIMARY KEY (ns, id, observations, last_ms));
CREATE TABLE zl_archive_erased (
  ns text NOT NULL, subject text NOT NULL, at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ns, subject));
";

/// The archive's tables, in the order `clear` and `stats` visit them.
pub const TABLES: [&str; 7] = [
    "zl_messages",
    "zl_acks",
    "zl_dead_letters",
    "zl_events",
    "zl_jobs",
    "zl_tasks",
    "zl_patterns",
];

/// Creates the tables or brings them up to date; returns the schema version.
pub async fn migrate(c: &mut Client) -> Result<usize> {
    let tx = c.transaction().await.map_err(map_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(map_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS zl_archive_schema (version integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .map_err(map_err)?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM zl_archive_schema",
            &[],
        )
        .await
        .map_err(map_err)?;
    let have = row.get::<_, i32>(0) as usize;
    if have > MIGRATIONS.len() {
        return Err(Error::Backend(format!(
            "the archive's schema is version {have}, newer than this zerolag knows ({}); \
             upgrade zerolag",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
        tx.batch_execute(sql).await.map_err(map_err)?;
        let v = (i + 1) as i32;
        tx.execute("INSERT INTO zl_archive_schema (version) VALUES ($1)", &[&v])
            .await
            .map_err(map_err)?;
    }
    tx.commit().await.map_err(map_err)?;
    Ok(MIGRATIONS.len())
}
