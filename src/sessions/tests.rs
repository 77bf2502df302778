//! Sessions on both engines (see `crate::testkit`).

use serde_json::json;

use super::*;
use crate::hub::Hub;
use crate::testkit::both;

const T0: f64 = 1_800_000_000.0;

fn obj(v: Json) -> Map<String, Json> {
    match v {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

both!(sessions_live_their_time_and_no_longer);
fn sessions_live_their_time_and_no_longer(h: &Hub) -> Result<()> {
    let s = &h.sessions;
    let a = s
        .create("u1", &obj(json!({"b": 1, "a": [1, 2]})), 60_000, Some(T0))
        .wait()?;
    assert!(is_id(&a.id));
    assert_eq!(a.data.keys().collect::<Vec<_>>(), ["a", "b"]);
    let got = s.get(&a.id, Some(T0 + 59.999)).wait()?;
    assert_eq!(got.as_ref(), Some(&a));
    assert_eq!(s.get(&a.id, Some(T0 + 60.0)).wait()?, None);
    assert!(!s.touch(&a.id, None, Some(T0 + 60.0)).wait()?);
    assert!(s.touch(&a.id, None, Some(T0 + 30.0)).wait()?);
    assert_eq!(
        s.get(&a.id, Some(T0 + 89.0)).wait()?.map(|x| x.expires_ms),
        Some((T0 * 1000.0) as u64 + 90_000)
    );
    assert!(s
        .update(
            &a.id,
            &obj(json!({"b": null, "c": "x"})),
            false,
            Some(T0 + 31.0)
        )
        .wait()?);
    let got = s.get(&a.id, Some(T0 + 31.0)).wait()?.map(|x| x.data);
    assert_eq!(got, Some(obj(json!({"a": [1, 2], "c": "x"}))));
    assert!(s
        .update(&a.id, &obj(json!({"z": 1})), true, Some(T0 + 31.0))
        .wait()?);
    let got = s.get(&a.id, Some(T0 + 31.0)).wait()?.map(|x| x.data);
    assert_eq!(got, Some(obj(json!({"z": 1}))));
    let b = s.create("u1", &Map::new(), 10_000, Some(T0 + 1.0)).wait()?;
    s.create("u2", &Map::new(), 10_000, Some(T0)).wait()?;
    let ids: Vec<String> = s
        .for_user("u1", Some(T0 + 2.0))
        .wait()?
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, [a.id.clone(), b.id.clone()]);
    assert_eq!(s.for_user("u1", Some(T0 + 11.0)).wait()?.len(), 1);
    assert_eq!(s.destroy_user("u1", Some(T0 + 11.0)).wait()?, 1);
    assert_eq!(s.get(&a.id, Some(T0 + 11.0)).wait()?, None);
    assert!(!s.destroy(&a.id, Some(T0 + 11.0)).wait()?);
    assert_eq!(s.get("not-an-id", None).wait()?, None);
    Ok(())
}

both!(too_much_data_is_refused_whole);
fn too_much_data_is_refused_whole(h: &Hub) -> Result<()> {
    let s = &h.sessions;
    let big = "x".repeat(MAX_DATA / 2);
    let a = s
        .create("u", &obj(json!({"a": big})), 60_000, Some(T0))
        .wait()?;
    assert!(matches!(
        s.update(&a.id, &obj(json!({"b": big})), false, Some(T0))
            .wait(),
        Err(Error::Validation(_))
    ));
    assert_eq!(
        s.get(&a.id, Some(T0)).wait()?.map(|x| x.data.len()),
        Some(1)
    );
    assert!(s
        .update(&a.id, &obj(json!({"b": big})), true, Some(T0))
        .wait()?);
    assert!(matches!(
        s.create("u", &obj(json!({"a": "x".repeat(MAX_DATA)})), 1000, None)
            .wait(),
        Err(Error::Validation(_))
    ));
    Ok(())
}
