//! `hub.memory` records on Redis: one hash per row, a hash per (scope, key) of its versions,
//! postings hashes per term, the entity index, the per-space vector sets and the namespace's
//! counters, all under the namespace's `mem` hash tag (docs/keys.md). Writes are planned in
//! Rust from a read (`plan.lua`) and written by one script (`write.lua`) that first checks
//! that nothing the plan read has changed; when it has, the write is planned again.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use redis::Value as RValue;

use super::plan::{self, Cut, Space};
use super::record::{Kind, MemoryRecord, RowInfo, Value, Write};
use super::sqlite::split;
use super::timeline::Version;
use super::{RowTerms, TermsPage, Totals, VectorPage};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

const COMMON: &str = include_str!("lua/common.lua");

fn script(body: &str) -> Lua {
    Lua::new(COMMON, body)
}

fn read_only(body: &str) -> Lua {
    Lua::read_only(COMMON, body)
}

static WRITE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/write.lua")));
static PLAN: LazyLock<Lua> = LazyLock::new(|| read_only(include_str!("lua/plan.lua")));
static LINE: LazyLock<Lua> = LazyLock::new(|| read_only(include_str!("lua/line.lua")));
static ROWS: LazyLock<Lua> = LazyLock::new(|| read_only(include_str!("lua/rows.lua")));
static READ: LazyLock<Lua> = LazyLock::new(|| read_only(include_str!("lua/read.lua")));
static PURGE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/purge.lua")));
static FORGET_SCOPE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/forget_scope.lua")));
static SPACE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/space.lua")));
/// Shared with `redis_graph` and `dump`.
pub static RELATE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/relate.lua")));
pub static EDGES: LazyLock<Lua> = LazyLock::new(|| read_only(include_str!("lua/edges.lua")));
pub static RESTORE: LazyLock<Lua> = LazyLock::new(|| script(include_str!("lua/restore.lua")));

/// How many times a write is planned again after other writers changed what it read.
pub const RETRIES: usize = 100;

/// `zl:{<ns>:mem}:` — every memory key starts with it.
pub fn prefix(ns: &str) -> String {
    crate::engine::keys::prefix(ns, super::CAPABILITY.tag)
}

/// Starts a call of `lua` routed by the namespace's meta key, with the prefix as ARGV[1].
pub fn call(lua: &Lua, ns: &str) -> redis::Cmd {
    let p = prefix(ns);
    let mut cmd = lua.call(&format!("{p}meta"));
    cmd.arg(&p);
    cmd
}

pub fn bad(what: &str) -> Error {
    Error::Backend(format!("unexpected reply from a memory script: {what}"))
}

pub fn bytes(v: &RValue) -> Result<Vec<u8>> {
    match v {
        RValue::Nil => Ok(Vec::new()),
        v => redis::from_redis_value_ref(v).map_err(|e| bad(&e.to_string())),
    }
}

pub fn string(v: &RValue) -> Result<String> {
    String::from_utf8(bytes(v)?).map_err(|_| bad("text is not UTF-8"))
}

fn array(v: RValue) -> Result<Vec<RValue>> {
    match v {
        RValue::Array(a) => Ok(a),
        RValue::Nil => Ok(Vec::new()),
        other => Err(bad(&format!("{other:?}"))),
    }
}

/// A flattened `{id, field, value, ...}` reply as the id and its fields.
pub fn fields(v: RValue) -> Result<(String, HashMap<String, Vec<u8>>)> {
    let a = array(v)?;
    let (id, rest) = a.split_first().ok_or_else(|| bad("empty row"))?;
    let mut m = HashMap::new();
    for pair in rest.chunks(2) {
        if let [k, v] = pair {
            m.insert(string(k)?, bytes(v)?);
        }
    }
    Ok((string(id)?, m))
}

/// Field access of a row read as a map.
pub struct Fields(pub HashMap<String, Vec<u8>>);

impl Fields {
    pub fn text(&self, f: &str) -> Result<String> {
        String::from_utf8(self.0.get(f).cloned().unwrap_or_default())
            .map_err(|_| bad("text is not UTF-8"))
    }
    pub fn opt(&self, f: &str) -> Result<Option<String>> {
        Ok(Some(self.text(f)?).filter(|s| !s.is_empty()))
    }
    pub fn int(&self, f: &str) -> Result<i64> {
        self.text(f)?.parse().map_err(|_| bad(f))
    }
    pub fn opt_int(&self, f: &str) -> Result<Option<i64>> {
        self.opt(f)?
            .map(|s| s.parse().map_err(|_| bad(f)))
            .transpose()
    }
    pub fn float(&self, f: &str) -> Result<f64> {
        self.text(f)?.parse().map_err(|_| bad(f))
    }
    pub fn raw(&self, f: &str) -> &[u8] {
        self.0.get(f).map_or(&[], Vec::as_slice)
    }
}

