//! `hub.memory`'s store on both engines (see `crate::testkit`).

use super::graph::Direction;
use super::record::{Kind, Value, Write};
use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn w(key: &str, text: &str, from: i64) -> Write {
    Write {
        key: key.into(),
        scope: String::new(),
        value: Some(Value::Text(text.into())),
        kind: Kind::Semantic,
        category: None,
        significance: 0.5,
        embedding: None,
        entities: vec![],
        metadata: None,
        source: None,
        valid_from: Some(from),
        valid_to: None,
    }
}

fn one(h: &Hub, x: Write) -> Result<MemoryRecord> {
    h.memory
        .remember_many(vec![x])
        .wait()?
        .pop()
        .ok_or_else(|| Error::Backend("no record".into()))
}

fn text(r: Option<MemoryRecord>) -> Option<String> {
    r.and_then(|r| r.value).map(|v| v.data().to_string())
}

both!(versions_make_one_valid_time_line);
fn versions_make_one_valid_time_line(h: &Hub) -> Result<()> {
    let m = &h.memory;
    let a = one(h, w("city", "Ana lives in Lisbon", 1_000))?;
    let b = one(h, w("city", "Ana lives in Berlin", 5_000))?;
    std::thread::sleep(std::time::Duration::from_millis(5));
    let c = one(h, w("city", "Ana lived in Porto", 0))?; // back-dated
    assert_eq!((a.version, b.version, c.version), (1, 2, 3));
    assert!(a.row < b.row && b.row < c.row);
    assert_eq!(
        text(m.recall("city", "", Some(500), None).wait()?).as_deref(),
        Some("Ana lived in Porto")
    );
    assert_eq!(
        text(m.recall("city", "", Some(2_000), None).wait()?).as_deref(),
        Some("Ana lives in Lisbon")
    );
    assert_eq!(
        text(m.recall("city", "", Some(9_000), None).wait()?).as_deref(),
        Some("Ana lives in Berlin")
    );
    assert_eq!(
        text(m.recall("city", "", None, None).wait()?).as_deref(),
        Some("Ana lives in Berlin")
    );
    // Before the back-dated version was recorded, 500 had no value.
    assert_eq!(
        m.recall("city", "", Some(500), Some(b.recorded_at))
            .wait()?,
        None
    );
    let hist = m.history("city", "").wait()?;
    assert_eq!(hist.len(), 3);
    assert_eq!(hist[0].superseded_at, Some(b.recorded_at));
    assert_eq!(hist[1].superseded_at, None);
    assert_eq!(hist[2].superseded_at, None);
    // A tombstone ends the line; history keeps everything.
    let t = h
        .memory
        .remember_many(vec![Write {
            value: None,
            ..w("city", "", 7_000)
        }])
        .wait()?;
    assert!(t[0].deleted);
    assert_eq!(m.recall("city", "", Some(8_000), None).wait()?, None);
    assert!(m.recall("city", "", Some(6_000), None).wait()?.is_some());
    assert_eq!(
        m.history("city", "").wait()?[1].superseded_at,
        Some(t[0].recorded_at)
    );
    // Scopes are separate lines.
    let mut scoped = w("city", "elsewhere", 0);
    scoped.scope = "user=u1".into();
    one(h, scoped)?;
    assert_eq!(m.history("city", "user=u1").wait()?.len(), 1);
    assert_eq!(m.history("city", "").wait()?.len(), 4);
    Ok(())
}

both!(a_batch_is_atomic_and_can_supersede_itself);
fn a_batch_is_atomic_and_can_supersede_itself(h: &Hub) -> Result<()> {
    let m = &h.memory;
    m.space("default", 3, "cosine").wait()?;
    let mut bad = w("b", "x", 0);
    bad.embedding = Some(("default".into(), vec![1.0, f32::NAN, 0.0]));
    let r = m.remember_many(vec![w("a", "first", 0), bad]).wait();
    assert!(matches!(r, Err(Error::Validation(_))), "{r:?}");
    assert!(m.history("a", "").wait()?.is_empty());
    for v in [vec![1.0, 2.0], vec![0.0, 0.0, 0.0]] {
        let mut x = w("b", "x", 0);
        x.embedding = Some(("default".into(), v));
        assert!(matches!(
            m.remember_many(vec![x]).wait(),
            Err(Error::Validation(_))
        ));
    }
    let mut x = w("b", "x", 0);
    x.embedding = Some(("nope".into(), vec![1.0]));
    assert!(matches!(
        m.remember_many(vec![x]).wait(),
        Err(Error::Validation(_))
    ));
    assert_eq!(m.totals().wait()?.last_row, 0);
    let out = m
        .remember_many(vec![w("a", "one", 0), w("a", "two", 10)])
        .wait()?;
    assert_eq!(out[0].superseded_at, Some(out[1].recorded_at));
    assert_eq!(
        m.history("a", "").wait()?[0].superseded_at,
        Some(out[1].recorded_at)
    );
    Ok(())
}

