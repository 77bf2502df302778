//! Memory's part of an erase: every scope with an entry whose value is the subject.

use std::collections::BTreeSet;

use rusqlite::params;

use crate::engine::Backend;
use crate::error::Result;
use crate::hub::Hub;
use crate::memory::store::record::scope_pairs;

/// True when the canonical scope has an entry whose value is `subject`.
pub fn holds(scope: &str, subject: &str) -> bool {
    scope_pairs(scope).iter().any(|(_, v)| v == subject)
}

/// The canonical scopes of the namespace that hold records or edges (the global scope "" is
/// never returned: it has no entries).
pub async fn scopes(b: &Backend, ns: &str) -> Result<BTreeSet<String>> {
    match b {
        Backend::Sqlite(db) => {
            let (db, ns) = (db.clone(), ns.to_string());
            tokio::task::spawn_blocking(move || {
                db.with(|c| {
                    let mut st = c.prepare_cached(
                        "SELECT scope FROM mem_rows WHERE ns = ?1 \
                         UNION SELECT scope FROM mem_edges WHERE ns = ?1",
                    )?;
                    let v = st
                        .query_map(params![ns], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<BTreeSet<_>>>()?;
                    Ok(v)
                })
            })
            .await
            .map_err(|e| crate::error::Error::Backend(format!("erase task failed: {e}")))?
        }
        Backend::Redis(r) => {
            let p = crate::memory::store::redis::prefix(ns);
            let mut out = BTreeSet::new();
            for kind in ["sr:", "se:"] {
                for key in r.scan_keys(&format!("{p}{kind}*")).await? {
                    out.insert(key[p.len() + kind.len()..].to_string());
                }
            }
            Ok(out)
        }
    }
}

/// Forgets every scope holding `subject`; returns how many records and edges went.
pub async fn erase(hub: &Hub, subject: &str) -> Result<u64> {
    let mut n = 0;
    for s in scopes(hub.backend(), hub.namespace()).await? {
        if !s.is_empty() && holds(&s, subject) {
            n += hub.memory.forget_scope(&s).run().await?;
        }
    }
    Ok(n)
}
