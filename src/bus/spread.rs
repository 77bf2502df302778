//! A share that reaches agents of several partitions (docs/scaling.md, "Bus"): by kind, to
//! all, or a batch whose targets live in different partitions. Each partition's part is one
//! script on its slot; the parts run in three steps:
//!
//! 1. check (read only, every partition concerned at once): each target is registered, each
//!    kind has an agent somewhere; otherwise NotFound and nothing is written;
//! 2. the home partition (of the first message's target, else of its sender) gives every
//!    message of the batch its id, in batch order, and writes its own part: the messages to
//!    its agents, and each message spread by kind or to all (counted and its idempotency key
//!    kept there);
//! 3. every other partition concerned writes its part at once, under the ids the home gave
//!    (each kept under a local stream id, with the alias `alias:<id>` from one to the other).
//!
//! Not atomic across partitions: a registration removed between step 1 and 3, a clear, or a
//! failure of one partition leaves the others' parts written. A share retried with the same
//! idempotency keys completes what is missing and writes nothing twice (each partition
//! keeps the key of what it wrote).

use std::sync::{Arc, LazyLock};

use super::model::{parse_envelope, Message, Outgoing, Settings};
use super::redis::{bad, each_part, messages, no_agent, no_kind, share_script, Item, Layout, Sent};
use crate::engine::script::Lua;
use crate::engine::{Redis, RedisConn};
use crate::error::Result;

static CHECK: LazyLock<Lua> = LazyLock::new(|| {
    Lua::read_only(
        include_str!("lua/common.lua"),
        include_str!("lua/check.lua"),
    )
});

/// Whether item `it` is written in partition `p` (given which partitions have agents of each
/// kind: `kinds[i][p]`).
fn lands(l: &Layout, it: &Item, has_kind: Option<&Vec<bool>>, p: u16) -> bool {
    match it.mode {
        "to" => l.of(&it.who) == p,
        "kind" => has_kind.is_some_and(|k| k.get(usize::from(p)).copied().unwrap_or(false)),
        _ => true,
    }
}

/// Step 1: per item, for a kind which partitions have agents of it. Errors as the single
/// script would (the first unknown target or kind in batch order).
async fn check(
    r: &Arc<Redis>,
    c: RedisConn,
    l: &Layout,
    items: &[Item],
) -> Result<Vec<Option<Vec<bool>>>> {
    let mut kinds: Vec<Option<Vec<bool>>> = items
        .iter()
        .map(|it| (it.mode == "kind").then(|| vec![false; usize::from(l.n)]))
        .collect();
    if items.iter().all(|it| it.mode == "all") {
        return Ok(kinds);
    }
    let mut found = vec![false; items.len()];
    let answers = each_part(r, c, l, |r, mut c, p| {
        let asks: Vec<(usize, &Item)> = items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.mode == "kind" || (it.mode == "to" && l.of(&it.who) == p))
            .collect();
        let pre = l.prefix(p);
        async move {
            if asks.is_empty() {
                return Ok(vec![]);
            }
            let mut cmd = CHECK.call(&format!("{pre}agents"));
            cmd.arg(&pre);
            for (_, it) in &asks {
                cmd.arg(it.mode).arg(&it.who);
            }
            let got: Vec<u64> = CHECK.run(&r, &mut c, &cmd).await?;
            if got.len() != asks.len() {
                return Err(bad("check"));
            }
            Ok(asks.iter().map(|(i, _)| *i).zip(got).collect::<Vec<_>>())
        }
    })
    .await?;
    for (p, ans) in answers.into_iter().enumerate() {
        for (i, n) in ans {
            if n > 0 {
                found[i] = true;
                if let Some(k) = kinds[i].as_mut() {
                    k[p] = true;
                }
            }
        }
    }
    for (i, it) in items.iter().enumerate() {
        match it.mode {
            "to" if !found[i] => return Err(no_agent(&it.who)),
            "kind" if !found[i] => return Err(no_kind(&it.who)),
            _ => {}
        }
    }
    Ok(kinds)
}

/// The id of a message a script answered for.
fn id_of(s: &Sent) -> Result<(String, u64)> {
    match s {
        Sent::Ok(id, ms) => Ok((id.clone(), *ms)),
        Sent::Dup(env) => {
            let m = parse_envelope(env)?;
            Ok((m.id, (m.time * 1000.0).round() as u64))
        }
    }
}

/// Shares `outs` (with their script `items`) over the partitions they reach.
pub(super) async fn share_many(
    r: Arc<Redis>,
    mut c: RedisConn,
    l: Layout,
    outs: Vec<Outgoing>,
    items: Vec<Item>,
    s: Settings,
    floor: (u64, u64),
) -> Result<Vec<Message>> {
    let kinds = check(&r, c.clone(), &l, &items).await?;
    let first = &items[0];
    let home = if first.mode == "to" {
        l.of(&first.who)
    } else {
        l.of(&first.source)
    };
    let at_home: Vec<Item> = items
        .iter()
        .map(|it| {
            // Spread messages are kept at home whether or not it has agents of theirs.
            if it.mode != "to" || l.of(&it.who) == home {
                it.clone()
            } else {
                Item {
                    mode: "none",
                    idem: String::new(),
                    ..it.clone()
                }
            }
        })
        .collect();
    let mut sent = share_script(&r, &mut c, &l, home, "h", floor, &at_home, &s).await?;
    let ids = sent.iter().map(id_of).collect::<Result<Vec<_>>>()?;
    let mut parts = Vec::new();
    for q in (0..l.n).filter(|&q| q != home) {
        let mine: Vec<(usize, Item)> = items
            .iter()
            .enumerate()
            .filter(|(i, it)| lands(&l, it, kinds[*i].as_ref(), q))
            .map(|(i, it)| {
                let mut it = it.clone();
                it.xid = ids[i].0.clone();
                (i, it)
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let (r, l, s) = (r.clone(), &l, &s);
        parts.push(async move {
            let mut c = r.conn();
            let its: Vec<Item> = mine.iter().map(|(_, it)| it.clone()).collect();
            let got = share_script(&r, &mut c, l, q, "o", (0, 0), &its, s).await?;
            Ok::<_, crate::error::Error>(
                mine.into_iter()
                    .map(|(i, _)| i)
                    .zip(got)
                    .collect::<Vec<_>>(),
            )
        });
    }
    for part in futures_util::future::join_all(parts).await {
        for (i, got) in part? {
            // A direct message's answer is its partition's (where its key is kept).
            if items[i].mode == "to" {
                sent[i] = match got {
                    Sent::Ok(..) => Sent::Ok(ids[i].0.clone(), ids[i].1),
                    dup @ Sent::Dup(_) => dup,
                };
            }
        }
    }
    messages(&r, &l.ns, outs, sent)
}
