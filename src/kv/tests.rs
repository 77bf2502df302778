//! The key-value store on both engines (see `crate::testkit`).

use std::time::Duration;

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

fn put(key: &str, value: Value) -> Put {
    Put {
        key: key.into(),
        value,
        ttl_ms: None,
        if_version: None,
    }
}

fn get(h: &Hub, key: &str) -> Result<Option<Item>> {
    Ok(h.kv.get_many(vec![key.into()]).wait()?.pop().flatten())
}

both!(values_come_back_as_they_went_in);
fn values_come_back_as_they_went_in(h: &Hub) -> Result<()> {
    let odd = "a b\n*?[x]{y}%\u{0}é";
    let vs = vec![
        put("bytes", Value::Bytes(vec![0, 159, 255, 10])),
        put("text", Value::Text("héllo".into())),
        put("json", Value::Json(r#"{"a":[1,2]}"#.into())),
        put(odd, Value::Text("odd key".into())),
    ];
    assert_eq!(h.kv.set_many(vs.clone()).wait()?, [1, 1, 1, 1]);
    for p in &vs {
        let it = get(h, &p.key)?.ok_or_else(|| Error::NotFound(p.key.clone()))?;
        assert_eq!(
            (it.value, it.version, it.expires_at_ms),
            (p.value.clone(), 1, None)
        );
    }
    let keys = h.kv.keys("", None, 100).wait()?.keys;
    assert_eq!(keys, ["a b\n*?[x]{y}%\u{0}é", "bytes", "json", "text"]);
    assert_eq!(h.kv.keys("*", None, 100).wait()?.keys, Vec::<String>::new());
    Ok(())
}

both!(compare_and_set_is_all_or_nothing);
fn compare_and_set_is_all_or_nothing(h: &Hub) -> Result<()> {
    h.kv.set_many(vec![put("a", Value::Text("1".into()))])
        .wait()?;
    let mut stale = put("a", Value::Text("2".into()));
    stale.if_version = Some(7);
    let fresh = put("b", Value::Text("new".into()));
    assert!(matches!(
        h.kv.set_many(vec![fresh, stale]).wait(),
        Err(Error::Conflict(_))
    ));
    assert!(get(h, "b")?.is_none(), "a failed batch wrote a key");
    let mut ok = put("a", Value::Text("2".into()));
    ok.if_version = Some(1);
    assert_eq!(h.kv.set_many(vec![ok]).wait()?, [2]);
    let mut create = put("c", Value::Text("c".into()));
    create.if_version = Some(0);
    assert_eq!(h.kv.set_many(vec![create.clone()]).wait()?, [1]);
    assert!(matches!(
        h.kv.set_many(vec![create]).wait(),
        Err(Error::Conflict(_))
    ));
    Ok(())
}

both!(expiry_hides_then_sweeps_keys);
fn expiry_hides_then_sweeps_keys(h: &Hub) -> Result<()> {
    let mut p = put("short", Value::Text("x".into()));
    p.ttl_ms = Some(150);
    h.kv.set_many(vec![p, put("long", Value::Text("y".into()))])
        .wait()?;
    let left = h.kv.ttl("short").wait()?.flatten().unwrap_or(0);
    assert!(left > 0 && left <= 150, "{left}");
    assert_eq!(h.kv.ttl("long").wait()?, Some(None));
    assert_eq!(h.kv.ttl("missing").wait()?, None);
    std::thread::sleep(Duration::from_millis(250));
    assert!(get(h, "short")?.is_none());
    assert_eq!(h.kv.keys("", None, 10).wait()?.keys, ["long"]);
    h.kv.sweep().wait()?;
    assert_eq!(h.kv.keys("", None, 10).wait()?.keys, ["long"]);
    Ok(())
}

both!(expire_touch_and_persist);
fn expire_touch_and_persist(h: &Hub) -> Result<()> {
    h.kv.set_many(vec![put("k", Value::Text("v".into()))])
        .wait()?;
    assert!(h.kv.expire("k", Some(60_000)).wait()?);
    assert!(h.kv.ttl("k").wait()?.flatten().is_some_and(|t| t > 59_000));
    std::thread::sleep(Duration::from_millis(30));
    assert!(h.kv.touch("k").wait()?);
    assert!(h.kv.ttl("k").wait()?.flatten().is_some_and(|t| t > 59_950));
    assert!(h.kv.expire("k", None).wait()?);
    assert_eq!(h.kv.ttl("k").wait()?, Some(None));
    assert!(!h.kv.expire("nope", Some(1000)).wait()?);
    assert!(!h.kv.touch("nope").wait()?);
    Ok(())
}

both!(prefixes_page_in_byte_order);
fn prefixes_page_in_byte_order(h: &Hub) -> Result<()> {
    let mut keys: Vec<String> = (0..25).map(|i| format!("user:{i:02}")).collect();
    keys.extend(["user", "user;", "usep", "uses:1", "user:é"].map(String::from));
    h.kv.set_many(
        keys.iter()
            .map(|k| put(k, Value::Json("1".into())))
            .collect(),
    )
    .wait()?;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = h.kv.keys("user:", after.as_deref(), 7).wait()?;
        assert!(page.keys.len() <= 7);
        seen.extend(page.keys.clone());
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let mut want: Vec<String> = (0..25).map(|i| format!("user:{i:02}")).collect();
    want.push("user:é".into());
    assert_eq!(seen, want);
    assert_eq!(h.kv.keys("user", None, 100).wait()?.keys.len(), 28);
    assert_eq!(h.kv.delete_prefix("user:").wait()?, 26);
    let rest = h.kv.keys("", None, 100).wait()?.keys;
    assert_eq!(rest, ["usep", "user", "user;", "uses:1"]);
    assert_eq!(
        h.kv.delete_many(vec!["usep".into(), "gone".into()])
            .wait()?,
        1
    );
    Ok(())
}

both!(prefixes_page_backwards);
fn prefixes_page_backwards(h: &Hub) -> Result<()> {
    let mut keys: Vec<String> = (0..25).map(|i| format!("user:{i:02}")).collect();
    keys.extend(["user", "user;", "usep", "user:é"].map(String::from));
    h.kv.set_many(
        keys.iter()
            .map(|k| put(k, Value::Json("1".into())))
            .collect(),
    )
    .wait()?;
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = h.kv.keys_desc("user:", before.as_deref(), 7).wait()?;
        assert!(page.keys.len() <= 7);
        seen.extend(page.keys.clone());
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    let mut want: Vec<String> = (0..25).map(|i| format!("user:{i:02}")).collect();
    want.push("user:é".into());
    want.reverse();
    assert_eq!(seen, want);
    // The greatest key under a prefix (the prefix itself counts), and below a bound.
    assert_eq!(h.kv.keys_desc("user", None, 1).wait()?.keys, ["user;"]);
    assert_eq!(h.kv.keys_desc("user:1", None, 1).wait()?.keys, ["user:19"]);
    assert_eq!(
        h.kv.keys_desc("user:", Some("user:05"), 2).wait()?.keys,
        ["user:04", "user:03"]
    );
    assert_eq!(
        h.kv.keys_desc("user:", Some("uses"), 1).wait()?.keys,
        ["user:é"]
    );
    assert!(h
        .kv
        .keys_desc("user:", Some("a"), 5)
        .wait()?
        .keys
        .is_empty());
    assert_eq!(h.kv.keys_desc("", None, 1).wait()?.keys, ["user;"]);
    assert_eq!(h.kv.keys_desc("usep", None, 3).wait()?.keys, ["usep"]);
    assert!(h.kv.keys_desc("zz", None, 3).wait()?.keys.is_empty());
    Ok(())
}

both!(incr_counts_exactly);
fn incr_counts_exactly(h: &Hub) -> Result<()> {
    assert_eq!(h.kv.incr("n", 5, None).wait()?, 5);
    assert_eq!(h.kv.incr("n", -7, None).wait()?, -2);
    assert_eq!(
        get(h, "n")?.map(|i| (i.value, i.version)),
        Some((Value::Json("-2".into()), 2))
    );
    h.kv.set_many(vec![put("big", Value::Json((i64::MAX - 1).to_string()))])
        .wait()?;
    assert_eq!(h.kv.incr("big", 1, None).wait()?, i64::MAX);
    assert!(matches!(
        h.kv.incr("big", 1, None).wait(),
        Err(Error::Validation(_))
    ));
    h.kv.set_many(vec![put("s", Value::Text("5".into()))])
        .wait()?;
    assert!(matches!(
        h.kv.incr("s", 1, None).wait(),
        Err(Error::Validation(_))
    ));
    assert_eq!(h.kv.incr("t", 1, Some(60_000)).wait()?, 1);
    assert!(h.kv.ttl("t").wait()?.flatten().is_some());
    Ok(())
}

#[test]
fn bad_input_is_refused_before_the_store() {
    assert!(check_key("").is_err());
    assert!(check_key(&"k".repeat(MAX_KEY + 1)).is_err());
    assert!(check_key(&"k".repeat(MAX_KEY)).is_ok());
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e12] {
        assert!(ttl_ms(bad).is_err(), "{bad}");
    }
    assert_eq!(ttl_ms(1.5).ok(), Some(1500));
}
