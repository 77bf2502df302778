//! `hub.jobs.counts()`: how many jobs each kind has in each state, without reading a job.
//!
//! States: `ready`, `delayed` (not yet due or waiting for a retry), `running`, and the
//! finished ones `succeeded`, `dead`, `cancelled`. Both engines keep the counts as the jobs
//! move, so a read costs one query or one script whatever the number of jobs:
//! - embedded: the table `job_counts`, kept by triggers on `jobs` (every writer, import and
//!   clear included, updates it in the same transaction);
//! - Redis: the hash `J n` (field `<state>:<kind>`), updated by every job script through
//!   `count_move` in `lua/common.lua`. A namespace written before the hash existed (or
//!   imported into) has no `~` marker field; the first read then rebuilds it in one pass.

use std::sync::{Arc, LazyLock};

use rusqlite::Connection;

use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::Result;

/// The states a count is kept for, in the order rows are returned.
pub const STATES: [&str; 6] = [
    "ready",
    "delayed",
    "running",
    "succeeded",
    "dead",
    "cancelled",
];

/// One row of [`super::Jobs::counts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub kind: String,
    pub state: String,
    pub count: u64,
}

/// Schema step: the counts table, filled from the jobs already stored, and the triggers that
/// keep it (a job's state is its queue, or its status once finished).
pub const SCHEMA: &str = "
CREATE TABLE job_counts (
  ns TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (ns, kind, state)
) WITHOUT ROWID;
INSERT INTO job_counts (ns, kind, state, n)
  SELECT ns, kind, CASE q WHEN 1 THEN 'ready' WHEN 2 THEN 'delayed' WHEN 3 THEN 'running'
    ELSE status END, count(*) FROM jobs GROUP BY 1, 2, 3;
CREATE TRIGGER job_counts_ins AFTER INSERT ON jobs BEGIN
  INSERT INTO job_counts (ns, kind, state, n) VALUES (new.ns, new.kind,
    CASE new.q WHEN 1 THEN 'ready' WHEN 2 THEN 'delayed' WHEN 3 THEN 'running'
    ELSE new.status END, 1)
  ON CONFLICT (ns, kind, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER job_counts_del AFTER DELETE ON jobs BEGIN
  UPDATE job_counts SET n = n - 1 WHERE ns = old.ns AND kind = old.kind AND state =
    CASE old.q WHEN 1 THEN 'ready' WHEN 2 THEN 'delayed' WHEN 3 THEN 'running'
    ELSE old.status END;
END;
CREATE TRIGGER job_counts_upd AFTER UPDATE OF q, status, kind ON jobs
WHEN old.q IS NOT new.q OR old.status IS NOT new.status OR old.kind IS NOT new.kind BEGIN
  UPDATE job_counts SET n = n - 1 WHERE ns = old.ns AND kind = old.kind AND state =
    CASE old.q WHEN 1 THEN 'ready' WHEN 2 THEN 'delayed' WHEN 3 THEN 'running'
    ELSE old.status END;
  INSERT INTO job_counts (ns, kind, state, n) VALUES (new.ns, new.kind,
    CASE new.q WHEN 1 THEN 'ready' WHEN 2 THEN 'delayed' WHEN 3 THEN 'running'
    ELSE new.status END, 1)
  ON CONFLICT (ns, kind, state) DO UPDATE SET n = n + 1;
END;
";

fn order(rows: &mut [Count]) {
    let pos = |s: &str| STATES.iter().position(|x| *x == s).unwrap_or(STATES.len());
    rows.sort_by(|a, b| (a.kind.as_str(), pos(&a.state)).cmp(&(b.kind.as_str(), pos(&b.state))));
}

/// The counts on the embedded store (one indexed read of `job_counts`).
pub fn sqlite(c: &Connection, ns: &str) -> Result<Vec<Count>> {
    let mut st =
        c.prepare_cached("SELECT kind, state, n FROM job_counts WHERE ns = ?1 AND n > 0")?;
    let mut rows = st
        .query_map([ns], |r| {
            Ok(Count {
                kind: r.get(0)?,
                state: r.get(1)?,
                count: r.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    order(&mut rows);
    Ok(rows)
}

/// Removes the namespace's counts (with `clear`; the delete trigger leaves zero rows).
pub fn sqlite_clear(tx: &rusqlite::Transaction<'_>, ns: &str) -> Result<u64> {
    tx.execute("DELETE FROM job_counts WHERE ns = ?1", [ns])?;
    Ok(0)
}

static COUNTS: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        include_str!("lua/common.lua"),
        include_str!("lua/counts.lua"),
    )
});

/// The counts on Redis: one script (`lua/counts.lua`) reading the hash `J n` of each of the
/// `n` partitions (concurrently), summed.
pub async fn redis(r: Arc<Redis>, c: RedisConn, ns: String, n: u16) -> Result<Vec<Count>> {
    let runs = (0..n).map(|p| {
        let (r, mut c) = (r.clone(), c.clone());
        let pre = super::redis::prefix_in(&ns, p, n);
        async move {
            let mut cmd = COUNTS.call(&format!("{pre}n"));
            cmd.arg(pre);
            COUNTS.run::<Vec<String>>(&r, &mut c, &cmd).await
        }
    });
    let mut sums: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for flat in super::redis::fan_out(&r, runs).await? {
        for pair in flat.chunks_exact(2) {
            let Some((state, kind)) = pair[0].split_once(':') else {
                continue;
            };
            let v: i64 = pair[1].parse().unwrap_or(0);
            if v > 0 && STATES.contains(&state) {
                *sums
                    .entry((kind.to_string(), state.to_string()))
                    .or_default() += v as u64;
            }
        }
    }
    let mut rows: Vec<Count> = sums
        .into_iter()
        .map(|((kind, state), count)| Count { kind, state, count })
        .collect();
    order(&mut rows);
    Ok(rows)
}