both!(spaces_postings_vectors_and_entities_are_in_the_store);
fn spaces_postings_vectors_and_entities_are_in_the_store(h: &Hub) -> Result<()> {
    let m = &h.memory;
    assert_eq!(m.space("v", 2, "dot").wait()?.dim, 2);
    assert_eq!(m.space("v", 2, "dot").wait()?.dim, 2);
    assert!(matches!(
        m.space("v", 3, "dot").wait(),
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        m.space("v", 2, "cosine").wait(),
        Err(Error::Validation(_))
    ));
    assert_eq!(m.spaces().wait()?.len(), 1);
    let mut a = w("a", "red apples and red cherries", 0);
    a.embedding = Some(("v".into(), vec![1.0, 2.0]));
    a.entities = vec!["fruit".into(), "red".into()];
    let mut b = w("b", "", 0);
    b.value = Some(Value::Json(
        r#"{"t":"green apples","n":3,"l":["sour"]}"#.into(),
    ));
    b.embedding = Some(("v".into(), vec![-1.0, 0.5]));
    b.entities = vec!["fruit".into()];
    let rows = m.remember_many(vec![a, b]).wait()?;
    let (ra, rb) = (rows[0].row, rows[1].row);
    assert_eq!((rows[0].len, rows[1].len), (4, 3));
    let t = m.totals().wait()?;
    assert_eq!((t.docs, t.total_len, t.last_row), (2, 7, rb));
    let p = m
        .postings(vec![
            "red".into(),
            "apples".into(),
            "sour".into(),
            "none".into(),
        ])
        .wait()?;
    assert_eq!(
        p,
        vec![vec![(ra, 2)], vec![(ra, 1), (rb, 1)], vec![(rb, 1)], vec![]]
    );
    let v = m.vectors_page("v", 0, 10).wait()?;
    assert_eq!(v.rows, [ra, rb]);
    assert_eq!(v.data, [1.0, 2.0, -1.0, 0.5]);
    assert_eq!(m.vectors_page("v", ra, 10).wait()?.rows, [rb]);
    assert_eq!(
        m.rows_of_entities(vec!["fruit".into()], "").wait()?,
        [ra, rb]
    );
    assert_eq!(m.rows_of_entities(vec!["red".into()], "").wait()?, [ra]);
    assert!(m
        .rows_of_entities(vec!["red".into()], "user=x")
        .wait()?
        .is_empty());
    let terms = m.postings_page(0, 10).wait()?;
    assert_eq!(terms.next, None);
    assert_eq!(terms.rows.len(), 2);
    assert_eq!(terms.rows[0].row, ra);
    assert_eq!(
        terms.rows[0].terms,
        [
            ("apples".to_string(), 1),
            ("cherries".to_string(), 1),
            ("red".to_string(), 2)
        ]
    );
    assert_eq!(m.postings_page(0, 1).wait()?.next, Some(ra));
    let page = m.rows_page(0, 1).wait()?;
    assert_eq!(page.len(), 1);
    assert_eq!(
        (page[0].row, page[0].key.as_str(), page[0].len),
        (ra, "a", 4)
    );
    assert_eq!(m.get_rows(vec![rb, 999]).wait()?[1], None);
    // Purge takes every trace.
    assert_eq!(m.purge("a", "").wait()?, 1);
    let t = m.totals().wait()?;
    assert_eq!((t.docs, t.total_len), (1, 3));
    assert_eq!(m.postings(vec!["red".into()]).wait()?, vec![vec![]]);
    assert_eq!(m.vectors_page("v", 0, 10).wait()?.rows, [rb]);
    assert_eq!(m.rows_of_entities(vec!["fruit".into()], "").wait()?, [rb]);
    // The change feed names what changed.
    let feed = h
        .changes
        .read(None, 100, std::time::Duration::ZERO)
        .wait()?;
    let ids: Vec<(String, &str)> = feed
        .changes
        .iter()
        .map(|c| (c.id.clone(), c.kind.name()))
        .collect();
    assert!(ids.contains(&("space:v".into(), "created")), "{ids:?}");
    assert!(ids.contains(&(format!("row:{ra}"), "created")));
    assert!(ids.contains(&(format!("row:{ra}"), "deleted")));
    Ok(())
}