/// A row read whole.
pub fn to_record(row: &str, f: &Fields) -> Result<MemoryRecord> {
    Ok(MemoryRecord {
        row: row.parse().map_err(|_| bad("row id"))?,
        key: f.text("k")?,
        scope: f.text("s")?,
        version: f.int("v")?.max(0) as u64,
        value: Value::from_stored(&f.text("t")?, f.text("d")?)?,
        kind: Kind::parse(&f.text("kd")?).map_err(|e| Error::Backend(e.to_string()))?,
        category: f.opt("c")?,
        significance: f.float("g")?,
        entities: split(&f.text("en")?),
        metadata: f.opt("m")?,
        source: f.opt("src")?,
        valid_from: f.int("vf")?,
        valid_to: f.opt_int("vt")?,
        recorded_at: f.int("ra")?,
        superseded_at: f.opt_int("sa")?,
        deleted: f.text("t")?.is_empty(),
        space: f.opt("sp")?,
        len: f.int("len")?.max(0) as u32,
    })
}

fn to_info(row: &str, f: &Fields) -> Result<RowInfo> {
    Ok(RowInfo {
        row: row.parse().map_err(|_| bad("row id"))?,
        key: f.text("k")?,
        scope: f.text("s")?,
        version: f.int("v")?.max(0) as u64,
        kind: Kind::parse(&f.text("kd")?).map_err(|e| Error::Backend(e.to_string()))?,
        category: f.opt("c")?,
        significance: f.float("g")?,
        valid_from: f.int("vf")?,
        valid_to: f.opt_int("vt")?,
        recorded_at: f.int("ra")?,
        superseded_at: f.opt_int("sa")?,
        deleted: f.text("t")?.is_empty(),
        space: f.opt("sp")?,
        len: f.int("len")?.max(0) as u32,
    })
}

fn opt_num<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The 18 row fields `put_row` takes (see lua/common.lua), for a write or an import.
pub fn row_args(cmd: &mut redis::Cmd, r: &MemoryRecord, vector: &[u8], terms: &[(String, u32)]) {
    let words: Vec<&str> = terms.iter().map(|(t, _)| t.as_str()).collect();
    let tfs: Vec<String> = terms.iter().map(|(_, n)| n.to_string()).collect();
    cmd.arg(&r.scope)
        .arg(&r.key)
        .arg(r.version)
        .arg(r.value.as_ref().map_or("", Value::code))
        .arg(r.value.as_ref().map_or("", Value::data))
        .arg(r.kind.name())
        .arg(r.category.as_deref().unwrap_or(""))
        .arg(crate::transfer::record::num(r.significance))
        .arg(r.entities.join(" "))
        .arg(r.metadata.as_deref().unwrap_or(""))
        .arg(r.source.as_deref().unwrap_or(""))
        .arg(r.valid_from)
        .arg(opt_num(r.valid_to))
        .arg(r.space.as_deref().unwrap_or(""))
        .arg(vector)
        .arg(r.len)
        .arg(words.join(" "))
        .arg(tfs.join(" "));
}

type Lines = HashMap<(String, String), Vec<Version>>;

