//! `hub.memory`'s graph on Redis: one hash per edge, each entity's out- and in-edges as hashes
//! (edge id -> relation; the out hash also counts the writes of its source in field `#`, which
//! an exclusive relate checks before it invalidates, so two concurrent ones cannot both see the
//! old edge as valid).

use std::collections::HashMap;
use std::sync::Arc;

use redis::Value as RValue;

use super::graph::Edge;
use super::plan::{self, EdgeWrite, Space};
use super::redis::{bad, call, fields, prefix, Fields, EDGES, RELATE, RETRIES};
use crate::engine::{Redis, RedisConn};
use crate::error::{Error, Result};

/// An edge read whole, and its vector bytes.
pub fn to_edge(id: &str, f: &Fields) -> Result<(Edge, Vec<u8>)> {
    Ok((
        Edge {
            id: id.parse().map_err(|_| bad("edge id"))?,
            scope: f.text("s")?,
            src: f.text("a")?,
            relation: f.text("r")?,
            dst: f.text("b")?,
            valid_from: f.int("vf")?,
            valid_to: f.opt_int("vt")?,
            confidence: f.float("c")?,
            metadata: f.opt("m")?,
            space: f.opt("sp")?,
            recorded_at: f.int("ra")?,
            invalidations: super::sqlite_graph::inv_parse(&f.text("inv")?)?,
        },
        f.raw("vec").to_vec(),
    ))
}

/// The edges a read returned, after the write count in front.
pub async fn read(
    r: &Redis,
    c: &mut RedisConn,
    ns: &str,
    args: &[String],
) -> Result<(u64, Vec<(Edge, Vec<u8>)>)> {
    let mut cmd = call(&EDGES, ns);
    for a in args {
        cmd.arg(a);
    }
    let reply: Vec<RValue> = EDGES.run(r, c, &cmd).await?;
    let (count, rest) = reply.split_first().ok_or_else(|| bad("edges"))?;
    let count: u64 = super::redis::string(count)?
        .parse()
        .map_err(|_| bad("count"))?;
    let mut out = Vec::with_capacity(rest.len());
    for v in rest {
        let (id, f) = fields(v.clone())?;
        out.push(to_edge(&id, &Fields(f))?);
    }
    Ok((count, out))
}

fn adjacency(ns: &str, scope: &str, entities: &[String], out: bool, inn: bool) -> Vec<String> {
    let p = prefix(ns);
    let mut keys = Vec::new();
    for e in entities {
        if out {
            keys.push(format!("{p}out:{scope}|{e}"));
        }
        if inn {
            keys.push(format!("{p}in:{scope}|{e}"));
        }
    }
    keys
}

/// The edges from and/or to the entities in a scope, by id.
pub async fn edges_of(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    scope: String,
    entities: Vec<String>,
    out: bool,
    inn: bool,
) -> Result<Vec<Edge>> {
    let keys = adjacency(&ns, &scope, &entities, out, inn);
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (_, edges) = read(&r, &mut c, &ns, &keys).await?;
    let mut v: Vec<Edge> = edges.into_iter().map(|(e, _)| e).collect();
    v.sort_by_key(|e| e.id);
    Ok(v)
}

/// Relates (planned in Rust, checked and written by `relate.lua`, planned again on a
/// conflict).
pub async fn relate(
    r: Arc<Redis>,
    mut c: RedisConn,
    ns: String,
    w: EdgeWrite,
    now: i64,
) -> Result<Edge> {
    let space_name = w.embedding.as_ref().map(|(s, _)| s.clone());
    for _ in 0..RETRIES {
        let keys = adjacency(&ns, &w.scope, std::slice::from_ref(&w.src), true, false);
        let (count, same) = read(&r, &mut c, &ns, &keys).await?;
        let same: Vec<Edge> = same.into_iter().map(|(e, _)| e).collect();
        let spaces: HashMap<String, Space> = match &space_name {
            Some(_) => super::redis::spaces(r.clone(), c.clone(), ns.clone())
                .await?
                .into_iter()
                .map(|s| (s.name.clone(), s))
                .collect(),
            None => Default::default(),
        };
        let (invalidate, valid_to) = plan::relate(&w, &same, &spaces)?;
        let mut cmd = call(&RELATE, &ns);
        let def = space_name
            .as_ref()
            .and_then(|n| spaces.get(n))
            .map(Space::def)
            .unwrap_or_default();
        cmd.arg(now)
            .arg(if w.exclusive {
                count.to_string()
            } else {
                String::new()
            })
            .arg(space_name.as_deref().unwrap_or(""))
            .arg(def)
            .arg(&w.scope)
            .arg(&w.src)
            .arg(&w.relation)
            .arg(&w.dst)
            .arg(w.valid_from)
            .arg(valid_to.map(|t| t.to_string()).unwrap_or_default())
            .arg(crate::transfer::record::num(w.confidence))
            .arg(w.metadata.as_deref().unwrap_or(""))
            .arg(
                w.embedding
                    .as_ref()
                    .map(|(_, v)| plan::vector_bytes(v))
                    .unwrap_or_default(),
            )
            .arg(
                invalidate
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        let reply: Vec<String> = RELATE.run(&r, &mut c, &cmd).await?;
        match reply.as_slice() {
            [x] if x == "conflict" => continue,
            [t, id] => {
                return Ok(Edge {
                    id: id.parse().map_err(|_| bad("edge id"))?,
                    scope: w.scope,
                    src: w.src,
                    relation: w.relation,
                    dst: w.dst,
                    valid_from: w.valid_from,
                    valid_to,
                    confidence: w.confidence,
                    metadata: w.metadata,
                    space: space_name,
                    recorded_at: t.parse().map_err(|_| bad("time"))?,
                    invalidations: Vec::new(),
                })
            }
            _ => return Err(bad("relate")),
        }
    }
    Err(Error::Conflict(
        "memory relate: other writers kept changing the same entity; try again".into(),
    ))
}