fn edge(src: &str, rel: &str, dst: &str, from: i64, exclusive: bool) -> EdgeWrite {
    EdgeWrite {
        scope: String::new(),
        src: src.into(),
        relation: rel.into(),
        dst: dst.into(),
        valid_from: from,
        valid_to: None,
        confidence: 1.0,
        exclusive,
        embedding: None,
        metadata: None,
    }
}

both!(exclusive_edges_invalidate_and_keep_their_history);
fn exclusive_edges_invalidate_and_keep_their_history(h: &Hub) -> Result<()> {
    let m = &h.memory;
    let lisbon = m
        .relate(edge("ana", "lives_in", "lisbon", 1_000, true))
        .wait()?;
    let later = m
        .relate(edge("ana", "lives_in", "rome", 9_000, true))
        .wait()?;
    // A later transaction time than Rome's, for the known_at view below.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let berlin = m
        .relate(edge("ana", "lives_in", "berlin", 5_000, true))
        .wait()?;
    // Berlin ends where Rome begins; Lisbon was invalidated at 5,000.
    assert_eq!(berlin.valid_to, Some(9_000));
    let at = |t: i64, k: Option<i64>| -> Result<Vec<String>> {
        Ok(
            m.edges("ana", "", Some("lives_in"), Direction::Out, Some(t), k)
                .wait()?
                .into_iter()
                .map(|e| e.dst)
                .collect(),
        )
    };
    assert_eq!(at(2_000, None)?, ["lisbon"]);
    assert_eq!(at(6_000, None)?, ["berlin"]);
    assert_eq!(at(10_000, None)?, ["rome"]);
    // As known before Berlin was recorded, Lisbon held at 6,000.
    assert_eq!(at(6_000, Some(later.recorded_at))?, ["lisbon"]);
    let l = m
        .edges("ana", "", None, Direction::Out, Some(2_000), None)
        .wait()?;
    assert_eq!(l[0].id, lisbon.id);
    assert_eq!(l[0].invalidation(None), Some((5_000, berlin.recorded_at)));
    m.relate(edge("berlin", "in", "germany", 0, false)).wait()?;
    m.relate(edge("germany", "in", "europe", 0, false)).wait()?;
    let n = m.neighbors("ana", "", 3, Some(6_000)).wait()?;
    assert_eq!(
        n,
        [
            ("berlin".to_string(), 1),
            ("germany".to_string(), 2),
            ("europe".to_string(), 3)
        ]
    );
    assert_eq!(
        m.neighbors("ana", "", 1, Some(2_000)).wait()?,
        [("lisbon".to_string(), 1)]
    );
    let inn = m
        .edges("germany", "", None, Direction::In, Some(10), None)
        .wait()?;
    assert_eq!(inn.len(), 1);
    assert!(m
        .edges("ana", "user=u", None, Direction::Both, Some(6_000), None)
        .wait()?
        .is_empty());
    Ok(())
}

both!(forget_scope_leaves_nothing_of_the_scope);
fn forget_scope_leaves_nothing_of_the_scope(h: &Hub) -> Result<()> {
    let m = &h.memory;
    m.space("default", 2, "cosine").wait()?;
    for scope in ["user=a", "user=b"] {
        let mut x = w("k", "some words", 0);
        x.scope = scope.into();
        x.entities = vec!["e1".into()];
        x.embedding = Some(("default".into(), vec![1.0, 0.0]));
        one(h, x)?;
        let mut e = edge("e1", "knows", "e2", 0, true);
        e.scope = scope.into();
        m.relate(e).wait()?;
    }
    let before = h.health().wait()?.keys;
    assert_eq!(m.forget_scope("user=a").wait()?, 2);
    assert!(m.history("k", "user=a").wait()?.is_empty());
    assert_eq!(m.history("k", "user=b").wait()?.len(), 1);
    assert!(m
        .edges("e1", "user=a", None, Direction::Both, None, None)
        .wait()?
        .is_empty());
    assert_eq!(
        m.edges("e1", "user=b", None, Direction::Both, None, None)
            .wait()?
            .len(),
        1
    );
    assert_eq!(m.totals().wait()?.docs, 1);
    assert_eq!(m.vectors_page("default", 0, 10).wait()?.rows.len(), 1);
    assert!(h.health().wait()?.keys < before);
    Ok(())
}