async fn read_plan(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    keys: &[(String, String)],
    names: &[String],
) -> Result<(Lines, HashMap<String, Space>, HashMap<u64, u64>)> {
    let mut cmd = call(&PLAN, ns);
    cmd.arg(keys.len());
    for (s, k) in keys {
        cmd.arg(s).arg(k);
    }
    for n in names {
        cmd.arg(n);
    }
    let mut reply = array(PLAN.run(r, c, &cmd).await?)?;
    let defs = array(reply.pop().ok_or_else(|| bad("plan"))?)?;
    let mut spaces = HashMap::new();
    for (n, d) in names.iter().zip(defs) {
        let d = string(&d)?;
        if !d.is_empty() {
            spaces.insert(n.clone(), Space::parse(n, &d)?);
        }
    }
    let mut lines = HashMap::new();
    let mut versions = HashMap::new();
    for (k, line) in keys.iter().zip(reply) {
        let flat = array(line)?;
        let mut vs = Vec::new();
        for v in flat.chunks(7) {
            let f: Vec<String> = v.iter().map(string).collect::<Result<_>>()?;
            let [row, version, vf, vt, ra, sa, t] = f.as_slice() else {
                return Err(bad("plan line"));
            };
            let num = |s: &str| s.parse::<i64>().map_err(|_| bad("plan time"));
            let opt = |s: &str| (!s.is_empty()).then(|| num(s)).transpose();
            let v = Version {
                version: num(version)?.max(0) as u64,
                row: num(row)?.max(0) as u64,
                valid_from: num(vf)?,
                valid_to: opt(vt)?,
                recorded_at: num(ra)?,
                superseded_at: opt(sa)?,
                deleted: t.is_empty(),
            };
            versions.insert(v.row, v.version);
            vs.push(v);
        }
        vs.sort_by_key(|v| v.version);
        lines.insert(k.clone(), vs);
    }
    Ok((lines, spaces, versions))
}

