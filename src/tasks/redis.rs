//! Tasks on Redis: one hash per task plus index sets and two sorted sets, all under the
//! namespace's tasks hash tag so one Lua script changes a task and its index atomically
//! (docs/keys.md lists every key).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use redis::Value;

use super::cursor;
use super::model::{Order, Page, Query, Task, TaskPatch};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

static PUT: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/put.lua")));
static DELETE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/delete.lua")));
static SEARCH: LazyLock<Lua> =
    LazyLock::new(|| Lua::read_only(COMMON, include_str!("lua/search.lua")));

/// How long an update keeps retrying when other writers keep changing the task in between.
const CONTENTION_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Retry pacing for optimistic writes: returns false once the budget is spent, otherwise
/// sleeps a random time up to an exponentially growing cap (1 ms doubling to 32 ms), so
/// writers racing on one task spread out instead of colliding again in lockstep.
async fn back_off(attempt: &mut u32, started: std::time::Instant) -> bool {
    if started.elapsed() >= CONTENTION_BUDGET {
        return false;
    }
    *attempt += 1;
    let cap_us = 1_000u64 << (*attempt).min(5);
    let wait = rand::random_range(0..cap_us);
    tokio::time::sleep(std::time::Duration::from_micros(wait)).await;
    true
}

/// `zl:{<ns>:tasks}:` — every task key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

fn index_suffixes(t: &Task) -> Vec<String> {
    let mut out: Vec<String> = t
        .index_terms()
        .into_iter()
        .map(|(k, v)| format!("i:{k}:{v}"))
        .collect();
    out.extend(t.related.iter().map(|r| format!("i:r:{r}")));
    out
}

fn num(v: f64) -> String {
    format!("{v:?}")
}

/// The hash fields of a task: `doc` (every field but `related` and `version`, as one JSON
/// object), `related` (JSON array, kept apart so delete.lua can edit it without re-encoding
/// the document), and `version` (compared by put.lua). Few fields keep HSET and reads cheap.
fn fields(t: &Task) -> Result<Vec<(&'static str, String)>> {
    let mut doc = match serde_json::to_value(t)? {
        serde_json::Value::Object(m) => m,
        _ => {
            return Err(Error::Backend(
                "a task did not serialise to an object".into(),
            ))
        }
    };
    doc.remove("related");
    doc.remove("version");
    Ok(vec![
        ("doc", serde_json::to_string(&doc)?),
        ("related", serde_json::to_string(&t.related)?),
        ("version", t.version.to_string()),
    ])
}

/// The fields a read fetches, in order (`_idx` stays on the server).
const READ: [&str; 3] = ["doc", "related", "version"];

/// A task from the reply to `HMGET key doc related version`; None when the key is missing.
pub(crate) fn parse_fields(v: Value) -> Result<Option<Task>> {
    let f: Vec<Option<String>> = redis::from_redis_value(v)
        .map_err(|e| Error::Backend(format!("unreadable task hash: {e}")))?;
    let (doc, related, version) = match f.as_slice() {
        [None, None, None] => return Ok(None),
        [Some(d), Some(r), Some(v)] => (d, r, v),
        _ => {
            return Err(Error::Backend(
                "a task hash lacks doc, related or version".into(),
            ))
        }
    };
    let mut doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(doc)?;
    doc.insert("related".into(), serde_json::from_str(related)?);
    let version: u64 = version
        .parse()
        .map_err(|_| Error::Backend("task version is not a number".into()))?;
    doc.insert("version".into(), version.into());
    Ok(Some(serde_json::from_value(serde_json::Value::Object(
        doc,
    ))?))
}

enum PutOutcome {
    Ok,
    Exists(String),
    Missing,
    Stale,
}

