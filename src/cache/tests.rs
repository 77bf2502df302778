//! The cache on both engines (see `crate::testkit`).

use std::time::Duration;

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn put(key: &str, value: &str, tags: &[&str]) -> Put {
    Put {
        key: key.into(),
        value: Value::Text(value.into()),
        ttl_ms: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        semantic: None,
    }
}

fn get(h: &Hub, key: &str) -> Result<Option<Value>> {
    Ok(
        match h.cache.get_many(vec![key.into()], None, true).wait()?.pop() {
            Some(Lookup::Hit(v)) => Some(v),
            _ => None,
        },
    )
}

both!(tags_invalidate_by_generation);
fn tags_invalidate_by_generation(h: &Hub) -> Result<()> {
    let c = &h.cache;
    c.set_many(
        vec![
            put("a", "1", &["x"]),
            put("b", "2", &["x", "y"]),
            put("c", "3", &[]),
        ],
        None,
    )
    .wait()?;
    assert_eq!(get(h, "b")?, Some(Value::Text("2".into())));
    assert_eq!(c.invalidate_tag("x").wait()?, 2);
    assert_eq!(get(h, "a")?, None);
    assert_eq!(get(h, "b")?, None);
    assert_eq!(get(h, "c")?, Some(Value::Text("3".into())));
    // Written again after the invalidation: current.
    c.set_many(vec![put("a", "new", &["x"])], None).wait()?;
    assert_eq!(get(h, "a")?, Some(Value::Text("new".into())));
    let s = c.stats().wait()?;
    assert_eq!((s.hits, s.misses), (3, 2));
    assert_eq!(s.tags, vec![("x".to_string(), 1)]);
    assert_eq!(s.entries, 2, "{s:?}");
    Ok(())
}

both!(expiry_and_leases);
fn expiry_and_leases(h: &Hub) -> Result<()> {
    let c = &h.cache;
    let mut p = put("short", "x", &[]);
    p.ttl_ms = Some(100);
    c.set_many(vec![p], None).wait()?;
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(h, "short")?, None);
    let lease = |t: &str| Lease {
        token: t.into(),
        ms: 60_000,
    };
    let first = c
        .get_many(vec!["k".into()], Some(lease("a")), false)
        .wait()?;
    assert_eq!(first, vec![Lookup::Miss { leased: true }]);
    let second = c
        .get_many(vec!["k".into()], Some(lease("b")), false)
        .wait()?;
    assert_eq!(second, vec![Lookup::Miss { leased: false }]);
    assert!(!c.release("k", "b").wait()?);
    c.set_many(vec![put("k", "v", &[])], Some("a".into()))
        .wait()?;
    assert!(!c.release("k", "a").wait()?, "the write gave the lease up");
    Ok(())
}

both!(a_bounded_cache_evicts);
fn a_bounded_cache_evicts(h: &Hub) -> Result<()> {
    let c = &h.cache;
    c.configure(None, Some(10), None)?;
    for i in 0..30 {
        c.set_many(vec![put(&format!("k{i}"), "v", &[])], None)
            .wait()?;
    }
    assert!(c.stats().wait()?.entries <= 10);
    assert_eq!(get(h, "k29")?, Some(Value::Text("v".into())));
    Ok(())
}

#[test]
fn bad_tags_are_refused() {
    assert!(check_tag("").is_err());
    assert!(check_tag("a\nb").is_err());
    assert!(check_tag(&"t".repeat(MAX_TAG + 1)).is_err());
    assert!(check_tag("user:42 *?").is_ok());
    assert!(check_tags(&["a".into(), "a".into()]).is_err());
}

fn sem(key: &str, value: &str, v: &[f32]) -> Put {
    let mut p = put(key, value, &[]);
    p.semantic = Some(super::SemanticPut {
        scope: "s".into(),
        vector: v.to_vec(),
    });
    p
}

both!(semantic_lookups_follow_the_feed_and_verify_entries);
fn semantic_lookups_follow_the_feed_and_verify_entries(h: &Hub) -> Result<()> {
    let c = &h.cache;
    assert!(c
        .semantic_lookup("s", vec![1.0, 0.0], 0.5, 4)
        .wait()?
        .is_none());
    c.set_many(
        vec![sem("a", "A", &[1.0, 0.0]), sem("b", "B", &[0.0, 1.0])],
        None,
    )
    .wait()?;
    let m = c
        .semantic_lookup("s", vec![1.0, 0.1], 0.5, 4)
        .wait()?
        .expect("a match");
    assert_eq!((m.key.as_str(), &m.value), ("a", &Value::Text("A".into())));
    assert!((m.similarity - 0.995_037).abs() < 1e-4, "{}", m.similarity);
    assert!(c
        .semantic_lookup("s", vec![1.0, 0.1], 0.999, 4)
        .wait()?
        .is_none());
    // Another dimension in the same scope: refused, nothing written.
    assert!(c
        .set_many(vec![sem("c", "C", &[1.0, 0.0, 0.0])], None)
        .wait()
        .is_err());
    assert!(c
        .semantic_lookup("s", vec![1.0, 0.0, 0.0], 0.5, 4)
        .wait()
        .is_err());
    assert_eq!(get(h, "c")?, None);
    c.delete_many(vec!["a".into()]).wait()?;
    let m = c.semantic_lookup("s", vec![1.0, 0.1], -1.0, 4).wait()?;
    assert_eq!(m.map(|m| m.key), Some("b".to_string()));
    assert_eq!(c.semantic_size().wait()?, (1, 1));
    Ok(())
}