/// Writes `writes` as new versions, all or none (see the module docs).
pub async fn write(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    writes: Vec<Write>,
    now: i64,
) -> Result<Vec<MemoryRecord>> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for w in &writes {
        let k = (w.scope.clone(), w.key.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
        if let Some((s, _)) = &w.embedding {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
    }
    for _ in 0..RETRIES {
        let (mut lines, spaces, _) = read_plan(&r, &mut c, &ns, &keys, &names).await?;
        let counts: Vec<usize> = keys
            .iter()
            .map(|k| lines.get(k).map_or(0, Vec::len))
            .collect();
        let planned = plan::writes(&mut lines, &spaces, &writes)?;
        let mut cmd = call(&WRITE, &ns);
        cmd.arg(now).arg(keys.len());
        for ((s, k), n) in keys.iter().zip(&counts) {
            cmd.arg(s).arg(k).arg(n);
        }
        cmd.arg(names.len());
        for n in &names {
            cmd.arg(n)
                .arg(spaces.get(n).map(Space::def).unwrap_or_default());
        }
        let mut recs = Vec::with_capacity(writes.len());
        for (w, p) in writes.iter().zip(&planned) {
            let rec = MemoryRecord {
                row: 0,
                key: w.key.clone(),
                scope: w.scope.clone(),
                version: p.version,
                value: w.value.clone(),
                kind: w.kind,
                category: w.category.clone(),
                significance: w.significance,
                entities: w.entities.clone(),
                metadata: w.metadata.clone(),
                source: w.source.clone(),
                valid_from: w.valid_from.unwrap_or(now),
                valid_to: w.valid_to,
                recorded_at: 0,
                superseded_at: None,
                deleted: w.value.is_none(),
                space: w.embedding.as_ref().map(|(s, _)| s.clone()),
                len: p.terms.len,
            };
            let vector = w
                .embedding
                .as_ref()
                .map(|(_, v)| plan::vector_bytes(v))
                .unwrap_or_default();
            row_args(&mut cmd, &rec, &vector, &p.terms.tf);
            let cuts: Vec<String> = p
                .cuts
                .iter()
                .map(|c| match c {
                    Cut::Row(r) => format!("r{r}"),
                    Cut::Batch(i) => format!("b{i}"),
                })
                .collect();
            cmd.arg(cuts.join(" "));
            recs.push(rec);
        }
        let reply: Vec<String> = WRITE.run(&r, &mut c, &cmd).await?;
        match reply.as_slice() {
            [c] if c == "conflict" => continue,
            [t, first] => {
                let t: i64 = t.parse().map_err(|_| bad("time"))?;
                let first: u64 = first.parse().map_err(|_| bad("row"))?;
                for (i, rec) in recs.iter_mut().enumerate() {
                    rec.row = first + i as u64;
                    rec.recorded_at = t;
                }
                for p in &planned {
                    for cut in &p.cuts {
                        if let Cut::Batch(j) = cut {
                            recs[*j].superseded_at = Some(t);
                        }
                    }
                }
                return Ok(recs);
            }
            _ => return Err(bad("write")),
        }
    }
    Err(Error::Conflict(
        "memory write: other writers kept changing the same keys; try again".into(),
    ))
}

/// The version of (scope, key) valid at `as_of` as known at `known_at`, without tombstones:
/// the versions' times are read, the rule (`timeline::select`) picks one, and that row is
/// read (gone by then: purged in between, so none).
#[allow(clippy::too_many_arguments)]
pub async fn recall(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    scope: String,
    key: String,
    as_of: i64,
    known_at: Option<i64>,
) -> Result<Option<MemoryRecord>> {
    let k = (scope, key);
    let (lines, _, _) = read_plan(&r, &mut c, &ns, std::slice::from_ref(&k), &[]).await?;
    let line = lines.get(&k).map(Vec::as_slice).unwrap_or_default();
    let Some(v) = super::timeline::select(line, as_of, known_at) else {
        return Ok(None);
    };
    if v.deleted {
        return Ok(None);
    }
    let args = vec!["all".to_string(), v.row.to_string()];
    Ok(rows_whole(&r, &mut c, &ns, args)
        .await?
        .pop()
        .and_then(|(_, x)| x.map(|(rec, _)| rec)))
}

/// Every version of (scope, key), oldest first.
pub async fn line(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    scope: String,
    key: String,
) -> Result<Vec<MemoryRecord>> {
    let mut cmd = call(&LINE, &ns);
    cmd.arg(&scope).arg(&key);
    let reply = array(LINE.run(&r, &mut c, &cmd).await?)?;
    let mut out = Vec::with_capacity(reply.len());
    for v in reply {
        let (row, f) = fields(v)?;
        out.push(to_record(&row, &Fields(f))?);
    }
    out.sort_by_key(|r| r.version);
    Ok(out)
}

/// Deletes every version of (scope, key).
pub async fn purge(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    scope: String,
    key: String,
) -> Result<u64> {
    let mut cmd = call(&PURGE, &ns);
    cmd.arg(&scope).arg(&key);
    let n: i64 = PURGE.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// Erases a scope.
pub async fn forget_scope(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    scope: String,
) -> Result<u64> {
    let mut cmd = call(&FORGET_SCOPE, &ns);
    cmd.arg(&scope);
    let n: i64 = FORGET_SCOPE.run(&r, &mut c, &cmd).await?;
    Ok(n.max(0) as u64)
}

/// Declares a space.
pub async fn declare(r: Arc<Redis>, mut c: RedisConn, ns: String, s: Space) -> Result<Space> {
    let mut cmd = call(&SPACE, &ns);
    cmd.arg(&s.name).arg(s.def());
    let old: String = SPACE.run(&r, &mut c, &cmd).await?;
    if old.is_empty() {
        Ok(s)
    } else {
        super::same_space(Space::parse(&s.name, &old)?, s)
    }
}

/// The declared spaces, by name.
pub async fn spaces(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<Vec<Space>> {
    let mut cmd = call(&READ, &ns);
    cmd.arg("spaces");
    let flat: Vec<String> = READ.run(&r, &mut c, &cmd).await?;
    let mut out = flat
        .chunks(2)
        .filter_map(|p| match p {
            [n, d] => Some(Space::parse(n, d)),
            _ => None,
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

async fn rows_call(r: &Redis, c: &mut RedisConn, ns: &str, args: &[String]) -> Result<Vec<RValue>> {
    let mut cmd = call(&ROWS, ns);
    for a in args {
        cmd.arg(a);
    }
    array(ROWS.run(r, c, &cmd).await?)
}

/// Rows read whole, by id (None where missing), with their vectors.
pub async fn rows_whole(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    args: Vec<String>,
) -> Result<Vec<(String, Option<(MemoryRecord, Vec<u8>)>)>> {
    let mut out = Vec::new();
    for v in rows_call(r, c, ns, &args).await? {
        let (row, f) = fields(v)?;
        let f = Fields(f);
        if f.0.is_empty() {
            out.push((row, None));
        } else {
            let vec = f.raw("vec").to_vec();
            out.push((row.clone(), Some((to_record(&row, &f)?, vec))));
        }
    }
    Ok(out)
}

/// Records by row id.
pub async fn get_rows(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    rows: Vec<u64>,
) -> Result<Vec<Option<MemoryRecord>>> {
    let mut args = vec!["all".to_string()];
    args.extend(rows.iter().map(u64::to_string));
    Ok(rows_whole(&r, &mut c, &ns, args)
        .await?
        .into_iter()
        .map(|(_, x)| x.map(|(rec, _)| rec))
        .collect())
}

/// A page of rows.
pub async fn rows_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    after: u64,
    limit: usize,
) -> Result<Vec<RowInfo>> {
    let args = [
        "info".into(),
        "page".into(),
        after.to_string(),
        limit.to_string(),
    ];
    let mut out = Vec::new();
    for v in rows_call(&r, &mut c, &ns, &args).await? {
        let (row, f) = fields(v)?;
        out.push(to_info(&row, &Fields(f))?);
    }
    Ok(out)
}

/// A page of one space's vectors.
pub async fn vectors_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    space: String,
    after: u64,
    limit: usize,
) -> Result<VectorPage> {
    let args = [
        "vec".into(),
        "page".into(),
        after.to_string(),
        limit.to_string(),
        space,
    ];
    let mut page = VectorPage::default();
    for v in rows_call(&r, &mut c, &ns, &args).await? {
        let a = array(v)?;
        let [row, vec] = a.as_slice() else {
            return Err(bad("vector page"));
        };
        page.rows
            .push(string(row)?.parse().map_err(|_| bad("row id"))?);
        page.data.extend(plan::vector_of(&bytes(vec)?)?);
    }
    Ok(page)
}

/// The postings of up to `limit` rows after `after`, by row.
pub async fn postings_page(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    after: u64,
    limit: usize,
) -> Result<TermsPage> {
    let args = [
        "terms".into(),
        "page".into(),
        after.to_string(),
        limit.to_string(),
    ];
    let reply = rows_call(&r, &mut c, &ns, &args).await?;
    let mut page = TermsPage::default();
    let mut last = None;
    let scanned = reply.len();
    for v in reply {
        let f: Vec<String> = array(v)?.iter().map(string).collect::<Result<_>>()?;
        let [row, len, typ, rest @ ..] = f.as_slice() else {
            return Err(bad("postings page"));
        };
        let row: u64 = row.parse().map_err(|_| bad("row id"))?;
        last = Some(row);
        if typ.is_empty() {
            continue;
        }
        let mut terms = rest
            .chunks(2)
            .map(|p| match p {
                [t, n] => Ok((t.clone(), n.parse().map_err(|_| bad("posting tf"))?)),
                _ => Err(bad("posting")),
            })
            .collect::<Result<Vec<(String, u32)>>>()?;
        terms.sort();
        page.rows.push(RowTerms {
            row,
            len: len.parse().map_err(|_| bad("len"))?,
            terms,
        });
    }
    page.next = (scanned == limit).then_some(last).flatten();
    Ok(page)
}

/// The postings of each term, in row order.
pub async fn postings(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    terms: Vec<String>,
) -> Result<Vec<Vec<(u64, u32)>>> {
    let mut cmd = call(&READ, &ns);
    cmd.arg("postings");
    for t in &terms {
        cmd.arg(t);
    }
    let reply: Vec<Vec<String>> = READ.run(&r, &mut c, &cmd).await?;
    reply
        .into_iter()
        .map(|flat| {
            let mut list = flat
                .chunks(2)
                .map(|p| match p {
                    [row, tf] => Ok((
                        row.parse().map_err(|_| bad("posting row"))?,
                        tf.parse().map_err(|_| bad("posting tf"))?,
                    )),
                    _ => Err(bad("posting")),
                })
                .collect::<Result<Vec<(u64, u32)>>>()?;
            list.sort_unstable();
            Ok(list)
        })
        .collect()
}

/// The keyword totals and counters.
pub async fn totals(r: Arc<Redis>, mut c: RedisConn, ns: String) -> Result<Totals> {
    let mut cmd = call(&READ, &ns);
    cmd.arg("totals");
    let v: Vec<Option<i64>> = READ.run(&r, &mut c, &cmd).await?;
    let at = |i: usize| v.get(i).copied().flatten().unwrap_or(0).max(0) as u64;
    Ok(Totals {
        docs: at(0),
        total_len: at(1),
        last_row: at(2),
        last_edge: at(3),
    })
}

/// The rows linked to any of the entities in a scope, ascending.
pub async fn rows_of_entities(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    scope: String,
    entities: Vec<String>,
) -> Result<Vec<u64>> {
    let mut cmd = call(&READ, &ns);
    cmd.arg("entities").arg(&scope);
    for e in &entities {
        cmd.arg(e);
    }
    let v: Vec<String> = READ.run(&r, &mut c, &cmd).await?;
    let mut out = v
        .iter()
        .map(|s| s.parse().map_err(|_| bad("row id")))
        .collect::<Result<Vec<u64>>>()?;
    out.sort_unstable();
    Ok(out)
}