async fn put(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    mode: &str,
    tasks: &[(Task, Option<u64>)],
) -> Result<PutOutcome> {
    let p = prefix(ns);
    let mut inv = PUT.call(&format!("{p}z:upd"));
    inv.arg(&p).arg(mode).arg(tasks.len());
    // Index sets in first-seen order, each with the ids to add: one SADD per set.
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    let mut slot: HashMap<String, usize> = HashMap::new();
    for (t, expected) in tasks {
        let idx = index_suffixes(t);
        let fs = fields(t)?;
        inv.arg(&t.id)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(fs.len() + 1);
        for (k, v) in fs {
            inv.arg(k).arg(v);
        }
        inv.arg("_idx").arg(idx.join("\n"));
        for s in idx {
            match slot.get(&s) {
                Some(&i) => groups[i].1.push(&t.id),
                None => {
                    slot.insert(s.clone(), groups.len());
                    groups.push((s, vec![&t.id]));
                }
            }
        }
    }
    inv.arg(groups.len());
    for (suffix, ids) in &groups {
        inv.arg(suffix).arg(ids.len());
        for id in ids {
            inv.arg(*id);
        }
    }
    for (t, _) in tasks {
        inv.arg(num(t.confidence)).arg(&t.id);
    }
    for (t, _) in tasks {
        inv.arg(num(t.updated_at)).arg(&t.id);
    }
    let reply: Vec<String> = PUT.run(r, c, &inv).await?;
    Ok(match reply.first().map(String::as_str) {
        Some("ok") => PutOutcome::Ok,
        Some("exists") => PutOutcome::Exists(reply.get(1).cloned().unwrap_or_default()),
        Some("missing") => PutOutcome::Missing,
        Some("stale") => PutOutcome::Stale,
        _ => {
            return Err(Error::Backend(format!(
                "unexpected reply from the put script: {reply:?}"
            )))
        }
    })
}

/// Creates all tasks or none.
pub async fn create_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    tasks: Vec<Task>,
) -> Result<Vec<Task>> {
    let items: Vec<(Task, Option<u64>)> = tasks.into_iter().map(|t| (t, None)).collect();
    match put(&r, &mut c, &ns, "create", &items).await? {
        PutOutcome::Ok => Ok(items.into_iter().map(|(t, _)| t).collect()),
        PutOutcome::Exists(id) => Err(Error::Conflict(format!("task {id:?} already exists"))),
        _ => Err(Error::Backend("unexpected outcome of create".into())),
    }
}

/// Tasks by id, None where missing (one pipeline).
pub async fn get_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    ids: Vec<String>,
) -> Result<Vec<Option<Task>>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let p = prefix(&ns);
    let mut pipe = redis::pipe();
    for id in &ids {
        pipe.cmd("HMGET").arg(format!("{p}t:{id}")).arg(&READ);
    }
    let vals: Vec<Value> = pipe.query_async(&mut c).await.map_err(|e| r.err(e))?;
    vals.into_iter().map(parse_fields).collect()
}

async fn get_one(r: &Redis, c: &mut RedisConn, ns: &str, id: &str) -> Result<Option<Task>> {
    let v: Value = redis::cmd("HMGET")
        .arg(format!("{}t:{id}", prefix(ns)))
        .arg(&READ)
        .query_async(c)
        .await
        .map_err(|e| r.err(e))?;
    parse_fields(v)
}

/// Applies `patch` atomically: read, patch in Rust, write with a version check; retried when
/// another writer got there first.
pub async fn update(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    id: String,
    patch: TaskPatch,
    if_version: Option<u64>,
    at: f64,
) -> Result<Task> {
    let (started, mut attempt) = (std::time::Instant::now(), 0);
    loop {
        let Some(mut t) = get_one(&r, &mut c, &ns, &id).await? else {
            return Err(Error::NotFound(format!("no task {id:?}")));
        };
        if let Some(v) = if_version {
            if v != t.version {
                return Err(Error::Conflict(format!(
                    "task {id:?} is at version {}, not {v}; reload it and retry",
                    t.version
                )));
            }
        }
        let seen = t.version;
        patch.clone().apply(&mut t, at)?;
        match put(&r, &mut c, &ns, "update", &[(t.clone(), Some(seen))]).await? {
            PutOutcome::Ok => return Ok(t),
            PutOutcome::Missing => return Err(Error::NotFound(format!("no task {id:?}"))),
            PutOutcome::Stale if if_version.is_some() => {
                return Err(Error::Conflict(format!(
                    "task {id:?} changed while updating; reload it and retry"
                )))
            }
            _ if back_off(&mut attempt, started).await => continue,
            _ => {
                return Err(Error::Conflict(format!(
                    "task {id:?} kept changing; gave up after {attempt} attempts in {:?}",
                    CONTENTION_BUDGET
                )))
            }
        }
    }
}

