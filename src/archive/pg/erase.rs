//! Deleting from the archive: a namespace's rows (`clear`), or one subject's (`erase`: the
//! subject recorded in `zl_archive_erased` in the same transaction, so the sink never
//! writes its rows again). Both hold the namespace's advisory lock exclusively, so a batch
//! in flight either committed before (and is deleted) or waits and is filtered.

use super::conn::{map_err, Pg};
use super::schema::TABLES;
use super::write::{lock_ns, TASK_SUBJECTS};
use crate::error::{Error, Result};

/// Deletes every archived row of `ns` (the erased subjects stay recorded); returns rows
/// deleted.
pub async fn clear(pg: &Pg, ns: &str) -> Result<u64> {
    let mut g = pg.writer().await?;
    let Some(c) = g.as_mut() else {
        unreachable!("writer() returns a connection")
    };
    let out = async {
        let tx = c.transaction().await.map_err(map_err)?;
        lock_ns(&tx, ns, true).await?;
        let mut n = 0;
        for t in TABLES {
            n += tx
                .execute(&format!("DELETE FROM {t} WHERE ns = $1"), &[&ns])
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }
    .await;
    if out.is_err() && c.is_closed() {
        *g = None;
    }
    out
}

/// Removes `subject` (an agent, a user id) from the archive of `ns`: messages it sent or
/// was named a recipient of (with their acknowledgements), dead letters for it or from it,
/// task versions whose metadata names it; records it as erased. Returns the rows deleted per
/// source name.
pub async fn erase(pg: &Pg, ns: &str, subject: &str) -> Result<Vec<(&'static str, u64)>> {
    if subject.is_empty() || subject == "*" {
        return Err(Error::validation(
            "subject must be a non-empty id (not \"*\")",
        ));
    }
    let mut g = pg.writer().await?;
    let Some(c) = g.as_mut() else {
        unreachable!("writer() returns a connection")
    };
    let out = async {
        let tx = c.transaction().await.map_err(map_err)?;
        lock_ns(&tx, ns, true).await?;
        tx.execute(
            "INSERT INTO zl_archive_erased (ns, subject) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&ns, &subject],
        )
        .await
        .map_err(map_err)?;
        let r = tx
            .query_one(
                "WITH m AS (DELETE FROM zl_messages WHERE ns = $1 AND agents @> ARRAY[$2]
                   RETURNING id),
                 a AS (DELETE FROM zl_acks WHERE ns = $1 AND message_id IN (SELECT id FROM m)
                   RETURNING 1)
                 SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM a)",
                &[&ns, &subject],
            )
            .await
            .map_err(map_err)?;
        let (msgs, acks): (i64, i64) = (r.get(0), r.get(1));
        let dead = tx
            .execute(
                "DELETE FROM zl_dead_letters WHERE ns = $1
                   AND (agent = $2 OR envelope->>'source' = $2)",
                &[&ns, &subject],
            )
            .await
            .map_err(map_err)?;
        let tasks = tx
            .execute(
                &format!("DELETE FROM zl_tasks s WHERE ns = $1 AND $2 IN {TASK_SUBJECTS}"),
                &[&ns, &subject],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(vec![
            ("messages", msgs as u64),
            ("acks", acks as u64),
            ("dead_letters", dead),
            ("tasks", tasks),
        ])
    }
    .await;
    if out.is_err() && c.is_closed() {
        *g = None;
    }
    out
}