both!(concurrent_writers_of_one_key_get_distinct_versions);
fn concurrent_writers_of_one_key_get_distinct_versions(h: &Hub) -> Result<()> {
    let m = h.memory.clone();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || -> Result<()> {
                for j in 0..10 {
                    m.remember_many(vec![w("k", &format!("{i} {j}"), (i * 100 + j) as i64)])
                        .wait()?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| Error::Backend("panicked".into()))??;
    }
    let hist = m.history("k", "").wait()?;
    let versions: Vec<u64> = hist.iter().map(|r| r.version).collect();
    assert_eq!(versions, (1..=40).collect::<Vec<u64>>());
    // Each version's superseded_at follows the rule over the versions recorded before it.
    let line: Vec<timeline::Version> = hist.iter().map(sqlite::version_of).collect();
    for (i, v) in line.iter().enumerate() {
        let first = (i + 1..line.len()).find(|&j| {
            let mut before: Vec<timeline::Version> = line[..j].to_vec();
            for b in &mut before {
                b.superseded_at = None;
            }
            timeline::cuts(&before, line[j].valid_from).contains(&i)
        });
        assert_eq!(
            v.superseded_at,
            first.map(|j| line[j].recorded_at),
            "version {}",
            v.version
        );
    }
    Ok(())
}

both!(postings_and_vectors_equal_a_rebuild_from_the_records);
fn postings_and_vectors_equal_a_rebuild_from_the_records(h: &Hub) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let m = &h.memory;
    m.space("default", 2, "dot").wait()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let words = ["red", "green", "apple", "the", "tea", "über", "naïve", "x1"];
    for step in 0..150 {
        let scope = ["", "user=a", "user=b"][rng.random_range(0..3)].to_string();
        let key = format!("k{}", rng.random_range(0..6));
        match rng.random_range(0..10) {
            0 => {
                m.purge(&key, &scope).wait()?;
            }
            1 if step % 50 == 49 => {
                m.forget_scope("user=b").wait()?;
            }
            2 => {
                m.remember_many(vec![Write {
                    scope: scope.clone(),
                    value: None,
                    ..w(&key, "", step)
                }])
                .wait()?;
            }
            _ => {
                let n = rng.random_range(0..6);
                let text: Vec<&str> = (0..n)
                    .map(|_| words[rng.random_range(0..words.len())])
                    .collect();
                let mut x = w(&key, &text.join(" "), step);
                x.scope = scope;
                if rng.random_bool(0.5) {
                    x.embedding = Some(("default".into(), vec![rng.random(), rng.random()]));
                }
                m.remember_many(vec![x]).wait()?;
            }
        }
    }
    // Every row, whole, from the records.
    let mut want_terms = Vec::new();
    let mut want_vectors = Vec::new();
    let (mut docs, mut total) = (0u64, 0u64);
    let mut after = 0;
    loop {
        let page = m.rows_page(after, 7).wait()?;
        let Some(last) = page.last() else { break };
        after = last.row;
        let rows = m.get_rows(page.iter().map(|r| r.row).collect()).wait()?;
        for r in rows.into_iter().flatten() {
            if let Some(v) = &r.value {
                let t = record::Terms::of(&v.text());
                docs += 1;
                total += u64::from(t.len);
                want_terms.push(RowTerms {
                    row: r.row,
                    len: t.len,
                    terms: t.tf,
                });
            }
        }
    }
    let mut got_terms = Vec::new();
    let mut after = 0;
    loop {
        let page = m.postings_page(after, 5).wait()?;
        got_terms.extend(page.rows);
        match page.next {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(got_terms, want_terms);
    let t = m.totals().wait()?;
    assert_eq!((t.docs, t.total_len), (docs, total));
    // Each term's postings list is the rows holding it.
    for word in ["red", "über", "x1"] {
        let want: Vec<(u64, u32)> = want_terms
            .iter()
            .filter_map(|r| {
                r.terms
                    .iter()
                    .find(|(t, _)| t == word)
                    .map(|(_, n)| (r.row, *n))
            })
            .collect();
        assert_eq!(m.postings(vec![word.into()]).wait()?, vec![want], "{word}");
    }
    // The vectors page is every row with an embedding.
    let mut after = 0;
    let mut rows_with = Vec::new();
    loop {
        let page = m.vectors_page("default", after, 4).wait()?;
        let Some(&last) = page.rows.last() else { break };
        after = last;
        assert_eq!(page.data.len(), page.rows.len() * 2);
        rows_with.extend(page.rows);
    }
    let mut after = 0;
    loop {
        let page = m.rows_page(after, 50).wait()?;
        let Some(last) = page.last() else { break };
        after = last.row;
        want_vectors.extend(page.iter().filter(|r| r.space.is_some()).map(|r| r.row));
    }
    assert_eq!(rows_with, want_vectors);
    Ok(())
}
