//! Chat's and activity's part of an erase: every conversation or feed whose id names the
//! subject ([`super::names`]) is cleared.

use rusqlite::params;

use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::streams::{redis::index_key, Streams};

/// The ids of every log of `s`'s kind that holds entries.
pub async fn logs(s: &Streams, b: &Backend) -> Result<Vec<String>> {
    let k = s.kind();
    let ns = s.namespace().to_string();
    match b {
        Backend::Sqlite(db) => {
            let db = db.clone();
            tokio::task::spawn_blocking(move || {
                db.with(|c| {
                    let mut st = c.prepare_cached(&format!(
                        "SELECT DISTINCT stream FROM {} WHERE ns = ?1",
                        k.table
                    ))?;
                    let v = st
                        .query_map(params![ns], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(v)
                })
            })
            .await
            .map_err(|e| Error::Backend(format!("erase task failed: {e}")))?
        }
        Backend::Redis(r) => {
            let mut c = r.conn();
            redis::cmd("ZRANGE")
                .arg(index_key(&ns, k))
                .arg(0)
                .arg(-1)
                .query_async(&mut c)
                .await
                .map_err(|e| r.err(e))
        }
    }
}

/// Clears every log of `s` whose id names `subject`; returns how many entries went.
pub async fn erase(s: &Streams, b: &Backend, subject: &str) -> Result<u64> {
    let mut n = 0;
    for log in logs(s, b).await? {
        if super::names(&log, subject) {
            n += s.clear(&log).run().await?;
        }
    }
    Ok(n)
}