/// Create-or-update in one logical step (retried on races). `must`: Some(true) the task must
/// exist, Some(false) it must not, None either.
pub async fn upsert(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    create: Task,
    patch: TaskPatch,
    must: Option<bool>,
    at: f64,
) -> Result<Task> {
    let (started, mut attempt) = (std::time::Instant::now(), 0);
    loop {
        match get_one(&r, &mut c, &ns, &create.id).await? {
            Some(_) if must == Some(false) => {
                return Err(Error::Conflict(format!(
                    "task {:?} already exists",
                    create.id
                )))
            }
            Some(mut t) => {
                let seen = t.version;
                patch.clone().apply(&mut t, at)?;
                if let PutOutcome::Ok =
                    put(&r, &mut c, &ns, "update", &[(t.clone(), Some(seen))]).await?
                {
                    return Ok(t);
                }
            }
            None if must == Some(true) => {
                return Err(Error::NotFound(format!("no task {:?}", create.id)))
            }
            None => {
                if let PutOutcome::Ok =
                    put(&r, &mut c, &ns, "create", &[(create.clone(), None)]).await?
                {
                    return Ok(create);
                }
            }
        }
        if !back_off(&mut attempt, started).await {
            return Err(Error::Conflict(format!(
                "task {:?} kept changing; gave up after {attempt} attempts",
                create.id
            )));
        }
    }
}

/// Deletes a task and every index entry of it.
pub async fn delete(r: Arc<Redis>, mut c: RedisConn, ns: String, id: String) -> Result<bool> {
    let p = prefix(&ns);
    let mut cmd = DELETE.call(&format!("{p}t:{id}"));
    cmd.arg(&p).arg(&id);
    let n: i64 = DELETE.run(&r, &mut c, &cmd).await?;
    Ok(n == 1)
}

/// Runs a search in one script call.
pub async fn search(r: Arc<Redis>, mut c: RedisConn, ns: String, q: Query) -> Result<Page> {
    let p = prefix(&ns);
    let (order, zset) = match q.order {
        Order::Confidence => ("c", "z:conf"),
        Order::Recent => ("r", "z:upd"),
    };
    let (cs, cid) = match q.cursor.as_deref().map(cursor::decode).transpose()? {
        Some((s, id)) => (num(s), id),
        None => (String::new(), String::new()),
    };
    let opt = |v: Option<f64>| v.map(num).unwrap_or_default();
    let mut inv = SEARCH.call(&format!("{p}{zset}"));
    inv.arg(&p)
        .arg(order)
        .arg(q.limit + 1)
        .arg(cs)
        .arg(cid)
        .arg(opt(q.min_confidence))
        .arg(opt(q.max_confidence));
    let all = q.all_terms();
    inv.arg(all.len());
    for (k, t) in &all {
        inv.arg(format!("i:{k}:{t}"));
    }
    inv.arg(q.keywords_any.len());
    for k in &q.keywords_any {
        inv.arg(format!("i:k:{k}"));
    }
    inv.arg(q.related_to.clone().unwrap_or_default());
    let rows: Vec<Value> = SEARCH.run(&r, &mut c, &inv).await?;
    let mut tasks = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(t) = parse_fields(row)? {
            tasks.push(t);
        }
    }
    Ok(cursor::page(tasks, &q))
}

/// Tasks `id` lists plus tasks listing `id`, by id.
pub async fn related(r: Arc<Redis>, mut c: RedisConn, ns: String, id: String) -> Result<Vec<Task>> {
    let p = prefix(&ns);
    let (back, own): (Vec<String>, Option<String>) = redis::pipe()
        .smembers(format!("{p}i:r:{id}"))
        .hget(format!("{p}t:{id}"), "related")
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))?;
    let mut ids: Vec<String> = back;
    if let Some(o) = own {
        let own: Vec<String> = serde_json::from_str(&o)?;
        ids.extend(own);
    }
    ids.sort();
    ids.dedup();
    Ok(get_many(r, c, ns, ids)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Number of tasks.
pub async fn count(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<u64> {
    redis::cmd("ZCARD")
        .arg(format!("{}z:upd", prefix(&ns)))
        .query_async(&mut c)
        .await
        .map_err(|e| r.err(e))
}

/// The index as stored: `(kind, term, id)` for every member of every index set.
pub async fn dump_index(r: Arc<Redis>, ns: String) -> Result<Vec<(String, String, String)>> {
    let p = prefix(&ns);
    let keys = r.scan_keys(&format!("{p}i:*")).await?;
    let mut out = Vec::new();
    for k in keys {
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&k)
            .query_async(&mut r.conn())
            .await
            .map_err(|e| r.err(e))?;
        let rest = &k[p.len() + 2..];
        let (kind, term) = rest.split_once(':').unwrap_or((rest, ""));
        for m in members {
            out.push((kind.to_string(), term.to_string(), m));
        }
    }
    out.sort();
    Ok(out)
}
