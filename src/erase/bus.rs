//! The bus's part of an erase: messages sent by the subject or addressed to it by name, the
//! subject's inboxes, dead letters and registration (one transaction, or one script in the
//! bus's slot; `lua/bus.lua` says what goes on Redis, [`sqlite`] does the same).

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use rusqlite::{params, Transaction};

use crate::engine::script::Lua;
use crate::engine::{Backend, Op, Redis, RedisConn, Sqlite};
use crate::error::Result;

static ERASE: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        include_str!("../bus/lua/common.lua"),
        include_str!("lua/bus.lua"),
    )
});

/// Erases `subject` from the bus of `ns`; returns how many distinct messages went.
pub fn erase(b: &Backend, ns: &str, subject: &str) -> Op<u64> {
    b.call(
        (ns.to_string(), subject.to_string()),
        |db, (ns, s)| sqlite(db, &ns, &s),
        |r, c, (ns, s)| redis(r, c, ns, s),
    )
}

async fn redis(r: Arc<Redis>, mut c: RedisConn, ns: String, subject: String) -> Result<u64> {
    // A namespace with partitions: the script on each partition's keys in turn (a message
    // that reached several partitions counts in each).
    let parts: Option<u16> = redis::cmd("GET")
        .arg(crate::engine::partition::count_key(&ns))
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let n = parts.unwrap_or(1).max(1);
    let mut total = 0;
    for q in 0..n {
        let p = crate::engine::partition::prefix(&ns, crate::bus::CAPABILITY.tag, q, n);
        let idem = r.scan_keys(&format!("{p}idem:*")).await?;
        let mut cmd = ERASE.call(&format!("{p}agents"));
        cmd.arg(&p).arg(&subject);
        for k in &idem {
            cmd.arg(k);
        }
        let got: i64 = ERASE.run(&r, &mut c, &cmd).await?;
        total += got.max(0) as u64;
    }
    Ok(total)
}

fn strings(tx: &Transaction<'_>, sql: &str, ns: &str, s: &str) -> Result<Vec<String>> {
    let mut st = tx.prepare_cached(sql)?;
    let v = st
        .query_map(params![ns, s], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// The embedded store's erase: the same as the Redis script, in one transaction.
pub fn sqlite(db: &Sqlite, ns: &str, subject: &str) -> Result<u64> {
    db.with_tx(|tx| {
        let src = "json_extract(env, '$.source') = ?2 OR json_extract(env, '$.target') = ?2";
        let mut ids: BTreeSet<String> = BTreeSet::new();
        for sql in [
            "SELECT json_extract(env, '$.id') FROM bus_hist WHERE ns = ?1 AND (source = ?2 \
             OR (recipients != '*' AND instr(',' || recipients || ',', ',' || ?2 || ',') > 0))"
                .to_string(),
            "SELECT json_extract(env, '$.id') FROM bus_bcast WHERE ns = ?1 AND source = ?2"
                .to_string(),
            // A copy of someone else's broadcast in the subject's own inbox or dead letters
            // goes below with them, uncounted: the message stays for the others.
            format!("SELECT json_extract(env, '$.id') FROM bus_inbox WHERE ns = ?1 AND ({src})"),
            format!("SELECT id FROM bus_dead WHERE ns = ?1 AND ({src})"),
        ] {
            ids.extend(strings(tx, &sql, ns, subject)?);
        }
        // One pass over each table: the ids as one JSON array parameter.
        let list = serde_json::to_string(&ids)?;
        let of = "IN (SELECT value FROM json_each(?2))";
        for sql in [
            format!("DELETE FROM bus_hist WHERE ns = ?1 AND json_extract(env, '$.id') {of}"),
            format!("DELETE FROM bus_bcast WHERE ns = ?1 AND json_extract(env, '$.id') {of}"),
            format!("DELETE FROM bus_inbox WHERE ns = ?1 AND json_extract(env, '$.id') {of}"),
            format!("DELETE FROM bus_idem WHERE ns = ?1 AND json_extract(env, '$.id') {of}"),
            format!("DELETE FROM bus_dead WHERE ns = ?1 AND id {of}"),
            format!("DELETE FROM bus_acked WHERE ns = ?1 AND id {of}"),
        ] {
            tx.prepare_cached(&sql)?.execute(params![ns, list])?;
        }
        for sql in [
            format!("DELETE FROM bus_inbox WHERE ns = ?1 AND (agent = ?2 OR {src})"),
            format!("DELETE FROM bus_dead WHERE ns = ?1 AND (agent = ?2 OR {src})"),
            format!("DELETE FROM bus_idem WHERE ns = ?1 AND ({src})"),
            "DELETE FROM bus_kinds WHERE ns = ?1 AND agent = ?2".to_string(),
            "DELETE FROM bus_agents WHERE ns = ?1 AND agent = ?2".to_string(),
        ] {
            tx.prepare_cached(&sql)?.execute(params![ns, subject])?;
        }
        Ok(ids.len() as u64)
    })
}
